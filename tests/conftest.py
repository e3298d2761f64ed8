"""Shared fixtures: tiny seeded models, and the real app launched on a free port."""

from __future__ import annotations

import pytest
import torch

from genlab.testing import launched_app


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture
def tiny_gan():
    from genlab.models import Generator

    torch.manual_seed(0)
    return Generator(latent_dim=8, channels=16, embed_dim=4).eval()


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    """``python app.py`` on a free port, as a user would start it."""
    try:
        with launched_app(tmp_path_factory.mktemp("app") / "app.log") as (url, _):
            yield url
    except RuntimeError as e:
        pytest.fail(str(e))
