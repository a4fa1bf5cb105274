from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from portraitmatch.errors import InputError
from portraitmatch.registry.numbers import (
    NumberRecord,
    NumberState,
    Subscription,
    SubscriptionStatus,
    cooling_end,
    effective_number_state,
    effective_status,
    ensure_assignable,
    ensure_reverification_deadline,
    ensure_within_limit,
    is_overdue,
)
from portraitmatch.registry.refusals import DocumentLimitError, NumberUnavailableError

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def test_a_cancelled_number_returns_only_after_cooling() -> None:
    until = cooling_end(T0, 90)
    assert until == T0 + timedelta(days=90)
    number = NumberRecord("13800138000", "op", NumberState.COOLING, until)
    assert effective_number_state(number, until - timedelta(seconds=1)) is NumberState.COOLING
    with pytest.raises(NumberUnavailableError) as err:
        ensure_assignable(number, until - timedelta(seconds=1))
    assert err.value.code == "NUMBER_COOLING"
    assert effective_number_state(number, until) is NumberState.AVAILABLE
    ensure_assignable(number, until)


def test_an_assigned_number_is_not_assignable() -> None:
    with pytest.raises(NumberUnavailableError) as err:
        ensure_assignable(NumberRecord("13800138000", "op", NumberState.ASSIGNED), T0)
    assert err.value.code == "NUMBER_ASSIGNED"


def test_per_document_limit() -> None:
    for held in range(5):
        ensure_within_limit(held, 5)
    with pytest.raises(DocumentLimitError):
        ensure_within_limit(5, 5)


def test_missed_deadline_suspends_at_once() -> None:
    sub = Subscription(
        id=1,
        msisdn="13800138000",
        operator_id="op",
        outlet_id="shop",
        document_key="k",
        status=SubscriptionStatus.ACTIVE,
        started_at=T0,
        reverify_deadline=T0 + timedelta(days=14),
    )
    assert not is_overdue(sub, T0 + timedelta(days=13))
    assert effective_status(sub, T0 + timedelta(days=13)) is SubscriptionStatus.ACTIVE
    assert is_overdue(sub, T0 + timedelta(days=14))
    assert effective_status(sub, T0 + timedelta(days=14)) is SubscriptionStatus.SUSPENDED


def test_deadline_must_be_in_the_future() -> None:
    ensure_reverification_deadline(T0 + timedelta(seconds=1), T0)
    with pytest.raises(InputError):
        ensure_reverification_deadline(T0, T0)
