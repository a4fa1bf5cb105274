"""Eye aspect ratio, head angles and boxes on synthetic points and matrices with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from portraitmatch.analysis.geometry import (
    IMAGE_LEFT_EYE,
    IMAGE_RIGHT_EYE,
    box_from_landmarks,
    eye_aspect_ratio,
    eye_aspect_ratios,
    head_angles_deg,
    rotation_from_angles_deg,
)


def _eye(cx: float, cy: float, width: float, opening: float) -> np.ndarray:
    """Six EAR points (corner, upper, upper, corner, lower, lower) of an eye `opening` px tall."""
    half = opening / 2
    return np.array(
        [
            [cx - width / 2, cy],
            [cx - width / 6, cy - half],
            [cx + width / 6, cy - half],
            [cx + width / 2, cy],
            [cx + width / 6, cy + half],
            [cx - width / 6, cy + half],
        ]
    )


def _mesh_with_eyes(left_opening: float, right_opening: float) -> np.ndarray:
    mesh = np.zeros((478, 3))
    mesh[list(IMAGE_LEFT_EYE), :2] = _eye(100, 100, 30, left_opening)
    mesh[list(IMAGE_RIGHT_EYE), :2] = _eye(160, 100, 30, right_opening)
    return mesh


def test_ear_is_opening_over_width() -> None:
    points = _eye(50, 50, 30, 9)
    assert eye_aspect_ratio(points, range(6)) == pytest.approx(9 / 30)
    assert eye_aspect_ratio(_eye(50, 50, 30, 0), range(6)) == pytest.approx(0.0)


def test_ear_does_not_depend_on_scale_or_position() -> None:
    points = _eye(50, 50, 30, 9)
    assert eye_aspect_ratio(points * 3 + 200, range(6)) == pytest.approx(eye_aspect_ratio(points, range(6)))


def test_ear_of_a_degenerate_eye_is_zero() -> None:
    assert eye_aspect_ratio(np.zeros((6, 2)), range(6)) == 0.0


def test_ear_needs_six_points() -> None:
    with pytest.raises(ValueError):
        eye_aspect_ratio(np.zeros((6, 2)), range(5))


def test_eye_aspect_ratios_are_image_left_then_image_right() -> None:
    left, right = eye_aspect_ratios(_mesh_with_eyes(left_opening=9, right_opening=1.5))
    assert left == pytest.approx(0.3)
    assert right == pytest.approx(0.05)


@pytest.mark.parametrize(
    ("yaw", "pitch", "roll"),
    [(0, 0, 0), (30, 0, 0), (-45, 0, 0), (0, 20, 0), (0, -35, 0), (0, 0, 15), (25, -15, 10), (-40, 30, -20)],
)
def test_angles_round_trip(yaw: float, pitch: float, roll: float) -> None:
    matrix = np.eye(4)
    matrix[:3, :3] = rotation_from_angles_deg(yaw, pitch, roll)
    matrix[:3, 3] = (1.0, -2.0, -40.0)  # translation must not matter
    assert head_angles_deg(matrix) == pytest.approx((yaw, pitch, roll), abs=1e-9)


def test_sign_conventions_follow_the_nose() -> None:
    # The canonical face looks along +z (towards the camera); camera x is image-right, y is up.
    forward = np.array([0.0, 0.0, 1.0])
    turned = rotation_from_angles_deg(20, 0, 0) @ forward
    assert turned[0] > 0, "yaw > 0 must move the nose towards the image right"
    nodded = rotation_from_angles_deg(0, 20, 0) @ forward
    assert nodded[1] > 0, "pitch > 0 must move the nose up"
    right_eye = np.array([1.0, 0.0, 0.0])  # a point on the image-right side of the face
    tilted = rotation_from_angles_deg(0, 0, 20) @ right_eye
    assert tilted[1] > 0, "roll > 0 must lift the image-right side"


def test_pure_turns_agree_with_the_dev_trace_formulas() -> None:
    # The dev set's traces used yaw = asin(-R20) and pitch = -atan2(R21, R22).
    for yaw in (-50, -10, 15, 45):
        r = rotation_from_angles_deg(yaw, 0, 0)
        assert math.degrees(math.asin(-r[2, 0])) == pytest.approx(head_angles_deg(r)[0])
    for pitch in (-30, 5, 40):
        r = rotation_from_angles_deg(0, pitch, 0)
        assert -math.degrees(math.atan2(r[2, 1], r[2, 2])) == pytest.approx(head_angles_deg(r)[1])


def test_uniform_scale_is_ignored() -> None:
    r = rotation_from_angles_deg(12, -7, 3)
    assert head_angles_deg(2.5 * r) == pytest.approx(head_angles_deg(r))


def test_bad_matrices_are_rejected() -> None:
    with pytest.raises(ValueError):
        head_angles_deg(np.eye(2))
    with pytest.raises(ValueError):
        head_angles_deg(np.zeros((4, 4)))
    with pytest.raises(ValueError):
        head_angles_deg(np.full((3, 3), np.nan))


def test_box_from_landmarks_is_tight_and_unclipped() -> None:
    box = box_from_landmarks(np.array([[10.0, 20.0, 0.0], [50.0, 5.0, 1.0], [-4.0, 30.0, 2.0]]))
    assert (box.x, box.y, box.w, box.h) == (-4.0, 5.0, 54.0, 25.0)
    with pytest.raises(ValueError):
        box_from_landmarks(np.zeros((0, 3)))
