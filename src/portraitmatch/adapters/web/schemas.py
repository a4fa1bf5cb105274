"""Request and response models of the HTTP API. ``from_domain`` converts core types at the edge."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from portraitmatch.adapters.storage.api_keys import ApiKeyInfo, NewApiKey
from portraitmatch.adapters.storage.attempts import LimitHit
from portraitmatch.adapters.storage.outlets import Operator, Outlet
from portraitmatch.audit.reasons import CancellationReason, HolderFlagReason, ReverificationReason
from portraitmatch.registry.access import Role
from portraitmatch.registry.documents import DocumentType
from portraitmatch.registry.numbers import (
    NumberRecord,
    NumberState,
    Subscription,
    SubscriptionStatus,
    effective_number_state,
    effective_status,
)
from portraitmatch.registry.sessions import (
    CaptureMode,
    Channel,
    Purpose,
    SessionState,
    Verdict,
    VerificationSession,
    effective_state,
)
from portraitmatch.types import Action, Decision, Outcome

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
DocumentNumber = Annotated[str, StringConstraints(min_length=1, max_length=32, strip_whitespace=True)]
IssuingState = Annotated[str, StringConstraints(pattern=r"^[A-Z]{1,3}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- problems ----------------------------------------------------------------------------------


class ValidationItem(BaseModel):
    location: list[str]
    message: str
    type: str


class ProblemOut(BaseModel):
    """RFC 9457 problem details. ``code`` is stable and machine-readable."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    errors: list[ValidationItem] | None = None
    retry_after_s: float | None = None


# -- sessions ----------------------------------------------------------------------------------


class SessionForm(Strict):
    """The text fields of ``POST /v1/sessions`` (multipart, next to the ``portrait`` file)."""

    channel: Channel = Channel.COUNTER
    purpose: Purpose = Purpose.REGISTRATION
    document_type: DocumentType
    document_number: DocumentNumber | None = None
    holder_name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    document_expires_on: date | None = None
    document_long_term: bool = False
    mrz: Annotated[str, StringConstraints(max_length=100)] | None = None
    device_id: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None
    capture: CaptureMode = CaptureMode.STREAM


SESSION_FORM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["portrait", "document_type", "holder_name"],
    "properties": {
        "portrait": {
            "type": "string",
            "format": "binary",
            "description": "The ID document's portrait (image).",
        },
        "channel": {"type": "string", "enum": [c.value for c in Channel], "default": "counter"},
        "purpose": {"type": "string", "enum": [p.value for p in Purpose], "default": "registration"},
        "document_type": {"type": "string", "enum": [d.value for d in DocumentType]},
        "document_number": {"type": "string", "maxLength": 32, "description": "Required for resident IDs."},
        "holder_name": {"type": "string", "minLength": 1, "maxLength": 200},
        "document_expires_on": {"type": "string", "format": "date", "description": "YYYY-MM-DD"},
        "document_long_term": {
            "type": "boolean",
            "default": False,
            "description": "A long-term (长期) ID card.",
        },
        "mrz": {
            "type": "string",
            "maxLength": 100,
            "description": "Passport MRZ, both lines. Required for passports.",
        },
        "device_id": {
            "type": "string",
            "maxLength": 128,
            "description": "The capture device, for failure limits.",
        },
        "capture": {
            "type": "string",
            "enum": [m.value for m in CaptureMode],
            "default": "stream",
            "description": "How the capture is sent: `stream` (the live WebSocket; the actions are "
            "shown one prompt at a time and never listed) or `video` (a recorded upload; the "
            "challenge lists its actions). The session accepts only that one.",
        },
    },
}


class ChallengeOut(BaseModel):
    """The challenge as a client may know it before the capture.

    A ``stream`` session gives only the number of steps: the live checker discloses each action as
    its prompt, after a random delay, so a recording or an injector cannot prepare the sequence.
    A ``video`` session lists its actions, since a recording has to know what to perform.
    """

    capture: CaptureMode
    steps: int = Field(description="How many actions the challenge has.")
    actions: list[Action] | None = Field(default=None, description="Only for a `video` session.")
    nonce: str
    issued_at: datetime
    expires_at: datetime

    @classmethod
    def from_domain(cls, session: VerificationSession) -> ChallengeOut:
        disclosed = session.capture is CaptureMode.VIDEO
        return cls(
            capture=session.capture,
            steps=len(session.actions),
            actions=list(session.actions) if disclosed else None,
            nonce=session.nonce,
            issued_at=session.issued_at,
            expires_at=session.expires_at,
        )


class StepOut(BaseModel):
    action: Action
    ok: bool
    reason: str | None = None


