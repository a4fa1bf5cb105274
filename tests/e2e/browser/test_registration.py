"""A new installation, end to end in Chromium: setup, a clerk's registration, the customer's live check.

The fake camera plays a real clip. d12 performs the pinned challenge (turn to the customer's left,
then right), so its capture passes and a number gets registered; a phone replaying a recording and
a photo held up to the camera do not pass, and the photo case goes on through the supervisor's
exception path. Screenshots of every step land in tests/e2e/screenshots/.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.browser.conftest import DESKTOP, PHONE, Clips
from tests.e2e.browser.stack import Stack, resident_id, running_stack

pytestmark = [pytest.mark.browser, pytest.mark.data, pytest.mark.slow]

DECISION_TIMEOUT_MS = 120_000
Shoot = Callable[[Any, str], Path]


@pytest.fixture
def stack(engine: Any, tmp_path: Path) -> Any:
    with running_stack(engine, tmp_path) as running:
        yield running


def sign_in(page: Any, stack: Stack, key: str) -> None:
    page.goto(stack.base + "/console")
    page.fill("#signin-key", key)
    page.click("#signin-submit")
    page.wait_for_selector("#app:not([hidden])")


def set_up_outlet_in_console(page: Any, shoot: Shoot) -> tuple[str, list[str]]:
    """The administrator's first steps, through the Setup view: operator, outlet, clerk key, numbers."""
    page.click("button[data-view=setup]")
    # The view draws itself after fetching operators and outlets: let it settle before typing, or a
    # late redraw replaces the form that was just filled in.
    page.wait_for_load_state("networkidle")
    operator = page.locator("form[data-form=operator]")
    operator.wait_for()
    operator.locator("input[name=id]").fill("demo-mobile")
    operator.locator("input[name=name]").fill("Demo Mobile")
    operator.locator("button[type=submit]").click()
    operator.locator("[data-out].good").wait_for()
    page.wait_for_selector(
        "form[data-form=outlet] select[name=operator_id] option[value=demo-mobile]", state="attached"
    )
    outlet = page.locator("form[data-form=outlet]")
    outlet.locator("input[name=id]").fill("shop-1")
    outlet.locator("input[name=name]").fill("Counter 1, Main Street")
    outlet.locator("button[type=submit]").click()
    page.wait_for_selector(
        "form[data-form=key] select[name=outlet_id] option[value=shop-1]", state="attached"
    )
    key_form = page.locator("form[data-form=key]")
    key_form.locator("select[name=outlet_id]").select_option("shop-1")
    key_form.locator("input[name=label]").fill("clerk at counter 1")
    key_form.locator("button[type=submit]").click()
    clerk_key = key_form.locator("[data-key]").inner_text().strip()
    numbers = ["13900000001", "13900000002", "13900000003"]
    inventory = page.locator("form[data-form=numbers]")
    inventory.locator("select[name=operator_id]").select_option("demo-mobile")
    inventory.locator("textarea[name=numbers]").fill("\n".join(numbers))
    inventory.locator("button[type=submit]").click()
    page.wait_for_selector("form[data-form=numbers] [data-out].good")
    shoot(page, "desktop-01-setup")
    assert clerk_key.startswith("pm_"), clerk_key
    return clerk_key, numbers


def fill_document(page: Any, view: str, *, number: str, portrait: Path, name: str = "张三") -> None:
    root = page.locator(view)
    root.locator("[data-el=number]").fill(number)
    root.locator("[data-el=expires]").fill("2035-01-01")
    root.locator("[data-el=name]").fill(name)
    root.locator("[data-el=portrait-file]").set_input_files(str(portrait))
    root.locator("[data-el=to-consent]:not([disabled])").wait_for()


def start_check(page: Any, view: str, *, device: str) -> None:
    root = page.locator(view)
    root.locator("[data-el=to-consent]").click()
    root.locator("[data-el=consent]").check()
    root.locator(f"[data-el=device-{device}]").check()
    root.locator("[data-el=start]").click()
    page.wait_for_selector(f"{view}[data-step=capture]")


class StreamLog:
    """What the server said on the capture WebSocket, condensed to changes: for failure messages."""

    def __init__(self, page: Any) -> None:
        self.lines: list[str] = []
        self.started = time.monotonic()
        self.sent: list[float] = []
        page.on("websocket", self._opened)

    def _opened(self, ws: Any) -> None:
        ws.on("framereceived", self._received)
        ws.on("framesent", lambda payload: self.sent.append(time.monotonic() - self.started))

    def _received(self, payload: Any) -> None:
        if not isinstance(payload, str):
            return
        message = json.loads(payload)
        t = f"{time.monotonic() - self.started:6.2f}s"
        if message.get("type") == "progress":
            line = f"step {message['step']} prompt {message['prompt']} {message['guidance']['code']}"
            if not self.lines or not self.lines[-1].endswith(line):
                self.lines.append(f"{t} frame {message['frame']:4d} (sent {len(self.sent):4d}) {line}")
        else:
            self.lines.append(f"{t} {json.dumps(message)[:300]}")

    def __str__(self) -> str:
        return "\n".join(self.lines)


