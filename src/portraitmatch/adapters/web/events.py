"""The audit hook: one call per security-relevant action, inside the action's own transaction.

The service calls ``AuditSink.record(event, db=…)`` for every event of the audit catalogue it
produces (``audit.catalogue.EventType``). A sink that writes to the database uses ``db`` so that
the event commits or rolls back together with the action it describes. Events carry opaque
references (session id, document subject reference, key id), never ID numbers, names or images.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from portraitmatch.audit.catalogue import EventType

Detail = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class ServiceEvent:
    type: EventType
    actor: str  # "key:<api key id>", "token:<session id>" (a customer's capture token) or "system"
    at: datetime
    outlet_id: str | None = None
    objects: Mapping[str, str] = field(default_factory=dict)  # object type -> opaque id
    details: Mapping[str, Detail] = field(default_factory=dict)


class AuditSink(Protocol):
    def record(self, event: ServiceEvent, *, db: Session) -> None: ...


class LogAuditSink:
    """Writes each event as one JSON line to the ``portraitmatch.audit`` logger.

    The fallback when no database audit log is wired in; it cannot take part in the transaction.
    """

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger or logging.getLogger("portraitmatch.audit")

    def record(self, event: ServiceEvent, *, db: Session) -> None:
        self.logger.info(
            json.dumps(
                {
                    "type": event.type.value,
                    "actor": event.actor,
                    "at": event.at.isoformat(),
                    "outlet": event.outlet_id,
                    "objects": dict(event.objects),
                    "details": dict(event.details),
                },
                sort_keys=True,
            )
        )


class MemoryAuditSink:
    """Keeps events in a list (for tools and tests that inspect what was emitted)."""

    def __init__(self) -> None:
        self.events: list[ServiceEvent] = []

    def record(self, event: ServiceEvent, *, db: Session) -> None:
        self.events.append(event)