class LivenessOut(BaseModel):
    passed: bool
    outcome: Outcome
    reasons: list[str]
    steps: list[StepOut] = []
    frames_seen: int = 0


class MatchOut(BaseModel):
    score: float
    threshold: float
    is_match: bool


class DecisionOut(BaseModel):
    outcome: Outcome
    reasons: list[str]
    message: str
    decided_at: datetime
    usable_until: datetime | None = None
    liveness_passed: bool | None = None
    liveness: LivenessOut | None = None
    match: MatchOut | None = None
    timings_ms: dict[str, float] = {}

    @classmethod
    def from_domain(
        cls, verdict: Verdict, decision: Decision | None = None, *, show_score: bool
    ) -> DecisionOut:
        liveness = None
        timings: dict[str, float] = {}
        if decision is not None:
            timings = {k: round(float(v), 1) for k, v in decision.timings_ms.items()}
            if decision.liveness is not None:
                lv = decision.liveness
                liveness = LivenessOut(
                    passed=lv.passed,
                    outcome=lv.outcome,
                    reasons=[str(r) for r in lv.reasons],
                    steps=[StepOut(action=s.action, ok=s.ok, reason=s.reason) for s in lv.steps],
                    frames_seen=lv.frames_seen,
                )
        match = None
        if show_score and verdict.match_score is not None and verdict.match_threshold is not None:
            match = MatchOut(
                score=round(verdict.match_score, 4),
                threshold=round(verdict.match_threshold, 4),
                is_match=verdict.match_score >= verdict.match_threshold,
            )
        return cls(
            outcome=verdict.outcome,
            reasons=list(verdict.reasons),
            message=verdict.message,
            decided_at=verdict.decided_at,
            usable_until=verdict.usable_until,
            liveness_passed=verdict.liveness_passed,
            liveness=liveness,
            match=match,
            timings_ms=timings,
        )


class SessionOut(BaseModel):
    id: str
    state: SessionState
    channel: Channel
    purpose: Purpose
    outlet_id: str
    document_type: DocumentType
    challenge: ChallengeOut
    decision: DecisionOut | None = None
    used_at: datetime | None = None
    used_for: str | None = None

    @classmethod
    def from_domain(cls, session: VerificationSession, *, now: datetime, show_score: bool) -> SessionOut:
        return cls(
            id=session.id,
            state=effective_state(session, now),
            channel=session.channel,
            purpose=session.purpose,
            outlet_id=session.outlet_id,
            document_type=DocumentType(session.document_type),
            challenge=ChallengeOut.from_domain(session),
            decision=DecisionOut.from_domain(session.verdict, show_score=show_score)
            if session.verdict
            else None,
            used_at=session.used_at,
            used_for=session.used_for,
        )


class SessionCreatedOut(SessionOut):
    capture_token: str = Field(description="Lets the customer's device send the capture; shown once.")
    portrait_notes: list[str] = []


class SessionListOut(BaseModel):
    sessions: list[SessionOut]


# -- numbers -----------------------------------------------------------------------------------


class DocumentRef(Strict):
    """The ID document a request is about, as the clerk reads it off the document again."""

    document_type: DocumentType
    document_number: DocumentNumber
    issuing_state: IssuingState = "CHN"


class RegistrationIn(DocumentRef):
    session_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class TransferIn(DocumentRef):
    session_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class ReverificationIn(DocumentRef):
    session_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class CancellationIn(Strict):
    """A reason code only: there is no free-text field (docs/privacy.md, "Reason codes")."""

    reason: CancellationReason = Field(
        default=CancellationReason.HOLDER_REQUEST, description="A code of the reason catalogue."
    )


class ReverificationRequestIn(Strict):
    """A reason code only: there is no free-text field (docs/privacy.md, "Reason codes")."""

    reason: ReverificationReason = Field(description="A code of the reason catalogue.")
    deadline: datetime | None = Field(
        default=None, description="Default: now + registry.reverification_days."
    )


class FlagIn(Strict):
    """A reason code only: a note typed by the holder is refused (docs/privacy.md, "Reason codes")."""

    reason: HolderFlagReason = Field(
        default=HolderFlagReason.NOT_RECOGNISED, description="A code of the reason catalogue."
    )


class InventoryIn(Strict):
    numbers: list[Annotated[str, StringConstraints(max_length=32)]] = Field(min_length=1, max_length=10_000)


class InventoryOut(BaseModel):
    operator_id: str
    added: int
    already_present: list[str]


class ReverificationStateOut(BaseModel):
    reason: str | None
    deadline: datetime | None


class HolderFlagOut(BaseModel):
    flagged_at: datetime
    reason: str | None


