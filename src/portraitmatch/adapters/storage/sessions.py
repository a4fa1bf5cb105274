"""Verification sessions: issued with a challenge, claimed by one capture, decided, used once.

Every state change is a conditional UPDATE (``WHERE state = …``), so two processes racing on one
session cannot both capture it or both use it: the second finds no row to change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portraitmatch.adapters.storage.protection import Protection
from portraitmatch.adapters.storage.tables import DocumentRow, SessionRow
from portraitmatch.registry.sessions import (
    CaptureMode,
    Channel,
    Purpose,
    SessionState,
    Verdict,
    VerificationSession,
)
from portraitmatch.types import Action, Outcome


@dataclass(frozen=True, slots=True)
class NewSession:
    id: str
    outlet_id: str
    operator_id: str
    api_key_id: str
    channel: Channel
    purpose: Purpose
    document_id: int
    device_key: str
    actions: tuple[Action, ...]
    nonce: str
    capture_token_sha256: str
    issued_at: datetime
    expires_at: datetime
    capture: CaptureMode = CaptureMode.STREAM


def _domain(row: SessionRow, document_key: str, document_type: str) -> VerificationSession:
    verdict = None
    if row.outcome is not None and row.decided_at is not None:
        verdict = Verdict(
            outcome=Outcome(row.outcome),
            reasons=tuple(json.loads(row.reasons or "[]")),
            message=row.message or "",
            decided_at=row.decided_at,
            usable_until=row.usable_until,
            liveness_passed=row.liveness_passed,
            match_score=row.match_score,
            match_threshold=row.match_threshold,
        )
    return VerificationSession(
        id=row.id,
        outlet_id=row.outlet_id,
        operator_id=row.operator_id,
        channel=Channel(row.channel),
        purpose=Purpose(row.purpose),
        document_type=document_type,
        document_key=document_key,
        state=SessionState(row.state),
        actions=tuple(Action(a) for a in row.actions.split(",") if a),
        nonce=row.nonce,
        issued_at=row.issued_at,
        expires_at=row.expires_at,
        capture=CaptureMode(row.capture_mode),
        verdict=verdict,
        used_at=row.used_at,
        used_for=row.used_for,
    )


def insert_session(
    *, db: Session, protection: Protection, new: NewSession, template: bytes, now: datetime
) -> VerificationSession:
    sealed = protection.seal_template(
        db, session_id=new.id, template=template, keep_until=new.expires_at, now=now
    )
    db.add(
        SessionRow(
            id=new.id,
            outlet_id=new.outlet_id,
            operator_id=new.operator_id,
            api_key_id=new.api_key_id,
            channel=new.channel.value,
            purpose=new.purpose.value,
            document_id=new.document_id,
            device_key=new.device_key,
            state=SessionState.ISSUED.value,
            actions=",".join(a.value for a in new.actions),
            capture_mode=new.capture.value,
            nonce=new.nonce,
            capture_token_sha256=new.capture_token_sha256,
            issued_at=new.issued_at,
            expires_at=new.expires_at,
            template_sealed=sealed,
        )
    )
    db.flush()
    found = get_session(db=db, session_id=new.id)
    assert found is not None
    return found


def get_session(*, db: Session, session_id: str) -> VerificationSession | None:
    found = db.execute(
        select(SessionRow, DocumentRow.lookup_key, DocumentRow.doc_type)
        .join(DocumentRow, DocumentRow.id == SessionRow.document_id)
        .where(SessionRow.id == session_id)
    ).first()
    if found is None:
        return None
    row, lookup_key, doc_type = found
    return _domain(row, lookup_key, doc_type)


@dataclass(frozen=True, slots=True)
class SessionKeys:
    """What the service needs besides the domain view: who may capture, what to count failures on."""

    document_id: int
    device_key: str
    capture_token_sha256: str
    api_key_id: str


def get_session_keys(*, db: Session, session_id: str) -> SessionKeys | None:
    row = db.get(SessionRow, session_id)
    if row is None:
        return None
    return SessionKeys(row.document_id, row.device_key, row.capture_token_sha256, row.api_key_id)


def list_sessions(
    *, db: Session, outlet_id: str | None, limit: int, before: datetime | None = None
) -> list[VerificationSession]:
    query = (
        select(SessionRow, DocumentRow.lookup_key, DocumentRow.doc_type)
        .join(DocumentRow, DocumentRow.id == SessionRow.document_id)
        .order_by(SessionRow.issued_at.desc(), SessionRow.id.desc())
        .limit(limit)
    )
    if outlet_id is not None:
        query = query.where(SessionRow.outlet_id == outlet_id)
    if before is not None:
        query = query.where(SessionRow.issued_at < before)
    return [_domain(row, key, doc_type) for row, key, doc_type in db.execute(query)]


def claim_capture(*, db: Session, session_id: str, kind: str, now: datetime) -> bytes | None:
    """Move an issued, unexpired session to ``capturing``; return its sealed template, or None if taken."""
    claimed = db.execute(
        update(SessionRow)
        .where(
            SessionRow.id == session_id,
            SessionRow.state == SessionState.ISSUED.value,
            SessionRow.expires_at > now,
        )
        .values(state=SessionState.CAPTURING.value, capture_started_at=now, capture_kind=kind)
    ).rowcount
    if claimed != 1:
        return None
    return db.scalar(select(SessionRow.template_sealed).where(SessionRow.id == session_id))


def record_decision(
    *, db: Session, protection: Protection, session_id: str, verdict: Verdict, now: datetime
) -> bool:
    """Store the decision of a capturing session and erase its face template (and shred its key)."""
    done = db.execute(
        update(SessionRow)
        .where(SessionRow.id == session_id, SessionRow.state == SessionState.CAPTURING.value)
        .values(
            state=SessionState.DECIDED.value,
            template_sealed=None,
            outcome=verdict.outcome.value,
            reasons=json.dumps(list(verdict.reasons)),
            message=verdict.message,
            liveness_passed=verdict.liveness_passed,
            match_score=verdict.match_score,
            match_threshold=verdict.match_threshold,
            decided_at=verdict.decided_at,
            usable_until=verdict.usable_until,
        )
    ).rowcount
    protection.shred_session(db, session_id=session_id, now=now)
    return done == 1


def claim_use(*, db: Session, session_id: str, used_for: str, now: datetime) -> bool:
    """Mark a passed, unused session as used; False when another request used it first."""
    return (
        db.execute(
            update(SessionRow)
            .where(
                SessionRow.id == session_id,
                SessionRow.state == SessionState.DECIDED.value,
                SessionRow.outcome == Outcome.PASS.value,
                SessionRow.used_at.is_(None),
                SessionRow.usable_until > now,
            )
            .values(state=SessionState.USED.value, used_at=now, used_for=used_for)
        ).rowcount
        == 1
    )


def erase_expired_templates(
    *, db: Session, protection: Protection, now: datetime, limit: int = 500
) -> list[str]:
    """Erase templates of sessions whose challenge expired undecided; returns their ids."""
    ids = list(
        db.scalars(
            select(SessionRow.id)
            .where(
                SessionRow.template_sealed.is_not(None),
                SessionRow.expires_at <= now,
                SessionRow.state.in_([SessionState.ISSUED.value, SessionState.CAPTURING.value]),
            )
            .limit(limit)
        )
    )
    for session_id in ids:
        db.execute(update(SessionRow).where(SessionRow.id == session_id).values(template_sealed=None))
        protection.shred_session(db, session_id=session_id, now=now)
    return ids


def release_capture(*, db: Session, session_id: str) -> bool:
    """Give a claimed capture back (the upload was unreadable): the customer may send it again."""
    return (
        db.execute(
            update(SessionRow)
            .where(SessionRow.id == session_id, SessionRow.state == SessionState.CAPTURING.value)
            .values(state=SessionState.ISSUED.value, capture_started_at=None, capture_kind=None)
        ).rowcount
        == 1
    )
