"""Audit events: catalogue codes are stable and unique; personal data cannot be put into an event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from portraitmatch.audit.catalogue import BY_CODE, CATALOGUE, EventType
from portraitmatch.audit.event import AuditEvent, AuditEventError

AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_every_type_is_noun_dot_past_verb_with_a_unique_code() -> None:
    assert set(CATALOGUE) == set(EventType)
    assert len(BY_CODE) == len(EventType)
    for spec in CATALOGUE.values():
        noun, _, verb = spec.type.value.partition(".")
        assert noun and verb.endswith(("ed", "looked_up")), spec.type
        assert spec.code.startswith("AUD_")
    # Codes are a public contract: these must never change.
    assert CATALOGUE[EventType.SESSION_CREATED].code == "AUD_001"
    assert CATALOGUE[EventType.NUMBER_REGISTERED].code == "AUD_010"
    assert CATALOGUE[EventType.RETENTION_PURGED].code == "AUD_060"


def test_event_is_normalised_and_canonical() -> None:
    local = AT.astimezone(timezone(timedelta(hours=8)))
    e = AuditEvent.create(
        "session.decided",
        at=local,
        actor="key_ab12",
        outlet="outlet-7",
        objects={"session": "s" * 32, "document": 17},
        details={
            "outcome": "pass",
            "reasons": "MATCH,CHALLENGE_PASSED",
            "match_score": 0.71,
            "channel": None,
        },
    )
    assert e.at == AT and e.code == "AUD_002"
    assert e.object_ids == (("document", "17"), ("session", "s" * 32))
    assert (
        e.canonical()
        == AuditEvent.create(
            EventType.SESSION_DECIDED,
            at=AT,
            actor="key_ab12",
            outlet="outlet-7",
            objects={"document": "17", "session": "s" * 32},
            details={"match_score": 0.71, "reasons": "MATCH,CHALLENGE_PASSED", "outcome": "pass"},
        ).canonical()
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"details": {"holder_name": "ZHANG"}},  # key not in the catalogue entry
        {"details": {"outcome": "ZHANG San"}},  # free text
        {"details": {"outcome": "11010519491231002X"}},  # an ID number
        {"details": {"outcome": "13800138000"}},  # a phone number
        {"details": {"outcome": "张三"}},
        {"details": {"match_score": float("nan")}},
        {"objects": {"msisdn": "1"}},  # object type not in the catalogue entry
        {"objects": {"session": "has space"}},
        {"actor": "ZHANG San"},
        {"outlet": ""},
        {"at": datetime(2026, 3, 1)},
    ],
)
def test_personal_or_unexpected_content_is_refused(kwargs: dict) -> None:
    base = {"at": AT, "actor": "key_ab12", "outlet": "outlet-7", "objects": {"session": "s1"}}
    with pytest.raises(AuditEventError):
        AuditEvent.create(EventType.SESSION_DECIDED, **{**base, **kwargs})


@pytest.mark.parametrize("value", ["13800138000", "+8613800138000", "11010519491231002X"])
def test_phone_and_id_numbers_are_not_object_ids(value: str) -> None:
    with pytest.raises(AuditEventError):
        AuditEvent.create(EventType.NUMBER_REGISTERED, at=AT, actor="key:k", objects={"number": value})


def test_redacted_events_record_without_personal_data() -> None:
    event, problems = AuditEvent.create_redacted(
        EventType.NUMBER_CANCELLED,
        at=AT,
        actor="key:k1",
        objects={"subscription": 12, "number": "13800138000", "msisdn": "13800138000"},
        details={"reason": "holder ZHANG San moved", "last_number": True, "note": "x"},
    )
    assert event.object_ids == (("number", "REDACTED"), ("subscription", "12"))
    assert event.details == (("last_number", True), ("reason", "REDACTED"))
    assert len(problems) == 4
    assert not any("13800138000" in p or "ZHANG" in p for p in problems)
    assert b"13800138000" not in event.canonical() and b"ZHANG" not in event.canonical()
