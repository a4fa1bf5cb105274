"""The engine's overlapped capture pipeline and threaded match, with the real models on a dev clip:
the same analyses, identity samples, best frames, PAD evidence and match score as doing every step
one after the other on one thread."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from portraitmatch.api import AnalysedCapture, Engine, _Recorder, _sampled_vectors, _Timer
from portraitmatch.capture.video import read_video
from portraitmatch.config import LimitsSettings, PadSettings, Settings
from portraitmatch.errors import MediaTooLargeError, ModelError
from portraitmatch.liveness import Mode
from portraitmatch.matching.live import LiveCandidate
from portraitmatch.types import Box, Embedding, FrameAnalysis

pytestmark = pytest.mark.data

CLIP = "liveness/liveportrait/driving/d12.mp4"
ACTIONS = ("turn_left", "blink", "turn_right")


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load()


@pytest.fixture(scope="module")
def clip(dev_data: Path) -> bytes:
    path = dev_data / CLIP
    if not path.is_file():
        pytest.skip(f"dev clip missing: {CLIP}")
    return path.read_bytes()


@pytest.fixture(scope="module")
def capture(engine: Engine, clip: bytes) -> AnalysedCapture:
    return engine.analyse_video(clip)


def _sequential(engine: Engine, data: bytes) -> AnalysedCapture:
    """What `analyse_video` did before its stages overlapped: each frame through every step in turn."""
    recorder, timer = _Recorder(engine, False), _Timer()
    for frame in read_video(data, max_seconds=60, max_frames=2000, max_frame_pixels=10_000_000):
        recorder.add(frame, timer)
    return recorder.finish(timer)


def _assert_same_analyses(a: tuple[FrameAnalysis, ...], b: tuple[FrameAnalysis, ...]) -> None:
    assert [(x.index, x.t_ms, x.n_faces) for x in a] == [(y.index, y.t_ms, y.n_faces) for y in b]
    for x, y in zip(a, b, strict=True):
        for fx, fy in zip(x.faces, y.faces, strict=True):
            assert fx.box == fy.box and fx.quality == fy.quality
            np.testing.assert_array_equal(fx.landmarks, fy.landmarks)


def test_overlapped_analysis_equals_the_sequential_one(
    engine: Engine, clip: bytes, capture: AnalysedCapture
) -> None:
    expected = _sequential(engine, clip)
    got = capture
    _assert_same_analyses(got.analyses, expected.analyses)
    assert sorted(got.identities) == sorted(expected.identities) and got.identities
    for index, vector in expected.identities.items():
        np.testing.assert_array_equal(got.identities[index], vector)
    assert [c.frame.index for c in got.candidates] == [c.frame.index for c in expected.candidates]
    assert [c.utility for c in got.candidates] == [c.utility for c in expected.candidates]
    assert got.pad == expected.pad
    for stage in ("decode", "analysis", "identity", "pad", "capture_total"):
        assert got.timings_ms[stage] > 0
    assert got.check(ACTIONS, engine.settings) == expected.check(ACTIONS, engine.settings)


def test_threaded_match_with_reused_identity_vectors_scores_the_same(
    engine: Engine, clip: bytes, capture: AnalysedCapture
) -> None:
    by_index = {a.index: a for a in capture.analyses}
    frames = list(read_video(clip, max_seconds=60, max_frames=2000, max_frame_pixels=10_000_000))
    # Every identity-sampled frame as a candidate, so that the reuse path surely runs.
    sampled = [
        LiveCandidate(f, face, 1.0)
        for f in frames
        if f.index in capture.identities and (face := by_index[f.index].primary) is not None
    ][:4]
    known = _sampled_vectors(engine, sampled, capture.analyses, capture.identities)
    assert sorted(known) == [c.frame.index for c in sampled]
    matcher = engine.matcher
    threads = matcher.threads
    try:
        matcher.threads = 1
        reference = matcher.embed_live(sampled)
        matcher.threads = 2
        reused = matcher.embed_live(sampled, known=known)
    finally:
        matcher.threads = threads
    for a, b in zip(reference, reused, strict=True):
        assert sorted(a) == sorted(b)
        for model in a:
            np.testing.assert_array_equal(a[model], b[model])

    portrait = engine.read_portrait(sampled[0].frame)
    started = time.perf_counter()
    decision = engine._decide(portrait, capture, ACTIONS, started)
    sequential = engine.matcher.match_live(portrait, capture.candidates)
    assert decision.match is not None and decision.match == sequential


def test_a_stream_with_repeated_frame_indices_reuses_nothing(
    engine: Engine, capture: AnalysedCapture
) -> None:
    analyses = capture.analyses + capture.analyses[:1]  # the same index twice
    assert _sampled_vectors(engine, capture.candidates, analyses, capture.identities) == {}


def _engine_like(engine: Engine, settings: Settings) -> Engine:
    return Engine(
        settings=settings,
        landmarker=engine.landmarker,
        detector=engine.detector,
        matcher=engine.matcher,
        identity_embedder=engine.identity_embedder,
    )


def test_a_decoder_error_reaches_the_caller(engine: Engine, clip: bytes) -> None:
    limited = _engine_like(engine, Settings(limits=LimitsSettings(max_video_frames=20)))
    with pytest.raises(MediaTooLargeError, match="frames"):
        limited.analyse_video(clip)


def test_an_error_in_the_per_frame_steps_reaches_the_caller(engine: Engine, clip: bytes) -> None:
    class Broken:
        model_id = "broken"

        def embed(self, pixels: np.ndarray, box: Box) -> Embedding:
            raise ModelError("identity embedder failed")

    broken = _engine_like(engine, engine.settings)
    broken.identity_embedder = Broken()
    with pytest.raises(ModelError, match="identity embedder failed"):
        broken.analyse_video(clip)


def test_a_live_capture_decides_with_the_same_match(engine: Engine, clip: bytes) -> None:
    frames = list(read_video(clip, max_seconds=60, max_frames=2000, max_frame_pixels=10_000_000))
    portrait = engine.read_portrait(frames[0])
    # Fed faster or slower than real time, a stream's arrival times betray it to PAD (by design);
    # what is checked here is only the match, so PAD is off.
    no_pad = _engine_like(engine, Settings(pad=PadSettings(enabled=False)))
    live = no_pad.open_stream(portrait, ACTIONS, mode=Mode.OFFLINE, start_ms=frames[0].t_ms)
    for frame in frames:
        live.feed(frame)
    decision = live.finish()
    assert decision.match is not None, decision.reasons
    matcher, threads = engine.matcher, engine.matcher.threads
    try:
        matcher.threads = 1
        sequential = matcher.match_live(portrait, live._recorder.selector.best())
    finally:
        matcher.threads = threads
    assert decision.match == sequential
