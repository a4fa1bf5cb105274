"""The real-name registry as the service runs it: register, transfer, cancel, re-verify, self-service.

Each action is one transaction. A refusal raised inside it rolls everything back (the session is
not used up, no number changes hands); limit hits are then recorded in a transaction of their own
so that the refusal itself is on record.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError

from portraitmatch.adapters.storage import attempts as attempt_store
from portraitmatch.adapters.storage import numbers as number_store
from portraitmatch.adapters.storage.documents import document_lookup_key, read_holder
from portraitmatch.adapters.storage.sessions import get_session, get_session_keys
from portraitmatch.adapters.web.context import ServiceContext
from portraitmatch.adapters.web.events import ServiceEvent
from portraitmatch.adapters.web.schemas import DocumentRef
from portraitmatch.audit.catalogue import EventType
from portraitmatch.audit.reasons import (
    CancellationReason,
    HolderFlagReason,
    ReverificationReason,
    SuspensionReason,
)
from portraitmatch.registry.access import Principal, Role, require_operator, require_outlet, require_role
from portraitmatch.registry.attempts import Subject
from portraitmatch.registry.documents import normalise_document_number
from portraitmatch.registry.mobile import parse_mobile_number
from portraitmatch.registry.numbers import (
    NumberRecord,
    Subscription,
    ensure_reverification_deadline,
)
from portraitmatch.registry.refusals import DocumentLimitError, NotFoundError, NumberUnavailableError
from portraitmatch.registry.sessions import Purpose, VerificationSession, ensure_usable


def _actor(principal: Principal) -> str:
    return f"key:{principal.key_id}"


def _document_key(ctx: ServiceContext, ref: DocumentRef, now: datetime) -> str:
    number = normalise_document_number(ref.document_type, ref.document_number, today=ctx.today())
    with ctx.database.reading() as db:
        return document_lookup_key(
            db=db,
            protection=ctx.protection,
            document_type=ref.document_type,
            number=number,
            issuing_state=ref.issuing_state,
            now=now,
        )


def _usable_session(
    ctx: ServiceContext,
    *,
    principal: Principal,
    session_id: str,
    ref: DocumentRef,
    purpose: Purpose,
    now: datetime,
) -> tuple[VerificationSession, int]:
    """The session and its document row, checked: passed, unused, in time, same document and outlet."""
    require_role(principal, Role.CLERK)
    document_key = _document_key(ctx, ref, now)
    with ctx.database.reading() as db:
        session = get_session(db=db, session_id=session_id)
        keys = get_session_keys(db=db, session_id=session_id)
    if session is None or keys is None:
        raise NotFoundError("No such session.", code="UNKNOWN_SESSION")
    require_outlet(principal, session.outlet_id, what="session")
    ensure_usable(
        session, purpose=purpose, document_key=document_key, outlet_id=principal.outlet_id or "", now=now
    )
    return session, keys.document_id


def _record_limit(
    ctx: ServiceContext, *, principal: Principal, session: VerificationSession, detail: str
) -> None:
    now = ctx.now()
    with ctx.database.transaction() as db:
        attempt_store.record_limit_hit(
            db=db,
            kind="numbers_per_document",
            at=now,
            subject=Subject.DOCUMENT,
            subject_key=session.document_key,
            outlet_id=session.outlet_id,
            api_key_id=principal.key_id,
            session_id=session.id,
            detail=detail,
        )
        ctx.audit.record(
            ServiceEvent(
                EventType.LIMIT_REACHED,
                actor=_actor(principal),
                at=now,
                outlet_id=session.outlet_id,
                objects={"session": session.id},
                details={
                    "kind": "numbers_per_document",
                    "limit": str(ctx.settings.registry.max_numbers_per_document),
                },
            ),
            db=db,
        )


def _subscription_event(
    ctx: ServiceContext,
    db: object,
    *,
    type: EventType,
    principal: Principal | None,
    sub: Subscription,
    now: datetime,
    **details: object,
) -> None:
    ctx.audit.record(
        ServiceEvent(
            type,
            actor=_actor(principal) if principal else "system",
            at=now,
            outlet_id=sub.outlet_id,
            objects={"subscription": str(sub.id)},  # never the phone number: it is personal data
            details=details,  # type: ignore[arg-type]
        ),
        db=db,  # type: ignore[arg-type]
    )


def register_number(
    ctx: ServiceContext, *, principal: Principal, msisdn: str, session_id: str, ref: DocumentRef
) -> Subscription:
    msisdn = parse_mobile_number(msisdn)
    now = ctx.now()
    session, document_id = _usable_session(
        ctx, principal=principal, session_id=session_id, ref=ref, purpose=Purpose.REGISTRATION, now=now
    )
    limit = ctx.settings.registry.max_numbers_per_document
    try:
        with ctx.database.transaction() as db:
            sub = number_store.register_number(
                db=db,
                session=session,
                document_id=document_id,
                msisdn=msisdn,
                operator_id=principal.operator_id or "",
                limit=limit,
                now=now,
            )
            _subscription_event(
                ctx,
                db,
                type=EventType.NUMBER_REGISTERED,
                principal=principal,
                sub=sub,
                now=now,
                channel=session.channel.value,
            )
            return sub
    except DocumentLimitError as exc:
        _record_limit(ctx, principal=principal, session=session, detail=exc.message)
        raise
    except IntegrityError:
        # The database's own uniqueness guard fired (two live holders of one number).
        raise NumberUnavailableError(f"{msisdn} was assigned concurrently.", code="NUMBER_ASSIGNED") from None


def transfer_number(
    ctx: ServiceContext, *, principal: Principal, msisdn: str, session_id: str, ref: DocumentRef
) -> tuple[Subscription, Subscription]:
    msisdn = parse_mobile_number(msisdn)
    now = ctx.now()
    session, document_id = _usable_session(
        ctx, principal=principal, session_id=session_id, ref=ref, purpose=Purpose.REGISTRATION, now=now
    )
    try:
        with ctx.database.transaction() as db:
            old, new = number_store.transfer_number(
                db=db,
                session=session,
                document_id=document_id,
                msisdn=msisdn,
                operator_id=principal.operator_id or "",
                limit=ctx.settings.registry.max_numbers_per_document,
                now=now,
            )
            ctx.audit.record(
                ServiceEvent(
                    EventType.NUMBER_TRANSFERRED,
                    actor=_actor(principal),
                    at=now,
                    outlet_id=session.outlet_id,
                    objects={
                        "subscription": str(new.id),
                        "previous_subscription": str(old.id),
                        "session": session.id,
                    },
                    details={"channel": session.channel.value},
                ),
                db=db,
            )
            return old, new
    except DocumentLimitError as exc:
        _record_limit(ctx, principal=principal, session=session, detail=exc.message)
        raise
    except IntegrityError:
        raise NumberUnavailableError(
            f"{msisdn} changed hands concurrently.", code="NUMBER_ASSIGNED"
        ) from None


def _operator_scope(principal: Principal) -> str | None:
    """Clerks act on their operator's inventory; admins on any."""
    return principal.operator_id if principal.role is Role.CLERK else None


