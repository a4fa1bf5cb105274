"""Verification sessions as the service runs them: create, capture, decide, count failures.

Blocking database work runs in threads (``run_in_threadpool``); decoding and the models run on the
worker pool (``ServiceContext.compute``). The server decides: a client only ever sends the portrait
and the capture, and reads back the decision that was stored.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import cv2
from starlette.concurrency import run_in_threadpool

from portraitmatch.adapters.storage import attempts as attempt_store
from portraitmatch.adapters.storage import sessions as session_store
from portraitmatch.adapters.storage.documents import document_lookup_key, save_document
from portraitmatch.adapters.storage.privacy_store import (
    EvidenceInfo,
    consent_given,
    keep_evidence,
    session_has_evidence,
    subject_ref_of,
)
from portraitmatch.adapters.web import portrait_codec
from portraitmatch.adapters.web.context import ServiceContext
from portraitmatch.adapters.web.deps import CAPTURE_TOKEN_PREFIX, CaptureCaller
from portraitmatch.adapters.web.events import ServiceEvent
from portraitmatch.adapters.web.schemas import SessionForm
from portraitmatch.api import issue_challenge
from portraitmatch.audit.catalogue import EventType
from portraitmatch.config import RetentionSettings
from portraitmatch.registry.access import Principal, Role, require_outlet, require_role
from portraitmatch.registry.attempts import AttemptPolicy, Subject, locked_until
from portraitmatch.registry.documents import DocumentType, validate_document
from portraitmatch.registry.refusals import (
    ForbiddenError,
    LockedOutError,
    NotFoundError,
    SessionStateError,
)
from portraitmatch.registry.sessions import (
    CaptureMode,
    Verdict,
    VerificationSession,
    ensure_capture_allowed,
    ensure_capture_mode,
)
from portraitmatch.types import Action, Decision, Frame, Outcome

if TYPE_CHECKING:
    from portraitmatch.matching.matcher import PortraitTemplate

# Captures that put the customer's face in front of a camera need their recorded consent first.
# (A supervisor exception is different: the supervisor photographs the customer at the counter.)
CONSENTED_CAPTURES = frozenset({"stream", "video"})
EVIDENCE_JPEG_QUALITY = 90


@dataclass(frozen=True, slots=True)
class CreatedSession:
    session: VerificationSession
    capture_token: str
    portrait_notes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OpenCapture:
    """A capture this process has claimed: the session, what to count failures on, the portrait."""

    session: VerificationSession
    keys: session_store.SessionKeys
    portrait: PortraitTemplate
    caller: CaptureCaller


def policy_of(ctx: ServiceContext) -> AttemptPolicy:
    reg = ctx.settings.registry
    return AttemptPolicy(
        max_failures=reg.max_failures, window_s=reg.failure_window_s, lockout_s=reg.lockout_s
    )


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# -- failure limits ----------------------------------------------------------------------------


def _locked_until(ctx: ServiceContext, db: Any, subject: Subject, key: str, now: datetime) -> datetime | None:
    policy = policy_of(ctx)
    times = attempt_store.failure_times(db=db, subject=subject, subject_key=key, since=now - policy.horizon)
    return locked_until(times, policy=policy, now=now)


def check_lockouts(
    ctx: ServiceContext,
    *,
    subjects: dict[Subject, str],
    actor: str,
    outlet_id: str | None,
    api_key_id: str | None,
    session_id: str | None = None,
) -> None:
    """Refuse with 429 while a document or device is locked out; every refusal is recorded."""
    now = ctx.now()
    with ctx.database.reading() as db:
        locks = {s: until for s, key in subjects.items() if (until := _locked_until(ctx, db, s, key, now))}
    if not locks:
        return
    with ctx.database.transaction() as db:
        for subject, until in locks.items():
            attempt_store.record_limit_hit(
                db=db,
                kind="locked_out",
                at=now,
                subject=subject,
                subject_key=subjects[subject],
                outlet_id=outlet_id,
                api_key_id=api_key_id,
                session_id=session_id,
                detail=f"locked until {until.isoformat()}",
            )
            ctx.audit.record(
                ServiceEvent(
                    EventType.LIMIT_REACHED,
                    actor=actor,
                    at=now,
                    outlet_id=outlet_id,
                    objects={
                        **({"session": session_id} if session_id else {}),
                        subject.value: subjects[subject],
                    },
                    details={"kind": "locked_out", "limit": str(ctx.settings.registry.max_failures)},
                ),
                db=db,
            )
    until = max(locks.values())
    which = " and ".join(s.value for s in locks)
    raise LockedOutError(
        f"Too many failed verifications for this {which}; try again after {until.isoformat()}.",
        retry_after_s=(until - now).total_seconds(),
        code="LOCKED_OUT",
    )


def _count_failure(
    ctx: ServiceContext,
    db: Any,
    *,
    subject: Subject,
    key: str,
    session: VerificationSession,
    api_key_id: str,
    now: datetime,
) -> None:
    before = _locked_until(ctx, db, subject, key, now)
    attempt_store.record_failure(db=db, subject=subject, subject_key=key, at=now, session_id=session.id)
    after = _locked_until(ctx, db, subject, key, now)
    if before is None and after is not None:
        attempt_store.record_limit_hit(
            db=db,
            kind=f"failures_{subject.value}",
            at=now,
            subject=subject,
            subject_key=key,
            outlet_id=session.outlet_id,
            api_key_id=api_key_id,
            session_id=session.id,
            detail=f"locked until {after.isoformat()}",
        )
        ctx.audit.record(
            ServiceEvent(
                EventType.LIMIT_REACHED,
                actor="system",
                at=now,
                outlet_id=session.outlet_id,
                objects={"session": session.id, subject.value: key},
                details={
                    "kind": f"failures_{subject.value}",
                    "limit": str(ctx.settings.registry.max_failures),
                },
            ),
            db=db,
        )


# -- creating a session ------------------------------------------------------------------------


def _issue_challenge(ctx: ServiceContext, now: datetime) -> Any:
    challenge = issue_challenge(ctx.settings.liveness, rng=ctx.rng, now=now)
    pinned = ctx.settings.service.pinned_challenge
    if pinned:  # tests only; Settings refuses it in production
        challenge = dataclasses.replace(challenge, actions=tuple(Action(a) for a in pinned))
    return challenge


def _subject_keys(
    ctx: ServiceContext,
    *,
    document_type: str,
    document_number: str,
    issuing_state: str,
    device: str,
    now: datetime,
) -> tuple[str, str]:
    with ctx.database.reading() as db:
        document_key = document_lookup_key(
            db=db,
            protection=ctx.protection,
            document_type=DocumentType(document_type),
            number=document_number,
            issuing_state=issuing_state,
            now=now,
        )
        device_key = ctx.protection.lookup_key(db, kind="device", value=device, now=now)
    return document_key, device_key


def device_of(principal: Principal, device_id: str | None) -> str:
    # Without a device id the client is the clerk's key itself: its failures are counted together.
    return f"{principal.key_id}:{device_id or '-'}"


async def create_session(
    ctx: ServiceContext, *, principal: Principal, form: SessionForm, portrait_bytes: bytes
) -> CreatedSession:
    require_role(principal, Role.CLERK)
    assert principal.outlet_id is not None and principal.operator_id is not None
    if form.capture is CaptureMode.VIDEO and not ctx.settings.service.allow_video_sessions:
        raise ForbiddenError(
            "This service takes live (stream) captures only: recorded uploads are switched off.",
            code="VIDEO_SESSIONS_DISABLED",
        )
    now = ctx.now()
    document = validate_document(
        document_type=form.document_type,
        holder_name=form.holder_name,
        today=ctx.today(),
        number=form.document_number,
        expires_on=form.document_expires_on,
        is_long_term=form.document_long_term,
        mrz=form.mrz,
    )
    document_key, device_key = await run_in_threadpool(
        _subject_keys,
        ctx,
        document_type=document.type.value,
        document_number=document.number,
        issuing_state=document.issuing_state,
        device=device_of(principal, form.device_id),
        now=now,
    )
    await run_in_threadpool(
        check_lockouts,
        ctx,
        subjects={Subject.DOCUMENT: document_key, Subject.DEVICE: device_key},
        actor=f"key:{principal.key_id}",
        outlet_id=principal.outlet_id,
        api_key_id=principal.key_id,
    )
    portrait = await ctx.compute(ctx.engine.read_portrait, portrait_bytes)
    template = await ctx.compute(portrait_codec.dump, portrait)
    challenge = _issue_challenge(ctx, now)
    capture_token = CAPTURE_TOKEN_PREFIX + secrets.token_urlsafe(32)

    def store() -> VerificationSession:
        with ctx.database.transaction() as db:
            stored = save_document(db=db, protection=ctx.protection, document=document, now=now)
            session = session_store.insert_session(
                db=db,
                protection=ctx.protection,
                new=session_store.NewSession(
                    id=uuid.uuid4().hex,
                    outlet_id=principal.outlet_id or "",
                    operator_id=principal.operator_id or "",
                    api_key_id=principal.key_id,
                    channel=form.channel,
                    purpose=form.purpose,
                    document_id=stored.id,
                    device_key=device_key,
                    actions=tuple(challenge.actions),
                    capture=form.capture,
                    nonce=challenge.nonce,
                    capture_token_sha256=_sha256(capture_token),
                    issued_at=challenge.issued_at,
                    expires_at=challenge.expires_at,
                ),
                template=template,
                now=now,
            )
            kept = keep_evidence(  # nothing at all unless the operator turned evidence retention on
                db=db,
                protection=ctx.protection,
                retention=ctx.settings.retention,
                subject_ref=stored.subject_ref,
                session_id=session.id,
                id_portrait=portrait_bytes,
                frames=(),
                now=now,
            )
            if kept:
                ctx.audit.record(
                    ServiceEvent(
                        EventType.EVIDENCE_SEALED,
                        actor=f"key:{principal.key_id}",
                        at=now,
                        outlet_id=principal.outlet_id,
                        objects={"session": session.id, "document": stored.subject_ref},
                        details={
                            "artefacts": ",".join(e.label for e in kept),
                            "expires_at": kept[0].expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        },
                    ),
                    db=db,
                )
            ctx.audit.record(
                ServiceEvent(
                    EventType.SESSION_CREATED,
                    actor=f"key:{principal.key_id}",
                    at=now,
                    outlet_id=principal.outlet_id,
                    objects={"session": session.id, "document": stored.subject_ref},
                    details={
                        "channel": form.channel.value,
                        "purpose": form.purpose.value,
                        "capture": session.capture.value,
                        "steps": len(session.actions),
                        # A stream session reveals one prompt at a time; whoever reads the audit
                        # trail must not learn its order before the capture (session.decided has it).
                        "actions": (
                            ",".join(a.value for a in session.actions)
                            if session.capture is CaptureMode.VIDEO
                            else None
                        ),
                    },
                ),
                db=db,
            )
            return session

    session = await run_in_threadpool(store)
    return CreatedSession(
        session=session, capture_token=capture_token, portrait_notes=portrait_codec.notes(portrait)
    )


# -- reading sessions --------------------------------------------------------------------------


def load_session(
    ctx: ServiceContext, session_id: str
) -> tuple[VerificationSession, session_store.SessionKeys]:
    with ctx.database.reading() as db:
        session = session_store.get_session(db=db, session_id=session_id)
        keys = session_store.get_session_keys(db=db, session_id=session_id)
    if session is None or keys is None:
        raise NotFoundError("No such session.", code="UNKNOWN_SESSION")
    return session, keys


def authorize_capture(
    caller: CaptureCaller, session: VerificationSession, keys: session_store.SessionKeys
) -> None:
    if caller.capture_token is not None:
        if not hmac.compare_digest(_sha256(caller.capture_token), keys.capture_token_sha256):
            # A token belongs to one session: for any other it is as good as no token at all.
            raise NotFoundError("No such session.", code="UNKNOWN_SESSION")
        return
    principal = caller.principal
    assert principal is not None
    require_outlet(principal, session.outlet_id, what="session")
    if principal.role is not Role.CLERK:
        raise ForbiddenError("Only the outlet's clerk or the customer's device sends a capture.", code="ROLE")


def check_nonce(session: VerificationSession, nonce: str) -> None:
    if not hmac.compare_digest(nonce.encode(), session.nonce.encode()):
        raise ForbiddenError("The nonce does not belong to this session's challenge.", code="NONCE_MISMATCH")


# -- capturing and deciding --------------------------------------------------------------------


async def open_capture(
    ctx: ServiceContext, *, caller: CaptureCaller, session_id: str, nonce: str | None, kind: str
) -> OpenCapture:
    """Claim the session's one capture and recover its portrait; refuses expired, taken or locked sessions."""
    session, keys = await run_in_threadpool(load_session, ctx, session_id)
    authorize_capture(caller, session, keys)
    if nonce is not None:
        check_nonce(session, nonce)
    ensure_capture_allowed(session, ctx.now())
    if kind in tuple(CaptureMode):
        # Refused before the claim, like a missing consent: the session stays usable the way it was
        # issued for. A stream session's actions were never disclosed; a video session's were, so
        # streaming it would let a prepared recording answer prompts it already knows.
        ensure_capture_mode(session, CaptureMode(kind))
    if kind in CONSENTED_CAPTURES and not await run_in_threadpool(has_consent, ctx, session.id):
        # Refused before the claim: the session stays usable once consent is recorded.
        raise SessionStateError(
            "Record the customer's consent first (POST /v1/sessions/{id}/consent), then capture.",
            code="CONSENT_REQUIRED",
        )
    await run_in_threadpool(
        check_lockouts,
        ctx,
        subjects={Subject.DOCUMENT: session.document_key, Subject.DEVICE: keys.device_key},
        actor=caller.actor,
        outlet_id=session.outlet_id,
        api_key_id=caller.principal.key_id if caller.principal else None,
        session_id=session.id,
    )

    def claim() -> bytes | None:
        now = ctx.now()
        with ctx.database.transaction() as db:
            sealed = session_store.claim_capture(db=db, session_id=session.id, kind=kind, now=now)
            return ctx.protection.open(db, sealed) if sealed is not None else None

    template = await run_in_threadpool(claim)
    if template is None:
        fresh, _ = await run_in_threadpool(load_session, ctx, session_id)
        ensure_capture_allowed(fresh, ctx.now())
        raise SessionStateError("Another capture claimed this session first.", code="SESSION_CAPTURE_TAKEN")
    try:
        portrait = await ctx.compute(portrait_codec.load, template)
    except BaseException:
        await run_in_threadpool(release_capture, ctx, session.id)
        raise
    return OpenCapture(session=session, keys=keys, portrait=portrait, caller=caller)


