"""The audit chain and its signed checkpoints in the database.

``audit_events`` is append-only by convention *and* by evidence: nothing here updates or deletes a
row, and any change made behind the application's back is found by ``verify`` (see
``audit/verify.py``). ``audit_head`` holds one row that every append locks first, so concurrent
writers (several API processes) extend the chain one after another: ``SELECT … FOR UPDATE`` on
PostgreSQL; SQLite's writing transactions are already serialised by ``BEGIN IMMEDIATE``.

An event is appended inside the caller's transaction, so it commits or rolls back with the action it
describes. Checkpoints are signed in a transaction of their own, and the signed record is also
appended to an anchor file outside the database after it commits.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Index, Integer, String, Text, func, select
from sqlalchemy.event import listen
from sqlalchemy.orm import Mapped, Session, mapped_column

from portraitmatch.adapters.storage.database import Database
from portraitmatch.adapters.storage.tables import Base, UtcDateTime
from portraitmatch.audit.catalogue import EventType, spec_of
from portraitmatch.audit.chain import GENESIS, ChainEntry, StoredEntry, event_digest, link_hash
from portraitmatch.audit.checkpoint import (
    Checkpoint,
    checkpoint_from_json,
    checkpoint_to_json,
    is_signing_due,
    sign_checkpoint,
)
from portraitmatch.audit.event import AuditEvent, canonical_json
from portraitmatch.audit.signing import Signer, TrustedKeys, b64, unb64
from portraitmatch.audit.verify import ChainStatus, Finding, FindingKind, verify_chain
from portraitmatch.config import Settings

_HEAD_ID = 1
log = logging.getLogger("portraitmatch.audit")


class AuditEventRow(Base):
    __tablename__ = "audit_events"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    code: Mapped[str] = mapped_column(String(16))
    type: Mapped[str] = mapped_column(String(48))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(128))
    outlet: Mapped[str | None] = mapped_column(String(128))
    objects: Mapped[str] = mapped_column(Text)  # canonical JSON object: type -> opaque id
    details: Mapped[str] = mapped_column(Text)  # canonical JSON object: key -> token/number/flag
    digest: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_audit_events_at", "at"),
        Index("ix_audit_events_type_at", "type", "at"),
    )


class AuditHeadRow(Base):
    """One row: the newest entry. A cache for appending and the lock that orders appends."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpointRow(Base):
    __tablename__ = "audit_checkpoints"
    idx: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    from_seq: Mapped[int] = mapped_column(Integer)
    to_seq: Mapped[int] = mapped_column(Integer)
    head_hash: Mapped[str] = mapped_column(String(64))
    digests: Mapped[str] = mapped_column(Text)  # JSON list of event digests from_seq…to_seq
    prev_checkpoint: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))  # base64 Ed25519


class EventLike(Protocol):
    """What the service hands to the sink (``adapters.web.events.ServiceEvent``)."""

    type: EventType
    actor: str
    at: datetime
    outlet_id: str | None
    objects: Any
    details: Any


# ------------------------------------------------------------------------------------------ append


def _lock_head(db: Session) -> AuditHeadRow:
    head = db.scalars(select(AuditHeadRow).where(AuditHeadRow.id == _HEAD_ID).with_for_update()).first()
    if head is None:
        # The migration creates the row; this covers a schema made with metadata.create_all.
        last = db.scalars(select(AuditEventRow).order_by(AuditEventRow.seq.desc()).limit(1)).first()
        head = AuditHeadRow(id=_HEAD_ID, seq=last.seq if last else 0, hash=last.hash if last else GENESIS)
        db.add(head)
        db.flush()
    return head


def append_event(*, db: Session, event: AuditEvent) -> ChainEntry:
    """Append one event to the chain inside the caller's transaction."""
    head = _lock_head(db)
    digest = event_digest(event)
    entry = ChainEntry(
        seq=head.seq + 1, event=event, digest=digest, prev_hash=head.hash, hash=link_hash(head.hash, digest)
    )
    doc = event.to_json()
    db.add(
        AuditEventRow(
            seq=entry.seq,
            code=event.code,
            type=event.type.value,
            at=event.at,
            actor=event.actor,
            outlet=event.outlet,
            objects=canonical_json(doc["objects"]).decode(),
            details=canonical_json(doc["details"]).decode(),
            digest=entry.digest,
            prev_hash=entry.prev_hash,
            hash=entry.hash,
        )
    )
    head.seq, head.hash = entry.seq, entry.hash
    db.flush()
    return entry


