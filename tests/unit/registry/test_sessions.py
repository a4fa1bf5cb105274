from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from portraitmatch.registry.refusals import SessionExpiredError, SessionMismatchError, SessionStateError
from portraitmatch.registry.sessions import (
    CaptureMode,
    Channel,
    Purpose,
    SessionState,
    Verdict,
    VerificationSession,
    effective_state,
    ensure_capture_allowed,
    ensure_capture_mode,
    ensure_usable,
)
from portraitmatch.types import Action, Outcome

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
ISSUED = VerificationSession(
    id="s1",
    outlet_id="shop-1",
    operator_id="op",
    channel=Channel.COUNTER,
    purpose=Purpose.REGISTRATION,
    document_type="resident_id",
    document_key="doc-key",
    state=SessionState.ISSUED,
    actions=(Action.BLINK, Action.TURN_LEFT),
    nonce="n",
    issued_at=T0,
    expires_at=T0 + timedelta(seconds=120),
)
PASSED = replace(
    ISSUED,
    state=SessionState.DECIDED,
    verdict=Verdict(
        Outcome.PASS,
        ("CHALLENGE_PASSED", "MATCH"),
        "ok",
        T0 + timedelta(seconds=30),
        T0 + timedelta(seconds=930),
    ),
)
USE = {"purpose": Purpose.REGISTRATION, "document_key": "doc-key", "outlet_id": "shop-1"}


def test_expiry_follows_the_clock() -> None:
    assert effective_state(ISSUED, T0 + timedelta(seconds=119)) is SessionState.ISSUED
    assert effective_state(ISSUED, T0 + timedelta(seconds=120)) is SessionState.EXPIRED
    capturing = replace(ISSUED, state=SessionState.CAPTURING)
    assert effective_state(capturing, T0 + timedelta(seconds=121)) is SessionState.EXPIRED
    assert effective_state(PASSED, T0 + timedelta(seconds=929)) is SessionState.DECIDED
    assert effective_state(PASSED, T0 + timedelta(seconds=930)) is SessionState.EXPIRED


def test_capture_is_allowed_once_and_in_time() -> None:
    ensure_capture_allowed(ISSUED, T0)
    with pytest.raises(SessionExpiredError):
        ensure_capture_allowed(ISSUED, T0 + timedelta(seconds=120))
    for state in (SessionState.CAPTURING, SessionState.DECIDED, SessionState.USED):
        with pytest.raises(SessionStateError) as err:
            ensure_capture_allowed(replace(ISSUED, state=state), T0)
        assert err.value.code == "SESSION_CAPTURE_TAKEN"


def test_a_session_takes_only_the_capture_it_was_issued_for() -> None:
    assert ISSUED.capture is CaptureMode.STREAM  # the default: actions disclosed one prompt at a time
    ensure_capture_mode(ISSUED, CaptureMode.STREAM)
    with pytest.raises(SessionStateError) as refused:
        ensure_capture_mode(ISSUED, CaptureMode.VIDEO)
    assert refused.value.code == "CAPTURE_MODE_MISMATCH"
    video = replace(ISSUED, capture=CaptureMode.VIDEO)
    ensure_capture_mode(video, CaptureMode.VIDEO)
    with pytest.raises(SessionStateError, match="capture=stream"):
        ensure_capture_mode(video, CaptureMode.STREAM)


def test_a_passed_session_is_usable() -> None:
    ensure_usable(PASSED, now=T0 + timedelta(seconds=60), **USE)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("session", "use", "error", "code"),
    [
        (PASSED, {"document_key": "other"}, SessionMismatchError, "SESSION_OTHER_DOCUMENT"),
        (PASSED, {"outlet_id": "shop-2"}, SessionMismatchError, "SESSION_OTHER_OUTLET"),
        (PASSED, {"purpose": Purpose.SELF_SERVICE}, SessionMismatchError, "SESSION_OTHER_PURPOSE"),
        (replace(PASSED, state=SessionState.USED), {}, SessionStateError, "SESSION_USED"),
        (ISSUED, {}, SessionStateError, "SESSION_NOT_DECIDED"),
        (
            replace(PASSED, verdict=replace(PASSED.verdict, outcome=Outcome.FAIL, usable_until=None)),  # type: ignore[arg-type]
            {},
            SessionStateError,
            "SESSION_NOT_PASSED",
        ),
        (
            replace(PASSED, verdict=replace(PASSED.verdict, outcome=Outcome.RETRY, usable_until=None)),  # type: ignore[arg-type]
            {},
            SessionStateError,
            "SESSION_NOT_PASSED",
        ),
    ],
)
def test_refusals(
    session: VerificationSession, use: dict[str, object], error: type[Exception], code: str
) -> None:
    with pytest.raises(error) as err:
        ensure_usable(session, now=T0 + timedelta(seconds=60), **{**USE, **use})  # type: ignore[arg-type]
    assert err.value.code == code  # type: ignore[attr-defined]


def test_a_pass_expires_after_its_use_window() -> None:
    with pytest.raises(SessionExpiredError):
        ensure_usable(PASSED, now=T0 + timedelta(seconds=931), **USE)  # type: ignore[arg-type]
