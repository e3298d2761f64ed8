"""Resumable training state without pickles: tensors in safetensors, the rest in JSON.

This is a training artefact (optimizer moments, step, RNG), kept in the run folder and
never shipped with the released weights.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file


def save_state(path: Path, objects: dict, meta: dict) -> None:
    """Save modules/optimizers/generators in ``objects`` plus JSON-able ``meta``.

    Writes path.with_suffix(".safetensors") and path.with_suffix(".json").
    """
    tensors: dict[str, torch.Tensor] = {}
    groups: dict[str, list] = {}
    for key, obj in objects.items():
        if isinstance(obj, torch.Generator):
            tensors[f"{key}.rng"] = obj.get_state()
        elif isinstance(obj, torch.optim.lr_scheduler.LRScheduler):
            groups[key] = obj.state_dict()  # plain numbers and lists: JSON
        elif isinstance(obj, torch.optim.Optimizer):
            sd = obj.state_dict()
            groups[key] = sd["param_groups"]
            for pid, state in sd["state"].items():
                for name, value in state.items():
                    tensors[f"{key}.state.{pid}.{name}"] = torch.as_tensor(value)
        else:
            for name, value in obj.state_dict().items():
                tensors[f"{key}.{name}"] = value
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path.with_suffix(".safetensors")))
    path.with_suffix(".json").write_text(json.dumps({**meta, "param_groups": groups}, indent=1))


def load_state(path: Path, objects: dict) -> dict:
    """Restore ``objects`` in place from save_state's files; return the JSON meta."""
    tensors = load_file(str(path.with_suffix(".safetensors")))
    meta = json.loads(path.with_suffix(".json").read_text())
    for key, obj in objects.items():
        if isinstance(obj, torch.Generator):
            obj.set_state(tensors[f"{key}.rng"])
        elif isinstance(obj, torch.optim.lr_scheduler.LRScheduler):
            obj.load_state_dict(meta["param_groups"][key])
        elif isinstance(obj, torch.optim.Optimizer):
            state: dict[int, dict] = {}
            prefix = f"{key}.state."
            for name, value in tensors.items():
                if name.startswith(prefix):
                    pid, field = name[len(prefix) :].split(".", 1)
                    state.setdefault(int(pid), {})[field] = value
            obj.load_state_dict({"state": state, "param_groups": meta["param_groups"][key]})
        else:
            prefix = f"{key}."
            obj.load_state_dict({k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)})
    return meta
