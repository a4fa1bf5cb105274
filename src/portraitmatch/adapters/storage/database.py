"""The database handle: one SQLAlchemy engine per process, short transactions.

SQLite (the embedded default) runs in WAL mode with foreign keys on. Writing transactions start
with ``BEGIN IMMEDIATE`` so that two writers queue on the busy timeout instead of failing when a
read lock would have to be upgraded; read-only transactions use a plain ``BEGIN`` and never block
writers. PostgreSQL runs at READ COMMITTED; the repositories take row locks where rules span rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from portraitmatch.errors import ConfigurationError

_READ_ONLY = "portraitmatch_read_only"
SQLITE_BUSY_TIMEOUT_MS = 30_000


class Database:
    """Opens transactions. Safe to share between threads; each transaction gets its own connection."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        parsed = make_url(url)
        self.url = url
        self.dialect = parsed.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise ConfigurationError(f"unsupported database {self.dialect!r}: use SQLite or PostgreSQL")
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            self.engine = create_engine(
                url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
            )
            _configure_sqlite(self.engine)
        else:
            if parsed.drivername == "postgresql":  # psycopg 3 unless a driver is named
                url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
            self.engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
        self._writer = sessionmaker(self.engine, expire_on_commit=False)
        self._reader = sessionmaker(
            self.engine.execution_options(**{_READ_ONLY: True}), expire_on_commit=False
        )

    @property
    def is_postgresql(self) -> bool:
        return self.dialect == "postgresql"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A writing transaction: committed when the block ends, rolled back on any exception."""
        with self._writer() as db, db.begin():
            yield db

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only transaction (closing the session rolls it back)."""
        with self._reader() as db:
            yield db

    def dispose(self) -> None:
        self.engine.dispose()


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own transaction handling
        # would start a deferred transaction lazily and hide the lock mode).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        # Deleted personal data (erased face templates, shredded keys) is overwritten, not left in free pages.
        cursor.execute("PRAGMA secure_delete = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        read_only = connection.get_execution_options().get(_READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
