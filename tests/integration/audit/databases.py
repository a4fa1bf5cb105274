"""Throwaway databases for storage tests: a SQLite file, or a fresh PostgreSQL database.

PostgreSQL tests need ``PORTRAITMATCH_TEST_PG_URL`` (``scripts/ensure_services.sh`` exports it) and
skip with that reason otherwise. Each test gets its own database, created and dropped here, so no
test depends on what another left behind.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from portraitmatch.adapters.storage.database import Database
from portraitmatch.adapters.storage.migrations import upgrade_database

KINDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@contextmanager
def open_database(kind: str, tmp_path: Path) -> Iterator[Database]:
    if kind == "sqlite":
        database = Database(f"sqlite:///{(tmp_path / 'pm.sqlite3').as_posix()}")
        try:
            upgrade_database(database)
            yield database
        finally:
            database.dispose()
        return
    admin_url = os.environ.get("PORTRAITMATCH_TEST_PG_URL")
    if not admin_url:
        pytest.skip(
            "PostgreSQL not configured: set PORTRAITMATCH_TEST_PG_URL (scripts/ensure_services.sh does)"
        )
    name = f"pm_test_{secrets.token_hex(6)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # any failure to connect means there is no server to test on
        admin.dispose()
        pytest.skip(f"PostgreSQL at PORTRAITMATCH_TEST_PG_URL is not usable: {exc.__class__.__name__}")
    database = Database(make_url(admin_url).set(database=name).render_as_string(hide_password=False))
    try:
        upgrade_database(database)
        yield database
    finally:
        database.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
