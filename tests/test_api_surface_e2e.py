"""The public surface as a gradio_client user meets it, on a simulated public Space (SPACE_ID set):

- every endpoint parameter has a name that says what it is (view_api lists no ``param_N``), and docs/api.md's table
  lists each endpoint with its parameters;
- calls that pass the trailing slider values by position, as the README and older clients do, still work;
- every endpoint, driven with wrong values (unknown model, a server path, wrong types, out-of-range numbers, hostile
  files), answers with an error that names the parameter at fault and shows no path of the server, no traceback and
  no Python internals. The server keeps serving after all of them.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from gradio_client import Client, handle_file
from hostile import png_bomb

from genlab.testing import launched_app

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "genlab" / "ui" / "examples"
# what a message must never show: the server's folders, a traceback, Python internals
LEAKS = re.compile(r"/tmp/|/root\b|/home/|/work/|/usr/|/var/|site-packages|Traceback|File \"|\.py\b|"
                   r"genlab-jobs-|object at 0x|<class |NoneType|Errno", re.I)


@pytest.fixture(scope="module")
def space(tmp_path_factory):
    """The app as a public Space serves it (training turned on by its owner, as the Space docs describe)."""
    log = tmp_path_factory.mktemp("surface") / "app.log"
    env = {"SPACE_ID": "genlab/test-space", "GENLAB_FIRST_VISIT": "0", "GENLAB_TRAIN": "1",
           "GENLAB_TRAIN_MAX_MINUTES": "1"}
    with launched_app(log, extra_env=env) as (url, _):
        yield Client(url, verbose=False)


@pytest.fixture(scope="module")
def api(space):
    return space.view_api(return_format="dict", print_info=False)["named_endpoints"]


def test_every_parameter_has_a_name_and_docs_list_them(api):
    unnamed = {ep: [p["parameter_name"] for p in info["parameters"] if re.fullmatch(r"param_\d+", p["parameter_name"])]
               for ep, info in api.items()}
    assert not {ep: names for ep, names in unnamed.items() if names}, unnamed
    # labels too (view_api shows them), except the page's browser storage, which Gradio gives no label
    labels = {ep: [p["label"] for p in info["parameters"] if re.fullmatch(r"parameter_\d+", str(p["label"]))
                   and p["component"].lower() != "browserstate"] for ep, info in api.items()}
    assert not {ep: bad for ep, bad in labels.items() if bad}, labels
    # docs/api.md: one table row per endpoint, naming every parameter in order
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `(/[a-z_]+)` \| ([^|]*) \|", (ROOT / "docs" / "api.md")
                                                         .read_text(), re.M)}
    assert set(rows) == set(api), (sorted(set(api) - set(rows)), sorted(set(rows) - set(api)))
    for ep, info in api.items():
        listed = re.findall(r"`([a-z_0-9]+)`", rows[ep])
        names = [p["parameter_name"] for p in info["parameters"]]
        assert _compress(names) == listed, (ep, names, listed)


def _compress(names: list[str]) -> list[str]:
    """direction_1, direction_2, ... direction_6 -> direction_1, direction_6 (the table writes such runs as
    `direction_1` … `direction_6`)."""
    out: list[str] = []
    k = 0
    while k < len(names):
        m = re.fullmatch(r"(.+_)(\d+)", names[k])
        j = k
        if m:
            while j + 1 < len(names) and names[j + 1] == f"{m.group(1)}{int(m.group(2)) + j + 1 - k}":
                j += 1
        out += [names[k]] if j == k else [names[k], names[j]]
        k = j + 1
    return out


def test_positional_calls_keep_working(space):
    """The trailing values by position: /sample with its six SeFa offsets, /interpolate with arithmetic amounts."""
    assert Path(space.predict("mnist-cgan", "", 3, "7", 1.0, 1, 2.0, 0, 0, 0, 0, 0, api_name="/sample")).is_file()
    assert Path(space.predict("mnist-cgan", "", 3, "7", 1.0, 1, api_name="/sample")).is_file()
    a, b = handle_file(str(EXAMPLES / "digit_1.png")), handle_file(str(EXAMPLES / "digit_7.png"))
    assert Path(space.predict(a, b, 0.5, "spherical", "mnist-vae", 1.5, 0, 0, *[0] * 7, 1.0,
                              api_name="/interpolate")).is_file()
    assert Path(space.predict(a, b, 0.5, "spherical", "mnist-vae", api_name="/interpolate")).is_file()


def _hostile_files(folder: Path) -> dict[str, Path]:
    files = {"text.png": b"hello, not an image\n" * 20, "bomb.png": png_bomb(), "empty.png": b""}
    out = {}
    for name, data in files.items():
        (folder / name).write_bytes(data)
        out[name] = folder / name
    not_zip = folder / "images.zip"
    not_zip.write_bytes(b"this is not a zip archive\n" * 10)
    out["not.zip"] = not_zip
    slip = folder / "slip.zip"
    with zipfile.ZipFile(slip, "w") as z:
        z.writestr("../../etc/evil.png", b"x")
    out["slip.zip"] = slip
    unreadable = folder / "unreadable.zip"  # a real ZIP whose "images" are text: "no readable images", without the
    with zipfile.ZipFile(unreadable, "w") as z:  # server's temporary folder in the message (it used to name it)
        for k in range(3):
            z.writestr(f"cats/{k}.png", b"not an image\n" * 5)
    out["unreadable.zip"] = unreadable
    from PIL import Image  # a brush stroke: an RGBA layer opaque over the painted square, as the editor sends it

    layer = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    layer.paste((255, 0, 255, 255), (20, 20, 40, 40))
    layer.save(folder / "stroke.png")
    out["stroke.png"] = folder / "stroke.png"
    return out


def _cases(files: dict[str, Path]) -> list[tuple[str, tuple, dict, str]]:
    """(endpoint, args, kwargs, a regex the message must match: the parameter at fault by its name or label)."""
    digit = handle_file(str(EXAMPLES / "digit_1.png"))
    text, bomb = handle_file(str(files["text.png"])), handle_file(str(files["bomb.png"]))
    empty = handle_file(str(files["empty.png"]))
    sample = ("mnist-cgan", "", 0, "any", 1.0, 4)
    editor = {"background": handle_file(str(EXAMPLES / "digit_1.png")), "layers": [handle_file(str(files["stroke.png"]))],
              "composite": None, "id": None}
    bad_editor = {"background": text, "layers": [], "composite": None, "id": None}
    train = ("upload", handle_file(str(files["not.zip"])), None, "gan", 16, 3, "crop")
    return [
        ("/sample", ("no-such-model", *sample[1:]), {}, r"(?i)model"),
        ("/sample", ("mnist-cgan", "/etc", *sample[2:]), {}, r"(?i)model|folder"),
        ("/sample", ("mnist-cgan", "someone/not-cached", *sample[2:]), {}, r"(?i)repo|hub"),
        ("/sample", ("mnist-cgan", "", -3, "any", 1.0, 4), {}, r"(?i)seed"),
        ("/sample", ("mnist-cgan", "", "abc", "any", 1.0, 4), {}, r"(?i)seed"),
        ("/sample", ("mnist-cgan", "", 0, "no-such-class", 1.0, 4), {}, r"(?i)class"),
        ("/sample", ("mnist-cgan", "", 0, "any", 7.0, 4), {}, r"(?i)psi|ψ|truncation"),
        ("/sample", ("mnist-cgan", "", 0, "any", 1.0, 10_000), {}, r"(?i)grid size"),
        ("/sample", (*sample, "left", 0, 0, 0, 0, 0), {}, r"(?i)direction"),
        ("/sample", (*sample, *[0] * 6, 1e9), {}, r"(?i)attribute|slider"),
        ("/sample", (*sample, *[0] * 26, ["no-such-measure"]), {}, r"(?i)hold"),
        ("/sample", (*sample, *[0] * 26, ["auto"], "garbage"), {}, r"(?i)project"),
        ("/sample", (*sample, *[0] * 26, ["auto"], {}, "loud"), {}, r"(?i)noise"),
        ("/import_checkpoint", (handle_file(str(files["not.zip"])), "x", ""), {}, r"(?i)import|checkpoint"),  # off here
        ("/import_translator", ([handle_file(str(files["not.zip"]))], "x", "", ""), {}, r"(?i)import|checkpoint|file"),
        ("/project", ("mnist-cgan", "", text, 100), {}, r"Image to project"),
        ("/project", ("mnist-cgan", "", bomb, 100), {}, r"Image to project"),
        ("/project", ("mnist-cgan", "", digit, 10**9), {}, r"(?i)steps"),
        ("/attributes", ("/etc", ""), {}, r"(?i)model|folder"),
        ("/sample_named", (*sample, {"no-such-slider": 1.0}, ["auto"]), {}, r"(?i)slider"),
        ("/sample_named", (*sample, "abc", ["auto"]), {}, r"(?i)offsets"),
        ("/interpolate", (digit, digit, 5.0, "spherical", "mnist-vae"), {}, r"\bt\b"),
        ("/interpolate", (digit, digit, 0.5, "cubic", "mnist-vae"), {}, r"(?i)mode|interpolation"),
        ("/interpolate", (digit, digit, 0.5, "spherical", "/etc"), {}, r"(?i)model|folder"),
        ("/interpolate", (text, digit, 0.5, "spherical", "mnist-vae"), {}, r"Image A"),
        ("/interpolate", (digit, empty, 0.5, "spherical", "mnist-vae"), {}, r"Image B"),
        ("/interpolate", (digit, digit, 0.5, "spherical", "mnist-vae", "x"), {}, r"(?i)arithmetic|amount"),
        ("/interpolation_gif", (digit, digit, 10_000, "spherical", "mnist-vae"), {}, r"(?i)frames"),
        ("/translate", (digit, "/etc", 1, 0), {}, r"(?i)model|task|folder"),
        ("/translate", (digit, "sketch2digit", 10_000, 0), {}, r"(?i)samples|\bk\b"),
        ("/translate", (bomb, "sketch2digit", 1, 0), {}, r"(?i)upload|image|input"),
        ("/translate_unpaired", (digit, "emoji-openmoji2noto", "C->D"), {}, r"(?i)direction"),
        ("/translate_unpaired", (digit, "no-such-model", "A->B"), {}, r"(?i)model"),
        ("/inpaint", (editor, "telepathy", 10, 0, "default"), {}, r"(?i)method"),
        ("/inpaint", (editor, "dip", 10**9, 0, "default"), {}, r"(?i)iterations"),
        ("/inpaint", (bad_editor, "dip", 10, 0, "default"), {}, r"(?i)image"),
        ("/inpaint", (editor, "vae", 10, 0, "/etc"), {}, r"(?i)model|folder"),
        ("/augment", (["no-such-class"], 4, 0, "mnist-cgan"), {}, r"(?i)class"),
        ("/augment", (["1"], 10**7, 0, "mnist-cgan"), {}, r"(?i)per class|images per class"),
        ("/augment", (["1"], 4, 0, "/etc"), {}, r"(?i)model|folder"),
        ("/augment_classic", (text, 4, 0, True), {}, r"(?i)image"),
        ("/augment_classic", (digit, 10**7, 0, True), {}, r"(?i)copies|\bn\b"),
        ("/train_check", train + (8,), {}, r"(?i)zip"),
        ("/train_check", ("upload", handle_file(str(files["slip.zip"])), None, "gan", 16, 3, "crop", 8), {},
         r"(?i)zip|archive"),
        ("/train_check", ("upload", None, None, "gan", 16, 3, "crop", 8), {}, r"(?i)zip|upload"),
        ("/train_check", ("upload", handle_file(str(files["unreadable.zip"])), None, "gan", 16, 3, "crop", 8), {},
         r"(?i)zip"),
        ("/train_start", ("upload", handle_file(str(files["unreadable.zip"])), None, "gan", 16, 3, "crop", 1, 10, 8,
                          5, "ok-name", "none"), {}, r"(?i)zip"),
        ("/train_check", ("digits", None, None, "gan", 4096, 1, "crop", 8), {}, r"(?i)resolution"),
        ("/train_start", ("digits", None, None, "gan", 16, 1, "crop", 1, 10, 8, 5, "../../etc/x", "none"), {},
         r"(?i)name"),
        ("/train_start", ("digits", None, None, "gan", 16, 1, "crop", 1, 10, 8, 5, "ok-name", "/etc"), {},
         r"(?i)feature net"),
        ("/train_start", ("digits", None, None, "gan", 16, 1, "crop", 1, -5, 8, 5, "ok-name", "none"), {},
         r"(?i)steps"),
        ("/train_stop", ("no-such-job",), {}, r"(?i)job"),
        ("/train_resume", ("no-such-job", 10, 1), {}, r"(?i)job"),
        ("/train_status", ("no-such-job",), {}, r"(?i)job"),
        ("/train_jobs", ({"not": "a list"},), {}, r"(?i)job"),
        ("/train_delete", ("no-such-job", []), {}, r"(?i)job"),
    ]


def test_wrong_values_get_messages_that_name_the_parameter_and_show_no_server_path(space, api, tmp_path):
    cases = _cases(_hostile_files(tmp_path))
    assert {c[0] for c in cases} == set(api), sorted(set(api) - {c[0] for c in cases})  # every endpoint driven
    problems = []
    for endpoint, args, kwargs, names in cases:
        try:
            result = space.predict(*args, api_name=endpoint, **kwargs)
        except Exception as e:  # noqa: BLE001 - gradio_client's AppError carries the server's message
            message = str(e)
        else:
            problems.append(f"{endpoint}{_short(args)}: no error, answered {str(result)[:120]!r}")
            continue
        echoed = message
        for a in args:  # the caller's own values may be quoted back ("/etc"); the server's may not
            if isinstance(a, str) and a:
                echoed = echoed.replace(a, "VALUE")
        if not re.search(names, message):
            problems.append(f"{endpoint}{_short(args)}: does not name the parameter ({names}): {message!r}")
        if LEAKS.search(echoed):
            problems.append(f"{endpoint}{_short(args)}: shows server internals: {message!r}")
        if message.strip() in ("Error", "None", ""):
            problems.append(f"{endpoint}{_short(args)}: says nothing: {message!r}")
    assert not problems, "\n".join(problems)
    # and the server still serves
    assert Path(space.predict("mnist-cgan", "", 0, "7", 1.0, 1, api_name="/sample")).is_file()


def _short(args) -> str:
    return "(" + ", ".join(repr(a)[:30] for a in args) + ")"
