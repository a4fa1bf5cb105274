"""Inspection reports from storage: the facts of a period, and the signed renderings.

Used by ``portraitmatch report`` and by the auditor's API endpoint. The facts carry no personal data
(outlets, channels, outcomes, reason codes, opaque ids), so neither can the report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from portraitmatch.adapters.storage.audit_store import (
    SigningPolicy,
    SqlAuditSink,
    anchor_path,
    events_between,
    verify_database,
)
from portraitmatch.adapters.storage.database import Database
from portraitmatch.adapters.storage.tables import OutletRow, SessionRow, SubscriptionRow
from portraitmatch.audit import charts
from portraitmatch.audit.catalogue import EventType
from portraitmatch.audit.event import AuditEvent, format_time
from portraitmatch.audit.inspection import (
    ExceptionFact,
    InspectionFacts,
    InspectionReport,
    RegistrationFact,
    ReverificationCounts,
    SessionFact,
    build_report,
)
from portraitmatch.audit.render_csv import render_csv
from portraitmatch.audit.render_html import render_html
from portraitmatch.audit.render_pdf import render_pdf
from portraitmatch.audit.report_signature import ReportSignature, sign_file, sign_report
from portraitmatch.audit.signing import Signer, TrustedKeys
from portraitmatch.audit.verify import ChainStatus
from portraitmatch.config import Settings
from portraitmatch.errors import InputError
from portraitmatch.registry.numbers import LIVE_STATUSES, SubscriptionStatus

FORMATS = {"html": "text/html; charset=utf-8", "pdf": "application/pdf", "csv": "text/csv; charset=utf-8"}


@dataclass(frozen=True, slots=True)
class SignedReport:
    report: InspectionReport
    signature: ReportSignature  # over the report data, carried inside every rendering
    files: dict[str, bytes]  # format -> rendered bytes
    detached: dict[str, bytes]  # format -> raw Ed25519 signature over those bytes


def produce_report(
    *,
    settings: Settings,
    database: Database,
    signer: Signer,
    trusted: TrustedKeys,
    period_from: datetime,
    period_to: datetime,
    formats: tuple[str, ...],
    installation: str,
    report_id: str,
    actor: str,
    now: datetime,
) -> SignedReport:
    """Verify the chain, gather the period's facts, render each format, sign, and audit the act."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise InputError(f"report format must be one of {', '.join(FORMATS)}", code="USAGE")
    anchors = anchor_path(settings)
    status = verify_database(
        database=database,
        trusted=trusted,
        now=now,
        policy=SigningPolicy.from_settings(settings),
        anchor_file=anchors if anchors.exists() else None,
    )
    with database.reading() as db:
        facts = inspection_facts(db=db, start=period_from, end=period_to, chain=status)
    report = build_report(facts, report_id=report_id, installation=installation, generated_at=now)
    signature = sign_report(signer, report)
    files: dict[str, bytes] = {}
    for fmt in formats:
        if fmt == "html":
            files[fmt] = render_html(report, signature, charts.all_svg(report))
        elif fmt == "pdf":
            files[fmt] = render_pdf(report, signature, charts.all_png(report))
        else:
            files[fmt] = render_csv(report, signature)
    with database.transaction() as db:
        SqlAuditSink().record(
            AuditEvent.create(
                EventType.REPORT_GENERATED,
                at=now,
                actor=actor,
                objects={"report": report_id},
                details={
                    "period_from": format_time(period_from),
                    "period_to": format_time(period_to),
                    "format": ",".join(formats),
                },
            ),
            db=db,
        )
    return SignedReport(
        report=report,
        signature=signature,
        files=files,
        detached={fmt: sign_file(signer, content) for fmt, content in files.items()},
    )


def inspection_facts(*, db: Session, start: datetime, end: datetime, chain: ChainStatus) -> InspectionFacts:
    """Everything the inspection report needs for ``start <= t < end``, without personal data.

    Sessions and registrations come from the registry's tables (the state of record); approved
    exceptions from the audit log, the only place they are recorded.
    """
    sessions = [
        SessionFact(
            outlet=row.outlet_id,
            channel=row.channel,
            issued_at=row.issued_at,
            outcome=row.outcome,
            reasons=tuple(json.loads(row.reasons or "[]")),
            purpose=row.purpose,
        )
        for row in db.execute(
            select(
                SessionRow.outlet_id,
                SessionRow.channel,
                SessionRow.issued_at,
                SessionRow.outcome,
                SessionRow.reasons,
                SessionRow.purpose,
            ).where(SessionRow.issued_at >= start, SessionRow.issued_at < end)
        )
    ]
    registrations = [
        RegistrationFact(
            subscription_id=row.id,
            outlet=row.outlet_id,
            channel=row.channel or "-",
            started_at=row.started_at,
            session_id=row.session_id,
            session_outcome=row.outcome,
        )
        for row in db.execute(
            select(
                SubscriptionRow.id,
                SubscriptionRow.outlet_id,
                SubscriptionRow.started_at,
                SubscriptionRow.session_id,
                SessionRow.channel,
                SessionRow.outcome,
            )
            .outerjoin(SessionRow, SessionRow.id == SubscriptionRow.session_id)
            .where(SubscriptionRow.started_at >= start, SubscriptionRow.started_at < end)
        )
    ]
    exceptions = [
        ExceptionFact(
            outlet=e.outlet, channel=_str(e.detail("channel")), at=e.at, kind=_str(e.detail("kind")) or "-"
        )
        for e in events_between(db=db, start=start, end=end)
        if e.type is EventType.EXCEPTION_APPROVED
    ]
    held = db.execute(
        select(func.count())
        .select_from(SubscriptionRow)
        .where(
            SubscriptionRow.started_at < end,
            or_(SubscriptionRow.ended_at.is_(None), SubscriptionRow.ended_at >= end),
        )
        .group_by(SubscriptionRow.document_id)
    ).scalars()
    reverification = ReverificationCounts(
        requested=_count(
            db, SubscriptionRow.reverify_requested_at >= start, SubscriptionRow.reverify_requested_at < end
        ),
        completed=_count(db, SubscriptionRow.reverified_at >= start, SubscriptionRow.reverified_at < end),
        pending=_count(
            db,
            SubscriptionRow.reverify_deadline.is_not(None),
            SubscriptionRow.status.in_([s.value for s in LIVE_STATUSES]),
        ),
        suspended=_count(db, SubscriptionRow.status == SubscriptionStatus.SUSPENDED.value),
    )
    names = {row.id: row.name for row in db.execute(select(OutletRow.id, OutletRow.name))}
    return InspectionFacts(
        period_from=start,
        period_to=end,
        sessions=sessions,
        registrations=registrations,
        exceptions=exceptions,
        live_numbers_per_holder=list(held),
        reverification=reverification,
        chain=chain,
        outlet_names=names,
    )


def _count(db: Session, *where: Any) -> int:
    return db.scalar(select(func.count()).select_from(SubscriptionRow).where(*where)) or 0


def _str(value: object) -> str | None:
    return None if value is None else str(value)
