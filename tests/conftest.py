"""Shared fixtures. Tests that need the dev set skip with a stated reason when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def dev_data_root() -> Path | None:
    env = os.environ.get("PORTRAITMATCH_DEV_DATA")
    root = Path(env) if env else REPO_ROOT.parent / "shared" / "data"
    return root if (root / "verification").is_dir() else None


@pytest.fixture(scope="session")
def dev_data() -> Path:
    root = dev_data_root()
    if root is None:
        pytest.skip("dev data set not found: put it at ../shared/data or set PORTRAITMATCH_DEV_DATA")
    return root
