"""PAD with the real landmarker and embedder on the dev clips and on generated attacks."""

from __future__ import annotations

import random
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest

from portraitmatch.adapters.models.faceres_embedder import FaceresEmbedder
from portraitmatch.adapters.models.mediapipe_landmarker import MediaPipeLandmarker
from portraitmatch.bench.attacks import Source, prints, screens, splices
from portraitmatch.bench.liveness import check_offline
from portraitmatch.bench.pad import FrameRecord, evaluate, issued_acceptance, performed_actions
from portraitmatch.capture.video import read_video
from portraitmatch.config import LivenessSettings, PadSettings
from portraitmatch.liveness.challenge import issue_challenge
from portraitmatch.liveness.pad import measure_frame
from portraitmatch.types import Frame, Reason

pytestmark = pytest.mark.data

LIMITS = {"max_seconds": 60.0, "max_frames": 1800, "max_frame_pixels": 4_000_000}
LIVE = LivenessSettings()


@pytest.fixture(scope="module")
def landmarker() -> Iterator[MediaPipeLandmarker]:
    lm = MediaPipeLandmarker.load()
    yield lm
    lm.close()


@pytest.fixture(scope="module")
def embedder() -> FaceresEmbedder:
    return FaceresEmbedder.load()


def _records(frames: list[Frame], landmarker, embedder, analyses=None) -> list[FrameRecord]:
    out, next_ms = [], -1.0
    for k, f in enumerate(frames):
        a = analyses[k] if analyses is not None else landmarker.observe(f)
        vector = None
        if a.primary is not None and f.t_ms >= next_ms:
            vector = embedder.embed(f.pixels, a.primary.box).vector
            next_ms = f.t_ms + 400
        out.append(FrameRecord(a, measure_frame(f.pixels, a.primary), vector))
    return out


def _frames(dev_data: Path, rel: str, limit: int | None = None) -> list[Frame]:
    frames = list(read_video(dev_data / "liveness" / rel, **LIMITS))
    return frames[:limit] if limit else frames


def _source(name: str, frames: list[Frame], records: list[FrameRecord], blinks=()) -> Source:
    return Source(name, frames, [r.analysis for r in records], 25.0 if "d12" in name else 30.0, tuple(blinks))


@pytest.fixture(scope="module")
def d12(dev_data: Path, landmarker, embedder) -> tuple[list[Frame], list[FrameRecord]]:
    frames = _frames(dev_data, "liveportrait/driving/d12.mp4")
    return frames, _records(frames, landmarker, embedder)


def test_a_bona_fide_capture_with_turns_and_blinks_is_not_flagged(d12) -> None:
    _, records = d12
    result = evaluate(records, PadSettings(), LIVE)
    assert not result.is_attack, result.summary()
    assert result.signal("flat_motion").is_assessed  # d12 turns both ways
    assert result.signal("eye_cover").is_assessed  # and blinks
    assert result.signal("identity").is_assessed


def test_the_real_phone_replay_shows_its_screen_border(dev_data: Path, landmarker, embedder) -> None:
    frames = _frames(dev_data, "tranvanluyt/videos/fake.mp4", limit=180)
    result = evaluate(_records(frames, landmarker, embedder), PadSettings(), LIVE)
    assert result.is_attack
    assert Reason.MEDIUM_BORDER_DETECTED in result.reasons


def test_a_printed_photo_folded_to_fake_a_turn_is_flagged(d12, landmarker, embedder) -> None:
    frames, records = d12
    source = _source("liveportrait/d12", frames, records)
    attack = prints.print_turn(source, np.random.default_rng(3), "fold", "yaw", 1.0, close_up=True)
    result = evaluate(_records(attack.frames, landmarker, embedder), PadSettings(), LIVE)
    assert result.is_attack, result.summary()


def test_a_close_up_screen_replay_shows_its_pixel_grid(d12, landmarker, embedder) -> None:
    frames, records = d12
    source = _source("liveportrait/d12", frames, records)
    attack = screens.screen_video(source, np.random.default_rng(5), 0, 90, close_up=True, handheld=True)
    result = evaluate(_records(attack.frames, landmarker, embedder), PadSettings(), LIVE)
    assert Reason.SCREEN_DETECTED in result.reasons, result.summary()


