"""Transactions: writers queue instead of failing; readers never wait for a writer."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import text

from portraitmatch.adapters.storage.database import Database
from portraitmatch.adapters.storage.outlets import create_operator, list_operators


def test_a_reader_does_not_wait_for_an_open_writer(database: Database) -> None:
    read_done = threading.Event()

    def read() -> None:
        with database.reading() as db:
            db.execute(text("SELECT COUNT(*) FROM operators")).scalar_one()
        read_done.set()

    with database.transaction() as db:
        create_operator(db=db, operator_id="held-open", name="x", now=datetime.now(UTC))
        reader = threading.Thread(target=read)
        reader.start()
        # The writer still holds its transaction: a reader that took a write lock would wait here.
        assert read_done.wait(timeout=10), "the reader waited for the writer"
    reader.join()


def test_concurrent_writers_queue_and_all_commit(database: Database) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def write(i: int) -> None:
        try:
            barrier.wait()
            with database.transaction() as db:
                # read, then write in the same transaction: the pattern that fails on SQLite with a
                # deferred BEGIN ("database is locked" on the lock upgrade)
                list_operators(db=db)
                create_operator(
                    db=db, operator_id=f"writer-{i}-{id(database)}", name="x", now=datetime.now(UTC)
                )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with database.reading() as db:
        assert (
            sum(
                o.id.startswith("writer-") and o.id.endswith(str(id(database))) for o in list_operators(db=db)
            )
            == 8
        )