def run_capture(capture: Any, shoot: Shoot, prefix: str) -> tuple[str, StreamLog]:
    """The customer's side: read the notice, agree, start, follow prompts; returns the outcome shown."""
    log = StreamLog(capture)
    # The capture screen faces the customer: in front. (A hidden page gets its timers throttled to
    # about one a second, and with them the frame rate.)
    capture.bring_to_front()
    capture.wait_for_selector("#agree:visible")
    assert capture.evaluate("document.visibilityState") == "visible"
    shoot(capture, f"{prefix}-notice")
    capture.click("#agree")
    capture.wait_for_selector("#start:visible:not([disabled])")
    capture.wait_for_function("document.getElementById('video').videoWidth > 0")
    capture.wait_for_timeout(500)
    shoot(capture, f"{prefix}-ready")
    capture.click("#start")
    capture.wait_for_selector("#step-label:not(:empty)")
    try:
        capture.wait_for_function(
            "document.querySelector('.steps li.current') !== null || document.body.dataset.outcome",
            timeout=15_000,
        )
        capture.wait_for_timeout(700)
        shoot(capture, f"{prefix}-prompt")
    except Exception:  # the check may end before a prompt could be photographed
        pass
    capture.wait_for_selector("body[data-outcome]", timeout=DECISION_TIMEOUT_MS)
    capture.wait_for_timeout(300)
    outcome = capture.evaluate("document.body.dataset.outcome")
    shoot(capture, f"{prefix}-result-{outcome}")
    return outcome, log


def test_a_new_user_sets_up_and_registers_a_number_with_the_kiosk(
    stack: Stack, launch_browser: Any, clips: Clips, screenshots: Shoot
) -> None:
    browser = launch_browser(clips.bona_fide_camera)
    context = browser.new_context(viewport=DESKTOP, locale="en-GB")
    page = context.new_page()
    page.goto(stack.base + "/")
    screenshots(page, "desktop-00-landing")
    page.goto(stack.base + "/console")
    page.wait_for_selector("#signin:not([hidden])")
    screenshots(page, "desktop-00-signin")
    sign_in(page, stack, stack.admin_key)
    clerk_key, numbers = set_up_outlet_in_console(page, screenshots)
    page.click("#signout")
    sign_in(page, stack, clerk_key)

    view = "#view-register"
    number = resident_id(1)
    page.locator(f"{view} [data-el=number]").fill(number[:17] + ("0" if number[17] != "0" else "1"))
    page.wait_for_selector(f"{view} [data-el=note-number].bad")
    assert "check character" in page.locator(f"{view} [data-el=note-number]").inner_text()
    fill_document(page, view, number=number, portrait=clips.bona_fide_portrait)
    assert "Valid number" in page.locator(f"{view} [data-el=note-number]").inner_text()
    screenshots(page, "desktop-02-document")
    page.locator(f"{view} [data-el=to-consent]").click()
    page.locator(f"{view} [data-el=consent]").check()
    screenshots(page, "desktop-03-consent")
    page.locator(f"{view} [data-el=start]").click()
    page.wait_for_selector(f"{view}[data-step=capture]")
    screenshots(page, "desktop-04-waiting-for-kiosk")

    with context.expect_page() as opened:
        page.locator(f"{view} [data-el=open-capture]").click()
    kiosk = opened.value
    kiosk.set_viewport_size(DESKTOP)
    kiosk.wait_for_load_state()
    assert kiosk.evaluate("sessionStorage.getItem('pm.key')") is None, "the clerk's key leaked to the kiosk"
    outcome, log = run_capture(kiosk, screenshots, "desktop-05-capture")
    assert outcome == "pass", f"the bona fide capture did not pass; the stream:\n{log}"

    page.wait_for_selector(f"{view}[data-outcome=pass]", timeout=30_000)
    page.wait_for_selector(f"{view} [data-el=numbers] input")
    screenshots(page, "desktop-06-decision-pass")
    page.locator(f"{view} [data-el=numbers] input[value='{numbers[1]}']").check()
    page.locator(f"{view} [data-el=register]").click()
    page.wait_for_selector(f"{view} [data-el=registered]")
    screenshots(page, "desktop-07-registered")
    assert numbers[1] in page.locator(f"{view} [data-el=registered]").inner_text()

    # The server agrees: the number is taken, and both consents are in the audit chain.
    r = stack.call("GET", f"/v1/numbers/{numbers[1]}", clerk_key)
    assert r.status_code == 200 and r.json()["state"] == "assigned", r.text
    sessions = stack.call("GET", "/v1/sessions", clerk_key).json()["sessions"]
    assert len(sessions) == 1
    session_id = sessions[0]["id"]
    events = stack.audit_events()
    consents = [d for t, _, o, d in events if t == "consent.recorded" and o["session"] == session_id]
    assert {d["given_by"] for d in consents} == {"clerk", "customer"}
    decided = [d for t, _, o, d in events if t == "session.decided" and o["session"] == session_id]
    assert decided and decided[0]["outcome"] == "pass"

    # The auditor view counts it: one check, passed, one registration, at the new outlet.
    page.click("#signout")
    page.goto(stack.base + "/auditor")
    page.fill("#signin-key", stack.admin_key)
    page.locator("#signin-form button[type=submit]").click()
    page.wait_for_selector("table[data-el=outlets]")
    row = page.locator("table[data-el=outlets] tbody tr").filter(has_text="shop-1")
    cells = row.locator("td").all_inner_texts()
    assert cells[1:4] == ["1", "1", "0"] and cells[6] == "1", cells  # checks, passed, failed; registrations
    screenshots(page, "desktop-08-auditor")
    context.close()


