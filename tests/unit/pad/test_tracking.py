import numpy as np

from portraitmatch.liveness.pad.tracking import PATCH_PX, PatchTracker, grid_points, phase_shift
from tests.unit.pad.samples import measurements, texture


def _shift(img: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """Sub-pixel shift by Fourier phase (exact for periodic content)."""
    h, w = img.shape
    fy, fx = np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :]
    return np.real(np.fft.ifft2(np.fft.fft2(img) * np.exp(-2j * np.pi * (fx * dx + fy * dy)))).astype(
        np.float32
    )


def test_phase_correlation_finds_sub_pixel_shifts() -> None:
    base = texture(64, 64, seed=3)
    shifts = [(1.3, -0.6), (-2.2, 0.4), (0.0, 2.7)]
    a = np.stack([base[20 : 20 + PATCH_PX, 20 : 20 + PATCH_PX]] * len(shifts))
    b = np.stack([_shift(base, dx, dy)[20 : 20 + PATCH_PX, 20 : 20 + PATCH_PX] for dx, dy in shifts])
    found, peak, tex = phase_shift(a, b)
    np.testing.assert_allclose(found, np.array(shifts), atol=0.35)
    assert (peak > 0.2).all() and (tex > 3).all()


def test_flat_patches_are_marked_unreliable() -> None:
    flat = np.full((128, 128), 90.0, np.float32)
    m0, m1 = measurements(flat), measurements(flat.copy())
    tracker = PatchTracker(grid_points(64, 64, 60), m0)
    tracker.update(m1)
    assert not tracker.reliable.any()


def test_tracker_follows_a_moving_texture() -> None:
    base = texture(128, 128, seed=5)
    m0 = measurements(base)
    m1 = measurements(_shift(base, 1.5, -1.0))
    m2 = measurements(_shift(base, 3.0, -2.0))
    start = grid_points(64, 64, 50)
    tracker = PatchTracker(start, m0)
    tracker.update(m1)
    tracker.update(m2)
    moved = tracker.points[tracker.reliable] - start[tracker.reliable]
    assert tracker.reliable.sum() > 20
    # parabolic peak interpolation is biased by up to ~0.15 px a step; chained over two steps
    np.testing.assert_allclose(np.median(moved, axis=0), [3.0, -2.0], atol=0.45)