def cancel_number(
    ctx: ServiceContext, *, principal: Principal, msisdn: str, reason: CancellationReason
) -> Subscription:
    require_role(principal, Role.CLERK, Role.ADMIN)
    msisdn = parse_mobile_number(msisdn)
    now = ctx.now()
    with ctx.database.transaction() as db:
        sub = number_store.cancel_number(
            db=db,
            msisdn=msisdn,
            operator_id=_operator_scope(principal),
            cooling_days=ctx.settings.registry.cooling_days,
            now=now,
        )
        remaining = number_store.list_subscriptions(
            db=db,
            limit=1,
            document_id=number_store.subscription_document_id(db=db, subscription_id=sub.id),
            live_only=True,
        )
        _subscription_event(
            ctx,
            db,
            type=EventType.NUMBER_CANCELLED,
            principal=principal,
            sub=sub,
            now=now,
            reason=reason.value,
            last_number=not remaining,
        )
        return sub


def request_reverification(
    ctx: ServiceContext,
    *,
    principal: Principal,
    msisdn: str,
    reason: ReverificationReason,
    deadline: datetime | None,
) -> Subscription:
    require_role(principal, Role.ADMIN)
    msisdn = parse_mobile_number(msisdn)
    now = ctx.now()
    deadline = deadline or now + timedelta(days=ctx.settings.registry.reverification_days)
    ensure_reverification_deadline(deadline, now)
    with ctx.database.transaction() as db:
        sub = number_store.request_reverification(
            db=db, msisdn=msisdn, operator_id=None, reason=reason.value, deadline=deadline, now=now
        )
        _subscription_event(
            ctx,
            db,
            type=EventType.REVERIFICATION_REQUESTED,
            principal=principal,
            sub=sub,
            now=now,
            reason=reason.value,
            deadline=deadline.isoformat(),
        )
        return sub