class SqlAuditSink:
    """``adapters.web.events.AuditSink`` writing to the chain: events commit with their action.

    ``strict`` refuses an event that breaks the catalogue or could carry personal data (tests, tools);
    the service's sink (:meth:`for_service`) records it redacted and logs what was wrong instead, so
    an action never fails because of its audit record. With ``signing``, a checkpoint is signed
    right after the transaction that makes one due commits (never inside it: a rolled-back action
    must not leave a signed checkpoint behind).
    """

    def __init__(self, *, signing: ChainSigning | None = None, strict: bool = True) -> None:
        self.signing = signing
        self.strict = strict

    @classmethod
    def for_service(cls, settings: Settings, database: Database) -> SqlAuditSink:
        """The sink the service uses: signing with the configured key, or unsigned with a warning."""
        from portraitmatch.adapters.keys.providers import load_signer

        signer = load_signer(settings)
        if signer is None:
            log.warning("no audit signing key: the chain is not signed (create one: portraitmatch keys init)")
            return cls(strict=False)
        return cls(
            strict=False,
            signing=ChainSigning(
                database, signer, SigningPolicy.from_settings(settings), anchor_path(settings)
            ),
        )

    def record(self, event: EventLike | AuditEvent, *, db: Session) -> ChainEntry:
        if not isinstance(event, AuditEvent):
            fields = {
                "at": event.at,
                "actor": event.actor,
                "outlet": event.outlet_id,
                "objects": dict(event.objects),
                "details": dict(event.details),
            }
            if self.strict:
                event = AuditEvent.create(event.type, **fields)
            else:
                event, problems = AuditEvent.create_redacted(event.type, **fields)
                if problems:
                    log.warning(
                        "audit event %s recorded with redactions: %s", event.type, "; ".join(problems)
                    )
        entry = append_event(db=db, event=event)
        signing = self.signing
        if signing is not None and signing.is_due(db=db, head=entry):
            listen(db, "after_commit", lambda _session: signing.sign_quietly(now=event.at), once=True)
        return entry


@dataclass(frozen=True, slots=True)
class ChainSigning:
    """Signs checkpoints with a key held outside the database, and appends them to the anchor file."""

    database: Database
    signer: Signer
    policy: SigningPolicy
    anchor_file: Path | None

    def is_due(self, *, db: Session, head: ChainEntry) -> bool:
        signed = db.scalar(select(func.max(AuditCheckpointRow.to_seq))) or 0
        oldest = db.scalar(select(AuditEventRow.at).where(AuditEventRow.seq == signed + 1))
        return is_signing_due(
            unsigned_count=head.seq - signed,
            oldest_unsigned_at=oldest,
            now=head.event.at,
            every_events=self.policy.every_events,
            every_s=self.policy.every_s,
        )

    def sign(self, *, now: datetime, force: bool = False) -> Checkpoint | None:
        return sign_pending(
            database=self.database,
            signer=self.signer,
            now=now,
            policy=None if force else self.policy,
            anchor_file=self.anchor_file,
        )

    def sign_quietly(self, *, now: datetime) -> None:
        try:
            self.sign(now=now)
        except Exception:  # the action already committed; the next append or `audit sign` retries
            log.exception("signing the audit chain failed")


def anchor_path(settings: Settings) -> Path:
    """Where signed checkpoints are copied outside the database."""
    return settings.data_dir / "audit" / "anchors.jsonl"


# ------------------------------------------------------------------------------------------ read


def _event(row: AuditEventRow) -> AuditEvent | None:
    """Rebuild the event from its columns exactly as stored; None when they no longer make sense."""
    try:
        event_type = EventType(row.type)
        if spec_of(event_type).code != row.code:
            return None
        objects = json.loads(row.objects)
        details = json.loads(row.details)
        if not isinstance(objects, dict) or not isinstance(details, dict):
            return None
        return AuditEvent(
            type=event_type,
            at=row.at,
            actor=row.actor,
            outlet=row.outlet,
            object_ids=tuple(sorted((str(k), str(v)) for k, v in objects.items())),
            details=tuple(sorted(details.items())),
        )
    except (ValueError, TypeError, KeyError):
        return None


def _stored(row: AuditEventRow) -> StoredEntry:
    event = _event(row)
    try:
        content = event_digest(event) if event is not None else None
    except (TypeError, ValueError):
        content = None
    return StoredEntry(
        seq=row.seq,
        content_digest=content,
        digest=row.digest,
        prev_hash=row.prev_hash,
        hash=row.hash,
        at=row.at,
    )


def stored_entries(*, db: Session) -> list[StoredEntry]:
    return [_stored(row) for row in db.scalars(select(AuditEventRow).order_by(AuditEventRow.seq))]


def events_between(*, db: Session, start: datetime, end: datetime) -> Iterator[AuditEvent]:
    """Readable events with ``start <= at < end``, in chain order."""
    query = (
        select(AuditEventRow)
        .where(AuditEventRow.at >= start, AuditEventRow.at < end)
        .order_by(AuditEventRow.seq)
        .execution_options(yield_per=1000)
    )
    for row in db.scalars(query):
        event = _event(row)
        if event is not None:
            yield event


def _checkpoint(row: AuditCheckpointRow) -> Checkpoint | None:
    try:
        return Checkpoint(
            index=row.idx,
            from_seq=row.from_seq,
            to_seq=row.to_seq,
            head_hash=row.head_hash,
            digests=tuple(str(d) for d in json.loads(row.digests)),
            prev_checkpoint=row.prev_checkpoint,
            signed_at=row.signed_at,
            key_id=row.key_id,
            signature=unb64(row.signature),
        )
    except (ValueError, TypeError):
        return None


