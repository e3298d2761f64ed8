"""The one building block every genlab model shares: Hub save/load with its family name.

``PyTorchModelHubMixin`` already writes ``config.json`` (the constructor's keyword
arguments) and ``model.safetensors``; this adds ``"model_type"`` to the config so that
``genlab.load`` can pick the right class for any folder or Hub repo.
"""

from __future__ import annotations

import json
from pathlib import Path

from huggingface_hub import PyTorchModelHubMixin
from torch import nn


class HubModel(
    nn.Module,
    PyTorchModelHubMixin,
    library_name="genlab",
    license="mit",
    repo_url="https://github.com/genlab/genlab",
    tags=["genlab"],
):
    model_type: str = ""  # each subclass names its family; the registry key in genlab.hub

    def _save_pretrained(self, save_directory: Path) -> None:
        super()._save_pretrained(save_directory)  # model.safetensors
        config = {**(self._hub_mixin_config or {}), "model_type": self.model_type}
        (Path(save_directory) / "config.json").write_text(json.dumps(config, sort_keys=True, indent=2))
