import cv2
import numpy as np

from portraitmatch.liveness.pad.tracking import PatchTracker, grid_points
from tests.unit.pad.samples import fine_grey, measurements, texture


def _shift(img: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """Sub-pixel shift by Fourier phase (exact for periodic content)."""
    h, w = img.shape
    fy, fx = np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :]
    return np.real(np.fft.ifft2(np.fft.fft2(img) * np.exp(-2j * np.pi * (fx * dx + fy * dy)))).astype(
        np.float32
    )


def test_tracker_follows_a_moving_texture_with_sub_pixel_accuracy() -> None:
    base = texture(160, 160, seed=5)
    frames = [measurements(fine=fine_grey(_shift(base, 1.2 * k, -0.7 * k))) for k in range(5)]
    start = grid_points(80, 80, 60)
    tracker = PatchTracker(start, frames[0])
    for m in frames[1:]:
        tracker.update(m)
    moved = tracker.points[tracker.reliable] - start[tracker.reliable]
    assert tracker.reliable.sum() >= 40
    np.testing.assert_allclose(moved, np.tile([4.8, -2.8], (len(moved), 1)), atol=0.15)


def test_tracker_works_in_image_pixels_whatever_each_crop_covers() -> None:
    # The same scene seen through two crops with different origins and scales: no motion at all.
    scene = fine_grey(texture(400, 400, seed=9))
    a = cv2.resize(scene[40:360, 40:360].astype(np.float32), (160, 160), interpolation=cv2.INTER_AREA)
    b = cv2.resize(scene[50:370, 30:350].astype(np.float32), (160, 160), interpolation=cv2.INTER_AREA)
    m0 = measurements(fine=a, fine_origin=(40, 40), fine_scale=2.0)
    m1 = measurements(fine=b, fine_origin=(30, 50), fine_scale=2.0)
    start = grid_points(200, 200, 150)
    tracker = PatchTracker(start, m0)
    tracker.update(m1)
    assert tracker.reliable.sum() >= 40
    np.testing.assert_allclose(tracker.points[tracker.reliable], start[tracker.reliable], atol=0.35)


def test_tracker_drops_untextured_points() -> None:
    flat = np.full((160, 160), 90.0)
    tracker = PatchTracker(grid_points(80, 80, 60), measurements(fine=flat))
    tracker.update(measurements(fine=flat.copy()))
    assert not tracker.reliable.any()
