"""How the Train tab shows a job: the progress line, the loss curves' frame and the enlarged sample grid (pure
functions of the job's status; the tab wires them)."""

from __future__ import annotations

import gradio as gr


def progress_html(s: dict | None) -> str:
    if not s:
        return '<div id="tn-progress" data-state="none">No training job yet: pick the data and press Train.</div>'
    state = s["state"]
    frac = s["step"] / max(1, s["steps"])
    if s["minutes"] and s["seconds"]:
        frac = max(frac, min(1.0, s["seconds"] / (s["minutes"] * 60)))
    if state == "finished":
        frac = 1.0
    parts = [state]
    if state == "queued":
        parts.append(f"{s['position']} in line" if s["position"] else "waiting")
    parts.append(f"step {s['step']:,} / {s['steps']:,}")
    if s["images_per_s"]:
        parts.append(f"{s['images_per_s']:,.0f} images/s")
    if s["eta_s"] is not None:
        parts.append(f"about {s['eta_s'] // 60:.0f} min {s['eta_s'] % 60:.0f} s left" if s["eta_s"] >= 60
                     else f"about {s['eta_s']:.0f} s left")
    if s["minutes"]:
        parts.append(f"budget {s['minutes']:g} min")
    parts.append(f"{s['threads']} thread{'s' if s['threads'] != 1 else ''}")
    if s.get("metrics"):
        step, fid, acc, against = s["metrics"][-1]
        first = s["metrics"][0]
        trend = f" (step {first[0]:,}: FID {first[1]:,.1f}, {first[2]:.1%})" if len(s["metrics"]) > 1 else ""
        parts.append(f"FID {fid:,.1f} vs the {against} images, class accuracy {acc:.1%} at step {step:,}{trend}")
    note = s["message"] or ""
    tail = ""
    if state == "failed" and s["log_tail"]:
        log = "\n".join(s["log_tail"][-12:]).replace("&", "&amp;").replace("<", "&lt;")
        tail = f"<details><summary>log</summary><pre>{log}</pre></details>"
    note = note.replace("&", "&amp;").replace("<", "&lt;")
    return (f'<div id="tn-progress" data-state="{state}" data-step="{s["step"]}" data-samples="{s["samples"]}">'
            f'<progress value="{frac:.4f}" max="1" style="width:100%"></progress>'
            f'<div><b>{s["name"]}</b> ({s["family"]}): {" · ".join(parts)}</div><div>{note}</div>{tail}</div>')


def loss_frame(s: dict | None):
    import pandas as pd

    losses = (s or {}).get("losses", {})
    # typed columns even when empty: the plot takes its axis types from them (an empty object column made the
    # loss axis categorical, one tick per value)
    return pd.DataFrame({
        "step": pd.Series([step for points in losses.values() for step, _ in points], dtype="int64"),
        "loss": pd.Series([value for points in losses.values() for _, value in points], dtype="float64"),
        "series": pd.Series([name for name, points in losses.items() for _ in points], dtype="str"),
    })


def shown_grid(path: str, width: int = 720):
    """The newest sample grid, enlarged (nearest neighbour: pixels stay sharp) to about ``width`` px for the page."""
    from PIL import Image

    if not path:
        return None
    try:
        img = Image.open(path)
        img.load()
    except OSError:
        return gr.skip()  # being written: the next poll shows it
    factor = max(1, round(width / img.width))
    return img.resize((img.width * factor, img.height * factor), Image.NEAREST) if factor > 1 else img
