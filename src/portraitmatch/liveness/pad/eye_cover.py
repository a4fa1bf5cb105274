"""Blink appearance: a real blink changes the eye opening only; a flap or a card over the eyes
changes what lies around them too.

A blink moves the upper lid over the eye; the brow, the skin between the eyes, the outer corner
and the cheek below barely change (the lid crease and lashes do, inside the eye region). A fake
blink made by covering the eyes of a photo (a paper strip, a cut-out flap, a finger) has to reach
beyond the eye opening to hide it, so during the "closure" the regions around the eyes change as
much as the eyes themselves.

For every blink (found by the checker's own `BlinkDetector` with the checker's parameters, fed by
the accumulator, so the same closures the challenge counts) the grey level of five regions per eye is compared between the closed frames and the open
frames just before: the eye opening itself and four regions around it (brow zone above, cheek
below, outer and inner side). Regions are placed from the eye corners in each frame, so head
motion moves them with the eye. The change of the surround is divided by the face's contrast
(grey-level standard deviation of the face crop). The capture's value is the largest surround
change over its blinks; a real blink leaves about 0.1-0.3, a cover more.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from portraitmatch.liveness.blink import Blink
from portraitmatch.liveness.pad.measurements import FrameMeasurements
from portraitmatch.liveness.pad.result import SignalScore, ratio_score
from portraitmatch.types import FaceObservation, Reason

NAME = "eye_cover"
EYES = ((33, 133), (263, 362))  # (outer, inner) corner of the eye on the image left, image right
BASELINE_MS = (450.0, 60.0)  # open frames this long before the closure start (from, to)
HISTORY_MS = 2500.0
_N_REGIONS = 5  # inside, above, below, outer, inner


@dataclass(frozen=True, slots=True)
class BlinkAppearance:
    t_ms: float
    surround_change: float  # mean over the four surrounding regions and both eyes / face contrast
    inside_change: float


def eye_regions(m: FrameMeasurements, face: FaceObservation) -> np.ndarray | None:
    """(2 eyes, 5 regions) mean grey levels divided by the face crop's contrast, or None."""
    if face.landmarks.shape[0] < 478:
        return None
    grey = m.face_grey
    contrast = float(grey.std()) or 1.0
    h, w = grey.shape
    out = np.zeros((2, _N_REGIONS))
    for e, (outer, inner) in enumerate(EYES):
        p_out, p_in = m.to_crop(face.landmarks[[outer, inner]])
        c = (p_out + p_in) / 2
        width = float(np.linalg.norm(p_out - p_in))
        if width < 4:
            return None
        side = 1.0 if p_out[0] > p_in[0] else -1.0  # +1: the outer corner is to the right
        boxes = (
            (c[0] - 0.6 * width, c[0] + 0.6 * width, c[1] - 0.35 * width, c[1] + 0.35 * width),
            (c[0] - 0.8 * width, c[0] + 0.8 * width, c[1] - 1.0 * width, c[1] - 0.45 * width),
            (c[0] - 0.8 * width, c[0] + 0.8 * width, c[1] + 0.45 * width, c[1] + 0.9 * width),
            _side_box(c, width, side),
            _side_box(c, width, -side),
        )
        for r, (x0, x1, y0, y1) in enumerate(boxes):
            xa, xb = int(np.clip(x0, 0, w - 1)), int(np.clip(x1, 1, w))
            ya, yb = int(np.clip(y0, 0, h - 1)), int(np.clip(y1, 1, h))
            if xb <= xa or yb <= ya:
                return None
            out[e, r] = float(grey[ya:yb, xa:xb].mean()) / contrast
    return out


def _side_box(c: np.ndarray, width: float, direction: float) -> tuple[float, float, float, float]:
    near, far = c[0] + direction * 0.7 * width, c[0] + direction * 1.1 * width
    return (min(near, far), max(near, far), c[1] - 0.35 * width, c[1] + 0.35 * width)


class EyeCoverTest:
    """Keeps the last seconds of eye-region measurements; `on_blink` judges each confirmed blink."""

    def __init__(self) -> None:
        self._history: deque[tuple[float, np.ndarray]] = deque()
        self.blinks: list[BlinkAppearance] = []

    def update(self, t_ms: float, face: FaceObservation | None, m: FrameMeasurements | None) -> None:
        if face is not None and m is not None:
            regions = eye_regions(m, face)
            if regions is not None:
                self._history.append((t_ms, regions))
        while self._history and self._history[0][0] < t_ms - HISTORY_MS:
            self._history.popleft()

    def on_blink(self, blink: Blink) -> None:
        start = blink.t_start_ms
        base = [r for t, r in self._history if start - BASELINE_MS[0] <= t <= start - BASELINE_MS[1]]
        closed = [r for t, r in self._history if start <= t < blink.t_end_ms]
        if len(base) < 2 or not closed:
            return
        ref = np.mean(base, axis=0)
        change = np.max(np.abs(np.asarray(closed) - ref), axis=0)  # (2, 5): largest change per region
        self.blinks.append(BlinkAppearance(blink.t_min_ms, float(change[:, 1:].mean()), float(change[:, 0].mean())))


def score_eye_cover(test: EyeCoverTest, max_change: float) -> SignalScore:
    if not test.blinks:
        return SignalScore(NAME, Reason.EYE_COVER_SUSPECTED, None, None, max_change, "no blink measured")
    worst = max(test.blinks, key=lambda b: b.surround_change)
    detail = ", ".join(f"{b.t_ms / 1000:.1f}s: around {b.surround_change:.2f} / inside {b.inside_change:.2f}" for b in test.blinks)
    return SignalScore(
        NAME, Reason.EYE_COVER_SUSPECTED, ratio_score(worst.surround_change, max_change, attack_if="above"),
        worst.surround_change, max_change, detail,
    )  # fmt: skip
