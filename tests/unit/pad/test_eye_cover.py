"""A blink changes the eye opening; a cover changes its surroundings too, far more than the open
frames around it differ."""

import numpy as np

from portraitmatch.liveness.blink import Blink
from portraitmatch.liveness.pad.eye_cover import EyeCoverTest, score_eye_cover
from tests.unit.pad.samples import face, fine_grey, measurements, texture

SIZE = 130.0
BLINK = Blink(t_start_ms=330, t_min_ms=363, t_end_ms=430, depth=0.1, open_level=0.3)


def _face(dx: float = 0.0):
    """The face's landmarks in fine-crop pixels (the crop's origin is 0 and its scale 1)."""
    return face(160 + dx, 160, SIZE)


def _paint(img: np.ndarray, value: float, box: tuple[float, float, float, float], dx: int = 0) -> None:
    """Paint `box` (x0, x1, y0, y1 in eye widths around each eye's centre) with `value`."""
    f = _face(dx)
    for outer, inner in ((33, 133), (263, 362)):
        p, q = f.landmarks[outer, :2], f.landmarks[inner, :2]
        c, w = (p + q) / 2, float(np.linalg.norm(p - q))
        x0, x1, y0, y1 = box
        img[int(c[1] + y0 * w) : int(c[1] + y1 * w), int(c[0] + x0 * w) : int(c[0] + x1 * w)] = value


def _run(kind: str, *, motion_px: int = 0, frames: int = 20) -> EyeCoverTest:
    """20 frames 33 ms apart with camera noise; frames 10-13 are "closed": the eye openings painted
    (a blink) or a band well beyond them (a cover). The head may drift `motion_px` a frame."""
    base = fine_grey(texture(320, 320, seed=1))
    rng = np.random.default_rng(2)
    test = EyeCoverTest()
    for k in range(frames):
        t = k * 33.0
        dx = motion_px * k
        img = np.roll(base, dx, axis=1) + rng.normal(0, 3, base.shape)
        if BLINK.t_start_ms <= t < BLINK.t_end_ms:
            if kind == "blink":
                _paint(img, 170.0, (-0.55, 0.55, -0.3, 0.3), dx)
            else:
                _paint(img, 150.0, (-1.1, 1.1, -1.0, 0.9), dx)
        test.update(t, _face(dx), measurements(fine=img))
    test.on_blink(BLINK)
    return test


def test_a_blink_changes_the_inside_and_not_the_surround() -> None:
    (blink,) = _run("blink").blinks
    assert blink.inside_change > 3 * blink.surround_change
    assert blink.ratio < 1.5
    assert not score_eye_cover(_run("blink"), max_ratio=2.9).fired


def test_a_blink_while_the_head_moves_is_compared_on_aligned_frames() -> None:
    (blink,) = _run("blink", motion_px=2).blinks  # 26 px over the blink's surroundings
    assert blink.ratio < 1.5


def test_a_cover_changes_the_surround_far_more_than_open_frames_differ() -> None:
    real = _run("blink").blinks[0]
    (cover,) = _run("cover").blinks
    assert cover.surround_change > 3 * real.surround_change
    assert cover.ratio > 2 * 2.9
    scored = score_eye_cover(_run("cover"), max_ratio=2.9)
    assert scored.fired and scored.value == cover.ratio


def test_no_blink_is_not_assessed() -> None:
    assert score_eye_cover(EyeCoverTest(), 2.9).score is None


def test_a_blink_without_two_open_frames_around_it_is_not_assessed() -> None:
    test = EyeCoverTest()
    base = fine_grey(texture(320, 320, seed=1))
    for t in (300.0, 340.0, 380.0):  # one open frame before the closure, none after
        test.update(t, _face(), measurements(fine=base))
    test.on_blink(BLINK)
    assert test.blinks == []
