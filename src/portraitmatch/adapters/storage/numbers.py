"""Number inventory and subscriptions: the registry's transactions.

Every function runs inside the caller's transaction and either completes or raises, so the
caller's rollback leaves nothing half-written. Rows are locked in one order everywhere
(session, then document, then number, then subscription) so concurrent requests queue instead
of deadlocking: the document row serialises the per-ID limit, the number row serialises its
assignment. On SQLite, ``BEGIN IMMEDIATE`` already serialises writers; the locks are no-ops.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from portraitmatch.adapters.storage.sessions import claim_use, get_session
from portraitmatch.adapters.storage.tables import DocumentRow, NumberRow, SubscriptionRow
from portraitmatch.registry.numbers import (
    LIVE_STATUSES,
    EndReason,
    NumberRecord,
    NumberState,
    Subscription,
    SubscriptionStatus,
    cooling_end,
    ensure_assignable,
    ensure_within_limit,
)
from portraitmatch.registry.refusals import (
    ConflictError,
    NotFoundError,
    NumberUnavailableError,
    SessionExpiredError,
    SessionStateError,
)
from portraitmatch.registry.sessions import SessionState, VerificationSession, effective_state

_LIVE = [s.value for s in LIVE_STATUSES]
_CHUNK = 500


def _number(row: NumberRow) -> NumberRecord:
    return NumberRecord(row.msisdn, row.operator_id, NumberState(row.state), row.cooling_until)


def _subscription(row: SubscriptionRow, msisdn: str, document_key: str) -> Subscription:
    return Subscription(
        id=row.id,
        msisdn=msisdn,
        operator_id=row.operator_id,
        outlet_id=row.outlet_id,
        document_key=document_key,
        status=SubscriptionStatus(row.status),
        started_at=row.started_at,
        ended_at=row.ended_at,
        end_reason=EndReason(row.end_reason) if row.end_reason else None,
        reverify_reason=row.reverify_reason,
        reverify_deadline=row.reverify_deadline,
        holder_flagged_at=row.holder_flagged_at,
        holder_flag_reason=row.holder_flag_note,
    )


def _select_subscriptions():  # type: ignore[no-untyped-def]
    return (
        select(SubscriptionRow, NumberRow.msisdn, DocumentRow.lookup_key)
        .join(NumberRow, NumberRow.id == SubscriptionRow.number_id)
        .join(DocumentRow, DocumentRow.id == SubscriptionRow.document_id)
    )


def _load_subscription(db: Session, subscription_id: int) -> Subscription:
    row, msisdn, key = db.execute(_select_subscriptions().where(SubscriptionRow.id == subscription_id)).one()
    return _subscription(row, msisdn, key)


# -- inventory ---------------------------------------------------------------------------------


def add_numbers(
    *, db: Session, operator_id: str, msisdns: Sequence[str], now: datetime
) -> tuple[int, list[str]]:
    """Add numbers to an operator's inventory; returns (how many were added, those already present)."""
    wanted = list(dict.fromkeys(msisdns))
    present: set[str] = set()
    for i in range(0, len(wanted), _CHUNK):
        chunk = wanted[i : i + _CHUNK]
        present.update(db.scalars(select(NumberRow.msisdn).where(NumberRow.msisdn.in_(chunk))))
    fresh = [m for m in wanted if m not in present]
    insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    added = 0
    for i in range(0, len(fresh), _CHUNK):
        rows = [
            {"operator_id": operator_id, "msisdn": m, "state": NumberState.AVAILABLE.value, "added_at": now}
            for m in fresh[i : i + _CHUNK]
        ]
        inserted = db.scalars(
            insert(NumberRow)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["msisdn"])
            .returning(NumberRow.msisdn)
        ).all()
        added += len(inserted)
    return added, [m for m in wanted if m in present]


