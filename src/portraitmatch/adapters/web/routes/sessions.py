"""Verification sessions: create (with the ID portrait), read, upload a recorded capture, self-service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, status
from pydantic import ValidationError

from portraitmatch.adapters.storage import sessions as session_store
from portraitmatch.adapters.web import registration, verification
from portraitmatch.adapters.web.deps import Caller, CaptureCaller, Clerk, Context, Reader
from portraitmatch.adapters.web.problems import UnsupportedMediaType
from portraitmatch.adapters.web.schemas import (
    SESSION_FORM_SCHEMA,
    DecisionOut,
    FlagIn,
    HolderNumbersOut,
    SessionCreatedOut,
    SessionForm,
    SessionListOut,
    SessionOut,
    SubscriptionOut,
)
from portraitmatch.adapters.web.uploads import read_body, read_multipart
from portraitmatch.errors import InputError
from portraitmatch.registry.access import Role, require_outlet, require_role
from portraitmatch.registry.documents import DocumentType
from portraitmatch.registry.sessions import VerificationSession

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])

SessionId = Annotated[str, Path(min_length=1, max_length=64, description="The session id.")]
VIDEO_TYPES = ("video/mp4", "video/webm", "video/quicktime", "video/x-matroska", "application/octet-stream")
# Form fields and multipart framing on top of the portrait itself.
FORM_OVERHEAD_BYTES = 64 * 1024


def _form_problem(exc: ValidationError) -> InputError:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "form"
    return InputError(f"{where}: {first.get('msg', 'invalid')}", code="VALIDATION_FAILED")


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a session: validate the ID document, read its portrait, issue a challenge",
    openapi_extra={
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": SESSION_FORM_SCHEMA}}}
    },
)
async def create_session(request: Request, ctx: Context, clerk: Clerk) -> SessionCreatedOut:
    form = await read_multipart(request, max_bytes=ctx.settings.limits.max_upload_bytes + FORM_OVERHEAD_BYTES)
    portrait = form.files.get("portrait")
    if not portrait:
        raise InputError("Attach the ID portrait as the file field 'portrait'.", code="PORTRAIT_REQUIRED")
    try:
        fields = SessionForm.model_validate({k: v for k, v in form.fields.items() if v != ""})
    except ValidationError as exc:
        raise _form_problem(exc) from None
    created = await verification.create_session(ctx, principal=clerk, form=fields, portrait_bytes=portrait)
    out = SessionOut.from_domain(created.session, now=ctx.now(), show_score=True)
    return SessionCreatedOut(
        **out.model_dump(), capture_token=created.capture_token, portrait_notes=list(created.portrait_notes)
    )


@router.get("", summary="List recent sessions (a clerk sees its own outlet's)")
def list_sessions(
    ctx: Context,
    principal: Reader,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> SessionListOut:
    outlet = principal.outlet_id if principal.role is Role.CLERK else None
    with ctx.database.reading() as db:
        sessions = session_store.list_sessions(db=db, outlet_id=outlet, limit=limit)
    now = ctx.now()
    return SessionListOut(sessions=[SessionOut.from_domain(s, now=now, show_score=True) for s in sessions])


def _visible_session(
    ctx: Context, caller: CaptureCaller, session_id: str, *, holder_view: bool = False
) -> tuple[VerificationSession, int]:
    """The session if the caller may see it; ``holder_view``: only its outlet's clerk or its token."""
    session, keys = verification.load_session(ctx, session_id)
    if caller.capture_token is not None:
        verification.authorize_capture(caller, session, keys)
    else:
        assert caller.principal is not None
        require_outlet(caller.principal, session.outlet_id, what="session")
        if holder_view:
            # What is kept about a holder is shown to the holder (at the counter or on their device),
            # not browsed by auditors or admins through someone's self-service session.
            require_role(caller.principal, Role.CLERK)
    return session, keys.document_id


@router.get("/{session_id}", summary="Read a session, with its decision once decided")
def get_session(ctx: Context, caller: Caller, session_id: SessionId) -> SessionOut:
    session, _ = _visible_session(ctx, caller, session_id)
    return SessionOut.from_domain(session, now=ctx.now(), show_score=caller.sees_scores)


@router.post(
    "/{session_id}/video",
    summary="Upload the recorded capture; the server verifies it and returns the decision",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in VIDEO_TYPES},
        }
    },
)
async def upload_video(
    request: Request,
    ctx: Context,
    caller: Caller,
    session_id: SessionId,
    nonce: Annotated[str, Query(min_length=1, max_length=64, description="The challenge nonce.")],
    mirrored: Annotated[bool, Query(description="The video is mirrored (a selfie preview).")] = False,
) -> DecisionOut:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in VIDEO_TYPES:
        raise UnsupportedMediaType(f"Send the video as the raw body with one of: {', '.join(VIDEO_TYPES)}.")
    video = await read_body(request, max_bytes=ctx.settings.limits.max_upload_bytes)
    if not video:
        raise InputError("The body is empty: send the video.", code="EMPTY_BODY")
    verdict, decision = await verification.verify_video(
        ctx, caller=caller, session_id=session_id, nonce=nonce, video=video, mirrored=mirrored
    )
    return DecisionOut.from_domain(verdict, decision, show_score=caller.sees_scores)


@router.get(
    "/{session_id}/numbers",
    summary="Numbers under my ID: the live numbers of the document verified in a self-service session",
)
def holder_numbers(ctx: Context, caller: Caller, session_id: SessionId) -> HolderNumbersOut:
    session, document_id = _visible_session(ctx, caller, session_id, holder_view=True)
    masked, name, subs = registration.holder_numbers(
        ctx, session=session, document_id=document_id, actor=caller.actor
    )
    now = ctx.now()
    return HolderNumbersOut(
        document_type=DocumentType(session.document_type),
        document_number_masked=masked,
        holder_name=name,
        numbers=[SubscriptionOut.from_domain(s, now=now) for s in subs],
    )


@router.post(
    "/{session_id}/numbers/{msisdn}/flag",
    summary="The holder flags a number registered to their ID that they do not recognise",
)
def flag_number(
    ctx: Context,
    caller: Caller,
    session_id: SessionId,
    msisdn: Annotated[str, Path(max_length=32)],
    body: FlagIn,
) -> SubscriptionOut:
    session, document_id = _visible_session(ctx, caller, session_id, holder_view=True)
    sub = registration.flag_number(
        ctx, session=session, document_id=document_id, msisdn=msisdn, reason=body.reason, actor=caller.actor
    )
    return SubscriptionOut.from_domain(sub, now=ctx.now())