def complete_reverification(
    ctx: ServiceContext, *, principal: Principal, session_id: str, ref: DocumentRef
) -> list[Subscription]:
    now = ctx.now()
    session, document_id = _usable_session(
        ctx, principal=principal, session_id=session_id, ref=ref, purpose=Purpose.REVERIFICATION, now=now
    )
    with ctx.database.transaction() as db:
        subs = number_store.complete_reverification(db=db, session=session, document_id=document_id, now=now)
        for sub in subs:
            _subscription_event(
                ctx, db, type=EventType.REVERIFICATION_COMPLETED, principal=principal, sub=sub, now=now
            )
        return subs


def suspend_overdue(ctx: ServiceContext) -> list[Subscription]:
    now = ctx.now()
    with ctx.database.transaction() as db:
        subs = number_store.suspend_overdue(db=db, now=now)
        for sub in subs:
            _subscription_event(
                ctx,
                db,
                type=EventType.NUMBER_SUSPENDED,
                principal=None,
                sub=sub,
                now=now,
                reason=SuspensionReason.REVERIFICATION_OVERDUE.value,
            )
        return subs


# -- "numbers under my ID" ---------------------------------------------------------------------


def _self_service_session(
    ctx: ServiceContext, *, session: VerificationSession, outlet_id: str, now: datetime
) -> None:
    ensure_usable(
        session, purpose=Purpose.SELF_SERVICE, document_key=session.document_key, outlet_id=outlet_id, now=now
    )


def holder_numbers(
    ctx: ServiceContext, *, session: VerificationSession, document_id: int, actor: str
) -> tuple[str, str, list[Subscription]]:
    """(masked ID number, holder name, live numbers) for the holder who passed a self-service session."""
    now = ctx.now()
    _self_service_session(ctx, session=session, outlet_id=session.outlet_id, now=now)
    with ctx.database.transaction() as db:
        number, name = read_holder(db=db, protection=ctx.protection, document_id=document_id)
        subs = number_store.list_subscriptions(db=db, limit=1000, document_id=document_id, live_only=True)
        ctx.audit.record(
            ServiceEvent(
                EventType.HOLDER_LOOKED_UP,
                actor=actor,
                at=now,
                outlet_id=session.outlet_id,
                objects={"session": session.id},
                details={"found": len(subs), "purpose": "self_service"},
            ),
            db=db,
        )
    return mask_number(number), name, subs


def flag_number(
    ctx: ServiceContext,
    *,
    session: VerificationSession,
    document_id: int,
    msisdn: str,
    reason: HolderFlagReason,
    actor: str,
) -> Subscription:
    msisdn = parse_mobile_number(msisdn)
    now = ctx.now()
    _self_service_session(ctx, session=session, outlet_id=session.outlet_id, now=now)
    with ctx.database.transaction() as db:
        sub = number_store.flag_by_holder(
            db=db, document_id=document_id, msisdn=msisdn, reason=reason.value, now=now
        )
        ctx.audit.record(
            ServiceEvent(
                EventType.NUMBER_FLAGGED,
                actor=actor,
                at=now,
                outlet_id=session.outlet_id,
                objects={"subscription": str(sub.id), "session": session.id},
                details={"reason": reason.value},
            ),
            db=db,
        )
        return sub


def mask_number(number: str) -> str:
    """Keep the first 3 and last 4 characters, as printed on receipts."""
    return number[:3] + "*" * max(0, len(number) - 7) + number[-4:] if len(number) > 7 else "*" * len(number)


# -- reads -------------------------------------------------------------------------------------


def number_view(
    ctx: ServiceContext, *, principal: Principal, msisdn: str
) -> tuple[NumberRecord, Subscription | None]:
    msisdn = parse_mobile_number(msisdn)
    with ctx.database.reading() as db:
        number = number_store.get_number(db=db, msisdn=msisdn)
        if number is None:
            raise NotFoundError(f"{msisdn} is in no inventory.", code="UNKNOWN_NUMBER")
        require_operator(principal, number.operator_id, what="number")
        sub = number_store.live_subscription(db=db, msisdn=msisdn)
    if sub is not None and principal.role is Role.CLERK and sub.outlet_id != principal.outlet_id:
        sub = None  # another outlet's customer: the clerk sees only that the number is taken
    return number, sub
