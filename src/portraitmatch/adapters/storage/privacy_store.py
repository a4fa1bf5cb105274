"""Retained evidence, recorded consent, retention enforcement and erasure, in the database.

``consents`` records that the customer consented to a session's capture (or the clerk attested it):
the capture endpoints refuse a session without one. ``evidence`` holds sealed artefacts only
(AES-256-GCM under the subject's biometric key); it stays empty unless an operator turns retention
on. :func:`purge` enforces every retention rule in one transaction and is idempotent (safe from
cron): expired evidence rows are deleted, data keys past their scheduled end are destroyed, and
holders whose last number ended more than ``retention.days_after_last_cancellation`` ago (or who
never registered one) are forgotten: their personal and biometric keys are shredded and their
look-up hash replaced, so neither their name, their ID number nor the fact that this ID was seen
can be recovered.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Index, Integer, LargeBinary, MetaData, String, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from portraitmatch.adapters.storage.database import Database
from portraitmatch.adapters.storage.protection import Protection
from portraitmatch.adapters.storage.sessions import erase_expired_templates
from portraitmatch.adapters.storage.tables import Base, DocumentRow, Id, SubscriptionRow, UtcDateTime
from portraitmatch.config import RetentionSettings
from portraitmatch.errors import InputError
from portraitmatch.privacy import (
    KeyShredded,
    Purpose,
    SealBroken,
    Sealed,
    SealedEvidence,
    ShredReason,
    ShredReceipt,
    SubjectKeys,
    is_sealed_token,
    seal_evidence,
    unseal,
)
from portraitmatch.privacy.plaintext_scan import scan
from portraitmatch.registry.numbers import LIVE_STATUSES

ERASED_PREFIX = "erased_"


class EvidenceRow(Base):
    __tablename__ = "evidence"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    subject_ref: Mapped[str] = mapped_column(String(128))
    session_id: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(32))
    key_generation: Mapped[int] = mapped_column(Integer)
    token: Mapped[bytes] = mapped_column(LargeBinary)  # a privacy.Sealed token: ciphertext only
    sealed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (
        Index("ix_evidence_subject", "subject_ref"),
        Index("ix_evidence_session", "session_id"),
        Index("ix_evidence_expires", "expires_at"),
    )


@dataclass(frozen=True, slots=True)
class EvidenceInfo:
    id: int
    session_id: str
    label: str
    sealed_at: datetime
    expires_at: datetime


def _info(row: EvidenceRow) -> EvidenceInfo:
    return EvidenceInfo(row.id, row.session_id, row.label, row.sealed_at, row.expires_at)


class ConsentRow(Base):
    """One party's consent to one session's capture: the customer's, or the clerk's attestation.

    Only codes and times: the audit chain has the same facts (``consent.recorded``); this row is what
    the capture endpoints check, so enforcement does not depend on how the audit log is wired.
    """

    __tablename__ = "consents"
    session_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    given_by: Mapped[str] = mapped_column(String(16), primary_key=True)  # customer | clerk
    notice_version: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(8))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())


# ------------------------------------------------------------------------------------------ consent


def record_consent(
    *, db: Session, session_id: str, given_by: str, notice_version: str, language: str, now: datetime
) -> None:
    """Record (or renew, after a reload of the page) one party's consent to a session's capture."""
    row = db.get(ConsentRow, (session_id, given_by))
    if row is None:
        db.add(
            ConsentRow(
                session_id=session_id,
                given_by=given_by,
                notice_version=notice_version,
                language=language,
                recorded_at=now,
            )
        )
    else:
        row.notice_version, row.language, row.recorded_at = notice_version, language, now
    db.flush()


def consent_given(*, db: Session, session_id: str) -> bool:
    """Whether anyone (the customer, or the clerk attesting it) recorded consent for this session."""
    count = db.scalar(select(func.count()).select_from(ConsentRow).where(ConsentRow.session_id == session_id))
    return (count or 0) > 0


# ------------------------------------------------------------------------------------------ evidence


def keep_evidence(
    *,
    db: Session,
    protection: Protection,
    retention: RetentionSettings,
    subject_ref: str,
    session_id: str,
    id_portrait: bytes | None,
    frames: Sequence[bytes],
    now: datetime,
) -> list[EvidenceInfo]:
    """Seal and store what the retention settings allow (nothing when retention is off)."""
    kept = seal_evidence(
        protection.keys(db),
        retention,
        subject_ref=subject_ref,
        session_id=session_id,
        id_portrait=id_portrait,
        frames=frames,
        now=now,
    )
    return store_evidence(db=db, items=kept)


def store_evidence(*, db: Session, items: Sequence[SealedEvidence]) -> list[EvidenceInfo]:
    rows = [
        EvidenceRow(
            subject_ref=item.sealed.ref.subject_ref,
            session_id=item.session_id,
            label=item.sealed.label,
            key_generation=item.sealed.ref.generation,
            token=item.sealed.token,
            sealed_at=item.sealed.sealed_at,
            expires_at=item.expires_at,
        )
        for item in items
    ]
    db.add_all(rows)
    db.flush()
    return [_info(r) for r in rows]


def subject_ref_of(*, db: Session, document_id: int) -> str:
    """The opaque subject reference evidence of this document's holder is sealed and filed under."""
    row = db.get(DocumentRow, document_id)
    if row is None:
        raise InputError(f"no document {document_id}", code="UNKNOWN_DOCUMENT")
    return row.subject_ref


