from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from portraitmatch.adapters.storage.database import Database
from tests.integration.audit.databases import KINDS, open_database


@pytest.fixture(params=KINDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with open_database(request.param, tmp_path) as db:
        yield db
