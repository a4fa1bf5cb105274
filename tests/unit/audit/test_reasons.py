"""Reasons are catalogue codes: the audit layer refuses anything else, and docs/privacy.md lists them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from portraitmatch.audit.catalogue import EventType, spec_of
from portraitmatch.audit.event import REDACTED, AuditEvent, AuditEventError
from portraitmatch.audit.reasons import REASONS, CancellationReason, reason_codes
from tests.conftest import REPO_ROOT

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_every_event_with_catalogued_reasons_has_a_reason_detail() -> None:
    for event_type in REASONS:
        assert "reason" in spec_of(event_type).detail_keys, event_type


@pytest.mark.parametrize("event_type", sorted(REASONS))
def test_each_code_is_accepted(event_type: EventType) -> None:
    codes = reason_codes(event_type)
    assert codes
    for code in codes:
        event = AuditEvent.create(event_type, at=AT, actor="key:k1", details={"reason": code})
        assert event.detail("reason") == code


@pytest.mark.parametrize("text", ["moved", "holder_request_by_wang", "medical-asthma", "Holder_Request"])
def test_a_reason_outside_the_catalogue_is_refused_or_redacted(text: str) -> None:
    with pytest.raises(AuditEventError, match="reason must be one of"):
        AuditEvent.create(EventType.NUMBER_CANCELLED, at=AT, actor="key:k1", details={"reason": text})
    event, problems = AuditEvent.create_redacted(
        EventType.REVERIFICATION_REQUESTED, at=AT, actor="key:k1", details={"reason": text}
    )
    assert event.detail("reason") == REDACTED and len(problems) == 1 and text not in problems[0]


def test_events_without_a_catalogue_keep_their_own_reason_tokens() -> None:
    # A shredded key's reason is a privacy.ShredReason, validated where it is produced.
    event = AuditEvent.create(
        EventType.DATA_KEY_SHREDDED, at=AT, actor="system", details={"reason": "erasure_request"}
    )
    assert event.detail("reason") == "erasure_request"
    assert reason_codes(EventType.DATA_KEY_SHREDDED) is None


def test_every_code_is_documented() -> None:
    doc = (REPO_ROOT / "docs" / "privacy.md").read_text(encoding="utf-8")
    missing = [f"{c.value}" for catalogue in REASONS.values() for c in catalogue if f"`{c.value}`" not in doc]
    assert not missing, f"add to docs/privacy.md: {missing}"
    assert CancellationReason.HOLDER_REQUEST.value == "holder_request"  # the API's default, documented
