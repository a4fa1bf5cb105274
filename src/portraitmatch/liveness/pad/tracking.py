"""Follow small texture patches from frame to frame (OpenCV pyramidal Lucas-Kanade).

MediaPipe's landmarks cannot tell a flat photo from a head: on a tilted or folded print its mesh
still bends like a turning head (it fits a 3D face prior), which moved the nose tip and the face
outline by 4-11 % of the eye distance away from where the printed features really went (measured,
docs/pad.md). The pixels do not lie, so the flat-surface test follows the texture itself.

A grid of points covers the face and a margin around it in the frame where tracking starts. Each
new frame, every point is followed from the previous frame's fine grey crop to the current one
(`FrameMeasurements.fine_grey`: area-averaged, so fine texture does not alias into false motion)
by pyramidal Lucas-Kanade, and back again. A point whose window has no texture, that LK loses, or
whose way back misses its start by more than LK_MAX_FB_PX is marked unreliable and dropped from
the fit rather than guessed. The threshold is loose on purpose: where the nose hides part of the
cheek the window changes, and that parallax is the evidence sought.

Until the sixth session the points were followed by phase correlation of 16-pixel patches of the
nearest-neighbour 128-pixel crop; its noise (0.03-0.08 of the face size on turned prints) was as
large as a real head's parallax at 12-20° (docs/pad.md, sixth-session section).
"""

from __future__ import annotations

import cv2
import numpy as np

from portraitmatch.liveness.pad.measurements import FrameMeasurements

GRID_N = 7  # GRID_N x GRID_N points
GRID_SPAN = 1.5  # the grid covers this many face-box sizes
MIN_TEXTURE = 3.0  # grey-level standard deviation of a point's window below this: nothing to follow
LK_WINDOW = 31  # window side in pixels of `fine_grey` (about a quarter of the face)
LK_LEVELS = 3
LK_MAX_FB_PX = 4.0  # forward-backward disagreement (fine-crop pixels) above which a point is lost
_LK_CRITERIA = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 30, 0.01)


def grid_points(cx: float, cy: float, size: float) -> np.ndarray:
    """GRID_N x GRID_N image positions, row by row (top to bottom), centred on (cx, cy)."""
    ticks = (np.linspace(-0.5, 0.5, GRID_N) * size * GRID_SPAN).astype(np.float64)
    xs, ys = np.meshgrid(cx + ticks, cy + ticks)
    return np.stack([xs.ravel(), ys.ravel()], axis=1)


class PatchTracker:
    """Image positions of the grid points, updated with each frame's measurements."""

    def __init__(self, start: np.ndarray, first: FrameMeasurements) -> None:
        self.start = np.asarray(start, dtype=np.float64).copy()
        self.points = self.start.copy()
        self.reliable = np.full(len(self.start), first.fine_grey.size > 0, dtype=bool)
        self.steps = 0
        self._previous = first

    def update(self, current: FrameMeasurements) -> None:
        prev = self._previous
        self._previous = current
        self.steps += 1
        if current.fine_grey.size == 0 or prev.fine_grey.size == 0:
            self.reliable[:] = False
            return
        a = prev.to_fine(self.points).astype(np.float32).reshape(-1, 1, 2)
        # Both crops follow the face, so the point's old image position is the best first guess.
        guess = current.to_fine(self.points).astype(np.float32).reshape(-1, 1, 2)
        b, found, _ = _lk(prev.fine_grey, current.fine_grey, a, guess)
        back, found_back, _ = _lk(current.fine_grey, prev.fine_grey, b, a.copy())
        end = b.reshape(-1, 2)
        side = current.fine_grey.shape[0] - 1
        ok = (
            found.ravel().astype(bool)
            & found_back.ravel().astype(bool)
            & (np.linalg.norm((back - a).reshape(-1, 2), axis=1) < LK_MAX_FB_PX)
            & np.all((end >= 0) & (end <= side), axis=1)
            & _textured(prev.fine_grey, a.reshape(-1, 2))
        )
        moved = current.from_fine(end.astype(np.float64))
        self.points = np.where(ok[:, None], moved, self.points)
        self.reliable &= ok


def _lk(
    img0: np.ndarray, img1: np.ndarray, pts: np.ndarray, guess: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return cv2.calcOpticalFlowPyrLK(
        img0,
        img1,
        pts,
        guess,
        winSize=(LK_WINDOW, LK_WINDOW),
        maxLevel=LK_LEVELS,
        criteria=_LK_CRITERIA,
        flags=cv2.OPTFLOW_USE_INITIAL_FLOW,
    )


def _textured(grey: np.ndarray, centres: np.ndarray) -> np.ndarray:
    c = np.rint(centres).astype(np.intp)
    h, w = grey.shape
    offs = np.arange(LK_WINDOW) - LK_WINDOW // 2
    ys = np.clip(c[:, 1, None] + offs[None, :], 0, h - 1)
    xs = np.clip(c[:, 0, None] + offs[None, :], 0, w - 1)
    patches = grey[ys[:, :, None], xs[:, None, :]].astype(np.float32)
    return patches.std(axis=(1, 2)) >= MIN_TEXTURE
