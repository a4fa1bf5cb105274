"""Choosing live frames for matching: frontal, eyes open, sharp, spread out in time."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from portraitmatch.matching.live import LiveFrameSelector, SelectionSettings, frame_utility, select_frames
from portraitmatch.types import Box, FaceObservation, Frame, Quality, Reason

PIXELS = np.zeros((8, 8, 3), np.uint8)


def _frame(t_ms: float, index: int) -> Frame:
    return Frame(PIXELS, t_ms=t_ms, index=index)


def _face(
    yaw: float = 0.0,
    pitch: float = 0.0,
    ear: float = 0.3,
    sharpness: float = 100.0,
    face_px: float = 200.0,
    reasons: tuple[Reason, ...] = (),
    blink: float = 0.0,
) -> FaceObservation:
    return FaceObservation(
        box=Box(0, 0, face_px, face_px),
        landmarks=np.zeros((1, 3)),
        yaw_deg=yaw,
        pitch_deg=pitch,
        roll_deg=0.0,
        ear_left=ear,
        ear_right=ear,
        blink_left=blink,
        blink_right=blink,
        quality=Quality(reasons=reasons, face_px=face_px, sharpness=sharpness),
    )


def test_unusable_faces_are_never_selected() -> None:
    assert frame_utility(_face(yaw=30)) is None
    assert frame_utility(_face(pitch=-25)) is None
    assert frame_utility(_face(ear=0.08)) is None  # mid-blink
    assert frame_utility(_face(blink=0.9)) is None
    assert frame_utility(_face(reasons=(Reason.BLURRED,))) is None
    assert frame_utility(_face()) is not None


def test_utility_prefers_frontal_sharp_and_large() -> None:
    base = frame_utility(_face())
    assert base is not None
    assert frame_utility(_face(yaw=12)) < base  # type: ignore[operator]
    assert frame_utility(_face(pitch=-12)) < base  # type: ignore[operator]
    assert frame_utility(_face(sharpness=20)) < base  # type: ignore[operator]
    assert frame_utility(_face(face_px=90)) < base  # type: ignore[operator]
    # a 10-degree turn costs more than halving sharpness
    assert frame_utility(_face(yaw=10)) < frame_utility(_face(sharpness=50))  # type: ignore[operator]


def test_selects_best_frames_spread_in_time() -> None:
    yaws = [14, 2, 1, 0, 8, 15, 3, 19, 12, 5]  # frames 33 ms apart
    candidates = [(_frame(i * 33.0, i), _face(yaw=y)) for i, y in enumerate(yaws)]
    chosen = select_frames(candidates, max_frames=3, settings=SelectionSettings(min_gap_ms=100))
    indices = [c.frame.index for c in chosen]
    assert indices[0] == 3  # the most frontal
    times = sorted(c.frame.t_ms for c in chosen)
    assert all(b - a >= 100 for a, b in itertools.pairwise(times))
    assert len(chosen) >= 2
    utilities = [c.utility for c in chosen]
    assert utilities == sorted(utilities, reverse=True)


def test_good_moments_far_apart_are_all_used() -> None:
    # three bursts of frames, one second apart, each with one clearly best frame
    candidates = []
    for burst, best in ((0, 2), (1, 1), (2, 3)):
        for j in range(5):
            t = burst * 1000 + j * 33
            candidates.append((_frame(t, burst * 10 + j), _face(yaw=1 if j == best else 9)))
    chosen = select_frames(candidates, max_frames=5)
    assert sorted(c.frame.index for c in chosen) == [2, 11, 23]


def test_selector_keeps_at_most_max_frames_while_streaming() -> None:
    selector = LiveFrameSelector(2, SelectionSettings(min_gap_ms=0))
    rng = np.random.default_rng(0)
    yaws = rng.uniform(-18, 18, 200)
    for i, y in enumerate(yaws):
        selector.offer(_frame(i * 33.0, i), _face(yaw=float(y)))
        assert len(selector.best()) <= 2
    best = selector.best()
    expected = sorted(range(200), key=lambda i: abs(yaws[i]))[:2]
    assert sorted(c.frame.index for c in best) == sorted(expected)


def test_a_better_frame_within_the_gap_replaces_the_kept_one() -> None:
    selector = LiveFrameSelector(3, SelectionSettings(min_gap_ms=300))
    assert selector.offer(_frame(0, 0), _face(yaw=10))
    assert not selector.offer(_frame(100, 1), _face(yaw=12))  # worse and too close
    assert selector.offer(_frame(200, 2), _face(yaw=1))  # better: replaces frame 0
    assert [c.frame.index for c in selector.best()] == [2]


def test_no_usable_frame_gives_nothing() -> None:
    assert select_frames([(_frame(0, 0), _face(yaw=40)), (_frame(40, 1), _face(ear=0.05))]) == ()


def test_max_frames_must_be_positive() -> None:
    with pytest.raises(ValueError):
        LiveFrameSelector(0)
