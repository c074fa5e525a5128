"""Shared pytest fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from journeyml.events.datasets import ENV_VAR, shared_data_dir


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared folder of real event logs; skips the test when it is absent."""
    folder = shared_data_dir(Path(__file__).resolve().parent)
    if folder is None:
        pytest.skip(
            f"shared data folder not found: set {ENV_VAR} or put the logs in <repo>/../shared/data"
        )
    return folder
