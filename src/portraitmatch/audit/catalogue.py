"""The audit event catalogue: every security-relevant event, with a stable code.

Names are ``noun.past_verb``; codes (``AUD_001`` …) never change meaning and are never reused, so
an inspector's queries keep working across versions (as MOSIP's ``IDA_001`` … catalogues do). Each
entry lists the object types the event may reference and the detail keys it may carry: an event
with anything else is refused, which keeps free text (and so personal data) out of the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class EventType(StrEnum):
    # verification sessions
    SESSION_CREATED = "session.created"
    SESSION_DECIDED = "session.decided"
    SESSION_EXPIRED = "session.expired"
    CONSENT_RECORDED = "consent.recorded"
    # registrations
    NUMBER_REGISTERED = "number.registered"
    NUMBER_CANCELLED = "number.cancelled"
    NUMBER_TRANSFERRED = "number.transferred"
    NUMBER_SUSPENDED = "number.suspended"
    REVERIFICATION_REQUESTED = "reverification.requested"
    REVERIFICATION_COMPLETED = "reverification.completed"
    NUMBER_FLAGGED = "number.flagged"
    # look-ups and disclosure
    HOLDER_LOOKED_UP = "holder.looked_up"
    HOLDER_DISCLOSED = "holder.disclosed"
    # exceptions and limits
    EXCEPTION_REQUESTED = "exception.requested"
    EXCEPTION_APPROVED = "exception.approved"
    EXCEPTION_REFUSED = "exception.refused"
    LIMIT_REACHED = "limit.reached"
    # keys and evidence
    EVIDENCE_SEALED = "evidence.sealed"
    EVIDENCE_OPENED = "evidence.opened"
    DATA_KEY_SHREDDED = "data_key.shredded"
    MASTER_KEY_ROTATED = "master_key.rotated"
    # administration
    OPERATOR_CREATED = "operator.created"
    OUTLET_CREATED = "outlet.created"
    API_KEY_ISSUED = "api_key.issued"
    API_KEY_REVOKED = "api_key.revoked"
    INVENTORY_IMPORTED = "inventory.imported"
    # retention, erasure, supervision
    RETENTION_PURGED = "retention.purged"
    SUBJECT_ERASED = "subject.erased"
    PRIVACY_CHECKED = "privacy.checked"
    CHAIN_VERIFIED = "chain.verified"
    REPORT_GENERATED = "report.generated"


class Category(StrEnum):
    SESSION = "session"
    REGISTRATION = "registration"
    LOOKUP = "lookup"
    EXCEPTION = "exception"
    KEY = "key"
    ADMIN = "admin"
    RETENTION = "retention"
    SUPERVISION = "supervision"


@dataclass(frozen=True, slots=True)
class EventSpec:
    code: str
    type: EventType
    category: Category
    summary: str
    object_types: tuple[str, ...] = ()
    detail_keys: tuple[str, ...] = ()


_S = ("session",)
_SUB = ("subscription", "number", "session", "document")
_SPECS = (
    EventSpec(
        "AUD_001",
        EventType.SESSION_CREATED,
        Category.SESSION,
        "A verification session was opened",
        ("session", "document"),
        # actions: video sessions only; a stream session's order stays secret until it is decided
        ("channel", "purpose", "capture", "steps", "actions"),
    ),
    EventSpec(
        "AUD_002",
        EventType.SESSION_DECIDED,
        Category.SESSION,
        "A session reached pass, fail or retry",
        ("session", "document"),
        (
            "channel",
            "outcome",
            "actions",
            "reasons",
            "liveness_passed",
            "match_score",
            "match_threshold",
            "evidence_kept",
        ),
    ),
    EventSpec(
        "AUD_003",
        EventType.SESSION_EXPIRED,
        Category.SESSION,
        "A session expired undecided",
        _S,
        ("channel",),
    ),
    EventSpec(
        "AUD_004",
        EventType.CONSENT_RECORDED,
        Category.SESSION,
        "The customer consented to the capture (or the clerk attested it)",
        _S,
        ("notice_version", "language", "given_by"),
    ),
    EventSpec(
        "AUD_010",
        EventType.NUMBER_REGISTERED,
        Category.REGISTRATION,
        "A number was registered to a verified holder",
        _SUB,
        ("channel", "exception", "numbers_held"),
    ),
    EventSpec(
        "AUD_011",
        EventType.NUMBER_CANCELLED,
        Category.REGISTRATION,
        "A registration was ended",
        _SUB,
        ("reason", "last_number"),
    ),
    EventSpec(
        "AUD_012",
        EventType.NUMBER_TRANSFERRED,
        Category.REGISTRATION,
        "A number moved to a new verified holder",
        (*_SUB, "previous_subscription"),
        ("channel",),
    ),
    EventSpec(
        "AUD_013",
        EventType.NUMBER_SUSPENDED,
        Category.REGISTRATION,
        "A registration was suspended",
        _SUB,
        ("reason",),
    ),
    EventSpec(
        "AUD_014",
        EventType.REVERIFICATION_REQUESTED,
        Category.REGISTRATION,
        "A holder was asked to verify again",
        _SUB,
        ("reason", "deadline"),
    ),
    EventSpec(
        "AUD_015",
        EventType.REVERIFICATION_COMPLETED,
        Category.REGISTRATION,
        "A holder passed re-verification",
        _SUB,
        (),
    ),
    EventSpec(
        "AUD_016",
        EventType.NUMBER_FLAGGED,
        Category.REGISTRATION,
        "A holder flagged a number under their ID as not theirs",
        _SUB,
        ("reason",),
    ),
    EventSpec(
        "AUD_020",
        EventType.HOLDER_LOOKED_UP,
        Category.LOOKUP,
        "Registrations under one ID were looked up",
        ("document", "session"),
        ("found", "purpose"),
    ),
    EventSpec(
        "AUD_021",
        EventType.HOLDER_DISCLOSED,
        Category.LOOKUP,
        "A holder was shown what is kept about them",
        ("document", "session"),
        (),
    ),
    EventSpec(
        "AUD_030",
        EventType.EXCEPTION_REQUESTED,
        Category.EXCEPTION,
        "An exception was requested",
        ("exception", "session", "document"),
        ("kind", "reason"),
    ),
    EventSpec(
        "AUD_031",
        EventType.EXCEPTION_APPROVED,
        Category.EXCEPTION,
        "An exception was approved",
        ("exception", "session", "document", "subscription"),
        ("kind", "reason", "channel"),
    ),
    EventSpec(
        "AUD_032",
        EventType.EXCEPTION_REFUSED,
        Category.EXCEPTION,
        "An exception was refused",
        ("exception", "session", "document"),
        ("kind", "reason"),
    ),
    EventSpec(
        "AUD_033",
        EventType.LIMIT_REACHED,
        Category.EXCEPTION,
        "A limit refused or locked something",
        ("session", "document", "device"),
        ("kind", "limit"),
    ),
    EventSpec(
        "AUD_040",
        EventType.EVIDENCE_SEALED,
        Category.KEY,
        "Evidence was kept, sealed",
        ("session", "document", "data_key"),
        ("artefacts", "expires_at"),
    ),
    EventSpec(
        "AUD_041",
        EventType.EVIDENCE_OPENED,
        Category.KEY,
        "Sealed evidence was opened for a dispute",
        ("session", "document", "data_key", "case"),
        ("artefacts",),
    ),
    EventSpec(
        "AUD_042",
        EventType.DATA_KEY_SHREDDED,
        Category.KEY,
        "A data key was destroyed",
        ("data_key", "document"),
        ("purpose", "reason", "generation"),
    ),
    EventSpec(
        "AUD_043",
        EventType.MASTER_KEY_ROTATED,
        Category.KEY,
        "Data keys were re-wrapped",
        ("master_key",),
        ("rewrapped", "already_current"),
    ),
    EventSpec(
        "AUD_050", EventType.OPERATOR_CREATED, Category.ADMIN, "An operator was created", ("operator",), ()
    ),
    EventSpec(
        "AUD_051",
        EventType.OUTLET_CREATED,
        Category.ADMIN,
        "An outlet was created",
        ("outlet", "operator"),
        (),
    ),
    EventSpec(
        "AUD_052",
        EventType.API_KEY_ISSUED,
        Category.ADMIN,
        "An API key was issued",
        ("api_key", "outlet", "operator"),
        ("role",),
    ),
    EventSpec(
        "AUD_053", EventType.API_KEY_REVOKED, Category.ADMIN, "An API key was revoked", ("api_key",), ()
    ),
    EventSpec(
        "AUD_054",
        EventType.INVENTORY_IMPORTED,
        Category.ADMIN,
        "Numbers were added to an inventory",
        ("operator",),
        ("count",),
    ),
    EventSpec(
        "AUD_060",
        EventType.RETENTION_PURGED,
        Category.RETENTION,
        "Retention was enforced",
        (),
        ("keys_shredded", "evidence_deleted", "sessions_cleared"),
    ),
    EventSpec(
        "AUD_061",
        EventType.SUBJECT_ERASED,
        Category.RETENTION,
        "A lawful erasure request was executed",
        ("document", "case"),
        ("keys_shredded",),
    ),
    EventSpec(
        "AUD_062",
        EventType.PRIVACY_CHECKED,
        Category.SUPERVISION,
        "The plaintext scan ran",
        (),
        ("findings", "clean"),
    ),
    EventSpec(
        "AUD_063",
        EventType.CHAIN_VERIFIED,
        Category.SUPERVISION,
        "The audit chain was verified",
        (),
        ("intact", "entries", "findings"),
    ),
    EventSpec(
        "AUD_064",
        EventType.REPORT_GENERATED,
        Category.SUPERVISION,
        "An inspection report was produced",
        ("report",),
        ("period_from", "period_to", "format"),
    ),
)

CATALOGUE: dict[EventType, EventSpec] = {spec.type: spec for spec in _SPECS}
BY_CODE: dict[str, EventSpec] = {spec.code: spec for spec in _SPECS}

if len(BY_CODE) != len(_SPECS) or set(CATALOGUE) != set(EventType):
    raise RuntimeError("audit catalogue: every event type needs exactly one unique code")


def spec_of(event_type: EventType | str) -> EventSpec:
    return CATALOGUE[EventType(event_type)]
