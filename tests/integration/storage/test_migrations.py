from __future__ import annotations

import threading
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from portraitmatch.adapters.storage.database import Database
from portraitmatch.adapters.storage.migrations import (
    all_tables,
    current_revision,
    head_revision,
    upgrade_database,
)
from tests.pg import fresh_database, unreachable_reason


def test_upgrade_reaches_head_and_is_idempotent(database: Database) -> None:
    assert current_revision(database) == head_revision()
    assert upgrade_database(database) == head_revision()
    tables = set(inspect(database.engine).get_table_names())
    assert set(all_tables().tables) <= tables


def test_migrations_match_the_table_definitions(database: Database) -> None:
    with database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), all_tables())
    assert diff == [], f"migrations and tables.py disagree: {diff}"


def test_alembic_files_ship_inside_the_package() -> None:
    from portraitmatch.adapters.storage import migrations

    here = Path(migrations.__file__).parent
    assert (here / "alembic.ini").is_file()
    assert list((here / "alembic" / "versions").glob("*.py"))


def _race(url: str) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def run() -> None:
        db = Database(url)
        try:
            barrier.wait()
            upgrade_database(db)
        except BaseException as exc:
            errors.append(exc)
        finally:
            db.dispose()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_processes_starting_together_migrate_once_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'race.sqlite3'}"
    assert _race(url) == []
    db = Database(url)
    assert current_revision(db) == head_revision()
    db.dispose()


@pytest.mark.postgres
def test_processes_starting_together_migrate_once_postgresql() -> None:
    reason = unreachable_reason()
    if reason:
        pytest.skip(reason)
    with fresh_database("pm_migrate") as url:
        assert _race(url) == []
        db = Database(url)
        assert current_revision(db) == head_revision()
        db.dispose()