class SubscriptionOut(BaseModel):
    id: int
    msisdn: str
    operator_id: str
    outlet_id: str
    status: SubscriptionStatus
    started_at: datetime
    ended_at: datetime | None = None
    end_reason: str | None = None
    reverification: ReverificationStateOut | None = None
    holder_flag: HolderFlagOut | None = None

    @classmethod
    def from_domain(cls, sub: Subscription, *, now: datetime) -> SubscriptionOut:
        return cls(
            id=sub.id,
            msisdn=sub.msisdn,
            operator_id=sub.operator_id,
            outlet_id=sub.outlet_id,
            status=effective_status(sub, now),
            started_at=sub.started_at,
            ended_at=sub.ended_at,
            end_reason=sub.end_reason.value if sub.end_reason else None,
            reverification=(
                ReverificationStateOut(reason=sub.reverify_reason, deadline=sub.reverify_deadline)
                if sub.reverify_deadline is not None
                else None
            ),
            holder_flag=(
                HolderFlagOut(flagged_at=sub.holder_flagged_at, reason=sub.holder_flag_reason)
                if sub.holder_flagged_at is not None
                else None
            ),
        )


class TransferOut(BaseModel):
    previous: SubscriptionOut
    current: SubscriptionOut


class NumberOut(BaseModel):
    msisdn: str
    operator_id: str
    state: NumberState
    cooling_until: datetime | None = None
    subscription: SubscriptionOut | None = None

    @classmethod
    def from_domain(
        cls, number: NumberRecord, *, now: datetime, subscription: Subscription | None = None
    ) -> NumberOut:
        state = effective_number_state(number, now)
        return cls(
            msisdn=number.msisdn,
            operator_id=number.operator_id,
            state=state,
            cooling_until=number.cooling_until if state is NumberState.COOLING else None,
            subscription=SubscriptionOut.from_domain(subscription, now=now) if subscription else None,
        )


class NumberListOut(BaseModel):
    numbers: list[NumberOut]
    counts: dict[str, int]


class SubscriptionListOut(BaseModel):
    subscriptions: list[SubscriptionOut]


class ReverificationOut(BaseModel):
    reverified: list[SubscriptionOut]


class HolderNumbersOut(BaseModel):
    """What a verified holder sees about their own document."""

    document_type: DocumentType
    document_number_masked: str
    holder_name: str
    numbers: list[SubscriptionOut]


# -- administration ----------------------------------------------------------------------------


class OperatorIn(Strict):
    id: Slug
    name: ShortText


class OperatorOut(BaseModel):
    id: str
    name: str
    created_at: datetime

    @classmethod
    def from_domain(cls, operator: Operator) -> OperatorOut:
        return cls(id=operator.id, name=operator.name, created_at=operator.created_at)


class OutletIn(Strict):
    id: Slug
    operator_id: Slug
    name: ShortText


class OutletOut(BaseModel):
    id: str
    operator_id: str
    name: str
    created_at: datetime

    @classmethod
    def from_domain(cls, outlet: Outlet) -> OutletOut:
        return cls(
            id=outlet.id, operator_id=outlet.operator_id, name=outlet.name, created_at=outlet.created_at
        )


class ApiKeyIn(Strict):
    role: Role
    outlet_id: Slug | None = None
    label: Annotated[str, StringConstraints(max_length=200)] = ""


class ApiKeyOut(BaseModel):
    id: str
    role: Role
    outlet_id: str | None
    label: str
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def from_domain(cls, info: ApiKeyInfo) -> ApiKeyOut:
        return cls(
            id=info.id,
            role=info.role,
            outlet_id=info.outlet_id,
            label=info.label,
            created_at=info.created_at,
            revoked_at=info.revoked_at,
        )


class ApiKeyCreatedOut(ApiKeyOut):
    key: str = Field(description="The key itself. Shown once; only its hash is stored.")

    @classmethod
    def from_new(cls, new: NewApiKey) -> ApiKeyCreatedOut:
        return cls(**ApiKeyOut.from_domain(new.info).model_dump(), key=new.secret)


class LimitHitOut(BaseModel):
    id: int
    kind: str
    subject: str | None
    at: datetime
    outlet_id: str | None
    api_key_id: str | None
    session_id: str | None
    detail: str

    @classmethod
    def from_domain(cls, hit: LimitHit) -> LimitHitOut:
        return cls(
            id=hit.id,
            kind=hit.kind,
            subject=hit.subject,
            at=hit.at,
            outlet_id=hit.outlet_id,
            api_key_id=hit.api_key_id,
            session_id=hit.session_id,
            detail=hit.detail,
        )


class HealthOut(BaseModel):
    status: Literal["ok"]
    database: str
    schema_revision: str
    workers: int