def get_number(*, db: Session, msisdn: str) -> NumberRecord | None:
    row = db.scalars(select(NumberRow).where(NumberRow.msisdn == msisdn)).first()
    return _number(row) if row else None


def list_numbers(
    *, db: Session, operator_id: str | None, state: NumberState | None, limit: int, after: str | None = None
) -> list[NumberRecord]:
    query = select(NumberRow).order_by(NumberRow.msisdn).limit(limit)
    if operator_id is not None:
        query = query.where(NumberRow.operator_id == operator_id)
    if state is not None:
        query = query.where(NumberRow.state == state.value)
    if after is not None:
        query = query.where(NumberRow.msisdn > after)
    return [_number(r) for r in db.scalars(query)]


def count_numbers(*, db: Session, operator_id: str | None) -> dict[str, int]:
    query = select(NumberRow.state, func.count()).group_by(NumberRow.state)
    if operator_id is not None:
        query = query.where(NumberRow.operator_id == operator_id)
    return {state: n for state, n in db.execute(query)}


# -- locks -------------------------------------------------------------------------------------


def _lock_document(db: Session, document_id: int) -> None:
    db.execute(select(DocumentRow.id).where(DocumentRow.id == document_id).with_for_update())


def _live_count(db: Session, document_id: int) -> int:
    return (
        db.scalar(
            select(func.count())
            .select_from(SubscriptionRow)
            .where(SubscriptionRow.document_id == document_id, SubscriptionRow.status.in_(_LIVE))
        )
        or 0
    )


def _lock_number(db: Session, msisdn: str, operator_id: str | None) -> NumberRow:
    row = db.scalars(select(NumberRow).where(NumberRow.msisdn == msisdn).with_for_update()).first()
    if row is None or (operator_id is not None and row.operator_id != operator_id):
        raise NotFoundError(f"{msisdn} is not in this operator's inventory.", code="UNKNOWN_NUMBER")
    return row


def _lock_live_subscription(db: Session, number_id: int) -> SubscriptionRow | None:
    return db.scalars(
        select(SubscriptionRow)
        .where(SubscriptionRow.number_id == number_id, SubscriptionRow.status.in_(_LIVE))
        .with_for_update()
    ).first()


def _use_session(db: Session, session: VerificationSession, used_for: str, now: datetime) -> None:
    if not claim_use(db=db, session_id=session.id, used_for=used_for, now=now):
        current = get_session(db=db, session_id=session.id)
        if current is not None and effective_state(current, now) is SessionState.EXPIRED:
            raise SessionExpiredError("The session has expired; the customer must verify again.")
        raise SessionStateError("The session was already used; sessions are one-time.", code="SESSION_USED")


def _open_subscription(
    db: Session, *, number: NumberRow, document_id: int, session: VerificationSession, now: datetime
) -> SubscriptionRow:
    row = SubscriptionRow(
        number_id=number.id,
        document_id=document_id,
        operator_id=number.operator_id,
        outlet_id=session.outlet_id,
        session_id=session.id,
        status=SubscriptionStatus.ACTIVE.value,
        started_at=now,
    )
    db.add(row)
    db.flush()
    return row


# -- registry transactions ---------------------------------------------------------------------


def register_number(
    *,
    db: Session,
    session: VerificationSession,
    document_id: int,
    msisdn: str,
    operator_id: str,
    limit: int,
    now: datetime,
) -> Subscription:
    """Assign an available number to the session's document, using the session up.

    The caller has checked ``registry.sessions.ensure_usable``; this re-checks what can change
    between that read and now (use, limit, availability) under locks.
    """
    _use_session(db, session, "registration", now)
    _lock_document(db, document_id)
    ensure_within_limit(_live_count(db, document_id), limit)
    number = _lock_number(db, msisdn, operator_id)
    ensure_assignable(_number(number), now)
    number.state = NumberState.ASSIGNED.value
    number.cooling_until = None
    row = _open_subscription(db, number=number, document_id=document_id, session=session, now=now)
    return _load_subscription(db, row.id)


