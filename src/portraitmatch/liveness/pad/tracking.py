"""Follow small texture patches from frame to frame by phase correlation (numpy FFT only).

MediaPipe's landmarks cannot tell a flat photo from a head: on a tilted or folded print its mesh
still bends like a turning head (it fits a 3D face prior), which moved the nose tip and the face
outline by 4-11 % of the eye distance away from where the printed features really went (measured,
docs/pad.md). The pixels do not lie, so the flat-surface test follows the texture itself.

A grid of patches covers the face and a margin around it in the frame where tracking starts.
Each new frame, every patch is found again around its last position by phase correlation between
the previous and the current grey face crops (`FrameMeasurements.face_grey`), with sub-pixel peak
interpolation. Patches without texture, or whose correlation peak is weak, are marked unreliable
and dropped from the fit rather than guessed.
"""

from __future__ import annotations

import numpy as np

from portraitmatch.liveness.pad.measurements import FrameMeasurements

PATCH_PX = 16
GRID_N = 7  # GRID_N x GRID_N patches
GRID_SPAN = 1.5  # the grid covers this many face-box sizes
MIN_PEAK = 0.2  # phase-correlation peak below this: the patch was not found
MIN_TEXTURE = 3.0  # grey-level RMS below this: nothing to follow

_WINDOW = np.outer(np.hanning(PATCH_PX), np.hanning(PATCH_PX)).astype(np.float32)
_OFFSETS = np.arange(PATCH_PX) - PATCH_PX // 2


def grid_points(cx: float, cy: float, size: float) -> np.ndarray:
    """GRID_N x GRID_N image positions, row by row (top to bottom), centred on (cx, cy)."""
    ticks = (np.linspace(-0.5, 0.5, GRID_N) * size * GRID_SPAN).astype(np.float64)
    xs, ys = np.meshgrid(cx + ticks, cy + ticks)
    return np.stack([xs.ravel(), ys.ravel()], axis=1)


class PatchTracker:
    """Image positions of the grid patches, updated with each frame's measurements."""

    def __init__(self, start: np.ndarray, first: FrameMeasurements) -> None:
        self.start = np.asarray(start, dtype=np.float64).copy()
        self.points = self.start.copy()
        self.reliable = np.ones(len(self.start), dtype=bool)
        self.steps = 0
        self._previous = first

    def update(self, current: FrameMeasurements) -> None:
        prev = self._previous
        a, frac_a = _patches(prev.face_grey, prev.to_crop(self.points))
        b, frac_b = _patches(current.face_grey, current.to_crop(self.points))
        shift, peak, texture = phase_shift(a, b)
        # No outlier test against the other patches' steps: on a real head the background and the
        # face move differently from frame to frame, and that difference is the evidence sought.
        ok = (peak >= MIN_PEAK) & (texture >= MIN_TEXTURE)
        # Content at sub-pixel offset frac_a in the previous patch sits at frac_a + shift in the
        # current patch, whose centre is frac_b away from our current estimate.
        move = (shift + frac_a - frac_b) * current.crop_scale
        self.points = self.points + np.where(ok[:, None], move, 0.0)
        self.reliable &= ok
        self.steps += 1
        self._previous = current


def _patches(grey: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    c = np.rint(centres).astype(np.intp)
    h, w = grey.shape
    ys = np.clip(c[:, 1, None] + _OFFSETS[None, :], 0, h - 1)
    xs = np.clip(c[:, 0, None] + _OFFSETS[None, :], 0, w - 1)
    return grey[ys[:, :, None], xs[:, None, :]], centres - c


def phase_shift(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shift of each patch in `b` relative to `a` ((N, 2) x, y), its correlation peak and texture."""
    a = a - a.mean(axis=(1, 2), keepdims=True)
    b = b - b.mean(axis=(1, 2), keepdims=True)
    cross = np.fft.fft2(b * _WINDOW) * np.conj(np.fft.fft2(a * _WINDOW))
    cross /= np.abs(cross) + 1e-6
    surface = np.real(np.fft.ifft2(cross))
    n = surface.shape[0]
    flat = surface.reshape(n, -1)
    k = flat.argmax(axis=1)
    py, px = np.unravel_index(k, (PATCH_PX, PATCH_PX))
    rows = np.arange(n)
    peak = flat[rows, k]

    def refine(centre: np.ndarray, before: np.ndarray, after: np.ndarray) -> np.ndarray:
        den = before - 2 * centre + after
        safe = np.where(np.abs(den) > 1e-9, den, 1.0)
        return np.where(np.abs(den) > 1e-9, 0.5 * (before - after) / safe, 0.0)

    dx = refine(peak, surface[rows, py, (px - 1) % PATCH_PX], surface[rows, py, (px + 1) % PATCH_PX])
    dy = refine(peak, surface[rows, (py - 1) % PATCH_PX, px], surface[rows, (py + 1) % PATCH_PX, px])
    sx = (px + PATCH_PX // 2) % PATCH_PX - PATCH_PX // 2 + dx
    sy = (py + PATCH_PX // 2) % PATCH_PX - PATCH_PX // 2 + dy
    texture = np.sqrt(np.mean(a**2, axis=(1, 2)))
    return np.stack([sx, sy], axis=1), peak, texture
