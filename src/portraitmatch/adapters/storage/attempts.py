"""Failed attempts per subject (document, device) and every hit of a limit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portraitmatch.adapters.storage.tables import AttemptFailureRow, LimitHitRow
from portraitmatch.registry.attempts import Subject


@dataclass(frozen=True, slots=True)
class LimitHit:
    id: int
    kind: str
    subject: str | None
    at: datetime
    outlet_id: str | None
    api_key_id: str | None
    session_id: str | None
    detail: str


def record_failure(
    *, db: Session, subject: Subject, subject_key: str, at: datetime, session_id: str | None
) -> None:
    db.add(AttemptFailureRow(subject=subject.value, subject_key=subject_key, at=at, session_id=session_id))
    db.flush()


def failure_times(*, db: Session, subject: Subject, subject_key: str, since: datetime) -> list[datetime]:
    return list(
        db.scalars(
            select(AttemptFailureRow.at)
            .where(
                AttemptFailureRow.subject == subject.value,
                AttemptFailureRow.subject_key == subject_key,
                AttemptFailureRow.at >= since,
            )
            .order_by(AttemptFailureRow.at)
        )
    )


def record_limit_hit(
    *,
    db: Session,
    kind: str,
    at: datetime,
    subject: Subject | None = None,
    subject_key: str | None = None,
    outlet_id: str | None = None,
    api_key_id: str | None = None,
    session_id: str | None = None,
    detail: str = "",
) -> LimitHit:
    row = LimitHitRow(
        kind=kind,
        subject=subject.value if subject else None,
        subject_key=subject_key,
        at=at,
        outlet_id=outlet_id,
        api_key_id=api_key_id,
        session_id=session_id,
        detail=detail,
    )
    db.add(row)
    db.flush()
    return _hit(row)


def _hit(row: LimitHitRow) -> LimitHit:
    return LimitHit(
        row.id, row.kind, row.subject, row.at, row.outlet_id, row.api_key_id, row.session_id, row.detail
    )


def list_limit_hits(
    *, db: Session, outlet_id: str | None, limit: int, since: datetime | None = None
) -> list[LimitHit]:
    query = select(LimitHitRow).order_by(LimitHitRow.at.desc(), LimitHitRow.id.desc()).limit(limit)
    if outlet_id is not None:
        query = query.where(LimitHitRow.outlet_id == outlet_id)
    if since is not None:
        query = query.where(LimitHitRow.at >= since)
    return [_hit(r) for r in db.scalars(query)]