def has_consent(ctx: ServiceContext, session_id: str) -> bool:
    with ctx.database.reading() as db:
        return consent_given(db=db, session_id=session_id)


def release_capture(ctx: ServiceContext, session_id: str) -> None:
    with ctx.database.transaction() as db:
        session_store.release_capture(db=db, session_id=session_id)


# -- evidence ----------------------------------------------------------------------------------


def keeps_frames(retention: RetentionSettings) -> bool:
    """Whether live frames are kept as evidence at all: only then is any frame encoded."""
    return retention.enabled and "frames" in retention.artefacts and retention.frames_kept > 0


def evidence_jpegs(retention: RetentionSettings, best: Sequence[Frame]) -> tuple[bytes, ...]:
    """The best live frames (best first, as the matcher ranks them) as JPEGs, in capture order.

    Encoded in memory only (never a temp file), and only when retention keeps frames; the caller
    seals them in the decision's transaction and drops them with the rest of the capture.
    """
    if not keeps_frames(retention):
        return ()
    chosen = sorted(best[: retention.frames_kept], key=lambda f: f.t_ms)
    out = []
    for frame in chosen:
        ok, buf = cv2.imencode(
            ".jpg",
            cv2.cvtColor(frame.pixels, cv2.COLOR_RGB2BGR),
            [cv2.IMWRITE_JPEG_QUALITY, EVIDENCE_JPEG_QUALITY],
        )
        if ok:
            out.append(buf.tobytes())
    return tuple(out)


