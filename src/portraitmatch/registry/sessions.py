"""Verification sessions: one challenge, one capture, one decision, at most one use.

    issued ──capture starts──▶ capturing ──decision──▶ decided ──pass used once──▶ used
       │                           │                      │
       └──── challenge expires ────┴──▶ expired ◀── use window ends (a passed session)

``expired`` is never stored: it follows from the clock (``effective_state``), so every process
agrees without a sweeper having run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from portraitmatch.registry.refusals import SessionExpiredError, SessionMismatchError, SessionStateError
from portraitmatch.types import Action, Outcome


class Channel(StrEnum):
    COUNTER = "counter"
    ONLINE = "online"


class Purpose(StrEnum):
    """What a passed session may be used for, fixed when it is created."""

    REGISTRATION = "registration"  # register a number, or take over a transferred one
    REVERIFICATION = "reverification"  # confirm numbers flagged for re-verification
    SELF_SERVICE = "self_service"  # list "numbers under my ID" and flag unknown ones


class CaptureMode(StrEnum):
    """The one way a session takes its capture, fixed when it is created.

    ``stream``: the live WebSocket. Its actions are never disclosed in advance: the checker shows
    each prompt only after a random delay, and a reaction must follow the prompt it answers.
    ``video``: a recorded upload, which has to know every action before it is recorded, so its
    session discloses them; the prompt timing defence does not hold for it.
    """

    STREAM = "stream"
    VIDEO = "video"


class SessionState(StrEnum):
    ISSUED = "issued"
    CAPTURING = "capturing"
    DECIDED = "decided"
    USED = "used"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Verdict:
    """What is kept of a Decision: outcome, reason codes, message and the match score."""

    outcome: Outcome
    reasons: tuple[str, ...]
    message: str
    decided_at: datetime
    usable_until: datetime | None = None  # only a pass can be used, and only until then
    liveness_passed: bool | None = None
    match_score: float | None = None
    match_threshold: float | None = None


@dataclass(frozen=True, slots=True)
class VerificationSession:
    id: str
    outlet_id: str
    operator_id: str
    channel: Channel
    purpose: Purpose
    document_type: str
    document_key: str  # keyed hash of the document; never the number itself
    state: SessionState  # as stored; see effective_state
    actions: tuple[Action, ...]
    nonce: str
    issued_at: datetime
    expires_at: datetime
    capture: CaptureMode = CaptureMode.STREAM
    verdict: Verdict | None = None
    used_at: datetime | None = None
    used_for: str | None = None


def effective_state(session: VerificationSession, now: datetime) -> SessionState:
    if session.state in (SessionState.ISSUED, SessionState.CAPTURING) and now >= session.expires_at:
        return SessionState.EXPIRED
    verdict = session.verdict
    if (
        session.state is SessionState.DECIDED
        and verdict is not None
        and verdict.usable_until is not None
        and now >= verdict.usable_until
    ):
        return SessionState.EXPIRED
    return session.state


def ensure_capture_allowed(session: VerificationSession, now: datetime) -> None:
    """A capture may start once, before the challenge expires."""
    state = effective_state(session, now)
    if state is SessionState.ISSUED:
        return
    if state is SessionState.EXPIRED:
        raise SessionExpiredError("The challenge of this session has expired; create a new session.")
    raise SessionStateError(
        "A capture was already submitted for this session; each session takes one capture.",
        code="SESSION_CAPTURE_TAKEN",
    )


def ensure_capture_mode(session: VerificationSession, mode: CaptureMode) -> None:
    """A session takes its capture only the way it was issued for (see ``CaptureMode``)."""
    if session.capture is mode:
        return
    raise SessionStateError(
        f"This session was created for a {session.capture.value} capture, not a {mode.value} capture; "
        f"create a new session with capture={mode.value}.",
        code="CAPTURE_MODE_MISMATCH",
    )


def ensure_usable(
    session: VerificationSession, *, purpose: Purpose, document_key: str, outlet_id: str, now: datetime
) -> None:
    """A session backs an action only if it passed, for this document, outlet and purpose, unused, in time."""
    if session.document_key != document_key:
        raise SessionMismatchError(
            "The session verified a different ID document.", code="SESSION_OTHER_DOCUMENT"
        )
    if session.outlet_id != outlet_id:
        raise SessionMismatchError("The session was run at a different outlet.", code="SESSION_OTHER_OUTLET")
    if session.purpose is not purpose:
        raise SessionMismatchError(
            f"The session was created for {session.purpose.value}, not {purpose.value}.",
            code="SESSION_OTHER_PURPOSE",
        )
    state = effective_state(session, now)
    if state is SessionState.USED:
        raise SessionStateError("The session was already used; sessions are one-time.", code="SESSION_USED")
    if state is SessionState.EXPIRED:
        raise SessionExpiredError("The session has expired; the customer must verify again.")
    verdict = session.verdict
    if state is not SessionState.DECIDED or verdict is None:
        raise SessionStateError("The session has no decision yet.", code="SESSION_NOT_DECIDED")
    if verdict.outcome is not Outcome.PASS:
        raise SessionStateError(
            f"The session did not pass (outcome {verdict.outcome.value}).", code="SESSION_NOT_PASSED"
        )