def session_has_evidence(*, db: Session, session_id: str) -> bool:
    return (
        db.scalar(select(func.count()).select_from(EvidenceRow).where(EvidenceRow.session_id == session_id))
        or 0
    ) > 0


def evidence_of(*, db: Session, subject_ref: str) -> list[EvidenceInfo]:
    rows = db.scalars(
        select(EvidenceRow).where(EvidenceRow.subject_ref == subject_ref).order_by(EvidenceRow.id)
    )
    return [_info(r) for r in rows]


def open_evidence(*, db: Session, keys: SubjectKeys, evidence_id: int) -> tuple[EvidenceInfo, bytes]:
    """Decrypt one artefact for a dispute; raises KeyShredded when its key is gone."""
    row = db.get(EvidenceRow, evidence_id)
    if row is None:
        raise InputError(f"no evidence {evidence_id}", code="UNKNOWN_EVIDENCE")
    sealed = Sealed.from_token(row.token)
    return _info(row), unseal(keys.for_opening(sealed.ref), sealed)


# ------------------------------------------------------------------------------------------ purge


@dataclass(frozen=True, slots=True)
class PurgeResult:
    evidence_deleted: int
    templates_erased: int
    documents_forgotten: tuple[int, ...]  # document row ids
    receipts: tuple[ShredReceipt, ...]

    @property
    def is_noop(self) -> bool:
        return not (
            self.evidence_deleted or self.templates_erased or self.documents_forgotten or self.receipts
        )


def documents_due(*, db: Session, retention: RetentionSettings, now: datetime) -> list[tuple[int, str, bool]]:
    """(document id, subject ref, had a subscription) of holders past their legal retention."""
    cutoff = now - timedelta(days=retention.days_after_last_cancellation)
    live = select(SubscriptionRow.document_id).where(
        SubscriptionRow.status.in_([s.value for s in LIVE_STATUSES])
    )
    last_end = (
        select(SubscriptionRow.document_id, func.max(SubscriptionRow.ended_at).label("last_end"))
        .group_by(SubscriptionRow.document_id)
        .subquery()
    )
    rows = db.execute(
        select(DocumentRow.id, DocumentRow.subject_ref, DocumentRow.updated_at, last_end.c.last_end)
        .outerjoin(last_end, last_end.c.document_id == DocumentRow.id)
        .where(
            DocumentRow.id.not_in(live),
            DocumentRow.lookup_key.not_like(f"{ERASED_PREFIX}%"),
        )
    ).all()
    due = []
    for doc_id, subject_ref, updated_at, ended in rows:
        # A holder's record lives until the legal period after their last number ended; one who
        # never registered a number is kept for the same period after their last visit.
        last = max(ended, updated_at) if ended is not None else updated_at
        if last <= cutoff:
            due.append((doc_id, subject_ref, ended is not None))
    return due


def _forget_document(
    db: Session, keys: SubjectKeys, doc_id: int, subject_ref: str, reason: ShredReason, now: datetime
) -> list[ShredReceipt]:
    receipts = keys.shred(subject_ref, reason=reason, now=now)
    db.execute(delete(EvidenceRow).where(EvidenceRow.subject_ref == subject_ref))
    row = db.get(DocumentRow, doc_id)
    if row is not None:
        # The keyed hash would still confirm "this ID number was here": replace it with noise.
        row.lookup_key = ERASED_PREFIX + secrets.token_hex(28)
        row.updated_at = now
    db.flush()
    return receipts


