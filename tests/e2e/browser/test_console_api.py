"""The endpoints the pages add (routes/console.py), called directly: who may call them, and what
they refuse. The browser tests drive the happy paths; these pin the edges."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from portraitmatch.adapters.web.routes.console import NOTICE_VERSION
from portraitmatch.config import RetentionSettings
from tests.e2e.browser.conftest import Clips
from tests.e2e.browser.stack import Stack, resident_id, running_stack

pytestmark = pytest.mark.data


@pytest.fixture
def stack(engine: Any, tmp_path: Path) -> Iterator[Stack]:
    retention = RetentionSettings(enabled=True, days=21, frames_kept=2, days_after_last_cancellation=180)
    with running_stack(engine, tmp_path, retention=retention) as running:
        yield running


def consent(stack: Stack, session: dict[str, Any], key: str, version: str = NOTICE_VERSION) -> Any:
    body = {"notice_version": version, "language": "zh"}
    return stack.call("POST", f"/v1/sessions/{session['id']}/consent", key, json=body)


def test_the_privacy_notice_follows_the_retention_settings(stack: Stack) -> None:
    notice = stack.call("GET", "/v1/privacy-notice").json()
    assert notice["version"] == NOTICE_VERSION
    assert notice["evidence_kept"] is True
    assert (notice["evidence_frames"], notice["evidence_days"]) == (2, 21)
    assert notice["days_after_last_cancellation"] == 180


def test_consent_is_recorded_once_per_caller_and_only_before_the_capture(stack: Stack, clips: Clips) -> None:
    _, clerk_key, _ = stack.new_clerk(numbers=0)
    session = stack.new_session(clerk_key, clips.bona_fide_portrait.read_bytes(), resident_id(21))

    r = consent(stack, session, session["capture_token"], version="1999-01.0")
    assert r.status_code == 422 and r.json()["code"] == "NOTICE_OUTDATED"
    r = consent(stack, session, stack.admin_key)
    assert r.status_code == 403  # an administrator is neither the customer nor the clerk
    _, other_clerk, _ = stack.new_clerk(numbers=0)
    assert consent(stack, session, other_clerk).status_code == 404  # another outlet's session

    assert consent(stack, session, session["capture_token"]).json()["given_by"] == "customer"
    assert consent(stack, session, clerk_key).json()["given_by"] == "clerk"
    recorded = [(a, d) for t, a, o, d in stack.audit_events() if t == "consent.recorded"]
    assert [d["given_by"] for _, d in recorded] == ["customer", "clerk"]
    assert all(d["language"] == "zh" and d["notice_version"] == NOTICE_VERSION for _, d in recorded)

    stack.clock.advance(seconds=stack.app.state.context.settings.liveness.challenge_ttl_s + 1)
    r = consent(stack, session, session["capture_token"])
    assert r.status_code == 410


def test_qr_codes_are_for_clerks_and_carry_only_links(stack: Stack) -> None:
    _, clerk_key, _ = stack.new_clerk(numbers=0)
    link = {"text": "https://shop.example/capture#s=abc&t=pmc_x"}
    r = stack.call("POST", "/v1/console/qr", clerk_key, json=link)
    assert r.status_code == 200 and r.headers["content-type"] == "image/svg+xml"
    assert r.text.startswith("<svg") and "viewBox" in r.text and "<script" not in r.text
    assert stack.call("POST", "/v1/console/qr", stack.admin_key, json=link).status_code == 403
    r = stack.call("POST", "/v1/console/qr", clerk_key, json={"text": "javascript:alert(1)"})
    assert r.status_code == 422 and r.json()["code"] == "QR_NOT_A_LINK"


def test_who_am_i_names_the_role_and_outlet(stack: Stack) -> None:
    outlet, clerk_key, _ = stack.new_clerk(numbers=0)
    me = stack.call("GET", "/v1/console/me", clerk_key).json()
    assert (me["role"], me["outlet_id"]) == ("clerk", outlet)
    assert stack.call("GET", "/v1/console/me", stack.admin_key).json()["role"] == "admin"
    assert stack.call("GET", "/v1/console/me", "pm_nonsense").status_code == 401


def test_an_exception_needs_a_real_supervisor_and_a_usable_photo(stack: Stack, clips: Clips) -> None:
    _, clerk_key, _ = stack.new_clerk(numbers=0)
    session = stack.new_session(clerk_key, clips.bona_fide_portrait.read_bytes(), resident_id(22))
    photo = clips.bona_fide_portrait.read_bytes()
    path = f"/v1/sessions/{session['id']}/exception"

    def ask(supervisor: str, image: bytes = photo, kind: str = "medical") -> Any:
        return stack.call(
            "POST",
            path,
            clerk_key,
            data={"kind": kind, "supervisor_key": supervisor},
            files={"photo": ("photo.jpg", image, "image/jpeg")},
        )

    assert ask("pm_unknown").json()["code"] == "SUPERVISOR_KEY_INVALID"
    assert ask(clerk_key).json()["code"] == "SUPERVISOR_ROLE"
    assert ask(stack.admin_key, kind="bored").status_code == 422
    ok, wall = cv2.imencode(".jpg", np.full((480, 640, 3), 128, np.uint8))
    assert ok
    assert ask(stack.admin_key, image=wall.tobytes()).status_code == 422  # no face in the photo
    assert ask(stack.admin_key, image=b"\xff\xd8 not a picture").status_code == 422
    assert [t for t, *_ in stack.audit_events() if t.startswith("exception.")] == []

    r = ask(stack.admin_key)  # the session was not used up by the refusals above
    assert r.status_code == 200, r.text
    decision = r.json()["decision"]
    assert decision["outcome"] == "pass" and decision["reasons"] == ["SUPERVISOR_EXCEPTION", "MATCH"]
    assert decision["liveness_passed"] is None and decision["match"]["is_match"] is True
    assert ask(stack.admin_key).json()["code"] == "SESSION_CAPTURE_TAKEN"
    approved = [(a, o, d) for t, a, o, d in stack.audit_events() if t == "exception.approved"]
    assert len(approved) == 1 and approved[0][2]["reason"] == "medical"