def test_a_replayed_video_fails_on_the_customers_phone(
    stack: Stack, launch_browser: Any, clips: Clips, screenshots: Shoot
) -> None:
    _, clerk_key, _ = stack.new_clerk()
    browser = launch_browser(clips.replay_camera)
    desk = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = desk.new_page()
    page.goto(stack.base + "/console#lang=zh")
    sign_in(page, stack, clerk_key)
    view = "#view-register"
    fill_document(page, view, number=resident_id(2), portrait=clips.replay_portrait, name="陈明")
    start_check(page, view, device="phone")
    page.wait_for_selector(f"{view} [data-el=qr] svg")
    screenshots(page, "desktop-zh-04-qr-code")
    link = page.locator(f"{view} [data-el=link]").text_content()
    assert link and "/capture#s=" in link and "lang=zh" in link

    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN")
    capture = phone.new_page()
    capture.goto(link)
    assert "t=" not in capture.url.split("#", 1)[1], "the capture token must leave the address bar"
    outcome, log = run_capture(capture, screenshots, "phone-zh-replay")
    assert outcome != "pass", f"a replayed recording passed; the stream:\n{log}"
    page.wait_for_selector(f"{view}[data-outcome]:not([data-outcome=pass])", timeout=30_000)
    page.wait_for_selector(f"{view} [data-el=retry]")
    screenshots(page, "desktop-zh-06-decision-fail")
    phone.close()
    desk.close()


def test_a_held_up_photo_fails_and_a_supervisor_exception_registers(
    stack: Stack, launch_browser: Any, clips: Clips, screenshots: Shoot
) -> None:
    _, clerk_key, numbers = stack.new_clerk()
    browser = launch_browser(clips.still_camera)
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="en-GB")
    page = context.new_page()
    sign_in(page, stack, clerk_key)
    screenshots(page, "phone-console-01-signed-in")
    view = "#view-register"
    fill_document(page, view, number=resident_id(3), portrait=clips.bona_fide_portrait)
    screenshots(page, "phone-console-02-document")
    start_check(page, view, device="kiosk")
    with context.expect_page() as opened:
        page.locator(f"{view} [data-el=open-capture]").click()
    outcome, log = run_capture(opened.value, screenshots, "phone-still")
    assert outcome != "pass", f"a photo held up passed; the stream:\n{log}"
    page.wait_for_selector(f"{view} [data-el=exception]", timeout=30_000)
    failed = stack.call("GET", "/v1/sessions", clerk_key).json()["sessions"][0]
    assert failed["decision"]["outcome"] != "pass"

    page.locator(f"{view} [data-el=exception]").click()
    dialog = page.locator("#exception-dialog")
    dialog.wait_for()
    dialog.locator("#exception-kind").select_option("disability")
    dialog.locator("#exception-file").set_input_files(str(clips.bona_fide_portrait))
    dialog.locator("#exception-key").fill(clerk_key)
    dialog.locator("#exception-submit").click()
    page.wait_for_selector("#exception-error:not(:empty)")
    assert "supervisor" in page.locator("#exception-error").inner_text().lower()
    dialog.locator("#exception-key").fill(stack.admin_key)
    screenshots(page, "phone-console-07-exception")
    dialog.locator("#exception-submit").click()
    page.wait_for_selector(f"{view}[data-outcome=pass]", timeout=60_000)
    assert "SUPERVISOR_EXCEPTION" in page.locator(f"{view} [data-el=decision-kv]").inner_text()
    page.locator(f"{view} [data-el=numbers] input").first.wait_for()
    page.locator(f"{view} [data-el=numbers] input[value='{numbers[0]}']").check()
    page.locator(f"{view} [data-el=register]").click()
    page.wait_for_selector(f"{view} [data-el=registered]")
    screenshots(page, "phone-console-08-registered-by-exception")

    approved = [(actor, o, d) for t, actor, o, d in stack.audit_events() if t == "exception.approved"]
    assert len(approved) == 1
    actor, _, details = approved[0]
    supervisor = stack.call("GET", "/v1/console/me", stack.admin_key).json()["key_id"]
    assert details["reason"] == "disability" and actor == f"key:{supervisor}"
    r = stack.call("GET", f"/v1/numbers/{numbers[0]}", clerk_key)
    assert r.json()["state"] == "assigned"
    context.close()