def transfer_number(
    *,
    db: Session,
    session: VerificationSession,
    document_id: int,
    msisdn: str,
    operator_id: str,
    limit: int,
    now: datetime,
) -> tuple[Subscription, Subscription]:
    """Move a live number to the holder of ``session`` (their own passed session); returns (old, new)."""
    _use_session(db, session, "transfer", now)
    _lock_document(db, document_id)
    ensure_within_limit(_live_count(db, document_id), limit)
    number = _lock_number(db, msisdn, operator_id)
    current = _lock_live_subscription(db, number.id)
    if current is None:
        raise NumberUnavailableError(f"{msisdn} is not assigned to anyone.", code="NUMBER_NOT_ASSIGNED")
    if current.status != SubscriptionStatus.ACTIVE.value:
        raise NumberUnavailableError(
            f"{msisdn} is suspended; its holder must re-verify before it can be transferred.",
            code="NUMBER_SUSPENDED",
        )
    if current.reverify_deadline is not None and current.reverify_deadline <= now:
        raise NumberUnavailableError(
            f"{msisdn} missed its re-verification deadline and is suspended.", code="NUMBER_SUSPENDED"
        )
    if current.document_id == document_id:
        raise ConflictError(f"{msisdn} is already registered to this ID document.", code="SAME_HOLDER")
    current.status = SubscriptionStatus.ENDED.value
    current.end_reason = EndReason.TRANSFERRED.value
    current.ended_at = now
    db.flush()  # the live-number index must see the old subscription end before the new one starts
    row = _open_subscription(db, number=number, document_id=document_id, session=session, now=now)
    return _load_subscription(db, current.id), _load_subscription(db, row.id)


def cancel_number(
    *, db: Session, msisdn: str, operator_id: str | None, cooling_days: float, now: datetime
) -> Subscription:
    """End the number's subscription; the number rests for the cooling period, then is available again."""
    number = _lock_number(db, msisdn, operator_id)
    current = _lock_live_subscription(db, number.id)
    if current is None:
        raise NumberUnavailableError(f"{msisdn} is not assigned to anyone.", code="NUMBER_NOT_ASSIGNED")
    current.status = SubscriptionStatus.ENDED.value
    current.end_reason = EndReason.CANCELLED.value
    current.ended_at = now
    number.state = NumberState.COOLING.value
    number.cooling_until = cooling_end(now, cooling_days)
    db.flush()
    return _load_subscription(db, current.id)


def live_subscription(*, db: Session, msisdn: str) -> Subscription | None:
    found = db.execute(
        _select_subscriptions().where(NumberRow.msisdn == msisdn, SubscriptionRow.status.in_(_LIVE))
    ).first()
    return _subscription(*found) if found else None


def subscription_document_id(*, db: Session, subscription_id: int) -> int:
    return db.scalars(select(SubscriptionRow.document_id).where(SubscriptionRow.id == subscription_id)).one()


def request_reverification(
    *, db: Session, msisdn: str, operator_id: str | None, reason: str, deadline: datetime, now: datetime
) -> Subscription:
    number = _lock_number(db, msisdn, operator_id)
    current = _lock_live_subscription(db, number.id)
    if current is None:
        raise NumberUnavailableError(f"{msisdn} is not assigned to anyone.", code="NUMBER_NOT_ASSIGNED")
    if current.status != SubscriptionStatus.ACTIVE.value:
        raise NumberUnavailableError(f"{msisdn} is already suspended.", code="NUMBER_SUSPENDED")
    current.reverify_reason = reason
    current.reverify_requested_at = now
    current.reverify_deadline = deadline
    db.flush()
    return _load_subscription(db, current.id)


