"""Each way a capture can go wrong gets its own screen and a way forward, in a real browser.

Camera refused (then allowed: the retry starts it), no camera at all, consent declined (and nothing
recorded), an expired session, a broken or unknown link, and the server going away mid-capture.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.browser.conftest import PHONE, Clips
from tests.e2e.browser.stack import Stack, resident_id, running_stack

pytestmark = [pytest.mark.browser, pytest.mark.data]

Shoot = Callable[[Any, str], Path]


@pytest.fixture
def stack(engine: Any, tmp_path: Path) -> Any:
    with running_stack(engine, tmp_path) as running:
        yield running


def capture_link(stack: Stack, clips: Clips, seed: int) -> tuple[str, dict[str, Any]]:
    _, clerk_key, _ = stack.new_clerk(numbers=1)
    session = stack.new_session(clerk_key, clips.bona_fide_portrait.read_bytes(), resident_id(seed))
    return f"{stack.base}/capture#s={session['id']}&t={session['capture_token']}&lang=en", session


def phone_page(browser: Any, **kw: Any) -> Any:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="en-GB", **kw)
    return context.new_page()


def title(page: Any) -> str:
    page.wait_for_selector("#screen-message:not([hidden])")
    return page.locator("#message-title").inner_text()


def test_a_refused_camera_says_how_to_allow_it_and_the_retry_starts_it(
    stack: Stack, launch_browser: Any, clips: Clips, screenshots: Shoot
) -> None:
    link, _ = capture_link(stack, clips, 11)
    page = phone_page(launch_browser(clips.bona_fide_camera, grant_camera=False))
    page.goto(link)
    page.click("#agree")
    assert title(page) == "Camera access was refused"
    screenshots(page, "phone-problem-camera-refused")
    page.context.grant_permissions(["camera"], origin=stack.base)
    page.locator("#message-actions button").click()
    page.wait_for_selector("#start:visible:not([disabled])")
    page.context.close()


def test_no_camera_at_all_sends_the_customer_elsewhere(
    stack: Stack, launch_browser: Any, clips: Clips, screenshots: Shoot
) -> None:
    link, _ = capture_link(stack, clips, 12)
    page = phone_page(launch_browser(fake_device=False))
    page.goto(link)
    has_camera = page.evaluate(
        "async () => (await navigator.mediaDevices.enumerateDevices()).some((d) => d.kind === 'videoinput')"
    )
    if has_camera:
        pytest.skip("this machine has a real camera, so 'no camera' cannot be shown")
    page.click("#agree")
    assert title(page) == "No camera found"
    assert "QR code" in page.locator("#message-body").inner_text()
    screenshots(page, "phone-problem-no-camera")
    page.context.close()


def test_declining_consent_records_nothing_and_can_be_reconsidered(
    stack: Stack, launch_browser: Any, clips: Clips, screenshots: Shoot
) -> None:
    link, session = capture_link(stack, clips, 13)
    page = phone_page(launch_browser(clips.bona_fide_camera))
    page.goto(link)
    page.wait_for_selector("#decline:visible")
    page.click("#decline")
    assert title(page) == "No check without your consent"
    screenshots(page, "phone-problem-declined")
    consents = [o for t, _, o, _ in stack.audit_events() if t == "consent.recorded"]
    assert consents == []
    page.locator("#message-actions button").click()
    page.wait_for_selector("#agree:visible")
    page.click("#agree")
    page.wait_for_selector("#start:visible")
    consents = [(o, d) for t, _, o, d in stack.audit_events() if t == "consent.recorded"]
    assert [o for o, _ in consents] == [{"session": session["id"]}]
    assert consents[0][1]["given_by"] == "customer" and consents[0][1]["language"] == "en"
    page.context.close()


def test_an_expired_session_asks_for_a_new_link(
    stack: Stack, launch_browser: Any, clips: Clips, screenshots: Shoot
) -> None:
    link, _ = capture_link(stack, clips, 14)
    stack.clock.advance(seconds=stack.app.state.context.settings.liveness.challenge_ttl_s + 5)
    page = phone_page(launch_browser(clips.bona_fide_camera))
    page.goto(link)
    assert title(page) == "This check has expired"
    screenshots(page, "phone-problem-expired")
    page.context.close()


def test_broken_and_unknown_links_say_so(stack: Stack, launch_browser: Any, clips: Clips) -> None:
    page = phone_page(launch_browser(clips.bona_fide_camera))
    page.goto(stack.base + "/capture")
    assert title(page) == "This link is not complete"
    page.goto(stack.base + "/capture#s=0123456789abcdef&t=pmc_not-a-real-token")
    page.reload()
    assert title(page) == "This check was not found"
    page.context.close()


def test_losing_the_server_mid_capture_says_so_and_offers_to_look_up_the_result(
    stack: Stack, launch_browser: Any, clips: Clips, screenshots: Shoot
) -> None:
    link, _ = capture_link(stack, clips, 15)
    page = phone_page(launch_browser(clips.bona_fide_camera))
    page.goto(link)
    page.click("#agree")
    page.wait_for_selector("#start:visible:not([disabled])")
    page.click("#start")
    page.wait_for_selector("#step-label:not(:empty)")
    stack.served.stop()
    assert title(page) == "The connection was lost"
    screenshots(page, "phone-problem-connection-lost")
    page.locator("#message-actions button").click()  # look up the result: the server is gone
    assert title(page) == "The connection was lost"
    assert "cannot be reached" in page.locator("#message-body").inner_text()
    page.context.close()
