"""Numbers: inventory, registration, transfer, cancellation, re-verification, subscriptions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from portraitmatch.adapters.storage import numbers as number_store
from portraitmatch.adapters.storage.outlets import get_operator
from portraitmatch.adapters.web import registration
from portraitmatch.adapters.web.deps import Admin, Clerk, Context, Reader, Writer
from portraitmatch.adapters.web.schemas import (
    CancellationIn,
    InventoryIn,
    InventoryOut,
    NumberListOut,
    NumberOut,
    RegistrationIn,
    ReverificationIn,
    ReverificationOut,
    ReverificationRequestIn,
    SubscriptionListOut,
    SubscriptionOut,
    TransferIn,
    TransferOut,
)
from portraitmatch.audit.catalogue import EventType
from portraitmatch.errors import InputError
from portraitmatch.registry.access import Role
from portraitmatch.registry.mobile import parse_mobile_number
from portraitmatch.registry.numbers import NumberState
from portraitmatch.registry.refusals import MobileNumberInvalidError, NotFoundError

router = APIRouter(tags=["numbers"])

Msisdn = Annotated[str, Path(max_length=32, description="An 11-digit mobile number.")]


@router.post(
    "/v1/operators/{operator_id}/numbers",
    summary="Add numbers to an operator's inventory (admin)",
)
def import_numbers(
    ctx: Context, admin: Admin, operator_id: Annotated[str, Path(max_length=64)], body: InventoryIn
) -> InventoryOut:
    parsed: list[str] = []
    bad: list[str] = []
    for raw in body.numbers:
        try:
            parsed.append(parse_mobile_number(raw))
        except MobileNumberInvalidError as exc:
            bad.append(f"{raw!r}: {exc.message}")
    if bad:
        shown = "; ".join(bad[:10]) + (f"; and {len(bad) - 10} more" if len(bad) > 10 else "")
        raise MobileNumberInvalidError(f"{len(bad)} entries are not mobile numbers: {shown}")
    now = ctx.now()
    with ctx.database.transaction() as db:
        if get_operator(db=db, operator_id=operator_id) is None:
            raise NotFoundError(f"No operator {operator_id!r}.", code="UNKNOWN_OPERATOR")
        added, present = number_store.add_numbers(db=db, operator_id=operator_id, msisdns=parsed, now=now)
        ctx.emit(
            db,
            EventType.INVENTORY_IMPORTED,
            actor=f"key:{admin.key_id}",
            objects={"operator": operator_id},
            count=added,
        )
    return InventoryOut(operator_id=operator_id, added=added, already_present=present)


@router.get("/v1/numbers", summary="List an inventory (a clerk sees its own operator's)")
def list_numbers(
    ctx: Context,
    principal: Reader,
    operator_id: Annotated[str | None, Query(max_length=64)] = None,
    state: NumberState | None = None,
    after: Annotated[str | None, Query(max_length=11, description="Page after this number.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> NumberListOut:
    if principal.role is Role.CLERK:
        if operator_id is not None and operator_id != principal.operator_id:
            raise NotFoundError(f"No operator {operator_id!r}.", code="UNKNOWN_OPERATOR")
        operator_id = principal.operator_id
    now = ctx.now()
    with ctx.database.reading() as db:
        numbers = number_store.list_numbers(
            db=db, operator_id=operator_id, state=state, limit=limit, after=after
        )
        counts = number_store.count_numbers(db=db, operator_id=operator_id)
    return NumberListOut(numbers=[NumberOut.from_domain(n, now=now) for n in numbers], counts=counts)


@router.get("/v1/numbers/{msisdn}", summary="A number's state and (where visible) its subscription")
def get_number(ctx: Context, principal: Reader, msisdn: Msisdn) -> NumberOut:
    number, sub = registration.number_view(ctx, principal=principal, msisdn=msisdn)
    return NumberOut.from_domain(number, now=ctx.now(), subscription=sub)


@router.post(
    "/v1/numbers/{msisdn}/registration",
    status_code=status.HTTP_201_CREATED,
    summary="Register a number to the holder of a passed, unused session of this outlet",
)
def register_number(ctx: Context, clerk: Clerk, msisdn: Msisdn, body: RegistrationIn) -> SubscriptionOut:
    sub = registration.register_number(
        ctx, principal=clerk, msisdn=msisdn, session_id=body.session_id, ref=body
    )
    return SubscriptionOut.from_domain(sub, now=ctx.now())


@router.post(
    "/v1/numbers/{msisdn}/transfer",
    summary="Transfer a live number to another person, who passed their own session",
)
def transfer_number(ctx: Context, clerk: Clerk, msisdn: Msisdn, body: TransferIn) -> TransferOut:
    old, new = registration.transfer_number(
        ctx, principal=clerk, msisdn=msisdn, session_id=body.session_id, ref=body
    )
    now = ctx.now()
    return TransferOut(
        previous=SubscriptionOut.from_domain(old, now=now), current=SubscriptionOut.from_domain(new, now=now)
    )


@router.post(
    "/v1/numbers/{msisdn}/cancellation",
    summary="Cancel a registration; the number returns to the inventory after the cooling period",
)
def cancel_number(ctx: Context, principal: Writer, msisdn: Msisdn, body: CancellationIn) -> SubscriptionOut:
    sub = registration.cancel_number(ctx, principal=principal, msisdn=msisdn, reason=body.reason)
    return SubscriptionOut.from_domain(sub, now=ctx.now())


@router.post(
    "/v1/numbers/{msisdn}/reverification-request",
    summary="Flag a number for re-verification by its holder before a deadline (admin)",
)
def request_reverification(
    ctx: Context, admin: Admin, msisdn: Msisdn, body: ReverificationRequestIn
) -> SubscriptionOut:
    if body.deadline is not None and body.deadline.tzinfo is None:
        raise InputError("The deadline needs a time zone (e.g. 2030-01-31T00:00:00Z).", code="DEADLINE_NAIVE")
    sub = registration.request_reverification(
        ctx, principal=admin, msisdn=msisdn, reason=body.reason, deadline=body.deadline
    )
    return SubscriptionOut.from_domain(sub, now=ctx.now())


@router.post(
    "/v1/reverifications",
    summary="The holder re-verified: clear pending requests and lift suspensions on their numbers",
)
def complete_reverification(ctx: Context, clerk: Clerk, body: ReverificationIn) -> ReverificationOut:
    subs = registration.complete_reverification(ctx, principal=clerk, session_id=body.session_id, ref=body)
    now = ctx.now()
    return ReverificationOut(reverified=[SubscriptionOut.from_domain(s, now=now) for s in subs])


@router.get("/v1/subscriptions", summary="List subscriptions (a clerk sees its own outlet's)")
def list_subscriptions(
    ctx: Context,
    principal: Reader,
    live: bool = False,
    flagged: Annotated[bool, Query(description="Only numbers a holder flagged as not theirs.")] = False,
    reverification: Annotated[bool, Query(description="Only numbers awaiting re-verification.")] = False,
    after_id: Annotated[int | None, Query(ge=0, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> SubscriptionListOut:
    outlet = principal.outlet_id if principal.role is Role.CLERK else None
    with ctx.database.reading() as db:
        subs = number_store.list_subscriptions(
            db=db,
            limit=limit,
            outlet_id=outlet,
            live_only=live,
            flagged_only=flagged,
            reverification_only=reverification,
            after_id=after_id,
        )
    now = ctx.now()
    return SubscriptionListOut(subscriptions=[SubscriptionOut.from_domain(s, now=now) for s in subs])
