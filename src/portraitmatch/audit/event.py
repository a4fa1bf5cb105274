"""An audit event: who did what, where, when, to which objects; never personal data in clear.

Objects are referenced by opaque ids (session id, subscription id, document row id, key reference),
never by a name, an ID number or a phone number. Detail values are short machine tokens (reason
codes, counts, flags): free text is refused, and so is any run of nine or more digits, which is what
an ID or phone number would look like. A ``reason`` of a cancellation, suspension, re-verification
request or exception must be a code of the reason catalogue (``audit/reasons.py``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from portraitmatch.audit.catalogue import EventSpec, EventType, spec_of
from portraitmatch.audit.reasons import reason_codes

DetailValue = str | int | float | bool

_ID = re.compile(r"^[A-Za-z0-9_.:@/-]{1,128}$")
_TOKEN = re.compile(r"^[A-Za-z0-9_.:,/+-]{0,200}$")
_LONG_DIGITS = re.compile(r"\d{9,}")
# A phone number (11+ digits) or a resident ID number (17 digits and a check character).
_PHONE_OR_ID_NUMBER = re.compile(r"^\+?\d{11,}[Xx]?$")
REDACTED = "REDACTED"
_T = TypeVar("_T")


class AuditEventError(ValueError):
    """An event that would put something unexpected (possibly personal data) into the log."""


@dataclass(frozen=True, slots=True)
class AuditEvent:
    type: EventType
    at: datetime
    actor: str
    outlet: str | None = None
    object_ids: tuple[tuple[str, str], ...] = ()
    details: tuple[tuple[str, DetailValue], ...] = ()

    @classmethod
    def create(
        cls,
        event_type: EventType | str,
        *,
        at: datetime,
        actor: str,
        outlet: str | None = None,
        objects: Mapping[str, str | int] | None = None,
        details: Mapping[str, DetailValue | None] | None = None,
    ) -> AuditEvent:
        """Validate and normalise an event (``None`` details are dropped; times become UTC).

        Anything that could carry personal data or breaks the catalogue raises AuditEventError.
        """
        event, _ = cls._build(event_type, at, actor, outlet, objects, details, redact=False)
        return event

    @classmethod
    def create_redacted(
        cls,
        event_type: EventType | str,
        *,
        at: datetime,
        actor: str,
        outlet: str | None = None,
        objects: Mapping[str, str | int] | None = None,
        details: Mapping[str, DetailValue | None] | None = None,
    ) -> tuple[AuditEvent, tuple[str, ...]]:
        """Like :meth:`create`, but never refuses (what the running service uses).

        Offending values become ``REDACTED`` and keys outside the catalogue are dropped, so an
        action never fails for its audit record and nothing personal reaches the log. Returns the
        event and what was wrong with it (field names and rules, never the values).
        """
        return cls._build(event_type, at, actor, outlet, objects, details, redact=True)

    @classmethod
    def _build(
        cls,
        event_type: EventType | str,
        at: datetime,
        actor: str,
        outlet: str | None,
        objects: Mapping[str, str | int] | None,
        details: Mapping[str, DetailValue | None] | None,
        *,
        redact: bool,
    ) -> tuple[AuditEvent, tuple[str, ...]]:
        event_type = EventType(event_type)
        spec = spec_of(event_type)
        if at.tzinfo is None:
            raise AuditEventError("audit times must be timezone-aware")
        problems: list[str] = []

        def keep(what: str, check: Callable[[], None], value: _T) -> _T | str:
            try:
                check()
            except AuditEventError as exc:
                if not redact:
                    raise
                problems.append(f"{what}: {exc}")
                return REDACTED
            return value

        actor = keep("actor", lambda: _check_id("actor", actor), actor)
        if outlet is not None:
            outlet = keep("outlet", lambda: _check_id("outlet", outlet), outlet)
        object_ids = []
        for kind, value in sorted((k, str(v)) for k, v in (objects or {}).items()):
            if kind not in spec.object_types:
                if not redact:
                    raise AuditEventError(f"{event_type}: object type {kind!r} not in {spec.object_types}")
                problems.append(f"object type {kind!r} dropped")
                continue
            object_ids.append((kind, keep(kind, lambda k=kind, v=value: _check_id(k, v), value)))
        kept = []
        for key, value in sorted((k, v) for k, v in (details or {}).items() if v is not None):
            if key not in spec.detail_keys:
                if not redact:
                    raise AuditEventError(f"{spec.type}: detail {key!r} not in {spec.detail_keys}")
                problems.append(f"detail {key!r} dropped")
                continue
            kept.append((key, keep(key, lambda k=key, v=value: _check_detail(spec, k, v), value)))
        event = cls(
            type=event_type,
            at=at.astimezone(UTC),
            actor=actor,
            outlet=outlet,
            object_ids=tuple(object_ids),
            details=tuple(kept),
        )
        return event, tuple(problems)

    @property
    def spec(self) -> EventSpec:
        return spec_of(self.type)

    @property
    def code(self) -> str:
        return self.spec.code

    def object_id(self, kind: str) -> str | None:
        return dict(self.object_ids).get(kind)

    def detail(self, key: str) -> DetailValue | None:
        return dict(self.details).get(key)

    def to_json(self) -> dict[str, object]:
        """The canonical content of the event: what the hash chain covers."""
        return {
            "code": self.code,
            "type": self.type.value,
            "at": format_time(self.at),
            "actor": self.actor,
            "outlet": self.outlet,
            "objects": dict(self.object_ids),
            "details": dict(self.details),
        }

    def canonical(self) -> bytes:
        return canonical_json(self.to_json())


def canonical_json(value: object) -> bytes:
    """Sorted keys, no spaces, ASCII only: byte-identical on every platform and database."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode()


def format_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _check_id(what: str, value: str) -> None:
    if not isinstance(value, str) or not _ID.match(value):
        raise AuditEventError(f"{what} must be an opaque id matching {_ID.pattern}")
    if _PHONE_OR_ID_NUMBER.match(value):
        raise AuditEventError(f"{what} looks like a phone or ID number: use the record's id instead")


def _check_detail(spec: EventSpec, key: str, value: object) -> None:
    if key not in spec.detail_keys:
        raise AuditEventError(f"{spec.type}: detail {key!r} not in {spec.detail_keys}")
    if isinstance(value, bool | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise AuditEventError(f"{spec.type}: detail {key!r} is not finite")
        return
    if not isinstance(value, str) or not _TOKEN.match(value):
        raise AuditEventError(f"{spec.type}: detail {key!r} must be a short token matching {_TOKEN.pattern}")
    if _LONG_DIGITS.search(value):
        raise AuditEventError(f"{spec.type}: detail {key!r} looks like an ID or phone number")
    # A short token can still be a word of a note ("moved", a surname): reasons are codes or nothing.
    codes = reason_codes(spec.type) if key == "reason" else None
    if codes is not None and value not in codes:
        raise AuditEventError(f"{spec.type}: reason must be one of {sorted(codes)}")