def purge(*, db: Session, protection: Protection, retention: RetentionSettings, now: datetime) -> PurgeResult:
    """Enforce every retention rule once. Idempotent: a second run at the same time does nothing."""
    keys = protection.keys(db)
    evidence_deleted = db.execute(delete(EvidenceRow).where(EvidenceRow.expires_at <= now)).rowcount or 0
    templates = erase_expired_templates(db=db, protection=protection, now=now)
    receipts: list[ShredReceipt] = []
    forgotten: list[int] = []
    for doc_id, subject_ref, had_numbers in documents_due(db=db, retention=retention, now=now):
        reason = ShredReason.LAST_NUMBER_CANCELLED if had_numbers else ShredReason.RETENTION_EXPIRED
        receipts += _forget_document(db, keys, doc_id, subject_ref, reason, now)
        forgotten.append(doc_id)
    receipts += keys.shred_expired(now=now)
    return PurgeResult(
        evidence_deleted=evidence_deleted,
        templates_erased=len(templates),
        documents_forgotten=tuple(forgotten),
        receipts=tuple(receipts),
    )


class ErasureRefused(InputError):
    code = "ERASURE_REFUSED"


def erase_document(
    *, db: Session, protection: Protection, document_id: int, now: datetime
) -> list[ShredReceipt]:
    """Execute a lawful erasure request for one holder. Refused while they hold a live number."""
    row = db.get(DocumentRow, document_id)
    if row is None:
        raise InputError(f"no document {document_id}", code="UNKNOWN_DOCUMENT")
    live = db.scalar(
        select(func.count())
        .select_from(SubscriptionRow)
        .where(
            SubscriptionRow.document_id == document_id,
            SubscriptionRow.status.in_([s.value for s in LIVE_STATUSES]),
        )
    )
    if live:
        raise ErasureRefused(
            f"the holder still has {live} live number(s); real-name rules require their record until they end"
        )
    return _forget_document(
        db, protection.keys(db), document_id, row.subject_ref, ShredReason.ERASURE_REQUEST, now
    )


def is_forgotten(*, db: Session, protection: Protection, document_id: int) -> bool:
    """True when the holder's personal data can no longer be read back."""
    row = db.get(DocumentRow, document_id)
    if row is None:
        return True
    try:
        protection.open(db, row.name_sealed)
    except KeyShredded:
        return True
    return False


def personal_key_live(*, db: Session, protection: Protection, subject_ref: str) -> bool:
    return protection.keys(db).store.latest(subject_ref, Purpose.PERSONAL) is not None


# ------------------------------------------------------------------------------------------ plaintext scan


@dataclass(frozen=True, slots=True)
class PlaintextFinding:
    location: str  # "db:<table>.<column> <key>" or "file:<path>@<offset>"; never the content
    kind: str  # image | embedding | personal_text
    what: str  # jpeg, float32[128], name, id_number …


def known_personal_values(*, db: Session, protection: Protection) -> list[tuple[str, str]]:
    """Names and ID numbers the installation holds sealed: what must never appear in clear."""
    needles: list[tuple[str, str]] = []
    for row in db.execute(select(DocumentRow.number_sealed, DocumentRow.name_sealed)):
        for what, token in (("id_number", row.number_sealed), ("name", row.name_sealed)):
            try:
                value = protection.open(db, token).decode("utf-8")
            except (KeyShredded, SealBroken, UnicodeDecodeError):
                continue  # shredded: nothing left to leak
            needles.append((what, value))
            if what == "name" and " " in value:
                needles.append((what, value.replace(" ", "")))
    return needles


def scan_database(*, database: Database, needles: Sequence[tuple[str, str]]) -> list[PlaintextFinding]:
    """Every value of every table: sealed tokens are skipped, everything else goes through the detectors."""
    meta = MetaData()
    meta.reflect(database.engine)
    findings: list[PlaintextFinding] = []
    with database.engine.connect() as conn:
        for table in meta.sorted_tables:
            key_cols = list(table.primary_key.columns) or list(table.columns)[:1]
            for row in conn.execute(select(table)).mappings():
                key = ",".join(f"{c.name}={row[c.name]}" for c in key_cols)
                for column in table.columns:
                    value = row[column.name]
                    if isinstance(value, memoryview):
                        value = value.tobytes()
                    if isinstance(value, bytes):
                        if is_sealed_token(value):
                            continue
                        blob = value
                    elif isinstance(value, str):
                        blob = value.encode("utf-8")
                    else:
                        continue
                    for hit in scan(blob, needles):
                        findings.append(
                            PlaintextFinding(f"db:{table.name}.{column.name} {key}", hit.kind.value, hit.what)
                        )
    return findings


