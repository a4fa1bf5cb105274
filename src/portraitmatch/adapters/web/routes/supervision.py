"""Supervision and disclosure endpoints: the auditor's signed inspection report, and what is kept
about a holder, shown to that holder after they pass a self-service session."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel

from portraitmatch.adapters.keys.providers import load_signer, load_trusted_keys
from portraitmatch.adapters.storage.inspection_store import FORMATS, produce_report
from portraitmatch.adapters.storage.privacy_store import HolderRecord, describe_holder
from portraitmatch.adapters.web import verification
from portraitmatch.adapters.web.deps import Caller, Context, CurrentPrincipal
from portraitmatch.adapters.web.events import ServiceEvent
from portraitmatch.audit.catalogue import EventType
from portraitmatch.audit.signing import b64
from portraitmatch.errors import InputError
from portraitmatch.registry.access import Role, require_outlet, require_role
from portraitmatch.registry.refusals import ConflictError
from portraitmatch.registry.sessions import Purpose, ensure_usable

router = APIRouter(tags=["supervision"])


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


@router.get(
    "/v1/reports/inspection",
    summary="Signed inspection report for a period (auditor or admin)",
    response_class=Response,
    responses={200: {"content": {t: {} for t in FORMATS.values()}, "description": "The report file"}},
)
def inspection_report(
    ctx: Context,
    principal: CurrentPrincipal,
    start: Annotated[
        datetime, Query(alias="from", description="Start, inclusive (ISO 8601; UTC if no offset).")
    ],
    end: Annotated[datetime, Query(alias="to", description="End, exclusive.")],
    format: Annotated[Literal["html", "pdf", "csv"], Query(description="Rendering.")] = "pdf",
) -> Response:
    """The report carries an Ed25519 signature over its data; ``X-PortraitMatch-Signature`` is the
    detached signature over the returned bytes (verify with the operator's public key)."""
    require_role(principal, Role.AUDITOR, Role.ADMIN)
    period_from, period_to = _utc(start), _utc(end)
    if period_to <= period_from:
        raise InputError("'to' must be after 'from'.", code="PERIOD_INVALID")
    signer = load_signer(ctx.settings)
    if signer is None:
        raise ConflictError(
            "No audit signing key is configured: reports cannot be signed.", code="NO_SIGNING_KEY"
        )
    now = ctx.now()
    report_id = f"{period_from:%Y%m%d}-{period_to:%Y%m%d}-{now:%H%M%S}"
    signed = produce_report(
        settings=ctx.settings,
        database=ctx.database,
        signer=signer,
        trusted=load_trusted_keys(ctx.settings, signer),
        period_from=period_from,
        period_to=period_to,
        formats=(format,),
        installation="PortraitMatch",
        report_id=report_id,
        actor=f"key:{principal.key_id}",
        now=now,
    )
    return Response(
        signed.files[format],
        media_type=FORMATS[format],
        headers={
            "X-PortraitMatch-Signature": b64(signed.detached[format]),
            "X-PortraitMatch-Key-Id": signer.key_id,
            "Content-Disposition": f'attachment; filename="inspection-report-{report_id}.{format}"',
        },
    )


class HeldNumberOut(BaseModel):
    msisdn: str
    status: str
    started_at: datetime
    ended_at: datetime | None


class HeldSessionOut(BaseModel):
    issued_at: datetime
    outlet: str
    channel: str
    purpose: str
    outcome: str | None


class EvidenceOut(BaseModel):
    label: str
    sealed_at: datetime
    deleted_by: datetime


class HolderDataOut(BaseModel):
    """Everything kept about the holder. Biometric data is never kept unless listed under evidence
    (sealed, and deleted by the date shown)."""

    document_type: str
    id_number_masked: str
    holder_name: str
    first_seen: datetime
    numbers: list[HeldNumberOut]
    sessions: list[HeldSessionOut]
    evidence: list[EvidenceOut]
    personal_data_kept_until: datetime | None
    audit_events_about_you: int
    never_kept: list[str]

    @classmethod
    def from_domain(cls, record: HolderRecord) -> HolderDataOut:
        return cls(
            document_type=record.document_type,
            id_number_masked=record.id_number_masked,
            holder_name=record.holder_name,
            first_seen=record.first_seen,
            numbers=[
                HeldNumberOut(msisdn=n.msisdn, status=n.status, started_at=n.started_at, ended_at=n.ended_at)
                for n in record.numbers
            ],
            sessions=[
                HeldSessionOut(
                    issued_at=s.issued_at,
                    outlet=s.outlet,
                    channel=s.channel,
                    purpose=s.purpose,
                    outcome=s.outcome,
                )
                for s in record.sessions
            ],
            evidence=[
                EvidenceOut(label=e.label, sealed_at=e.sealed_at, deleted_by=e.expires_at)
                for e in record.evidence
            ],
            personal_data_kept_until=record.personal_data_until,
            audit_events_about_you=record.audit_events,
            never_kept=[
                "camera frames and video (unless listed under evidence)",
                "face templates and embeddings (erased when the session is decided)",
                "your ID number and name in readable form (they are stored encrypted)",
            ],
        )


@router.get(
    "/v1/sessions/{session_id}/holder-data",
    summary="What is kept about me: for the holder who passed a self-service session",
)
def holder_data(
    ctx: Context,
    caller: Caller,
    session_id: Annotated[str, Path(min_length=1, max_length=64, description="The session id.")],
) -> HolderDataOut:
    session, keys = verification.load_session(ctx, session_id)
    if caller.capture_token is not None:
        verification.authorize_capture(caller, session, keys)
    else:
        assert caller.principal is not None
        require_outlet(caller.principal, session.outlet_id, what="session")
    now = ctx.now()
    ensure_usable(
        session,
        purpose=Purpose.SELF_SERVICE,
        document_key=session.document_key,
        outlet_id=session.outlet_id,
        now=now,
    )
    with ctx.database.transaction() as db:
        record = describe_holder(
            db=db, protection=ctx.protection, retention=ctx.settings.retention, document_id=keys.document_id
        )
        ctx.audit.record(
            ServiceEvent(
                EventType.HOLDER_DISCLOSED,
                actor=caller.actor,
                at=now,
                outlet_id=session.outlet_id,
                objects={"session": session.id},
                details={},
            ),
            db=db,
        )
    return HolderDataOut.from_domain(record)
