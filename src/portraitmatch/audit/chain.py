"""The hash chain: each entry commits to its event and to the entry before it.

``digest = SHA-256("pm-audit-event-v1" ‖ canonical event)`` identifies an event's content wherever it
sits; ``hash = SHA-256("pm-audit-link-v1" ‖ previous hash ‖ digest)`` fixes its place. The first entry
links to :data:`GENESIS`. Sequence numbers are storage positions; the chain's order is its links.
:class:`MemoryAuditLog` keeps a chain in a list (tests, tools); ``adapters/storage/audit_store.py``
keeps it in the database.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from portraitmatch.audit.event import AuditEvent

GENESIS = "0" * 64


def event_digest(event: AuditEvent) -> str:
    return hashlib.sha256(b"pm-audit-event-v1\x00" + event.canonical()).hexdigest()


def link_hash(prev_hash: str, digest: str) -> str:
    return hashlib.sha256(
        b"pm-audit-link-v1\x00" + bytes.fromhex(prev_hash) + bytes.fromhex(digest)
    ).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainEntry:
    seq: int
    event: AuditEvent
    digest: str
    prev_hash: str
    hash: str

    def as_stored(self) -> StoredEntry:
        return StoredEntry(
            seq=self.seq,
            content_digest=event_digest(self.event),
            digest=self.digest,
            prev_hash=self.prev_hash,
            hash=self.hash,
            at=self.event.at,
        )


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """An entry as read back for verification: nothing in it is trusted.

    ``content_digest`` is recomputed from the stored event fields (``None`` when they no longer
    parse); ``digest``, ``prev_hash`` and ``hash`` are the stored values.
    """

    seq: int
    content_digest: str | None
    digest: str
    prev_hash: str
    hash: str
    at: datetime | None


def next_entry(head: ChainEntry | None, event: AuditEvent) -> ChainEntry:
    """The entry that appends ``event`` after ``head`` (``None``: the chain is empty)."""
    digest = event_digest(event)
    prev_hash = head.hash if head else GENESIS
    seq = head.seq + 1 if head else 1
    return ChainEntry(
        seq=seq, event=event, digest=digest, prev_hash=prev_hash, hash=link_hash(prev_hash, digest)
    )


class MemoryAuditLog:
    """An audit chain in a list: the reference implementation of append."""

    def __init__(self) -> None:
        self.entries: list[ChainEntry] = []

    @property
    def head(self) -> ChainEntry | None:
        return self.entries[-1] if self.entries else None

    def append(self, event: AuditEvent) -> ChainEntry:
        entry = next_entry(self.head, event)
        self.entries.append(entry)
        return entry
