"""Registry transactions on both databases: limits, uniqueness, one-time sessions, cooling, transfer."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest

from portraitmatch.adapters.storage import numbers as store
from portraitmatch.adapters.storage import sessions as session_store
from portraitmatch.adapters.storage.database import Database
from portraitmatch.adapters.storage.protection import Protection
from portraitmatch.registry.numbers import EndReason, NumberState, SubscriptionStatus
from portraitmatch.registry.refusals import (
    ConflictError,
    DocumentLimitError,
    NotFoundError,
    NumberUnavailableError,
    SessionExpiredError,
    SessionStateError,
)
from portraitmatch.registry.sessions import Purpose, SessionState
from tests.integration.storage import seed

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def _numbers(n: int) -> list[str]:
    base = 13_000_000_000 + secrets.randbelow(10**9)
    return [str(base + i) for i in range(n)]


@pytest.fixture
def shop(database: Database) -> tuple[str, str]:
    return seed.outlet(database, now=NOW)


def _register(database: Database, protection: Protection, shop: tuple[str, str], msisdn: str, doc, **kw):  # type: ignore[no-untyped-def]
    operator_id, outlet_id = shop
    session, document_id = seed.decided_session(
        database, protection, operator_id=operator_id, outlet_id=outlet_id, doc=doc, now=kw.get("now", NOW)
    )
    with database.transaction() as db:
        return store.register_number(
            db=db,
            session=session,
            document_id=document_id,
            msisdn=msisdn,
            operator_id=kw.get("operator_id", operator_id),
            limit=kw.get("limit", 5),
            now=kw.get("now", NOW),
        )


def test_inventory_import_skips_numbers_already_present(database: Database, shop: tuple[str, str]) -> None:
    numbers = _numbers(3)
    with database.transaction() as db:
        assert store.add_numbers(db=db, operator_id=shop[0], msisdns=numbers[:2], now=NOW) == (2, [])
    with database.transaction() as db:
        assert store.add_numbers(db=db, operator_id=shop[0], msisdns=numbers, now=NOW) == (1, numbers[:2])
        assert store.count_numbers(db=db, operator_id=shop[0]) == {"available": 3}


def test_per_document_limit_holds(database: Database, protection: Protection, shop: tuple[str, str]) -> None:
    numbers = _numbers(6)
    with database.transaction() as db:
        store.add_numbers(db=db, operator_id=shop[0], msisdns=numbers, now=NOW)
    doc = seed.document()
    for msisdn in numbers[:5]:
        sub = _register(database, protection, shop, msisdn, doc)
        assert sub.status is SubscriptionStatus.ACTIVE
    with pytest.raises(DocumentLimitError):
        _register(database, protection, shop, numbers[5], doc)
    with database.reading() as db:
        assert store.get_number(db=db, msisdn=numbers[5]).state is NumberState.AVAILABLE  # type: ignore[union-attr]


def test_a_number_is_never_assigned_twice(
    database: Database, protection: Protection, shop: tuple[str, str]
) -> None:
    (msisdn,) = _numbers(1)
    with database.transaction() as db:
        store.add_numbers(db=db, operator_id=shop[0], msisdns=[msisdn], now=NOW)
    _register(database, protection, shop, msisdn, seed.document())
    with pytest.raises(NumberUnavailableError) as err:
        _register(database, protection, shop, msisdn, seed.document())
    assert err.value.code == "NUMBER_ASSIGNED"


def test_unknown_or_foreign_numbers_are_not_found(
    database: Database, protection: Protection, shop: tuple[str, str]
) -> None:
    (msisdn,) = _numbers(1)
    with pytest.raises(NotFoundError):
        _register(database, protection, shop, msisdn, seed.document())
    other_operator, _ = seed.outlet(database, now=NOW)
    with database.transaction() as db:
        store.add_numbers(db=db, operator_id=other_operator, msisdns=[msisdn], now=NOW)
    with pytest.raises(NotFoundError):
        _register(database, protection, shop, msisdn, seed.document())


def test_a_session_is_used_once(database: Database, protection: Protection, shop: tuple[str, str]) -> None:
    numbers = _numbers(2)
    with database.transaction() as db:
        store.add_numbers(db=db, operator_id=shop[0], msisdns=numbers, now=NOW)
    session, document_id = seed.decided_session(
        database, protection, operator_id=shop[0], outlet_id=shop[1], doc=seed.document(), now=NOW
    )
    with database.transaction() as db:
        store.register_number(
            db=db,
            session=session,
            document_id=document_id,
            msisdn=numbers[0],
            operator_id=shop[0],
            limit=5,
            now=NOW,
        )
    with database.reading() as db:
        used = session_store.get_session(db=db, session_id=session.id)
    assert used is not None and used.state is SessionState.USED and used.used_for == "registration"
    with pytest.raises(SessionStateError) as err, database.transaction() as db:
        store.register_number(
            db=db,
            session=session,
            document_id=document_id,
            msisdn=numbers[1],
            operator_id=shop[0],
            limit=5,
            now=NOW,
        )
    assert err.value.code == "SESSION_USED"


def test_an_expired_pass_cannot_be_used(
    database: Database, protection: Protection, shop: tuple[str, str]
) -> None:
    (msisdn,) = _numbers(1)
    with database.transaction() as db:
        store.add_numbers(db=db, operator_id=shop[0], msisdns=[msisdn], now=NOW)
    session, document_id = seed.decided_session(
        database, protection, operator_id=shop[0], outlet_id=shop[1], doc=seed.document(), now=NOW
    )
    with pytest.raises(SessionExpiredError), database.transaction() as db:
        store.register_number(
            db=db,
            session=session,
            document_id=document_id,
            msisdn=msisdn,
            operator_id=shop[0],
            limit=5,
            now=NOW + timedelta(seconds=901),
        )


def test_a_failed_transaction_leaves_nothing_half_written(
    database: Database, protection: Protection, shop: tuple[str, str]
) -> None:
    (msisdn,) = _numbers(1)
    with database.transaction() as db:
        store.add_numbers(db=db, operator_id=shop[0], msisdns=[msisdn], now=NOW)
    session, document_id = seed.decided_session(
        database, protection, operator_id=shop[0], outlet_id=shop[1], doc=seed.document(), now=NOW
    )

    class Crash(Exception):
        pass

    with pytest.raises(Crash), database.transaction() as db:
        store.register_number(
            db=db,
            session=session,
            document_id=document_id,
            msisdn=msisdn,
            operator_id=shop[0],
            limit=5,
            now=NOW,
        )
        raise Crash  # the process dies after the writes, before the commit
    with database.reading() as db:
        assert store.get_number(db=db, msisdn=msisdn).state is NumberState.AVAILABLE  # type: ignore[union-attr]
        assert store.live_subscription(db=db, msisdn=msisdn) is None
        assert session_store.get_session(db=db, session_id=session.id).state is SessionState.DECIDED  # type: ignore[union-attr]
    with database.transaction() as db:  # and the session still works afterwards
        store.register_number(
            db=db,
            session=session,
            document_id=document_id,
            msisdn=msisdn,
            operator_id=shop[0],
            limit=5,
            now=NOW,
        )


def test_cancellation_cools_the_number_down(
    database: Database, protection: Protection, shop: tuple[str, str]
) -> None:
    (msisdn,) = _numbers(1)
    with database.transaction() as db:
        store.add_numbers(db=db, operator_id=shop[0], msisdns=[msisdn], now=NOW)
    _register(database, protection, shop, msisdn, seed.document())
    with database.transaction() as db:
        ended = store.cancel_number(db=db, msisdn=msisdn, operator_id=shop[0], cooling_days=90, now=NOW)
    assert ended.status is SubscriptionStatus.ENDED and ended.end_reason is EndReason.CANCELLED
    with pytest.raises(NumberUnavailableError) as err:
        _register(database, protection, shop, msisdn, seed.document(), now=NOW + timedelta(days=89))
    assert err.value.code == "NUMBER_COOLING"
    sub = _register(database, protection, shop, msisdn, seed.document(), now=NOW + timedelta(days=90))
    assert sub.status is SubscriptionStatus.ACTIVE
    later = NOW + timedelta(days=91)
    with database.transaction() as db:
        store.cancel_number(db=db, msisdn=msisdn, operator_id=shop[0], cooling_days=90, now=later)
    with pytest.raises(NumberUnavailableError) as err, database.transaction() as db:
        store.cancel_number(db=db, msisdn=msisdn, operator_id=shop[0], cooling_days=90, now=later)
    assert err.value.code == "NUMBER_NOT_ASSIGNED"


def test_transfer_needs_the_new_holders_session_and_respects_their_limit(
    database: Database, protection: Protection, shop: tuple[str, str]
) -> None:
    numbers = _numbers(6)
    with database.transaction() as db:
        store.add_numbers(db=db, operator_id=shop[0], msisdns=numbers, now=NOW)
    alice, bob = seed.document(name="Alice"), seed.document(name="Bob")
    _register(database, protection, shop, numbers[0], alice)
    session, bob_id = seed.decided_session(
        database, protection, operator_id=shop[0], outlet_id=shop[1], doc=bob, now=NOW
    )
    with database.transaction() as db:
        old, new = store.transfer_number(
            db=db,
            session=session,
            document_id=bob_id,
            msisdn=numbers[0],
            operator_id=shop[0],
            limit=5,
            now=NOW,
        )
    assert old.end_reason is EndReason.TRANSFERRED and old.document_key != new.document_key
    assert new.status is SubscriptionStatus.ACTIVE and new.msisdn == numbers[0]
    # back to Alice? she needs her own session, and Bob cannot take what he already holds
    again, _ = seed.decided_session(
        database, protection, operator_id=shop[0], outlet_id=shop[1], doc=bob, now=NOW
    )
    with pytest.raises(ConflictError), database.transaction() as db:
        store.transfer_number(
            db=db, session=again, document_id=bob_id, msisdn=numbers[0], operator_id=shop[0], limit=5, now=NOW
        )
    for msisdn in numbers[1:5]:
        _register(database, protection, shop, msisdn, bob)
    _register(database, protection, shop, numbers[5], alice)
    full, _ = seed.decided_session(
        database, protection, operator_id=shop[0], outlet_id=shop[1], doc=bob, now=NOW
    )
    with pytest.raises(DocumentLimitError), database.transaction() as db:
        store.transfer_number(
            db=db, session=full, document_id=bob_id, msisdn=numbers[5], operator_id=shop[0], limit=5, now=NOW
        )


def test_reverification_deadline_suspends_and_reverifying_restores(
    database: Database, protection: Protection, shop: tuple[str, str]
) -> None:
    numbers = _numbers(2)
    with database.transaction() as db:
        store.add_numbers(db=db, operator_id=shop[0], msisdns=numbers, now=NOW)
    doc = seed.document()
    for msisdn in numbers:
        _register(database, protection, shop, msisdn, doc)
    deadline = NOW + timedelta(days=14)
    with database.transaction() as db:
        flagged = store.request_reverification(
            db=db, msisdn=numbers[0], operator_id=None, reason="suspected fraud", deadline=deadline, now=NOW
        )
    assert flagged.reverify_deadline == deadline
    with database.transaction() as db:
        assert store.suspend_overdue(db=db, now=deadline - timedelta(seconds=1)) == []
    with database.transaction() as db:
        suspended = store.suspend_overdue(db=db, now=deadline)
    assert [s.msisdn for s in suspended] == [numbers[0]]
    assert suspended[0].status is SubscriptionStatus.SUSPENDED
    with database.transaction() as db:  # idempotent: a second process sweeping finds nothing left
        assert store.suspend_overdue(db=db, now=deadline) == []
    session, document_id = seed.decided_session(
        database,
        protection,
        operator_id=shop[0],
        outlet_id=shop[1],
        doc=doc,
        now=deadline,
        purpose=Purpose.REVERIFICATION,
    )
    with database.transaction() as db:
        restored = store.complete_reverification(
            db=db, session=session, document_id=document_id, now=deadline
        )
    assert [(s.msisdn, s.status, s.reverify_deadline) for s in restored] == [
        (numbers[0], SubscriptionStatus.ACTIVE, None)
    ]
    with pytest.raises(ConflictError), database.transaction() as db:
        store.complete_reverification(db=db, session=session, document_id=document_id, now=deadline)


def test_holder_flags_a_number_as_not_theirs(
    database: Database, protection: Protection, shop: tuple[str, str]
) -> None:
    (msisdn,) = _numbers(1)
    with database.transaction() as db:
        store.add_numbers(db=db, operator_id=shop[0], msisdns=[msisdn], now=NOW)
    doc = seed.document()
    sub = _register(database, protection, shop, msisdn, doc)
    document_id = None
    with database.reading() as db:
        document_id = store.subscription_document_id(db=db, subscription_id=sub.id)
    with database.transaction() as db:
        flagged = store.flag_by_holder(
            db=db, document_id=document_id, msisdn=msisdn, reason="document_lost", now=NOW
        )
    assert flagged.holder_flagged_at == NOW and flagged.holder_flag_reason == "document_lost"
    with database.reading() as db:
        listed = store.list_subscriptions(db=db, limit=10, flagged_only=True, operator_id=shop[0])
    assert [s.msisdn for s in listed] == [msisdn]
    with pytest.raises(NotFoundError), database.transaction() as db:
        store.flag_by_holder(db=db, document_id=document_id + 10_000, msisdn=msisdn, reason="other", now=NOW)
