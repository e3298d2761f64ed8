"""Loss curves for training runs (cards, machine and command line live in genlab.evaluation.cards)."""

from __future__ import annotations

from pathlib import Path

from ..evaluation.cards import command_line, machine, write_card  # noqa: F401 (re-exported for the loops)


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


