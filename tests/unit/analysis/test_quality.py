"""assess_quality on real face crops (dev LFW photos) and on copies degraded on purpose."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from portraitmatch.analysis.geometry import IMAGE_LEFT_EYE, IMAGE_RIGHT_EYE
from portraitmatch.analysis.quality import assess_quality
from portraitmatch.config import QualitySettings
from portraitmatch.types import Box, Reason

SETTINGS = QualitySettings()
# LFW photos are 250x250 with the face near the middle: the median MediaPipe landmark box over the
# subset is (78, 79, 96, 111).
LFW_FACE = Box(78.0, 79.0, 96.0, 111.0)
PEOPLE = ["Ariel_Sharon", "Colin_Powell", "George_W_Bush", "Hugo_Chavez", "Tony_Blair", "Vladimir_Putin"]


@pytest.fixture(scope="module")
def lfw_photos(dev_data: Path) -> list[np.ndarray]:
    photos = []
    for person in PEOPLE:
        path = dev_data / "verification" / "lfw_subset" / "images" / person / f"{person}_0001.jpg"
        bgr = cv2.imread(str(path))
        assert bgr is not None, f"cannot read {path}"
        photos.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    return photos


def test_ordinary_photos_are_usable(lfw_photos: list[np.ndarray]) -> None:
    for rgb in lfw_photos:
        q = assess_quality(rgb, LFW_FACE, None, SETTINGS)
        assert q.is_usable, q
        assert q.face_px == pytest.approx(np.sqrt(96 * 111))
        assert 60 < q.brightness < 200


def test_blur_is_flagged_and_lowers_sharpness(lfw_photos: list[np.ndarray]) -> None:
    for rgb in lfw_photos:
        sharp = assess_quality(rgb, LFW_FACE, None, SETTINGS)
        blurred = assess_quality(cv2.GaussianBlur(rgb, (0, 0), 3), LFW_FACE, None, SETTINGS)
        assert blurred.sharpness < sharp.sharpness / 3
        assert blurred.reasons == (Reason.BLURRED,)


def test_darkness_is_flagged_without_calling_it_blur(lfw_photos: list[np.ndarray]) -> None:
    for rgb in lfw_photos:
        dark = (rgb * 0.15).astype(np.uint8)
        q = assess_quality(dark, LFW_FACE, None, SETTINGS)
        assert q.reasons == (Reason.TOO_DARK,), q
        assert q.brightness < SETTINGS.min_brightness


def test_overexposure_is_flagged(lfw_photos: list[np.ndarray]) -> None:
    for rgb in lfw_photos:
        burnt = np.clip(rgb.astype(np.int32) * 3, 0, 255).astype(np.uint8)
        q = assess_quality(burnt, LFW_FACE, None, SETTINGS)
        assert Reason.OVEREXPOSED in q.reasons
        assert q.overexposed_fraction > SETTINGS.max_overexposed_fraction


def test_small_face_is_flagged(lfw_photos: list[np.ndarray]) -> None:
    small = cv2.resize(lfw_photos[0], (125, 125), interpolation=cv2.INTER_AREA)
    box = Box(LFW_FACE.x / 2, LFW_FACE.y / 2, LFW_FACE.w / 2, LFW_FACE.h / 2)
    q = assess_quality(small, box, None, SETTINGS)
    assert Reason.FACE_TOO_SMALL in q.reasons
    assert q.face_px < SETTINGS.min_face_px


def test_off_centre_and_cut_off_faces(lfw_photos: list[np.ndarray]) -> None:
    rgb = lfw_photos[1]
    canvas = np.full((600, 1000, 3), 128, np.uint8)
    canvas[:250, 750:] = rgb  # the photo in the top-right corner
    corner = Box(LFW_FACE.x + 750, LFW_FACE.y, LFW_FACE.w, LFW_FACE.h)
    assert Reason.OFF_CENTRE in assess_quality(canvas, corner, None, SETTINGS).reasons

    cut = np.ascontiguousarray(rgb[:, : int(LFW_FACE.cx)])  # the right half of the face is gone
    q = assess_quality(cut, LFW_FACE, None, SETTINGS)
    assert Reason.FACE_CUT_OFF in q.reasons


def test_a_face_entirely_outside_the_frame_is_cut_off_and_nothing_else_is_measured() -> None:
    frame = np.full((100, 100, 3), 120, np.uint8)
    q = assess_quality(frame, Box(150, 0, 100, 100), None, SETTINGS)
    assert q.reasons == (Reason.FACE_CUT_OFF,)
    assert q.sharpness == 0.0 and q.brightness == 0.0


def _eye_points(mesh: np.ndarray, eye: tuple[int, ...], cx: float, cy: float) -> None:
    offsets = [(-15, 0), (-5, -5), (5, -5), (15, 0), (5, 5), (-5, 5)]
    for index, (dx, dy) in zip(eye, offsets, strict=True):
        mesh[index, :2] = (cx + dx, cy + dy)


def test_eyes_outside_the_frame_or_covered_are_not_visible(lfw_photos: list[np.ndarray]) -> None:
    rgb = lfw_photos[0]
    mesh = np.zeros((478, 3))
    # Ariel Sharon's eyes in this LFW photo are near (108, 118) and (142, 118).
    _eye_points(mesh, IMAGE_LEFT_EYE, 108, 118)
    _eye_points(mesh, IMAGE_RIGHT_EYE, 142, 118)
    assert Reason.EYES_NOT_VISIBLE not in assess_quality(rgb, LFW_FACE, mesh, SETTINGS).reasons

    covered = rgb.copy()
    covered[100:135, 85:165] = rgb[170, 125]  # a skin-coloured band over both eyes
    assert Reason.EYES_NOT_VISIBLE in assess_quality(covered, LFW_FACE, mesh, SETTINGS).reasons

    outside = mesh.copy()
    _eye_points(outside, IMAGE_RIGHT_EYE, 245, 118)  # reaches past the right edge
    assert Reason.EYES_NOT_VISIBLE in assess_quality(rgb, LFW_FACE, outside, SETTINGS).reasons


def test_thresholds_come_from_settings(lfw_photos: list[np.ndarray]) -> None:
    rgb = lfw_photos[0]
    strict = QualitySettings(min_face_px=200, min_brightness=200, max_brightness=250)
    reasons = assess_quality(rgb, LFW_FACE, None, strict).reasons
    assert Reason.FACE_TOO_SMALL in reasons and Reason.TOO_DARK in reasons


def test_settings_refuse_an_empty_brightness_range() -> None:
    with pytest.raises(ValueError):
        QualitySettings(min_brightness=200, max_brightness=100)


def test_rejects_non_rgb_pixels() -> None:
    with pytest.raises(ValueError):
        assess_quality(np.zeros((10, 10), np.uint8), Box(0, 0, 5, 5), None, SETTINGS)
