"""Numbers and who holds them.

A number in an operator's inventory is ``available``, ``assigned`` (to exactly one live
subscription) or ``cooling`` (cancelled recently; it returns to the inventory when the cooling
period ends, without any sweeper). A subscription is ``active``, ``suspended`` (re-verification
deadline missed) or ``ended`` (cancelled, or transferred to another holder). Active and suspended
subscriptions both count towards the per-ID limit: suspension is not a way around it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from portraitmatch.errors import InputError
from portraitmatch.registry.refusals import DocumentLimitError, NumberUnavailableError


class NumberState(StrEnum):
    AVAILABLE = "available"
    ASSIGNED = "assigned"
    COOLING = "cooling"


class SubscriptionStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    ENDED = "ended"


class EndReason(StrEnum):
    CANCELLED = "cancelled"
    TRANSFERRED = "transferred"


LIVE_STATUSES = (SubscriptionStatus.ACTIVE, SubscriptionStatus.SUSPENDED)


@dataclass(frozen=True, slots=True)
class Subscription:
    id: int
    msisdn: str
    operator_id: str
    outlet_id: str
    document_key: str
    status: SubscriptionStatus
    started_at: datetime
    ended_at: datetime | None = None
    end_reason: EndReason | None = None
    reverify_reason: str | None = None
    reverify_deadline: datetime | None = None
    holder_flagged_at: datetime | None = None
    holder_flag_reason: str | None = None  # a `HolderFlagReason` code


@dataclass(frozen=True, slots=True)
class NumberRecord:
    msisdn: str
    operator_id: str
    state: NumberState
    cooling_until: datetime | None = None


def effective_number_state(number: NumberRecord, now: datetime) -> NumberState:
    if (
        number.state is NumberState.COOLING
        and number.cooling_until is not None
        and now >= number.cooling_until
    ):
        return NumberState.AVAILABLE
    return number.state


def ensure_assignable(number: NumberRecord, now: datetime) -> None:
    state = effective_number_state(number, now)
    if state is NumberState.ASSIGNED:
        raise NumberUnavailableError(f"{number.msisdn} is already assigned.", code="NUMBER_ASSIGNED")
    if state is NumberState.COOLING:
        until = number.cooling_until.isoformat() if number.cooling_until else "later"
        raise NumberUnavailableError(
            f"{number.msisdn} was cancelled recently and is cooling down until {until}.",
            code="NUMBER_COOLING",
        )


def ensure_within_limit(live_count: int, limit: int) -> None:
    if live_count >= limit:
        raise DocumentLimitError(
            f"This ID document already holds {live_count} numbers; the limit is {limit}."
        )


def cooling_end(cancelled_at: datetime, cooling_days: float) -> datetime:
    return cancelled_at + timedelta(days=cooling_days)


def effective_status(subscription: Subscription, now: datetime) -> SubscriptionStatus:
    """A missed re-verification deadline suspends at once, even before the sweep has stored it."""
    if is_overdue(subscription, now):
        return SubscriptionStatus.SUSPENDED
    return subscription.status


def is_overdue(subscription: Subscription, now: datetime) -> bool:
    return (
        subscription.status is SubscriptionStatus.ACTIVE
        and subscription.reverify_deadline is not None
        and now >= subscription.reverify_deadline
    )


def ensure_reverification_deadline(deadline: datetime, now: datetime) -> None:
    if deadline <= now:
        raise InputError("The re-verification deadline must lie in the future.", code="DEADLINE_PAST")
