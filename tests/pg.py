"""PostgreSQL for tests: a fresh database per test session, dropped at the end.

The server comes from ``PORTRAITMATCH_TEST_PG_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``, what ``scripts/ensure_services.sh``
provides). When it does not answer, tests that need it skip and say why.

Use it from a conftest: ``from tests.pg import pg_url  # noqa: F401`` makes the ``pg_url``
fixture (the URL of the fresh database) available to the tests below it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

DEFAULT_SERVER_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
ENV = "PORTRAITMATCH_TEST_PG_URL"


def server_url() -> str:
    return os.environ.get(ENV) or DEFAULT_SERVER_URL


def _libpq(url: str) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def unreachable_reason(url: str | None = None) -> str | None:
    """Why the server cannot be used, or None when it answers."""
    url = url or server_url()
    try:
        with psycopg.connect(_libpq(url), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # any failure means: skip, and say why
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"PostgreSQL at {make_url(url).render_as_string()} is unreachable ({first_line}); set {ENV}"
    return None


@contextmanager
def fresh_database(prefix: str = "pm_test") -> Iterator[str]:
    """Create an empty database on the test server; yield its SQLAlchemy URL; drop it afterwards."""
    url = server_url()
    name = f"{prefix}_{secrets.token_hex(6)}"
    with psycopg.connect(_libpq(url), autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield (
            make_url(url)
            .set(drivername="postgresql+psycopg", database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        with psycopg.connect(_libpq(url), autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    reason = unreachable_reason()
    if reason is not None:
        pytest.skip(reason)
    with fresh_database() as url:
        yield url
