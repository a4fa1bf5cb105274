"""The reason-code catalogue: why a number was cancelled, suspended or re-verified, why an exception.

Requests that take a reason take one of these codes, never free text. A code says what an inspector
needs (why, in a form that can be counted and compared across outlets); free text is where names,
ID numbers and health conditions end up, and the audit log keeps none of them. Anything a case
needs beyond the code belongs in the operator's own case file, not in this system.

Codes are stable like event codes: they never change meaning and are never reused. The audit layer
refuses (or, in the running service, redacts) a ``reason`` outside the event's list.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from portraitmatch.audit.catalogue import EventType


class CancellationReason(StrEnum):
    """Why a registration was ended (``number.cancelled``)."""

    HOLDER_REQUEST = "holder_request"  # the holder gave the number back
    NOT_HOLDERS_NUMBER = "not_holders_number"  # the holder says the number was never theirs
    HOLDER_DECEASED = "holder_deceased"
    FRAUD_SUSPECTED = "fraud_suspected"  # registered with someone else's document, or a forged one
    LAWFUL_ORDER = "lawful_order"  # a court or regulator ordered it
    OPERATOR_DECISION = "operator_decision"  # contract ended, unpaid, the operator's own policy
    OTHER = "other"


class ReverificationReason(StrEnum):
    """Why a holder is asked to verify again (``reverification.requested``)."""

    HOLDER_FLAGGED = "holder_flagged"  # a holder reported the number as not theirs
    FRAUD_SUSPECTED = "fraud_suspected"
    DOCUMENT_EXPIRED = "document_expired"  # the document the number was registered with expired
    PERIODIC_REVIEW = "periodic_review"  # the operator's scheduled review of older registrations
    LAWFUL_ORDER = "lawful_order"
    OTHER = "other"


class HolderFlagReason(StrEnum):
    """Why a holder flags a number registered under their ID (``number.flagged``).

    The holder chooses one of these on the capture page; there is no note to type, so nothing a
    holder writes about themselves or others is stored.
    """

    NOT_RECOGNISED = "not_recognised"  # the holder does not know the number
    DOCUMENT_LOST = "document_lost"  # the holder's ID document was lost
    DOCUMENT_STOLEN = "document_stolen"
    OTHER = "other"


class SuspensionReason(StrEnum):
    """Why a registration was suspended (``number.suspended``); only the service suspends."""

    REVERIFICATION_OVERDUE = "reverification_overdue"


class ExceptionReason(StrEnum):
    """Why a customer cannot perform the liveness challenge (``exception.*``).

    Deliberately coarse: "medical" says enough for an inspector, and a diagnosis is not something
    an audit log should hold.
    """

    DISABILITY = "disability"
    MEDICAL = "medical"
    NO_CAMERA = "no_camera"
    OTHER = "other"


REASONS: Mapping[EventType, type[StrEnum]] = {
    EventType.NUMBER_CANCELLED: CancellationReason,
    EventType.REVERIFICATION_REQUESTED: ReverificationReason,
    EventType.NUMBER_SUSPENDED: SuspensionReason,
    EventType.NUMBER_FLAGGED: HolderFlagReason,
    EventType.EXCEPTION_REQUESTED: ExceptionReason,
    EventType.EXCEPTION_APPROVED: ExceptionReason,
    EventType.EXCEPTION_REFUSED: ExceptionReason,
}


def reason_codes(event_type: EventType) -> frozenset[str] | None:
    """The codes an event's ``reason`` may take; None where the event has no catalogued reasons."""
    catalogue = REASONS.get(event_type)
    return frozenset(c.value for c in catalogue) if catalogue is not None else None