_CHUNK = 16 * 1024 * 1024
_OVERLAP = 1024 * 1024


def scan_directory(root: Path, *, needles: Sequence[tuple[str, str]]) -> list[PlaintextFinding]:
    """Every file under ``root`` (database files included: their free pages too), in overlapping chunks."""
    findings: list[PlaintextFinding] = []
    if not root.exists():
        return findings
    files = (
        [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())
    )
    for path in files:
        seen: set[tuple[str, int, str]] = set()
        try:
            with path.open("rb") as fh:
                offset = 0
                while True:
                    fh.seek(offset)
                    chunk = fh.read(_CHUNK + _OVERLAP)
                    if not chunk:
                        break
                    for hit in scan(chunk, needles):
                        at = offset + hit.offset
                        if (hit.kind.value, at, hit.what) not in seen:
                            seen.add((hit.kind.value, at, hit.what))
                            findings.append(PlaintextFinding(f"file:{path}@{at}", hit.kind.value, hit.what))
                    if len(chunk) <= _CHUNK:
                        break
                    offset += _CHUNK
        except OSError as exc:
            findings.append(PlaintextFinding(f"file:{path}", "unreadable", exc.__class__.__name__))
    return findings


# ------------------------------------------------------------------------------------------ disclosure


@dataclass(frozen=True, slots=True)
class HeldNumber:
    msisdn: str
    status: str
    started_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class HeldSession:
    issued_at: datetime
    outlet: str
    channel: str
    purpose: str
    outcome: str | None


@dataclass(frozen=True, slots=True)
class HolderRecord:
    """Everything kept about one holder, as shown to that holder after they pass a session."""

    document_type: str
    id_number_masked: str
    holder_name: str
    first_seen: datetime
    numbers: tuple[HeldNumber, ...]
    sessions: tuple[HeldSession, ...]
    evidence: tuple[EvidenceInfo, ...]
    personal_data_until: datetime | None  # None: kept while a number is live, then the legal period
    audit_events: int


def _mask(number: str) -> str:
    return number[:3] + "*" * max(0, len(number) - 5) + number[-2:] if len(number) > 5 else "*" * len(number)


def describe_holder(
    *, db: Session, protection: Protection, retention: RetentionSettings, document_id: int
) -> HolderRecord:
    from portraitmatch.adapters.storage.audit_store import AuditEventRow
    from portraitmatch.adapters.storage.tables import NumberRow, OutletRow, SessionRow

    row = db.get(DocumentRow, document_id)
    if row is None:
        raise InputError(f"no document {document_id}", code="UNKNOWN_DOCUMENT")
    numbers = tuple(
        HeldNumber(msisdn, status, started, ended)
        for msisdn, status, started, ended in db.execute(
            select(
                NumberRow.msisdn, SubscriptionRow.status, SubscriptionRow.started_at, SubscriptionRow.ended_at
            )
            .join(NumberRow, NumberRow.id == SubscriptionRow.number_id)
            .where(SubscriptionRow.document_id == document_id)
            .order_by(SubscriptionRow.started_at)
        )
    )
    sessions = tuple(
        HeldSession(issued, name or outlet, channel, purpose, outcome)
        for issued, outlet, name, channel, purpose, outcome in db.execute(
            select(
                SessionRow.issued_at,
                SessionRow.outlet_id,
                OutletRow.name,
                SessionRow.channel,
                SessionRow.purpose,
                SessionRow.outcome,
            )
            .outerjoin(OutletRow, OutletRow.id == SessionRow.outlet_id)
            .where(SessionRow.document_id == document_id)
            .order_by(SessionRow.issued_at)
        )
    )
    live = [n for n in numbers if n.status in {s.value for s in LIVE_STATUSES}]
    ended = [n.ended_at for n in numbers if n.ended_at is not None]
    until = None
    if not live:
        last = max([*ended, row.updated_at])
        until = last + timedelta(days=retention.days_after_last_cancellation)
    audit_events = db.scalar(
        select(func.count())
        .select_from(AuditEventRow)
        .where(AuditEventRow.objects.contains(f'"{row.subject_ref}"'))
    )
    return HolderRecord(
        document_type=row.doc_type,
        id_number_masked=_mask(protection.open_personal(db, row.number_sealed)),
        holder_name=protection.open_personal(db, row.name_sealed),
        first_seen=row.created_at,
        numbers=numbers,
        sessions=sessions,
        evidence=tuple(evidence_of(db=db, subject_ref=row.subject_ref)),
        personal_data_until=until,
        audit_events=audit_events or 0,
    )