def checkpoints(*, db: Session) -> list[Checkpoint]:
    """Stored checkpoints that still parse (an unparsable one counts as missing)."""
    out = []
    for row in db.scalars(select(AuditCheckpointRow).order_by(AuditCheckpointRow.idx)):
        cp = _checkpoint(row)
        if cp is not None:
            out.append(cp)
    return out


# ------------------------------------------------------------------------------------------ anchors


def read_anchors(path: Path) -> tuple[list[Checkpoint], int]:
    """Checkpoints recorded in the anchor file, and how many lines could not be read."""
    if not path.is_file():
        return [], 0
    good: list[Checkpoint] = []
    bad = 0
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        try:
            good.append(checkpoint_from_json(json.loads(line)))
        except ValueError:
            bad += 1
    return good, bad


def append_anchor(path: Path, cp: Checkpoint) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    line = canonical_json(checkpoint_to_json(cp)) + b"\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line)  # one write with O_APPEND: concurrent signers never interleave a line
        os.fsync(fd)
    finally:
        os.close(fd)


# ------------------------------------------------------------------------------------------ signing


@dataclass(frozen=True, slots=True)
class SigningPolicy:
    every_events: int
    every_s: float

    @classmethod
    def from_settings(cls, settings: Settings) -> SigningPolicy:
        return cls(
            every_events=settings.keys.audit_sign_every_events, every_s=settings.keys.audit_sign_every_s
        )

    @property
    def overdue_events(self) -> int:
        """How many unsigned entries verification tolerates before calling signing overdue."""
        return 2 * self.every_events

    @property
    def overdue_age(self) -> timedelta:
        # Generous: a cron `audit sign` every few minutes, and a quiet night between appends.
        return timedelta(seconds=2 * self.every_s) + timedelta(hours=1)


def sign_pending(
    *,
    database: Database,
    signer: Signer,
    now: datetime,
    policy: SigningPolicy | None,
    anchor_file: Path | None,
) -> Checkpoint | None:
    """Sign the entries since the last checkpoint (when due by ``policy``; always when it is None)."""
    with database.transaction() as db:
        _lock_head(db)
        last_row = db.scalars(
            select(AuditCheckpointRow).order_by(AuditCheckpointRow.idx.desc()).limit(1)
        ).first()
        previous = _checkpoint(last_row) if last_row is not None else None
        after = previous.to_seq if previous else 0
        rows = list(
            db.scalars(select(AuditEventRow).where(AuditEventRow.seq > after).order_by(AuditEventRow.seq))
        )
        if not rows:
            return None
        if policy is not None and not is_signing_due(
            unsigned_count=len(rows),
            oldest_unsigned_at=rows[0].at,
            now=now,
            every_events=policy.every_events,
            every_s=policy.every_s,
        ):
            return None
        # Sign what is stored (digest and hash columns); verification recomputes them from content.
        cp = sign_checkpoint(signer, rows, previous, now=now)
        db.add(
            AuditCheckpointRow(
                idx=cp.index,
                from_seq=cp.from_seq,
                to_seq=cp.to_seq,
                head_hash=cp.head_hash,
                digests=json.dumps(list(cp.digests)),
                prev_checkpoint=cp.prev_checkpoint,
                signed_at=cp.signed_at,
                key_id=cp.key_id,
                signature=b64(cp.signature),
            )
        )
    if anchor_file is not None:
        append_anchor(anchor_file, cp)
    return cp


def unsigned_count(*, db: Session) -> int:
    last = db.scalar(select(func.max(AuditCheckpointRow.to_seq))) or 0
    return db.scalar(select(func.count()).select_from(AuditEventRow).where(AuditEventRow.seq > last)) or 0


# ------------------------------------------------------------------------------------------ verify


def verify_database(
    *,
    database: Database,
    trusted: TrustedKeys,
    now: datetime,
    policy: SigningPolicy,
    anchor_file: Path | None = None,
) -> ChainStatus:
    """Verify the whole chain as stored, against the trusted keys and the anchor file if any."""
    anchors, unreadable = read_anchors(anchor_file) if anchor_file is not None else ([], 0)
    with database.reading() as db:
        entries = stored_entries(db=db)
        cps = checkpoints(db=db)
        raw_checkpoints = db.scalar(select(func.count()).select_from(AuditCheckpointRow)) or 0
    status = verify_chain(
        entries,
        cps,
        trusted,
        now=now,
        max_unsigned_events=policy.overdue_events,
        max_unsigned_age=policy.overdue_age,
        anchors=anchors,
    )
    extra = []
    if raw_checkpoints != len(cps):
        extra.append(Finding(FindingKind.CHECKPOINT_ALTERED, None, "a stored checkpoint no longer parses"))
    if unreadable:
        extra.append(
            Finding(FindingKind.CHECKPOINT_ALTERED, None, f"{unreadable} anchor file lines do not parse")
        )
    if extra:
        status = replace(status, is_intact=False, findings=(*extra, *status.findings))
    return status
