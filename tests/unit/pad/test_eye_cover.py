"""A blink changes the eye opening; a cover changes its surroundings too."""

import numpy as np

from portraitmatch.liveness.blink import Blink
from portraitmatch.liveness.pad.eye_cover import EyeCoverTest, eye_regions, score_eye_cover
from tests.unit.pad.samples import face, measurements, texture

FACE = face(64, 64, 70)  # the face's landmarks in crop coordinates (crop origin 0, scale 1)


def _eyes(img: np.ndarray, value: float | None, *, surround: bool) -> np.ndarray:
    """`img` with both eye openings (and, for a cover, a band around them) painted over."""
    out = img.copy()
    for outer, inner in ((33, 133), (263, 362)):
        p, q = FACE.landmarks[outer, :2], FACE.landmarks[inner, :2]
        c, w = (p + q) / 2, float(np.linalg.norm(p - q))
        if value is not None:
            out[int(c[1] - 0.3 * w) : int(c[1] + 0.3 * w), int(c[0] - 0.55 * w) : int(c[0] + 0.55 * w)] = (
                value
            )
        if surround:
            out[int(c[1] - 1.0 * w) : int(c[1] + 0.9 * w), int(c[0] - 1.1 * w) : int(c[0] + 1.1 * w)] = 150.0
    return out


def _run(closed_look: np.ndarray, base: np.ndarray) -> EyeCoverTest:
    test = EyeCoverTest()
    for k in range(20):
        t = k * 33.0
        img = closed_look if 330 <= t < 430 else base
        test.update(t, FACE, measurements(img))
    test.on_blink(Blink(t_start_ms=330, t_min_ms=363, t_end_ms=430, depth=0.1, open_level=0.3))
    return test


def test_regions_are_measured_per_eye() -> None:
    regions = eye_regions(measurements(texture(128, 128)), FACE)
    assert regions is not None and regions.shape == (2, 5, 2)


def test_a_blink_changes_the_inside_more_than_the_surround() -> None:
    base = texture(128, 128, seed=1)
    test = _run(_eyes(base, 170.0, surround=False), base)
    (blink,) = test.blinks
    assert blink.inside_change > 3 * blink.surround_change


def test_a_cover_changes_the_surround() -> None:
    base = texture(128, 128, seed=1)
    real = _run(_eyes(base, 170.0, surround=False), base).blinks[0]
    cover = _run(_eyes(base, None, surround=True), base).blinks[0]
    assert cover.surround_change > 3 * real.surround_change
    scored = score_eye_cover(_run(_eyes(base, None, surround=True), base), max_change=0.3)
    assert scored.fired


def test_no_blink_is_not_assessed() -> None:
    assert score_eye_cover(EyeCoverTest(), 0.3).score is None
