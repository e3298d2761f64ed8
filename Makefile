# The two set-up commands of the README:  make app  |  make test
# Both create .venv and install what they need on first use (pip; torch comes from local disk).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: app test test-fast test-repeat bench train

# the emoji-cgan card compares against the model it replaced (its weights come out of git at this commit)
EMOJI_CGAN_BEFORE_COMMIT := 211a772
EMOJI_CGAN_BEFORE := the previous emoji-cgan: no class-conditional batch norm, 38,000 steps

app: $(VENV)/.app ## serve the app at http://127.0.0.1:7860
	$(BIN)/python app.py

test: $(VENV)/.dev ## install the test dependencies, Chromium and the Noto emoji font, run the test suite
	bash scripts/ensure_system_packages.sh
	$(BIN)/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder  # two workers, a file on one (tests/conftest.py)

test-fast: $(VENV)/.dev ## the suite without the long end-to-end runs (marked slow), while you work
	bash scripts/ensure_system_packages.sh
	$(BIN)/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder -m "not slow"

N ?= 3
test-repeat: $(VENV)/.dev ## the suite N times in a row (make test-repeat N=5): each run's result and time, red if any run was
	bash scripts/repeat_tests.sh $(N)

bench: $(VENV)/.dev ## print latency, training-throughput, inpainting, load, in-page slider and imported-translator figures (run alone)
	$(BIN)/python benchmarks/latency.py
	$(BIN)/python benchmarks/train_throughput.py
	$(BIN)/python benchmarks/inpaint.py
	$(BIN)/python benchmarks/load.py
	$(BIN)/python benchmarks/browser_sliders.py
	$(BIN)/python benchmarks/train_tab.py
	$(BIN)/python benchmarks/translate_speed.py

train: $(VENV)/.dev ## retrain the shipped checkpoints (CPU: about 6.5 hours; see README "Shipped models")
	$(BIN)/python -m genlab.train classifier --preset mnist-classifier
	$(BIN)/python -m genlab.train gan --preset mnist-cgan
	$(BIN)/python -m genlab eval attributes mnist-cgan --feature-net mnist-classifier
	$(BIN)/python -m genlab.train vae --preset mnist-vae
	$(BIN)/python -m genlab.train pix2pix --preset mnist-sketch2digit
	$(BIN)/python -m genlab.train pix2pix --preset mnist-superres
	$(BIN)/python -m genlab.train classifier --preset emoji-classifier
	$(BIN)/python -m genlab.train gan --preset emoji-cgan
	$(BIN)/python -m genlab eval truncation emoji-cgan --data emoji --feature-net emoji-classifier --write
	rm -rf runs/previous && mkdir -p runs/previous && git archive $(EMOJI_CGAN_BEFORE_COMMIT) checkpoints/emoji-cgan | tar -x -C runs/previous
	$(BIN)/python -m genlab eval gan emoji-cgan --data emoji --feature-net emoji-classifier --baseline runs/previous/checkpoints/emoji-cgan --baseline-command "git checkout $(EMOJI_CGAN_BEFORE_COMMIT) && python -m genlab.train gan --preset emoji-cgan" --baseline-label "$(EMOJI_CGAN_BEFORE)" --write-card runs/emoji-cgan --card-section docs/cards/emoji-cgan.md
	$(BIN)/python -m genlab eval attributes emoji-cgan --feature-net emoji-classifier
	$(BIN)/python -m genlab.train cascade --preset emoji-cgan-64 --eval-samples 0
	$(BIN)/python -m genlab eval truncation emoji-cgan-64 --data emoji --feature-net emoji-classifier --write
	$(BIN)/python -m genlab eval gan emoji-cgan-64 --data emoji --feature-net emoji-classifier --write-card runs/emoji-cgan-64 --card-section docs/cards/emoji-cgan-64.md
	$(BIN)/python -m genlab eval attributes emoji-cgan-64 --feature-net emoji-classifier
	$(BIN)/python -m genlab.train vae --preset emoji-vae
	$(BIN)/python -m genlab.train pix2pix --preset emoji-sketch2color
	bash scripts/ensure_system_packages.sh
	$(BIN)/python -m genlab.train cyclegan --preset emoji-openmoji2noto
	$(BIN)/python -m genlab.train pix2pix --preset emoji-openmoji2noto-pix2pix --out runs/emoji-openmoji2noto-pix2pix/checkpoint
	$(BIN)/python -m genlab.train pix2pix --preset emoji-noto2openmoji-pix2pix --out runs/emoji-noto2openmoji-pix2pix/checkpoint
	$(BIN)/python -m genlab eval cyclegan emoji-openmoji2noto --data-a openmoji --data-b noto --feature-net emoji-classifier --pix2pix-ab runs/emoji-openmoji2noto-pix2pix/checkpoint --pix2pix-ba runs/emoji-noto2openmoji-pix2pix/checkpoint --write-card runs/emoji-openmoji2noto

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -U pip

$(VENV)/.app: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install -r requirements-dev.txt
	touch $@ $(VENV)/.app
