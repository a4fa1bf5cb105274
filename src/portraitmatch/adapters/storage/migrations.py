"""Bring a database to the newest schema with the Alembic scripts shipped in this package.

Several API processes may start at once against one database: the upgrade runs inside one
transaction that first takes a lock (a PostgreSQL advisory lock; SQLite's write lock via
``BEGIN IMMEDIATE``), so one process migrates and the others find the schema current.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, text

from portraitmatch.adapters.storage.database import Database

_HERE = Path(__file__).resolve().parent
_ADVISORY_LOCK_ID = 0x504D_4D49_4752  # "PMMIGR"


def all_tables() -> MetaData:
    """The metadata of every table: imports each storage module, since some define tables of their own."""
    from portraitmatch.adapters import storage
    from portraitmatch.adapters.storage.tables import Base

    for module in pkgutil.iter_modules(storage.__path__):
        if not module.name.startswith("_") and module.name != "migrations":
            importlib.import_module(f"{storage.__name__}.{module.name}")
    return Base.metadata


def alembic_config() -> Config:
    config = Config(str(_HERE / "alembic.ini"))
    config.set_main_option("script_location", str(_HERE / "alembic"))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(database: Database) -> str | None:
    with database.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade_database(database: Database) -> str:
    """Apply pending migrations; returns the revision the database is at afterwards."""
    config = alembic_config()
    with database.engine.connect() as conn, conn.begin():
        if database.is_postgresql:
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _ADVISORY_LOCK_ID})
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    return current_revision(database) or ""
