from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, MetaData, Table, insert, inspect, text

from portraitmatch.adapters.storage import sessions as session_store
from portraitmatch.adapters.storage.database import Database
from portraitmatch.adapters.storage.migrations import (
    alembic_config,
    all_tables,
    current_revision,
    head_revision,
    upgrade_database,
)
from portraitmatch.registry.sessions import CaptureMode
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


# -- a003: the capture mode ------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database with no schema at all, to migrate step by step (the shared ones are at head)."""
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'steps.sqlite3'}")
        yield db
        db.dispose()
        return
    reason = unreachable_reason()
    if reason:
        pytest.skip(reason)
    with fresh_database("pm_steps") as url:
        db = Database(url)
        yield db
        db.dispose()


def _upgrade_to(database: Database, revision: str) -> None:
    config = alembic_config()
    with database.engine.connect() as conn, conn.begin():
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def _insert_session(conn: Connection, session_id: str, now: datetime) -> None:
    """A session row as the schema of the moment has it (no ``capture_mode`` before a003)."""
    meta = MetaData()
    sessions, documents = (Table(name, meta, autoload_with=conn) for name in ("sessions", "documents"))
    if conn.scalar(documents.select().with_only_columns(documents.c.id).limit(1)) is None:
        operators, outlets = (Table(name, meta, autoload_with=conn) for name in ("operators", "outlets"))
        conn.execute(insert(operators).values(id="op", name="Operator", created_at=now))
        conn.execute(insert(outlets).values(id="shop", operator_id="op", name="Shop", created_at=now))
        conn.execute(
            insert(documents).values(
                id=1,
                lookup_key="k" * 64,
                doc_type="resident_id",
                subject_ref="s" * 64,
                number_sealed=b"n",
                name_sealed=b"n",
                created_at=now,
                updated_at=now,
            )
        )
    conn.execute(
        insert(sessions).values(
            id=session_id,
            outlet_id="shop",
            operator_id="op",
            api_key_id="key",
            channel="counter",
            purpose="registration",
            document_id=1,
            device_key="device",
            state="issued",
            actions="turn_left,blink",
            nonce="nonce",
            capture_token_sha256="0" * 64,
            issued_at=now,
            expires_at=now + timedelta(seconds=120),
        )
    )


def test_sessions_from_before_the_capture_mode_stay_video_and_new_ones_stream(
    empty_database: Database,
) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)  # naive UTC, as the column stores it on SQLite
    _upgrade_to(empty_database, "a002")
    with empty_database.engine.begin() as conn:
        _insert_session(conn, "in-flight", now)
    assert upgrade_database(empty_database) == head_revision()
    with empty_database.engine.begin() as conn:
        _insert_session(conn, "new", now)  # a row that does not name its mode gets the default
    with empty_database.reading() as db:
        old = session_store.get_session(db=db, session_id="in-flight")
        new = session_store.get_session(db=db, session_id="new")
    # Its actions were disclosed when it was created: it keeps taking the upload it was made for.
    assert old is not None and old.capture is CaptureMode.VIDEO
    assert new is not None and new.capture is CaptureMode.STREAM


# -- a004: holder flags keep a code --------------------------------------------------------------


def test_holder_notes_become_codes_and_their_text_is_gone(empty_database: Database) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    _upgrade_to(empty_database, "a003")
    notes = {
        "s-empty": "",
        "s-text": "张三 never had it, call 13900000000",
        "s-code": "other",
        "s-none": None,
    }
    with empty_database.engine.begin() as conn:
        meta = MetaData()
        numbers, subscriptions = (Table(n, meta, autoload_with=conn) for n in ("numbers", "subscriptions"))
        for k, (session_id, note) in enumerate(notes.items()):
            _insert_session(conn, session_id, now)
            conn.execute(
                insert(numbers).values(
                    id=k + 1, operator_id="op", msisdn=f"1390000000{k}", state="assigned", added_at=now
                )
            )
            conn.execute(
                insert(subscriptions).values(
                    number_id=k + 1,
                    document_id=1,
                    operator_id="op",
                    outlet_id="shop",
                    session_id=session_id,
                    status="active",
                    started_at=now,
                    holder_flagged_at=None if note is None else now,
                    holder_flag_note=note,
                )
            )
    assert upgrade_database(empty_database) == head_revision()
    with empty_database.engine.begin() as conn:
        rows = dict(conn.execute(text("SELECT session_id, holder_flag_note FROM subscriptions")).all())
    assert rows == {"s-empty": "not_recognised", "s-text": "other", "s-code": "other", "s-none": None}
