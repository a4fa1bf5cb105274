"""Storage tests run twice: on a temporary SQLite file and on a fresh PostgreSQL database."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from portraitmatch.adapters.storage.database import Database
from portraitmatch.adapters.storage.migrations import upgrade_database
from portraitmatch.adapters.storage.protection import Protection
from portraitmatch.privacy import LocalMasterKeys
from tests.pg import pg_url  # noqa: F401  (fixture)


@pytest.fixture(scope="session")
def master_keys() -> LocalMasterKeys:
    # One master key for the whole run: the PostgreSQL database outlives each test.
    return LocalMasterKeys([os.urandom(32)])


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_url")
    db = Database(url)
    upgrade_database(db)
    yield db
    db.dispose()


@pytest.fixture
def protection(database: Database, master_keys: LocalMasterKeys) -> Protection:
    from datetime import UTC, datetime

    prot = Protection(master_keys)
    prot.prepare(database, now=datetime.now(UTC))
    return prot
