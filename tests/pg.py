"""PostgreSQL for tests: a fresh database per test session, dropped at the end.

The server comes from ``PORTRAITMATCH_TEST_PG_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``, what ``scripts/ensure_services.sh``
provides). When it does not answer, tests that need it skip and say why.

Use it from a conftest: ``from tests.pg import pg_url  # noqa: F401`` makes the ``pg_url``
fixture (the URL of the fresh database) available to the tests below it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from portraitmatch.bench.load import fresh_postgres_database, postgres_unreachable_reason

DEFAULT_SERVER_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
ENV = "PORTRAITMATCH_TEST_PG_URL"


def server_url() -> str:
    return os.environ.get(ENV) or DEFAULT_SERVER_URL


def unreachable_reason() -> str | None:
    """Why the test server cannot be used, or None when it answers."""
    reason = postgres_unreachable_reason(server_url())
    return f"{reason}; set {ENV}" if reason else None


@contextmanager
def fresh_database(prefix: str = "pm_test") -> Iterator[str]:
    """Create an empty database on the test server; yield its SQLAlchemy URL; drop it afterwards."""
    with fresh_postgres_database(server_url(), prefix) as url:
        yield url


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    reason = unreachable_reason()
    if reason is not None:
        pytest.skip(reason)
    with fresh_database() as url:
        yield url
