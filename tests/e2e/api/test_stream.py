"""The live capture over a WebSocket, fed real frames of d12 at their own pace."""

from __future__ import annotations

import json
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
from starlette.testclient import WebSocketTestSession

from tests.e2e.api.conftest import PINNED_CHALLENGE, Api, Clips


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
    session = api.create_session(clips.portrait).json()
    url = f"/v1/sessions/{session['id']}/stream?nonce={session['challenge']['nonce']}"
    with api.client.websocket_connect(url, headers=api.auth(api.clerk_key)) as ws:
        ready = ws.receive_json()
        assert ready["type"] == "ready" and tuple(ready["actions"]) == PINNED_CHALLENGE
        assert ready["prompt"] == PINNED_CHALLENGE[0]
        replies = _stream(ws, clips.bona_fide_path)
    progress = [r for r in replies if r["type"] == "progress"]
    assert progress, replies
    assert all({"step", "done", "prompt", "guidance", "fraction"} <= set(p) for p in progress)
    assert {p["prompt"] for p in progress if p["prompt"]} <= set(PINNED_CHALLENGE)
    assert progress[-1]["fraction"] >= progress[0]["fraction"]
    decision = replies[-1]
    assert decision["outcome"] == "pass", decision
    stored = api.get(f"/v1/sessions/{session['id']}").json()
    assert stored["state"] == "decided" and stored["decision"]["outcome"] == "pass"


def test_a_browser_authenticates_with_the_capture_token_in_its_first_message(api: Api, clips: Clips) -> None:
    session = api.create_session(clips.portrait, channel="online").json()
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
    session = api.create_session(clips.portrait).json()
    url = f"/v1/sessions/{session['id']}/stream?nonce={session['challenge']['nonce']}"
    with api.client.websocket_connect(url, headers=api.auth(api.clerk_key)) as ws:
        ws.receive_json()
        replies = _stream(ws, clips.bona_fide_path, claimed_speed=20.0)
    assert any(r["type"] == "error" and r["code"] == "STREAM_TIMING" for r in replies)
    assert replies[-1]["type"] == "decision" and replies[-1]["outcome"] != "pass"


def test_refusals_close_with_a_code(api: Api, clips: Clips) -> None:
    session = api.create_session(clips.portrait).json()
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