def _seal_frames(
    ctx: ServiceContext, db: Any, capture: OpenCapture, frames: Sequence[bytes], now: datetime
) -> list[EvidenceInfo]:
    if not frames:
        return []
    subject_ref = subject_ref_of(db=db, document_id=capture.keys.document_id)
    kept = keep_evidence(
        db=db,
        protection=ctx.protection,
        retention=ctx.settings.retention,
        subject_ref=subject_ref,
        session_id=capture.session.id,
        id_portrait=None,
        frames=frames,
        now=now,
    )
    if kept:
        ctx.audit.record(
            ServiceEvent(
                EventType.EVIDENCE_SEALED,
                actor=capture.caller.actor,
                at=now,
                outlet_id=capture.session.outlet_id,
                objects={"session": capture.session.id, "document": subject_ref},
                details={
                    "artefacts": ",".join(e.label for e in kept),
                    "expires_at": kept[0].expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                },
            ),
            db=db,
        )
    return kept


def verdict_of(ctx: ServiceContext, decision: Decision, now: datetime) -> Verdict:
    passed = decision.outcome is Outcome.PASS
    return Verdict(
        outcome=decision.outcome,
        reasons=tuple(str(r) for r in decision.reasons),
        message=decision.message,
        decided_at=now,
        usable_until=now + timedelta(seconds=ctx.settings.registry.session_use_window_s) if passed else None,
        liveness_passed=decision.liveness.passed if decision.liveness is not None else None,
        match_score=float(decision.match.score) if decision.match is not None else None,
        match_threshold=float(decision.match.threshold) if decision.match is not None else None,
    )


