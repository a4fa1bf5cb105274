"""Throwaway databases for privacy and audit storage tests: a SQLite file, or a fresh PostgreSQL
database per test (the audit chain of one test must not see another's entries).

PostgreSQL comes from ``tests/pg.py`` (``PORTRAITMATCH_TEST_PG_URL``); when it does not answer, the
PostgreSQL variants skip and say why.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from portraitmatch.adapters.storage.database import Database
from portraitmatch.adapters.storage.migrations import upgrade_database
from tests.pg import fresh_database, unreachable_reason

KINDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@contextmanager
def open_database(kind: str, data_dir: Path) -> Iterator[Database]:
    """A migrated database; SQLite lives in ``data_dir`` like the service's default."""
    if kind == "sqlite":
        data_dir.mkdir(parents=True, exist_ok=True)
        database = Database(f"sqlite:///{(data_dir / 'portraitmatch.sqlite3').as_posix()}")
        try:
            upgrade_database(database)
            yield database
        finally:
            database.dispose()
        return
    reason = unreachable_reason()
    if reason is not None:
        pytest.skip(reason)
    with fresh_database("pm_audit") as url:
        database = Database(url)
        try:
            upgrade_database(database)
            yield database
        finally:
            database.dispose()
