"""The per-ID limit and number uniqueness under 50+ concurrent registrations (each its own connection)."""

from __future__ import annotations

import secrets
import threading
from datetime import UTC, datetime

import pytest

from portraitmatch.adapters.storage import numbers as store
from portraitmatch.adapters.storage.database import Database
from portraitmatch.adapters.storage.protection import Protection
from portraitmatch.registry.numbers import SubscriptionStatus
from portraitmatch.registry.refusals import DocumentLimitError, NumberUnavailableError
from tests.integration.storage import seed

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
CONCURRENT = 50


def _fire(
    database: Database, jobs: list[tuple[object, int, str]], operator_id: str, limit: int
) -> list[object]:
    """Run every registration at once (a barrier releases all threads together); return each outcome."""
    results: list[object] = [None] * len(jobs)
    barrier = threading.Barrier(len(jobs))

    def run(i: int) -> None:
        session, document_id, msisdn = jobs[i]
        barrier.wait()
        try:
            with database.transaction() as db:
                results[i] = store.register_number(
                    db=db,
                    session=session,  # type: ignore[arg-type]
                    document_id=document_id,
                    msisdn=msisdn,
                    operator_id=operator_id,
                    limit=limit,
                    now=NOW,
                )
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def _numbers(n: int) -> list[str]:
    base = 15_000_000_000 + secrets.randbelow(10**9)
    return [str(base + i) for i in range(n)]


@pytest.mark.postgres
def test_fifty_concurrent_registrations_at_one_id(database: Database, protection: Protection) -> None:
    operator_id, outlet_id = seed.outlet(database, now=NOW)
    numbers = _numbers(CONCURRENT)
    with database.transaction() as db:
        store.add_numbers(db=db, operator_id=operator_id, msisdns=numbers, now=NOW)
    doc = seed.document()
    jobs = []
    for msisdn in numbers:
        session, document_id = seed.decided_session(
            database, protection, operator_id=operator_id, outlet_id=outlet_id, doc=doc, now=NOW
        )
        jobs.append((session, document_id, msisdn))
    results = _fire(database, jobs, operator_id, limit=5)
    wins = [r for r in results if not isinstance(r, Exception)]
    losses = [r for r in results if isinstance(r, Exception)]
    assert len(wins) == 5
    assert all(isinstance(r, DocumentLimitError) for r in losses), {type(r).__name__ for r in losses}
    with database.reading() as db:
        live = store.list_subscriptions(db=db, limit=100, document_id=jobs[0][1], live_only=True)
    assert len(live) == 5 and all(s.status is SubscriptionStatus.ACTIVE for s in live)


@pytest.mark.postgres
def test_fifty_concurrent_registrations_of_one_number(database: Database, protection: Protection) -> None:
    operator_id, outlet_id = seed.outlet(database, now=NOW)
    (msisdn,) = _numbers(1)
    with database.transaction() as db:
        store.add_numbers(db=db, operator_id=operator_id, msisdns=[msisdn], now=NOW)
    jobs = []
    for _ in range(CONCURRENT):
        session, document_id = seed.decided_session(
            database, protection, operator_id=operator_id, outlet_id=outlet_id, doc=seed.document(), now=NOW
        )
        jobs.append((session, document_id, msisdn))
    results = _fire(database, jobs, operator_id, limit=5)
    wins = [r for r in results if not isinstance(r, Exception)]
    losses = [r for r in results if isinstance(r, Exception)]
    assert len(wins) == 1
    assert all(isinstance(r, NumberUnavailableError) for r in losses), {type(r).__name__ for r in losses}
    with database.reading() as db:
        assert store.live_subscription(db=db, msisdn=msisdn).document_key == wins[0].document_key  # type: ignore[union-attr, attr-defined]