def settle(
    ctx: ServiceContext, capture: OpenCapture, decision: Decision, *, frames: Sequence[bytes] = ()
) -> Verdict:
    """Store the decision, erase the template, and count a non-pass against document and device.

    ``frames``: the encoded best live frames, when retention keeps frames; sealed as evidence in
    the same transaction, so the decision and its evidence commit (or roll back) together.
    """
    now = ctx.now()
    verdict = verdict_of(ctx, decision, now)
    session = capture.session
    api_key_id = capture.caller.principal.key_id if capture.caller.principal else capture.keys.api_key_id
    with ctx.database.transaction() as db:
        if not session_store.record_decision(
            db=db, protection=ctx.protection, session_id=session.id, verdict=verdict, now=now
        ):
            raise SessionStateError("The session was decided already.", code="SESSION_DECIDED")
        _seal_frames(ctx, db, capture, frames, now)
        ctx.audit.record(
            ServiceEvent(
                EventType.SESSION_DECIDED,
                actor=capture.caller.actor,
                at=now,
                outlet_id=session.outlet_id,
                objects={"session": session.id},
                details={
                    "channel": session.channel.value,
                    "outcome": verdict.outcome.value,
                    "actions": ",".join(a.value for a in session.actions),
                    "reasons": ",".join(verdict.reasons),
                    "liveness_passed": verdict.liveness_passed,
                    "match_score": verdict.match_score,
                    "match_threshold": verdict.match_threshold,
                    "evidence_kept": session_has_evidence(db=db, session_id=session.id),
                },
            ),
            db=db,
        )
        if verdict.outcome is not Outcome.PASS:
            # A retry counts too: each attempt gets a fresh challenge, so unlimited retries would
            # let an attacker probe the checks for free.
            for subject, key in (
                (Subject.DOCUMENT, session.document_key),
                (Subject.DEVICE, capture.keys.device_key),
            ):
                _count_failure(
                    ctx, db, subject=subject, key=key, session=session, api_key_id=api_key_id, now=now
                )
    return verdict


