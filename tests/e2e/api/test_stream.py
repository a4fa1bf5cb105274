"""The live capture over a WebSocket, fed real frames of d12 at their own pace."""

from __future__ import annotations

import json
import struct
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import pytest
from sqlalchemy import select
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from portraitmatch.adapters.storage.audit_store import events_between, stored_entries
from portraitmatch.adapters.storage.privacy_store import EvidenceRow, open_evidence
from portraitmatch.audit.catalogue import EventType
from portraitmatch.config import LivenessSettings, RetentionSettings
from portraitmatch.types import Action
from tests.e2e.api.conftest import PINNED_CHALLENGE, Api, AppFactory, Clips

DAY = timedelta(days=1)


def _frames(path: Path) -> Iterator[tuple[float, bytes]]:
    cap = cv2.VideoCapture(str(path))
    try:
        while True:
            ok, bgr = cap.read()
            if not ok:
                return
            t_ms = cap.get(cv2.CAP_PROP_POS_MSEC)
            ok, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 85])
            assert ok
            yield t_ms, jpeg.tobytes()
    finally:
        cap.release()


def _stream(ws: WebSocketTestSession, path: Path, *, claimed_speed: float = 1.0) -> list[dict]:
    """Send every frame with its capture time (PMF1), paced like a camera; collect the replies.

    ``claimed_speed`` > 1 stamps the frames as if more time had passed than really did (a recording
    played fast): frames are sent at the camera's pace but their times run ahead.
    """
    replies = []
    start = time.monotonic()
    for t_ms, jpeg in _frames(path):
        wait = t_ms / 1000 - (time.monotonic() - start)
        if wait > 0:
            time.sleep(wait)
        ws.send_bytes(b"PMF1" + struct.pack("<d", t_ms * claimed_speed) + jpeg)
        reply = ws.receive_json()
        replies.append(reply)
        if reply["type"] == "error" and reply["code"] == "STREAM_TIMING":
            break
        if reply["type"] == "progress" and reply["done"]:
            break
    ws.send_text(json.dumps({"type": "finish"}))
    while True:
        reply = ws.receive_json()
        replies.append(reply)
        if reply["type"] == "decision":
            return replies


def test_a_live_stream_passes_with_progress_for_every_frame(api: Api, clips: Clips) -> None:
    session = api.create_session(clips.portrait, capture="stream").json()
    api.consent(session)
    url = f"/v1/sessions/{session['id']}/stream?nonce={session['challenge']['nonce']}"
    with api.client.websocket_connect(url, headers=api.auth(api.clerk_key)) as ws:
        ready = ws.receive_json()
        # The number of steps only; no prompt before frames have calibrated the pose.
        assert ready["type"] == "ready" and ready["steps"] == len(PINNED_CHALLENGE)
        assert "actions" not in ready and ready["prompt"] is None
        replies = _stream(ws, clips.bona_fide_path)
    progress = [r for r in replies if r["type"] == "progress"]
    assert progress, replies
    assert all({"step", "done", "prompt", "guidance", "fraction"} <= set(p) for p in progress)
    # One prompt at a time, in the challenge's order, each while its own step is under way.
    assert _prompts_in_order(progress) == list(PINNED_CHALLENGE)
    assert all(p["prompt"] in (None, PINNED_CHALLENGE[p["step"]]) for p in progress if not p["done"])
    assert progress[-1]["fraction"] >= progress[0]["fraction"]
    decision = replies[-1]
    assert decision["outcome"] == "pass", decision
    stored = api.get(f"/v1/sessions/{session['id']}").json()
    assert stored["state"] == "decided" and stored["decision"]["outcome"] == "pass"


def _prompts_in_order(progress: list[dict]) -> list[str]:
    shown: list[str] = []
    for p in progress:
        if p["prompt"] and (not shown or shown[-1] != p["prompt"]):
            shown.append(p["prompt"])
    return shown


