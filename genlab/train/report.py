"""What every training run writes besides weights: loss curve, machine, model card."""

from __future__ import annotations

import os
import platform
import shlex
import sys
from pathlib import Path

import torch


def machine() -> str:
    """One line describing where this ran, for model cards and benchmarks."""
    if torch.cuda.is_available():
        dev = f"{torch.cuda.device_count()}x {torch.cuda.get_device_name(0)}"
    else:
        dev = f"CPU only, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads"
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{dev}; {cpu}; Python {platform.python_version()}, torch {torch.__version__}"


def command_line(argv: list[str] | None = None) -> str:
    """The training command as typed, e.g. ``python -m genlab.train gan --preset mnist-cgan``."""
    return " ".join(["python -m genlab.train", *map(shlex.quote, sys.argv[1:] if argv is None else argv)])


def plot_losses(history: dict[str, list[float]], steps: list[int], path: Path, title: str) -> None:
    """Loss curves to a PNG (matplotlib, no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    for name, values in history.items():
        ax.plot(steps, values, label=name)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_card(folder: Path, *, title: str, summary: str, tags: list[str], sections: dict[str, str]) -> None:
    """README.md model card with Hub front matter."""
    front = "\n".join(["---", "library_name: genlab", "license: mit", "tags:", *[f"- {t}" for t in tags], "---"])
    body = "\n\n".join(f"## {head}\n\n{text.strip()}" for head, text in sections.items())
    (folder / "README.md").write_text(f"{front}\n\n# {title}\n\n{summary.strip()}\n\n{body}\n")