async def verify_video(
    ctx: ServiceContext, *, caller: CaptureCaller, session_id: str, nonce: str, video: bytes, mirrored: bool
) -> tuple[Verdict, Decision]:
    capture = await open_capture(ctx, caller=caller, session_id=session_id, nonce=nonce, kind="video")
    try:
        if keeps_frames(ctx.settings.retention):
            decision, frames = await ctx.compute(
                _verify_keeping_frames, ctx, capture, video, mirrored=mirrored
            )
        else:
            frames = ()
            decision = await ctx.compute(
                ctx.engine.verify_video, capture.portrait, video, capture.session.actions, mirrored=mirrored
            )
    except BaseException:
        # An unreadable upload (or a crash) must not burn the session: nothing was judged yet.
        await run_in_threadpool(release_capture, ctx, capture.session.id)
        raise
    verdict = await run_in_threadpool(settle, ctx, capture, decision, frames=frames)
    return verdict, decision


def _verify_keeping_frames(
    ctx: ServiceContext, capture: OpenCapture, video: bytes, *, mirrored: bool
) -> tuple[Decision, tuple[bytes, ...]]:
    """``verify_video``, plus the frames the matcher ranked best, encoded for sealing.

    The analysed capture (every kept frame with it) goes out of scope on return: only the few JPEGs
    live on, until ``settle`` has sealed them.
    """
    analysed = ctx.engine.analyse_video(video, mirrored=mirrored)
    decision = ctx.engine.verify_analysed(capture.portrait, analysed, capture.session.actions)
    return decision, evidence_jpegs(ctx.settings.retention, [c.frame for c in analysed.candidates])
