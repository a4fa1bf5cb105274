"""What the browser pages need beyond the core API: the privacy notice, consent, QR codes, exceptions.

- ``GET /v1/privacy-notice``: the retention facts the capture page explains before the camera starts.
- ``POST /v1/sessions/{id}/consent``: records the customer's consent (capture token) or the clerk's
  attestation of it (clerk key) in the audit log, before any frame is sent.
- ``GET /v1/console/me``: who the signed-in key is, so the console shows the right screens.
- ``POST /v1/console/qr``: a capture link as an SVG QR code, drawn here so the pages load no code
  from elsewhere (the link carries the capture token: it is posted, never put in a URL).
- ``POST /v1/sessions/{id}/exception``: a supervisor lets a customer who cannot perform the
  challenge be verified without it. The supervisor's own admin key approves it; the customer's
  photo taken at the counter is still matched 1:1 against the ID portrait, and the decision is
  stored on the session like any other, so registration rules apply unchanged.
"""

from __future__ import annotations

import io
import uuid
from typing import Annotated, Literal

import segno
from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, ConfigDict, StringConstraints
from starlette.concurrency import run_in_threadpool

from portraitmatch.adapters.storage import privacy_store
from portraitmatch.adapters.web import verification
from portraitmatch.adapters.web.deps import Caller, CaptureCaller, Clerk, Context, Reader, principal_for
from portraitmatch.adapters.web.events import ServiceEvent
from portraitmatch.adapters.web.problems import Unauthenticated
from portraitmatch.adapters.web.schemas import DecisionOut
from portraitmatch.adapters.web.uploads import read_multipart
from portraitmatch.audit.catalogue import EventType
from portraitmatch.audit.reasons import ExceptionReason
from portraitmatch.errors import InputError
from portraitmatch.registry.access import Role, require_outlet
from portraitmatch.registry.refusals import ForbiddenError
from portraitmatch.registry.sessions import ensure_capture_allowed
from portraitmatch.types import Decision, Outcome, Reason

router = APIRouter(tags=["pages"])

# The notice text lives in static/js/i18n.js (both languages); bump both together.
NOTICE_VERSION = "2026-11.1"
MAX_QR_TEXT = 1024
# A photo for an exception is one still; it is small next to the upload limit for videos.
MAX_EXCEPTION_PHOTO_BYTES = 16 * 1024 * 1024

