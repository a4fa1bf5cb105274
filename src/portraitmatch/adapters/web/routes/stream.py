"""The live capture over a WebSocket: JPEG frames in, progress and prompts out, the decision at the end.

Protocol (``docs/api.md`` has an example):

1. Only a session created with ``capture=stream`` (the default) streams; a ``video`` session is
   answered ``CAPTURE_MODE_MISMATCH`` and closed with 4409 (its actions were disclosed, so the
   prompt timing below would not hold). Record consent first (``POST /v1/sessions/{id}/consent``):
   without it the server answers ``CONSENT_REQUIRED`` and closes with 4409. Connect to
   ``/v1/sessions/{id}/stream?nonce=…[&mirrored=true]``. Authenticate with an
   ``Authorization: Bearer`` header (clerk key or capture token) or, from a browser, with a first
   text message ``{"type": "auth", "token": "pmc_…"}``.
2. The server answers ``{"type": "ready", "steps": 3, "prompt": null, "expires_at": …}``: the number
   of actions, never the actions themselves. The challenge is disclosed one prompt at a time: each
   ``progress`` carries the prompt to perform now, or null while the checker calibrates or withholds
   the next prompt for its random delay; ``prompt`` in ``ready`` is the capture's own current one
   (null until frames have calibrated the pose).
3. Send each camera frame as one binary message: the JPEG bytes, or ``PMF1`` + the capture time in
   ms as a little-endian float64 + the JPEG bytes. Client times must increase and may not run ahead
   of the server's clock (a recording played fast is refused); without them the server stamps
   arrival times. Each frame is answered with ``{"type": "progress", …}``.
4. The server ends the capture when the challenge is done, on ``{"type": "finish"}``, when the
   challenge expires or the client goes quiet; it sends ``{"type": "decision", …}`` and closes.

A client that disconnects early still gets a decision stored (and counted if it is not a pass):
hanging up is not a way to retry for free. Errors are ``{"type": "error", "code", "message"}``
followed by a close code of 4000 + the HTTP status the same error would have.
"""

from __future__ import annotations

import asyncio
import json
import struct
import time
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from portraitmatch.adapters.web import verification
from portraitmatch.adapters.web.context import ServiceContext
from portraitmatch.adapters.web.deps import capture_caller_for
from portraitmatch.adapters.web.problems import Unauthenticated, status_of
from portraitmatch.adapters.web.schemas import DecisionOut
from portraitmatch.errors import InputError, PortraitMatchError
from portraitmatch.liveness.checker import Progress
from portraitmatch.registry.sessions import VerificationSession

router = APIRouter()

FRAME_MAGIC = b"PMF1"
AUTH_TIMEOUT_S = 10.0
MAX_BAD_FRAMES = 10
# How far a client's capture clock may run ahead of the server's (network jitter, clock drift).
CLIENT_CLOCK_SLACK_MS = 1000.0


class StreamProtocolError(InputError):
    code = "STREAM_PROTOCOL"


class StreamTimingError(StreamProtocolError):
    """Frame times that no live camera produces: the capture ends there."""

    code = "STREAM_TIMING"


def _bearer(websocket: WebSocket) -> str | None:
    header = websocket.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def _first_message_token(websocket: WebSocket) -> str:
    try:
        message = await asyncio.wait_for(websocket.receive_text(), AUTH_TIMEOUT_S)
        payload = json.loads(message)
    except (TimeoutError, json.JSONDecodeError, KeyError, RuntimeError):
        raise Unauthenticated('Authenticate first: send {"type": "auth", "token": …}.') from None
    if (
        not isinstance(payload, dict)
        or payload.get("type") != "auth"
        or not isinstance(payload.get("token"), str)
    ):
        raise Unauthenticated('Authenticate first: send {"type": "auth", "token": …}.')
    return payload["token"]


def _progress_message(progress: Progress, index: int) -> dict[str, Any]:
    # Only the prompt visible now: the checker's guidance and fraction say nothing about an action
    # whose prompt is withheld, and later actions appear nowhere before the decision.
    return {
        "type": "progress",
        "frame": index,
        "step": progress.step,
        "n_steps": progress.n_steps,
        "done": progress.done,
        "prompt": progress.prompt.value if progress.prompt is not None else None,
        "guidance": {"code": progress.guidance.value, "message": progress.message},
        "fraction": round(float(progress.fraction), 3),
    }


def _ready_message(session: VerificationSession, progress: Progress) -> dict[str, Any]:
    """How many steps, and the prompt only as the live checker shows it now: a client that knew the
    actions before their prompts could prepare a recording of them (docs/pad.md, response timing)."""
    return {
        "type": "ready",
        "session_id": session.id,
        "steps": progress.n_steps,
        "prompt": progress.prompt.value if progress.prompt is not None else None,
        "expires_at": session.expires_at.isoformat(),
    }


def _stopped(progress: Progress) -> bool:
    """The challenge is complete, or the checker gave up early (the decision is already fixed)."""
    return progress.done or progress.outcome is not None