def complete_reverification(
    *, db: Session, session: VerificationSession, document_id: int, now: datetime
) -> list[Subscription]:
    """The holder re-verified: clear every pending request on their numbers and lift suspensions."""
    _lock_document(db, document_id)
    pending = list(
        db.scalars(
            select(SubscriptionRow)
            .where(
                SubscriptionRow.document_id == document_id,
                SubscriptionRow.status.in_(_LIVE),
                SubscriptionRow.reverify_requested_at.is_not(None),
                SubscriptionRow.reverify_deadline.is_not(None),
            )
            .with_for_update()
        )
    )
    if not pending:
        raise ConflictError(
            "No number of this ID document awaits re-verification.", code="NOTHING_TO_REVERIFY"
        )
    _use_session(db, session, "reverification", now)
    for row in pending:
        row.reverify_deadline = None
        row.reverified_at = now
        row.status = SubscriptionStatus.ACTIVE.value
        row.suspended_at = None
    db.flush()
    return [_load_subscription(db, row.id) for row in pending]


def suspend_overdue(*, db: Session, now: datetime, limit: int = 500) -> list[Subscription]:
    """Suspend active subscriptions past their re-verification deadline; returns those this call changed."""
    ids = list(
        db.scalars(
            select(SubscriptionRow.id)
            .where(
                SubscriptionRow.status == SubscriptionStatus.ACTIVE.value,
                SubscriptionRow.reverify_deadline <= now,
            )
            .limit(limit)
        )
    )
    changed = []
    for subscription_id in ids:
        done = db.execute(
            update(SubscriptionRow)
            .where(
                SubscriptionRow.id == subscription_id,
                SubscriptionRow.status == SubscriptionStatus.ACTIVE.value,
                SubscriptionRow.reverify_deadline <= now,
            )
            .values(status=SubscriptionStatus.SUSPENDED.value, suspended_at=now)
        ).rowcount
        if done:
            changed.append(_load_subscription(db, subscription_id))
    return changed


def flag_by_holder(*, db: Session, document_id: int, msisdn: str, reason: str, now: datetime) -> Subscription:
    """Mark a live registration as reported by the document's holder; `reason` is a
    `HolderFlagReason` code (the column keeps its historic name, ``holder_flag_note``)."""
    row = db.scalars(
        select(SubscriptionRow)
        .join(NumberRow, NumberRow.id == SubscriptionRow.number_id)
        .where(
            NumberRow.msisdn == msisdn,
            SubscriptionRow.document_id == document_id,
            SubscriptionRow.status.in_(_LIVE),
        )
        .with_for_update()
    ).first()
    if row is None:
        raise NotFoundError(f"{msisdn} is not registered to this ID document.", code="UNKNOWN_NUMBER")
    row.holder_flagged_at = now
    row.holder_flag_note = reason
    db.flush()
    return _load_subscription(db, row.id)


def list_subscriptions(
    *,
    db: Session,
    limit: int,
    document_id: int | None = None,
    operator_id: str | None = None,
    outlet_id: str | None = None,
    live_only: bool = False,
    flagged_only: bool = False,
    reverification_only: bool = False,
    after_id: int | None = None,
) -> list[Subscription]:
    query = _select_subscriptions().order_by(SubscriptionRow.id).limit(limit)
    if document_id is not None:
        query = query.where(SubscriptionRow.document_id == document_id)
    if operator_id is not None:
        query = query.where(SubscriptionRow.operator_id == operator_id)
    if outlet_id is not None:
        query = query.where(SubscriptionRow.outlet_id == outlet_id)
    if live_only:
        query = query.where(SubscriptionRow.status.in_(_LIVE))
    if flagged_only:
        query = query.where(SubscriptionRow.holder_flagged_at.is_not(None))
    if reverification_only:
        query = query.where(SubscriptionRow.reverify_deadline.is_not(None))
    if after_id is not None:
        query = query.where(SubscriptionRow.id > after_id)
    return [_subscription(row, msisdn, key) for row, msisdn, key in db.execute(query)]