def test_the_challenge_is_disclosed_one_prompt_at_a_time_after_its_delay(
    make_api: AppFactory, clips: Clips
) -> None:
    # Production-like delays: each prompt is withheld 1-2 s after the pose is calibrated (or the
    # previous step done). Nothing the client hears before then may name an action.
    api = make_api(liveness=LivenessSettings(prompt_delay_min_s=1.0, prompt_delay_max_s=2.0))
    session = api.create_session(clips.portrait, capture="stream").json()
    api.consent(session)
    url = f"/v1/sessions/{session['id']}/stream?nonce={session['challenge']['nonce']}"
    replies: list[tuple[float, dict]] = []
    decision = None
    with api.client.websocket_connect(url, headers=api.auth(api.clerk_key)) as ws:
        ready = ws.receive_json()
        started = time.monotonic()
        for t_ms, jpeg in _frames(clips.bona_fide_path):
            if t_ms > 2500:
                break
            time.sleep(max(0.0, t_ms / 1000 - (time.monotonic() - started)))
            ws.send_bytes(b"PMF1" + struct.pack("<d", t_ms) + jpeg)
            reply = ws.receive_json()
            if reply["type"] == "decision":  # the checker stopped early
                decision = reply
                break
            replies.append((t_ms, reply))
        if decision is None:
            ws.send_text(json.dumps({"type": "finish"}))
            decision = ws.receive_json()
    assert ready["type"] == "ready" and ready["prompt"] is None and "actions" not in ready
    assert ready["steps"] == len(PINNED_CHALLENGE)
    progress = [(t, r) for t, r in replies if r["type"] == "progress"]
    assert len(progress) > 20, replies
    # Not before the shortest delay has run (the pose takes a moment to calibrate, too) …
    assert all(r["prompt"] is None for t, r in progress if t < 1000)
    # … then one at a time, in order, and no message names any other action.
    shown = _prompts_in_order([r for _, r in progress])
    assert shown == list(PINNED_CHALLENGE[: len(shown)])
    for _, r in replies:
        named = {a.value for a in Action if a.value in json.dumps(r)}
        assert "actions" not in r and named <= {r.get("prompt")}, r
    assert decision["type"] == "decision" and decision["outcome"] != "pass"


def _refused(api: Api, url: str) -> tuple[str, int]:
    """Connect as the clerk; the error code the server sends, and the code it then closes with."""
    with api.client.websocket_connect(url, headers=api.auth(api.clerk_key)) as ws:
        error = ws.receive_json()
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert error["type"] == "error"
    return error["code"], closed.value.code


def test_a_video_session_cannot_be_streamed(api: Api, clips: Clips) -> None:
    session = api.create_session(clips.portrait, capture="video").json()
    api.consent(session)
    url = f"/v1/sessions/{session['id']}/stream?nonce={session['challenge']['nonce']}"
    # Its actions were disclosed: the prompt timing would prove nothing.
    assert _refused(api, url) == ("CAPTURE_MODE_MISMATCH", 4409)
    assert api.get(f"/v1/sessions/{session['id']}").json()["state"] == "issued"


def test_a_browser_authenticates_with_the_capture_token_in_its_first_message(api: Api, clips: Clips) -> None:
    session = api.create_session(clips.portrait, channel="online", capture="stream").json()
    api.consent(session)
    url = f"/v1/sessions/{session['id']}/stream?nonce={session['challenge']['nonce']}"
    with api.client.websocket_connect(url) as ws:
        ws.send_text(json.dumps({"type": "auth", "token": session["capture_token"]}))
        assert ws.receive_json()["type"] == "ready"
        ws.send_text(json.dumps({"type": "finish"}))
        decision = ws.receive_json()
    assert decision["type"] == "decision" and decision["outcome"] != "pass"
    assert decision["match"] is None
    # the session is used up: hanging up or finishing early is not a free retry
    with api.client.websocket_connect(url) as ws:
        ws.send_text(json.dumps({"type": "auth", "token": session["capture_token"]}))
        error = ws.receive_json()
    assert error == {"type": "error", "code": "SESSION_CAPTURE_TAKEN", "message": error["message"]}


def test_frames_faster_than_real_time_end_the_capture(api: Api, clips: Clips) -> None:
    session = api.create_session(clips.portrait, capture="stream").json()
    api.consent(session)
    url = f"/v1/sessions/{session['id']}/stream?nonce={session['challenge']['nonce']}"
    with api.client.websocket_connect(url, headers=api.auth(api.clerk_key)) as ws:
        ws.receive_json()
        replies = _stream(ws, clips.bona_fide_path, claimed_speed=20.0)
    assert any(r["type"] == "error" and r["code"] == "STREAM_TIMING" for r in replies)
    assert replies[-1]["type"] == "decision" and replies[-1]["outcome"] != "pass"