def test_the_bona_fide_capture_sent_as_the_page_sends_it_shows_no_pixel_grid(
    d12, landmarker, embedder
) -> None:
    # The capture page sends JPEG frames at quality 0.8; compression blocks must not read as a screen.
    frames, _ = d12
    sent = []
    for f in frames[::2]:
        ok, jpeg = cv2.imencode(
            ".jpg", np.ascontiguousarray(f.pixels[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, 80]
        )
        assert ok
        pixels = np.ascontiguousarray(cv2.imdecode(jpeg, cv2.IMREAD_COLOR)[..., ::-1])
        sent.append(Frame(pixels, t_ms=f.t_ms, index=len(sent)))
    texture = evaluate(_records(sent, landmarker, embedder), PadSettings(), LIVE).signal("recapture_texture")
    assert texture is not None and texture.enabled and texture.is_assessed and not texture.fired
    assert texture.value is not None and texture.value < PadSettings().recapture_max_peak / 2


def test_a_switch_of_person_is_flagged(dev_data: Path, d12, landmarker, embedder) -> None:
    frames, records = d12
    other_frames = _frames(dev_data, "liveportrait/driving/d3.mp4", limit=120)
    other = _records(other_frames, landmarker, embedder)
    a = _source("liveportrait/d12", frames, records)
    b = _source("liveportrait/d3", other_frames, other)
    attack = splices.person_switch(a, 80, b, 0, 120, np.random.default_rng(0), "aligned")
    result = evaluate(_records(attack.frames, landmarker, embedder, attack.analyses), PadSettings(), LIVE)
    assert result.is_attack
    assert Reason.FACE_CHANGED in result.reasons or Reason.STREAM_INCONSISTENT in result.reasons


def test_repeated_frames_are_flagged(d12, landmarker, embedder) -> None:
    frames, records = d12
    attack = splices.injected_repeat(
        _source("liveportrait/d12", frames, records), 0, 90, np.random.default_rng(1)
    )
    result = evaluate(_records(attack.frames, landmarker, embedder, attack.analyses), PadSettings(), LIVE)
    assert Reason.STREAM_INCONSISTENT in result.reasons


def test_swapped_blocks_of_frames_are_flagged(d12, landmarker, embedder) -> None:
    frames, records = d12
    clean = evaluate(records, PadSettings(), LIVE).signal("frame_order")
    assert clean is not None and clean.is_assessed and not clean.fired
    flagged = 0
    for seed in range(3):
        attack = splices.injected_reorder(
            _source("liveportrait/d12", frames, records), 0, len(frames), np.random.default_rng(seed)
        )
        result = evaluate(_records(attack.frames, landmarker, embedder, attack.analyses), PadSettings(), LIVE)
        order = result.signal("frame_order")
        assert order is not None and order.value is not None and clean.value is not None
        assert order.value > clean.value
        flagged += order.fired
    # d12's own motion is jerky (a rate-converted source: steps alternate small and large), so block
    # boundaries stand out less than on a camera's stream; on these three edits one crosses 3.0.
    assert flagged >= 1


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg command-line tool not installed")
def test_a_hard_compressed_bona_fide_nod_is_not_a_cut(
    dev_data: Path, tmp_path: Path, landmarker, embedder
) -> None:
    """tranvanluyt/real re-encoded at x264 CRF 35: its quick pitch-up (frames 378-381) is a run of
    large picture changes with the face lost for two frames, and compression lowers the capture's
    median change. Before cuts had to stand out from their neighbours this was a cut."""
    clip = tmp_path / "crf35.mp4"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-i", str(dev_data / "liveness/tranvanluyt/videos/real.mp4"),
         "-an", "-c:v", "libx264", "-crf", "35", "-pix_fmt", "yuv420p", str(clip)],
        check=True,
    )  # fmt: skip
    frames = list(read_video(clip, **LIMITS))
    result = evaluate(_records(frames, landmarker, embedder), PadSettings(), LIVE)
    stream = result.signal("stream")
    assert stream is not None and "cuts at frames []" in stream.detail, stream.detail
    assert not result.is_attack, result.summary()


def test_performed_actions_follow_the_labels(d12) -> None:
    _, records = d12
    actions = [p.action.value for p in performed_actions([r.analysis for r in records], LIVE)]
    # d12: yaw image-right (the customer's left) then image-left, with blinks between (labels.json)
    assert actions.index("turn_left") < actions.index("turn_right")
    assert "blink" in actions


def test_a_recording_rarely_fits_a_challenge_it_cannot_know(d12) -> None:
    # d12 played back as a prepared recording: of the challenges a streaming session issues, only
    # those whose order the recording happens to contain pass the checker, and each of those must
    # still land its steps in the random prompt windows.
    _, records = d12
    analyses = [r.analysis for r in records]
    rng = np.random.default_rng(0)
    draw = random.Random(1)
    passed = sum(
        check_offline(analyses, issue_challenge(LIVE, rng=draw, now=datetime.now(UTC)).actions, LIVE).passed
        for _ in range(100)
    )
    start = analyses[0].t_ms + 500.0
    accepted = issued_acceptance(analyses, PadSettings(), LIVE, start, rng, trials=100, timing_trials=50)
    # d12 performs many actions, so it fits about half the issued orders (54/100 with this seed):
    # the order alone is a weak defence; the prompt timing has to do the rest (0.6 % measured)
    assert 0 < passed < 100, passed
    assert accepted < min(0.05, passed / 100 / 10), accepted
    nothing = issued_acceptance(analyses[:10], PadSettings(), LIVE, start, rng, trials=20)
    assert nothing == 0.0
