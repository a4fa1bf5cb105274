from __future__ import annotations

import numpy as np
import pytest

from portraitmatch.liveness.presence import FacePresence, IdentityTracker


def feed(presence: FacePresence, counts: list[int], *, fps: float = 30.0, t0: float = 0.0) -> float:
    t = t0
    for n in counts:
        presence.update(t, n)
        t += 1000 / fps
    return t


def test_a_spurious_second_face_for_two_frames_is_ignored() -> None:
    p = FacePresence(multiple_faces_min_ms=400)
    feed(p, [1] * 30 + [2, 2] + [1] * 30 + [2] + [1] * 10)
    assert not p.has_multiple_faces
    assert p.multiple_faces_ms == pytest.approx(3 * 1000 / 30)


def test_a_second_face_that_stays_counts() -> None:
    p = FacePresence(multiple_faces_min_ms=400)
    feed(p, [1] * 30 + [2] * 14)
    assert p.has_multiple_faces


def test_a_flickering_second_face_counts_too() -> None:
    # Detected every other frame for a second: 0.5 s of two faces within the window.
    p = FacePresence(multiple_faces_min_ms=400)
    feed(p, [1] * 30 + [2, 1] * 15)
    assert p.has_multiple_faces


def test_lost_time() -> None:
    p = FacePresence(multiple_faces_min_ms=400)
    t = feed(p, [0] * 10)  # before the face ever appeared: not "lost"
    assert p.lost_ms(t) == 0 and p.first_face_ms is None
    t = feed(p, [1] * 10, t0=t)
    t = feed(p, [0] * 30, t0=t)
    assert p.lost_ms(t) == pytest.approx(31 * 1000 / 30)
    assert p.lost_total_ms == pytest.approx(30 * 1000 / 30)
    feed(p, [1], t0=t)
    assert p.lost_ms(t) == 0


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def test_identity_same_face_with_pose_drift() -> None:
    rng = np.random.default_rng(0)
    person = _unit(rng.normal(size=128))
    side = _unit(rng.normal(size=128))
    tracker = IdentityTracker(min_cosine=0.65)
    # The embedding drifts steadily as the head turns: far from the first sample at the end, but
    # each sample is close to the one before.
    for k in range(12):
        v = _unit(person + 0.12 * k * side + 0.05 * rng.normal(size=128))
        assert not tracker.update(v)
    assert tracker.samples == 12
    assert tracker.lowest_cosine is not None and tracker.lowest_cosine > 0.65


def test_identity_switch_needs_two_samples() -> None:
    rng = np.random.default_rng(1)
    a, b = _unit(rng.normal(size=128)), _unit(rng.normal(size=128))
    tracker = IdentityTracker(min_cosine=0.65)
    assert not tracker.update(a)
    assert not tracker.update(a + 0.05 * rng.normal(size=128))
    assert not tracker.update(b)  # one bad sample: a blurred frame, maybe
    assert not tracker.update(a)
    assert not tracker.update(b)
    assert tracker.update(b)


def test_identity_bad_vectors() -> None:
    tracker = IdentityTracker(min_cosine=0.65)
    with pytest.raises(ValueError):
        tracker.update(np.zeros(128))
    with pytest.raises(ValueError):
        tracker.update(np.array([np.nan, 1.0]))
    tracker.update(np.ones(128))
    with pytest.raises(ValueError, match="size"):
        tracker.update(np.ones(64))