def test_refusals_close_with_a_code(api: Api, clips: Clips) -> None:
    session = api.create_session(clips.portrait, capture="stream").json()
    with api.client.websocket_connect(
        f"/v1/sessions/{session['id']}/stream?nonce=wrong", headers=api.auth(api.clerk_key)
    ) as ws:
        error = ws.receive_json()
    assert error["type"] == "error" and error["code"] == "NONCE_MISMATCH"
    with api.client.websocket_connect(
        "/v1/sessions/nope/stream?nonce=x", headers=api.auth(api.clerk_key)
    ) as ws:
        assert ws.receive_json()["code"] == "UNKNOWN_SESSION"
    with api.client.websocket_connect(f"/v1/sessions/{session['id']}/stream?nonce=x") as ws:
        ws.send_text("hello")
        assert ws.receive_json()["code"] == "UNAUTHENTICATED"


def test_no_capture_without_recorded_consent(api: Api, clips: Clips) -> None:
    session = api.create_session(clips.portrait, capture="stream").json()
    uploaded = api.create_session(clips.portrait, capture="video").json()  # the upload asks too
    url = f"/v1/sessions/{session['id']}/stream?nonce={session['challenge']['nonce']}"
    with api.ctx.database.reading() as db:
        before = len(stored_entries(db=db))
    assert _refused(api, url) == ("CONSENT_REQUIRED", 4409)
    r = api.upload(uploaded, clips.bona_fide, consent=False)
    assert r.status_code == 409 and r.json()["code"] == "CONSENT_REQUIRED"
    # Refused before the claim, and nothing audited: the sessions are as they were.
    for refused in (session, uploaded):
        assert api.get(f"/v1/sessions/{refused['id']}").json()["state"] == "issued"
    with api.ctx.database.reading() as db:
        assert len(stored_entries(db=db)) == before

    assert api.consent(session).status_code == 200
    with api.client.websocket_connect(url, headers=api.auth(api.clerk_key)) as ws:
        assert ws.receive_json()["type"] == "ready"
        ws.send_text(json.dumps({"type": "finish"}))
        assert ws.receive_json()["type"] == "decision"


def test_a_streamed_capture_keeps_its_best_frames_sealed_when_retention_is_on(
    make_api: AppFactory, clips: Clips
) -> None:
    api = make_api(retention=RetentionSettings(enabled=True, days=30, frames_kept=2))
    session = api.create_session(clips.portrait, capture="stream").json()
    api.consent(session)
    url = f"/v1/sessions/{session['id']}/stream?nonce={session['challenge']['nonce']}"
    with api.client.websocket_connect(url, headers=api.auth(api.clerk_key)) as ws:
        ws.receive_json()
        replies = _stream(ws, clips.bona_fide_path)
    # Kept whatever the outcome: a failed attempt is what a dispute is most often about.
    assert replies[-1]["type"] == "decision", replies[-1]

    ctx = api.ctx
    with ctx.database.reading() as db:
        rows = list(
            db.scalars(
                select(EvidenceRow).where(EvidenceRow.session_id == session["id"]).order_by(EvidenceRow.id)
            )
        )
        frames = [open_evidence(db=db, keys=ctx.protection.keys(db), evidence_id=r.id) for r in rows]
        everyone = events_between(db=db, start=datetime(2000, 1, 1, tzinfo=UTC), end=api.clock() + DAY)
        # PostgreSQL is shared by the session's tests: only this session's events.
        events = [e for e in everyone if e.object_id("session") == session["id"]]
    labels = [r.label for r in rows]
    assert labels[0] == "id_portrait" and 1 <= labels.count("frame") <= 2, labels
    for info, jpeg in frames:
        assert jpeg[:3] == b"\xff\xd8\xff"  # a JPEG …
        if info.label == "frame":
            ctx.engine.find_portrait(jpeg)  # … of a face (raises when there is none)
            assert jpeg not in b"".join(bytes(r.token) for r in rows)  # stored sealed only
    sealed = [e for e in events if e.type is EventType.EVIDENCE_SEALED]
    assert [e.detail("artefacts") for e in sealed] == ["id_portrait", ",".join(labels[1:])]
    decided = next(e for e in events if e.type is EventType.SESSION_DECIDED)
    assert decided.detail("evidence_kept") is True
