from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from portraitmatch.adapters.storage.database import Database
from tests.integration.audit.databases import KINDS, open_database


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture(params=KINDS)
def database(request: pytest.FixtureRequest, data_dir: Path) -> Iterator[Database]:
    with open_database(request.param, data_dir) as db:
        yield db
