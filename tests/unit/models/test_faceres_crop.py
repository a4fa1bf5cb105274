"""The faceres crop and input encoding, on synthetic images (no model needed)."""

from __future__ import annotations

import numpy as np
import pytest

from portraitmatch.adapters.models.faceres_embedder import CAFFE_BGR_MEANS, crop_face, to_model_input
from portraitmatch.errors import InputError
from portraitmatch.types import Box


def _ramp(height: int = 300, width: int = 400) -> np.ndarray:
    """Red grows left to right, green top to bottom: any shift or flip shows in the crop."""
    ys, xs = np.mgrid[0:height, 0:width]
    red, green = xs * 255 // (width - 1), ys * 255 // (height - 1)
    return np.stack([red, green, np.full_like(xs, 40)], -1).astype(np.uint8)


def test_zero_margin_crop_is_the_box_resized() -> None:
    image = _ramp()
    crop = crop_face(image, Box(100, 50, 224, 224), margin=0.0)
    assert crop.shape == (224, 224, 3) and crop.dtype == np.uint8
    np.testing.assert_array_equal(crop, image[50:274, 100:324])


def test_margin_enlarges_a_square_around_the_box_centre() -> None:
    image = _ramp()
    box = Box(150, 100, 80, 100)  # taller than wide: the square follows the longer side
    crop = crop_face(image, box, margin=0.2)
    side = 100 * 1.4
    left, top = round(box.cx - side / 2), round(box.cy - side / 2)
    # Corners of the crop sample the corners of that square (within resampling error).
    assert abs(int(crop[0, 0, 0]) - int(image[top, left, 0])) <= 2
    assert abs(int(crop[0, 0, 1]) - int(image[top, left, 1])) <= 2
    assert abs(int(crop[-1, -1, 0]) - int(image[top + 139, left + 139, 0])) <= 2
    assert abs(int(crop[-1, -1, 1]) - int(image[top + 139, left + 139, 1])) <= 2


def test_parts_outside_the_image_repeat_the_edge() -> None:
    image = _ramp()
    crop = crop_face(image, Box(-40, -40, 100, 100), margin=0.0)  # the top-left 40% lies outside
    # The outside part repeats row 0 / column 0 of the image, so it carries the edge's values.
    assert (crop[:80, :80] == image[0, 0]).all()
    # Above the image, the top row's left-to-right red ramp continues upwards unchanged.
    assert abs(int(crop[0, -1, 0]) - int(image[0, 59, 0])) <= 2
    assert crop[0, -1, 1] == 0


def test_box_outside_or_empty_is_refused() -> None:
    image = _ramp()
    with pytest.raises(InputError, match="outside"):
        crop_face(image, Box(1000, 1000, 50, 50))
    with pytest.raises(InputError, match="positive"):
        crop_face(image, Box(10, 10, -5, 50))
    with pytest.raises(InputError, match="uint8"):
        crop_face(image.astype(np.int32), Box(10, 10, 50, 50))


def test_model_input_is_bgr_minus_caffe_means() -> None:
    face = np.zeros((224, 224, 3), np.uint8)
    face[..., 0] = 255  # pure red
    x = to_model_input(face)
    assert x.dtype == np.float32 and x.shape == (224, 224, 3)
    blue, green, red = CAFFE_BGR_MEANS
    np.testing.assert_allclose(x[0, 0], [0 - blue, 0 - green, 255 - red])
