"""The console's holder views in Chromium: "numbers under an ID" and re-verification.

The holder already has a number (registered through the API after a verified upload of d12); at
the counter they verify live on the kiosk, see their numbers, report one as not theirs; after an
administrator asks for re-verification, they verify again and the clerk confirms it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from portraitmatch.adapters.web.routes.console import NOTICE_VERSION
from tests.e2e.browser.conftest import DESKTOP, Clips
from tests.e2e.browser.stack import Stack, resident_id, running_stack
from tests.e2e.browser.test_registration import fill_document, run_capture, sign_in, start_check

pytestmark = [pytest.mark.browser, pytest.mark.data, pytest.mark.slow]

Shoot = Callable[[Any, str], Path]
HOLDER = resident_id(31)


@pytest.fixture
def stack(engine: Any, tmp_path: Path) -> Iterator[Stack]:
    with running_stack(engine, tmp_path) as running:
        yield running


def register_through_the_api(stack: Stack, clips: Clips, clerk_key: str, msisdn: str) -> None:
    session = stack.new_session(clerk_key, clips.bona_fide_portrait.read_bytes(), HOLDER, capture="video")
    consent = {"notice_version": NOTICE_VERSION, "language": "en"}  # the clerk attests it
    r = stack.call("POST", f"/v1/sessions/{session['id']}/consent", clerk_key, json=consent)
    assert r.status_code == 200, r.text
    r = stack.call(
        "POST",
        f"/v1/sessions/{session['id']}/video",
        clerk_key,
        params={"nonce": session["challenge"]["nonce"]},
        content=clips.bona_fide_video.read_bytes(),
        headers={"Content-Type": "video/mp4"},
    )
    assert r.status_code == 200 and r.json()["outcome"] == "pass", r.text
    body = {"session_id": session["id"], "document_type": "resident_id", "document_number": HOLDER}
    r = stack.call("POST", f"/v1/numbers/{msisdn}/registration", clerk_key, json=body)
    assert r.status_code == 201, r.text


def verify_on_the_kiosk(page: Any, view: str, clips: Clips, shoot: Shoot, prefix: str) -> None:
    fill_document(page, view, number=HOLDER, portrait=clips.bona_fide_portrait)
    start_check(page, view, device="kiosk")
    logs = []
    for attempt in (1, 2):
        with page.context.expect_page() as opened:
            page.locator(f"{view} [data-el=open-capture]").click()
        kiosk = opened.value
        outcome, log = run_capture(kiosk, shoot, prefix)
        logs.append(str(log))
        kiosk.close()
        page.bring_to_front()
        if outcome == "pass" or attempt == 2:
            break
        # This test is about what follows a pass. The looping fake camera, streamed while the suite
        # keeps both cores busy, was once judged a flat picture (1 run in 5 this session, the dev
        # clip's turns being small): the clerk starts a new attempt, as at a real counter.
        # test_registration.py keeps asserting a first-attempt pass.
        page.wait_for_selector(f"{view}[data-outcome]:not([data-outcome=pass])", timeout=30_000)
        page.locator(f"{view} [data-el=retry]").click()
        page.wait_for_selector(f"{view}[data-step=capture]")
    assert outcome == "pass", "the bona fide capture did not pass twice; the streams:\n" + "\n".join(logs)
    page.wait_for_selector(f"{view}[data-outcome=pass]", timeout=30_000)


def test_the_holder_sees_and_reports_numbers_then_re_verifies(
    stack: Stack, launch_browser: Any, clips: Clips, screenshots: Shoot
) -> None:
    _, clerk_key, numbers = stack.new_clerk(numbers=2)
    register_through_the_api(stack, clips, clerk_key, numbers[0])
    browser = launch_browser(clips.bona_fide_camera)
    page = browser.new_context(viewport=DESKTOP, locale="en-GB").new_page()
    sign_in(page, stack, clerk_key)

    page.click("button[data-view=lookup]")
    view = "#view-lookup"
    verify_on_the_kiosk(page, view, clips, screenshots, "desktop-09-lookup-capture")
    table = page.locator(f"{view} table[data-el=holder-numbers]")
    table.wait_for()
    assert table.locator("tr").count() == 1 and numbers[0] in table.inner_text()
    assert "张三" in page.locator(f"{view} [data-el=next] h2").inner_text()
    # the holder picks a reason from the catalogue (there is no text to type)
    table.locator(f"select[data-flag-reason='{numbers[0]}']").select_option("document_lost")
    table.locator(f"button[data-flag='{numbers[0]}']").click()
    table.locator("text=Reported by holder").wait_for()
    screenshots(page, "desktop-10-numbers-under-id")
    flagged = stack.call("GET", "/v1/subscriptions?flagged=true", clerk_key).json()["subscriptions"]
    assert [s["msisdn"] for s in flagged] == [numbers[0]]
    assert flagged[0]["holder_flag"]["reason"] == "document_lost"

    r = stack.call(
        "POST",
        f"/v1/numbers/{numbers[0]}/reverification-request",
        stack.admin_key,
        json={"reason": "holder_flagged"},
    )
    assert r.status_code == 200, r.text
    page.click("button[data-view=reverify]")
    page.locator("#reverify-list").get_by_text(numbers[0]).wait_for()
    follow_up = page.locator("#reverify-list").inner_text()
    assert "Reported by a holder as not theirs" in follow_up
    assert "Reported by holder · My ID card was lost" in follow_up  # what the holder said, as a code
    view = "#reverify-wizard"
    verify_on_the_kiosk(page, view, clips, screenshots, "desktop-11-reverify-capture")
    page.locator(f"{view} [data-el=confirm-reverify]").click()
    result = page.locator(f"{view} [data-el=reverify-result] .notice.good")
    result.wait_for()
    assert numbers[0] in result.inner_text()
    screenshots(page, "desktop-12-reverified")
    page.locator("#reverify-list").get_by_text("No numbers await re-verification.").wait_for()
    sub = stack.call("GET", f"/v1/numbers/{numbers[0]}", clerk_key).json()["subscription"]
    assert sub["reverification"] is None and sub["status"] == "active"