class _Clock:
    """Frame times: the client's (checked against the server's clock) or the server's arrival time."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.first_client_ms: float | None = None
        self.last_ms = -1.0

    def stamp(self, data: bytes) -> tuple[bytes, float]:
        server_ms = (time.monotonic() - self.start) * 1000.0
        if data[:4] != FRAME_MAGIC:
            t_ms = max(server_ms, self.last_ms + 0.001)
            self.last_ms = t_ms
            return data, t_ms
        if len(data) < 12:
            raise StreamProtocolError("A PMF1 frame needs an 8-byte time after the magic.")
        (client_ms,) = struct.unpack("<d", data[4:12])
        if client_ms != client_ms or client_ms in (float("inf"), float("-inf")):
            raise StreamProtocolError("The frame time is not a number.")
        if self.first_client_ms is None:
            self.first_client_ms = client_ms
        t_ms = client_ms - self.first_client_ms
        if t_ms <= self.last_ms:
            raise StreamTimingError("Frame times must increase.")
        if t_ms > server_ms + CLIENT_CLOCK_SLACK_MS:
            raise StreamTimingError("Frames arrive faster than real time.")
        self.last_ms = t_ms
        return data[12:], t_ms


async def _send_error(websocket: WebSocket, exc: PortraitMatchError) -> None:
    await websocket.send_json({"type": "error", "code": exc.code, "message": exc.message})


@router.websocket("/v1/sessions/{session_id}/stream")
async def stream_capture(
    websocket: WebSocket, session_id: str, nonce: str = "", mirrored: bool = False
) -> None:
    ctx: ServiceContext = websocket.app.state.context
    await websocket.accept()
    try:
        token = _bearer(websocket) or await _first_message_token(websocket)
        caller = await run_in_threadpool(capture_caller_for, ctx, token)
        if not nonce:
            raise InputError("Give the challenge nonce: ?nonce=…", code="NONCE_REQUIRED")
        capture = await verification.open_capture(
            ctx, caller=caller, session_id=session_id[:64], nonce=nonce, kind="stream"
        )
    except PortraitMatchError as exc:
        await _send_error(websocket, exc)
        await websocket.close(code=4000 + status_of(exc))
        return
    except WebSocketDisconnect:
        return

    session = capture.session
    try:
        live = await ctx.compute(ctx.engine.open_stream, capture.portrait, session.actions, mirrored=mirrored)
    except BaseException:
        await run_in_threadpool(verification.release_capture, ctx, session.id)
        raise
    settings = ctx.settings.service
    connected = True
    try:
        await websocket.send_json(_ready_message(session, live.progress))
        clock = _Clock()
        frames = bad = 0
        while True:
            remaining_s = (session.expires_at - ctx.now()).total_seconds()
            if remaining_s <= 0 or frames >= settings.max_stream_frames:
                break
            try:
                message = await asyncio.wait_for(
                    websocket.receive(), min(settings.stream_idle_timeout_s, remaining_s)
                )
            except TimeoutError:
                break
            if message["type"] == "websocket.disconnect":
                connected = False
                break
            if message.get("text") is not None:
                try:
                    payload = json.loads(message["text"])
                except json.JSONDecodeError:
                    payload = None
                if isinstance(payload, dict) and payload.get("type") == "finish":
                    break
                await _send_error(websocket, StreamProtocolError('Text messages: only {"type": "finish"}.'))
                continue
            data = message.get("bytes") or b""
            try:
                if len(data) > settings.max_stream_frame_bytes:
                    raise StreamProtocolError(
                        f"A frame may have at most {settings.max_stream_frame_bytes} bytes."
                    )
                jpeg, t_ms = clock.stamp(data)
                progress = await ctx.compute(live.feed_image, jpeg, t_ms)
            except StreamTimingError as exc:
                await _send_error(websocket, exc)
                break  # a replayed or doctored stream ends the capture; the engine decides on what it saw
            except InputError as exc:
                bad += 1
                await _send_error(websocket, exc)
                if bad > MAX_BAD_FRAMES:
                    break
                continue
            frames += 1
            await websocket.send_json(_progress_message(progress, frames))
            if _stopped(progress):
                break
    except WebSocketDisconnect:
        connected = False
    finally:
        decision = await ctx.compute(live.finish)
        # Encoded only when retention keeps frames; sealed with the decision, then dropped with `live`.
        frames = (
            await ctx.compute(verification.evidence_jpegs, ctx.settings.retention, live.best_frames)
            if verification.keeps_frames(ctx.settings.retention)
            else ()
        )
        verdict = await run_in_threadpool(verification.settle, ctx, capture, decision, frames=frames)
        del frames
    if connected:
        out = DecisionOut.from_domain(verdict, decision, show_score=caller.sees_scores)
        try:
            await websocket.send_json({"type": "decision", **out.model_dump(mode="json")})
            await websocket.close(code=1000)
        except (WebSocketDisconnect, RuntimeError):
            pass
