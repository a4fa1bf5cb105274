"""The sheet model explains any bent or tilted sheet and leaves a head's parallax unexplained."""

import numpy as np
import pytest

from portraitmatch.liveness.pad.flat_motion import (
    FlatMotionTest,
    fit_homography,
    score_flat_motion,
    sheet_residual,
)
from portraitmatch.liveness.pad.tracking import GRID_N, grid_points
from tests.unit.pad.samples import face, fine_grey, measurements, texture

F = 800.0  # focal length in pixels
SIZE = 200.0  # face size in pixels


def _project(p: np.ndarray) -> np.ndarray:
    return np.stack([F * p[:, 0] / (p[:, 2] + F) + 320, F * p[:, 1] / (p[:, 2] + F) + 240], axis=1)


def _rotate_yaw(p: np.ndarray, deg: float) -> np.ndarray:
    a = np.radians(deg)
    r = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    return p @ r.T


def _grid_surface(depth) -> np.ndarray:
    g = grid_points(0.0, 0.0, SIZE)
    return np.c_[g, depth(g[:, 0], g[:, 1])]


def _residual(depth, deg: float, axis: str = "yaw") -> float:
    p = _grid_surface(depth)
    start, end = _project(p), _project(_rotate_yaw(p, deg))
    value, used = sheet_residual(start, end, np.ones(GRID_N * GRID_N, bool), axis)
    assert used == GRID_N * GRID_N
    return value / SIZE


def _flat(x, y):
    return np.zeros_like(x)


def _fold(x, y):  # a crease along the vertical midline, both halves 30° back
    return np.abs(x) * np.tan(np.radians(30))


def _cylinder(x, y):  # the sheet curved around a vertical axis
    r = 1.2 * SIZE
    return r - np.sqrt(np.maximum(r**2 - x**2, 0))


def _head(x, y):  # an ellipsoid face with a nose
    r = 0.55 * SIZE
    sphere = -np.sqrt(np.maximum(r**2 - x**2 - (0.8 * y) ** 2, 0))
    nose = -0.3 * SIZE * np.exp(-(x**2 + (y - 0.05 * SIZE) ** 2) / (2 * (0.08 * SIZE) ** 2))
    return sphere + nose


@pytest.mark.parametrize("surface", [_flat, _fold, _cylinder])
def test_sheets_leave_no_residual(surface) -> None:
    assert _residual(surface, 35) < 1e-3


def test_a_head_turn_leaves_parallax() -> None:
    assert _residual(_head, 15) > 0.02
    assert _residual(_head, 30) > _residual(_head, 15)


def test_pitch_uses_rows() -> None:
    p = _grid_surface(_fold)
    a = np.radians(30)
    tilt = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    # A fold along a *vertical* crease tilted up/down is not explained row by row
    folded = sheet_residual(_project(p), _project(p @ tilt.T), np.ones(len(p), bool), "pitch")[0]
    flat = _grid_surface(_flat)
    plane = sheet_residual(_project(flat), _project(flat @ tilt.T), np.ones(len(p), bool), "pitch")[0]
    assert plane < 1e-6
    assert folded >= 0.0


def test_unreliable_patches_are_left_out() -> None:
    p = _grid_surface(_flat)
    start, end = _project(p), _project(_rotate_yaw(p, 20))
    lost = np.arange(GRID_N)  # a row of patches that lost their texture and jumped
    end[lost] += 50.0
    reliable = np.ones(len(p), bool)
    assert sheet_residual(start, end, reliable, "yaw")[0] > 1.0
    reliable[lost] = False
    assert sheet_residual(start, end, reliable, "yaw")[0] < 1e-3


def test_homography_fit_recovers_a_known_one() -> None:
    h = np.array([[1.1, 0.05, 12.0], [-0.03, 0.95, -7.0], [1e-4, -2e-4, 1.0]])
    a = np.random.default_rng(1).uniform(0, 400, (30, 2))
    b = np.c_[a, np.ones(30)] @ h.T
    b = b[:, :2] / b[:, 2:]
    np.testing.assert_allclose(fit_homography(a, b), h, rtol=1e-6, atol=1e-8)


def test_a_turn_cut_short_by_a_lost_face_is_reported_not_held_against_the_capture() -> None:
    m = measurements(fine=fine_grey(texture(320, 320, seed=4)))
    test = FlatMotionTest(eval_deg=12.0)
    test.update(face(), m, 0.0, 0.0)  # neutral
    test.update(face(), m, 15.0, 0.0)  # turned past eval_deg: a turn is under way
    test.update(None, None, 0.0, 0.0)  # the face is lost before the turn comes back
    test.finish()
    assert test.turns == [] and test.unmeasured == 1
    score = score_flat_motion(test, 0.035)
    assert score.score is None and "1 turn(s) not measured" in score.detail
