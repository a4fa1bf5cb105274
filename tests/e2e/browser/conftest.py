"""Browser tests: Playwright driving Debian's Chromium, with a fake camera fed from a real clip.

They skip with a stated reason when Chromium (``/usr/bin/chromium``, or ``PORTRAITMATCH_CHROMIUM``)
or Playwright is missing; tests that need the dev clips skip when the dev data is absent.
Screenshots go to ``tests/e2e/screenshots/`` (git-ignored).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT

CHROMIUM = Path(os.environ.get("PORTRAITMATCH_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = REPO_ROOT / "tests" / "e2e" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


@pytest.fixture(scope="session")
def playwright() -> Iterator[Any]:
    if not CHROMIUM.is_file():
        pytest.skip(
            f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set PORTRAITMATCH_CHROMIUM)"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install playwright; no browser download is needed)")
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def launch_browser(playwright: Any) -> Iterator[Callable[..., Any]]:
    """Start Chromium, optionally with a fake camera that plays ``camera`` (.y4m or .mjpeg) in a loop."""
    browsers: list[Any] = []

    def launch(camera: Path | None = None, *, fake_device: bool = True, grant_camera: bool = True) -> Any:
        """``fake_device=False``: no camera at all; ``grant_camera=False``: pages ask and are refused."""
        args = [
            a
            for a in CHROMIUM_ARGS
            if (fake_device or a != "--use-fake-device-for-media-stream")
            and (grant_camera or a != "--use-fake-ui-for-media-stream")
        ]
        if camera is not None:
            args.append(f"--use-file-for-fake-video-capture={camera}")
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
        browsers.append(browser)
        return browser

    yield launch
    for browser in browsers:
        browser.close()


# The dev clips' faces may not be redistributed: copies meant for docs/ have camera pictures and
# portraits blurred beyond recognition.
FACES_BLURRED = "video, .portrait-preview img { filter: blur(22px) saturate(0.6); }"


@pytest.fixture(scope="session")
def screenshots() -> Callable[[Any, str], Path]:
    """Save a full-page screenshot as tests/e2e/screenshots/NAME.png, and one with faces blurred
    as tests/e2e/screenshots/faces-blurred/NAME.png (the ones to copy into docs/screenshots/)."""
    (SCREENSHOTS / "faces-blurred").mkdir(parents=True, exist_ok=True)

    def shoot(page: Any, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        if os.environ.get("PM_NOSHOT"):
            return path
        page.screenshot(path=str(path), full_page=True)
        page.screenshot(
            path=str(SCREENSHOTS / "faces-blurred" / f"{name}.png"), full_page=True, style=FACES_BLURRED
        )
        return path

    return shoot


@pytest.fixture(scope="session")
def ffmpeg() -> str:
    found = shutil.which("ffmpeg")
    if found is None:
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg): it makes camera files of the clips")
    return found


@dataclass(frozen=True)
class Clips:
    """Dev clips and what the tests make of them: camera files and ID portraits."""

    bona_fide_camera: Path  # d12.mp4 after a still lead-in (turns to the image right, then left; blinks)
    bona_fide_portrait: Path  # a frontal frame of d12 as the ID portrait
    replay_camera: Path  # tranvanluyt fake.mp4: a phone replaying a recording, as a portrait-shaped camera
    replay_portrait: Path  # a frame of tranvanluyt real.mp4: the same person, live
    still_camera: Path  # one frame of d12 held still: a photo held up to the camera
    bona_fide_video: Path  # d12.mp4 itself, for uploads through the API


@pytest.fixture(scope="session")
def clips(dev_data: Path, ffmpeg: str, tmp_path_factory: pytest.TempPathFactory) -> Clips:
    from tests.e2e.browser.stack import camera_file, frame_jpeg

    d12 = dev_data / "liveness" / "liveportrait" / "driving" / "d12.mp4"
    fake = dev_data / "liveness" / "tranvanluyt" / "videos" / "fake.mp4"
    real = dev_data / "liveness" / "tranvanluyt" / "videos" / "real.mp4"
    for path in (d12, fake, real):
        if not path.is_file():
            pytest.skip(f"dev clip {path} is missing")
    out = tmp_path_factory.mktemp("cameras")
    portrait = out / "d12-portrait.jpg"
    portrait.write_bytes(frame_jpeg(d12, 0))
    replay_portrait = out / "tranvanluyt-portrait.jpg"
    replay_portrait.write_bytes(frame_jpeg(real, 0))
    return Clips(
        # Two seconds of the first (frontal) frame, then d12: the checker calibrates on a still face,
        # and Start is pressed before the clip's first turn wherever the loop was.
        bona_fide_camera=camera_file(ffmpeg, d12, out / "d12.mjpeg", width=640, height=480, lead_in_s=2),
        bona_fide_portrait=portrait,
        replay_camera=camera_file(ffmpeg, fake, out / "replay.mjpeg", width=480, height=640),
        replay_portrait=replay_portrait,
        still_camera=camera_file(ffmpeg, portrait, out / "still.mjpeg", width=640, height=480, still_s=4),
        bona_fide_video=d12,
    )


@pytest.fixture(scope="session")
def engine() -> Any:
    from portraitmatch.api import Engine
    from portraitmatch.config import LivenessSettings, Settings

    # The streamed clips are recordings: they cannot wait for prompts withheld for a random delay.
    # Zero delay is a test-only setting (Settings refuses it in production; docs/pad.md).
    return Engine.load(Settings(liveness=LivenessSettings(prompt_delay_min_s=0, prompt_delay_max_s=0)))
