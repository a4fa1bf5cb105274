"""The whole service for browser tests: a real app on a temporary SQLite file, served over HTTP.

The engine is real, the audit log is the database chain (so every event the pages cause is checked
against the catalogue), and the clock can be moved to expire sessions. Camera files for Chromium's
fake camera are made from the dev clips with ffmpeg, resampled to the 30 fps it plays MJPEG at.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import httpx
from fastapi import FastAPI

from portraitmatch.adapters.storage.api_keys import create_api_key
from portraitmatch.adapters.storage.audit_store import SqlAuditSink, events_between
from portraitmatch.adapters.web import create_app
from portraitmatch.config import RetentionSettings, ServiceSettings, Settings
from portraitmatch.privacy import LocalMasterKeys
from portraitmatch.registry.access import Role
from portraitmatch.registry.resident_id import check_character
from tests.e2e.browser.server import Served, serve

# What d12.mp4 performs for an unmirrored camera: a turn to the image right (the customer's own
# left), then to the image left. The capture page sends unmirrored frames (mirrored=false).
PINNED_CHALLENGE = ("turn_left", "turn_right")


class Clock:
    """The service's clock, moved forward by tests that need a session to expire."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **kw: float) -> None:
        self.offset += timedelta(**kw)


def resident_id(seed: int) -> str:
    """A valid resident ID number (GB 11643 check character) unique to ``seed``."""
    first17 = f"110105{1960 + seed % 40}{1 + seed % 12:02d}{1 + seed % 28:02d}{seed % 1000:03d}"
    return first17 + check_character(first17)


@dataclass
class Stack:
    base: str
    app: FastAPI
    clock: Clock
    admin_key: str
    served: Served

    def call(self, method: str, path: str, key: str | None = None, **kw: Any) -> httpx.Response:
        headers = ({"Authorization": f"Bearer {key}"} if key else {}) | kw.pop("headers", {})
        return httpx.request(method, self.base + path, headers=headers, timeout=60, **kw)

    def new_clerk(self, numbers: int = 3) -> tuple[str, str, list[str]]:
        """A fresh operator, outlet, clerk key and available numbers: (outlet_id, clerk key, numbers)."""
        suffix = secrets.token_hex(3)
        operator, outlet = f"op-{suffix}", f"shop-{suffix}"
        for path, body in (
            ("/v1/operators", {"id": operator, "name": "Test Mobile"}),
            ("/v1/outlets", {"id": outlet, "operator_id": operator, "name": f"Shop {suffix}"}),
        ):
            r = self.call("POST", path, self.admin_key, json=body)
            assert r.status_code == 201, r.text
        r = self.call("POST", "/v1/keys", self.admin_key, json={"role": "clerk", "outlet_id": outlet})
        assert r.status_code == 201, r.text
        key = r.json()["key"]
        base = 13_900_000_000 + secrets.randbelow(90_000_000)
        msisdns = [str(base + i) for i in range(numbers)]
        if msisdns:
            r = self.call(
                "POST", f"/v1/operators/{operator}/numbers", self.admin_key, json={"numbers": msisdns}
            )
            assert r.status_code == 200, r.text
        return outlet, key, msisdns

    def new_session(self, clerk_key: str, portrait: bytes, number: str, **fields: str) -> dict[str, Any]:
        data = {
            "document_type": "resident_id",
            "document_number": number,
            "holder_name": "张三",
            "document_expires_on": "2035-01-01",
        } | fields
        r = self.call(
            "POST",
            "/v1/sessions",
            clerk_key,
            data=data,
            files={"portrait": ("portrait.jpg", portrait, "image/jpeg")},
        )
        assert r.status_code == 201, r.text
        return r.json()

    def audit_events(self) -> list[tuple[str, str, dict[str, str], dict[str, Any]]]:
        """(type, actor, objects, details) of every event in the audit chain, oldest first."""
        start, end = datetime(2000, 1, 1, tzinfo=UTC), self.clock() + timedelta(days=1)
        with self.app.state.context.database.reading() as db:
            events = list(events_between(db=db, start=start, end=end))
        return [(e.type.value, e.actor, dict(e.object_ids), dict(e.details)) for e in events]


@contextmanager
def running_stack(
    engine: Any, tmp_path: Path, *, retention: RetentionSettings | None = None, **service: Any
) -> Iterator[Stack]:
    settings = Settings(
        environment="development",
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'portraitmatch.sqlite3'}",
        service=ServiceSettings(**({"pinned_challenge": PINNED_CHALLENGE} | service)),
        retention=retention or RetentionSettings(),
    )
    clock = Clock()
    app = create_app(
        settings,
        engine,
        key_provider=LocalMasterKeys([os.urandom(32)]),
        audit_sink=SqlAuditSink(),
        clock=clock,
    )
    with app.state.context.database.transaction() as db:
        admin = create_api_key(db=db, role=Role.ADMIN, outlet_id=None, label="test admin", now=clock())
    with serve(app) as served:
        yield Stack(base=served.url, app=app, clock=clock, admin_key=admin.secret, served=served)


def frame_jpeg(video: Path, index: int) -> bytes:
    cap = cv2.VideoCapture(str(video))
    try:
        cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, bgr = cap.read()
    finally:
        cap.release()
    assert ok, f"cannot read frame {index} of {video}"
    ok, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    return jpeg.tobytes()


def camera_file(
    ffmpeg: str,
    source: Path,
    out: Path,
    *,
    width: int,
    height: int,
    still_s: float = 0,
    lead_in_s: float = 0,
) -> Path:
    """An MJPEG file for Chromium's fake camera: ``source`` fitted into width x height at 30 fps.

    A still image (``still_s`` > 0) becomes that many seconds of the same frame: a photo held up.
    ``lead_in_s`` holds the first frame that long before the clip plays: the customer settling in
    front of the camera before following the prompts. Chromium loops the file and starts it when
    the page opens the camera, so the lead-in also gives the test time to press Start before the
    clip's first movement.
    """
    # Sensor noise, fresh in every frame: a real camera never delivers the same picture twice (the
    # service flags repeated frames as an injected stream), and the 30 fps resampling and the
    # lead-in would otherwise repeat frames exactly.
    fit = (
        f"scale={width}:{height}:force_original_aspect_ratio=decrease,"
        f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2,fps=30,noise=alls=4:allf=t"
    )
    if lead_in_s:
        fit = f"tpad=start_duration={lead_in_s}:start_mode=clone,{fit}"
    source_args = ["-loop", "1", "-t", f"{still_s}", "-i", str(source)] if still_s else ["-i", str(source)]
    subprocess.run(
        [ffmpeg, "-loglevel", "error", "-y", *source_args, "-vf", fit, "-q:v", "3", "-f", "mjpeg", str(out)],
        check=True,
        timeout=120,
    )
    return out