SessionId = Annotated[str, Path(min_length=1, max_length=64, description="The session id.")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PrivacyNoticeOut(BaseModel):
    version: str
    evidence_kept: bool
    evidence_artefacts: list[str]
    evidence_frames: int
    evidence_days: int
    challenge_ttl_s: float
    session_use_window_s: float
    days_after_last_cancellation: int


class ConsentIn(Strict):
    notice_version: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    language: Literal["zh", "en"]
    given_by: Literal["customer", "clerk"] | None = None  # informative: the credential decides


class ConsentOut(BaseModel):
    session_id: str
    notice_version: str
    given_by: Literal["customer", "clerk"]
    recorded_at: str


class WhoAmIOut(BaseModel):
    key_id: str
    role: Role
    outlet_id: str | None
    operator_id: str | None


class QrIn(Strict):
    text: Annotated[str, StringConstraints(min_length=1, max_length=MAX_QR_TEXT)]


# Why the customer cannot perform the challenge: a code of the reason catalogue, never free text.
ExceptionKind = ExceptionReason


class ExceptionOut(BaseModel):
    exception_id: str
    session_id: str
    kind: ExceptionKind
    approved_by: str
    decision: DecisionOut


@router.get("/v1/privacy-notice", summary="What the capture page tells the customer before the camera starts")
def privacy_notice(ctx: Context) -> PrivacyNoticeOut:
    s = ctx.settings
    return PrivacyNoticeOut(
        version=NOTICE_VERSION,
        evidence_kept=s.retention.enabled,
        evidence_artefacts=list(s.retention.artefacts) if s.retention.enabled else [],
        evidence_frames=s.retention.frames_kept if s.retention.enabled else 0,
        evidence_days=s.retention.days if s.retention.enabled else 0,
        challenge_ttl_s=s.liveness.challenge_ttl_s,
        session_use_window_s=s.registry.session_use_window_s,
        days_after_last_cancellation=s.retention.days_after_last_cancellation,
    )


def _record_consent(ctx: Context, caller: CaptureCaller, session_id: str, body: ConsentIn) -> ConsentOut:
    session, keys = verification.load_session(ctx, session_id)
    if caller.capture_token is not None:
        verification.authorize_capture(caller, session, keys)
        given_by: Literal["customer", "clerk"] = "customer"
    else:
        assert caller.principal is not None
        require_outlet(caller.principal, session.outlet_id, what="session")
        if caller.principal.role is not Role.CLERK:
            raise ForbiddenError("Only the outlet's clerk or the customer records consent.", code="ROLE")
        given_by = "clerk"
    if body.notice_version != NOTICE_VERSION:
        raise InputError(
            f"The notice shown was version {body.notice_version}; the current one is {NOTICE_VERSION}. "
            "Reload the page and show the current notice.",
            code="NOTICE_OUTDATED",
        )
    now = ctx.now()
    # Consent comes before the capture: once frames were sent it is too late to ask.
    ensure_capture_allowed(session, now)
    with ctx.database.transaction() as db:
        # The row is what the capture endpoints check; the audit event is the tamper-evident record.
        privacy_store.record_consent(
            db=db,
            session_id=session.id,
            given_by=given_by,
            notice_version=NOTICE_VERSION,
            language=body.language,
            now=now,
        )
        ctx.audit.record(
            ServiceEvent(
                EventType.CONSENT_RECORDED,
                actor=caller.actor,
                at=now,
                outlet_id=session.outlet_id,
                objects={"session": session.id},
                details={"notice_version": NOTICE_VERSION, "language": body.language, "given_by": given_by},
            ),
            db=db,
        )
    return ConsentOut(
        session_id=session.id, notice_version=NOTICE_VERSION, given_by=given_by, recorded_at=now.isoformat()
    )


@router.post(
    "/v1/sessions/{session_id}/consent",
    summary="Record consent to the capture: the customer (capture token) or the clerk's attestation",
)
def record_consent(ctx: Context, caller: Caller, session_id: SessionId, body: ConsentIn) -> ConsentOut:
    return _record_consent(ctx, caller, session_id, body)


@router.get("/v1/console/me", summary="The signed-in key: role and outlet")
def who_am_i(principal: Reader) -> WhoAmIOut:
    return WhoAmIOut(
        key_id=principal.key_id,
        role=principal.role,
        outlet_id=principal.outlet_id,
        operator_id=principal.operator_id,
    )


def qr_svg(text: str) -> bytes:
    """A QR code of ``text`` as a standalone SVG (error correction M: survives a glare spot)."""
    out = io.BytesIO()
    segno.make(text, error="m", micro=False).save(
        out, kind="svg", scale=4, border=2, dark="#14212b", light="#ffffff", xmldecl=False, omitsize=True
    )
    return out.getvalue()


@router.post(
    "/v1/console/qr",
    summary="A capture link as an SVG QR code",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}},
)
def capture_qr(clerk: Clerk, body: QrIn) -> Response:
    if not body.text.startswith(("https://", "http://")):
        raise InputError("A QR code here carries a capture link (http or https).", code="QR_NOT_A_LINK")
    return Response(qr_svg(body.text), media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


def _supervisor(ctx: Context, key: str) -> str:
    try:
        supervisor = principal_for(ctx, key)
    except Unauthenticated:
        # Not a 401: the clerk's own key is fine, and the console must not sign the clerk out.
        raise ForbiddenError(
            "The supervisor key is unknown or revoked.", code="SUPERVISOR_KEY_INVALID"
        ) from None
    if supervisor.role is not Role.ADMIN:
        raise ForbiddenError("An exception needs a supervisor's (admin) key.", code="SUPERVISOR_ROLE")
    return supervisor.key_id


@router.post(
    "/v1/sessions/{session_id}/exception",
    summary="Supervisor exception: verify a customer who cannot perform the challenge by a photo match",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["photo", "kind", "supervisor_key"],
                        "properties": {
                            "photo": {"type": "string", "format": "binary"},
                            "kind": {"type": "string", "enum": [k.value for k in ExceptionKind]},
                            "supervisor_key": {"type": "string", "description": "The approving admin key."},
                        },
                    }
                }
            },
        }
    },
)
async def approve_exception(
    request: Request, ctx: Context, clerk: Clerk, session_id: SessionId
) -> ExceptionOut:
    form = await read_multipart(request, max_bytes=MAX_EXCEPTION_PHOTO_BYTES)
    photo = form.files.get("photo")
    if not photo:
        raise InputError("Attach the customer's photo as the file field 'photo'.", code="PHOTO_REQUIRED")
    try:
        kind = ExceptionKind(form.fields.get("kind", ""))
    except ValueError:
        allowed = ", ".join(k.value for k in ExceptionKind)
        raise InputError(f"kind must be one of {allowed}.", code="VALIDATION_FAILED") from None
    supervisor_id = await run_in_threadpool(_supervisor, ctx, form.fields.get("supervisor_key", "").strip())
    if supervisor_id == clerk.key_id:
        raise ForbiddenError(
            "The supervisor cannot approve with the clerk's own key.", code="SUPERVISOR_ROLE"
        )

    capture = await verification.open_capture(
        ctx, caller=CaptureCaller(principal=clerk), session_id=session_id, nonce=None, kind="exception"
    )
    try:
        live = await ctx.compute(ctx.engine.read_portrait, photo)
        match = await ctx.compute(ctx.engine.matcher.compare, capture.portrait, live)
    except BaseException:
        # An unusable photo must not burn the session: nothing was judged yet.
        await run_in_threadpool(verification.release_capture, ctx, capture.session.id)
        raise
    exception_id = uuid.uuid4().hex
    session = capture.session

    def approve() -> None:
        with ctx.database.transaction() as db:
            ctx.audit.record(
                ServiceEvent(
                    EventType.EXCEPTION_APPROVED,
                    actor=f"key:{supervisor_id}",
                    at=ctx.now(),
                    outlet_id=session.outlet_id,
                    objects={"exception": exception_id, "session": session.id},
                    details={
                        "kind": "challenge_waived",
                        "reason": kind.value,
                        "channel": session.channel.value,
                    },
                ),
                db=db,
            )

    await run_in_threadpool(approve)
    passed = match.is_match
    decision = Decision(
        outcome=Outcome.PASS if passed else Outcome.FAIL,
        reasons=(Reason.SUPERVISOR_EXCEPTION, Reason.MATCH if passed else Reason.NO_MATCH),
        message=(
            "Supervisor exception: the photo matches the ID portrait."
            if passed
            else "Supervisor exception: the photo does not match the ID portrait."
        ),
        match=match,
    )
    verdict = await run_in_threadpool(verification.settle, ctx, capture, decision)
    return ExceptionOut(
        exception_id=exception_id,
        session_id=session.id,
        kind=kind,
        approved_by=supervisor_id,
        decision=DecisionOut.from_domain(verdict, decision, show_score=True),
    )
