"""Blink appearance: a real blink changes the eye opening only; a flap or a card over the eyes
changes what lies around them too.

A blink moves the upper lid over the eye; the brow, the skin between the eyes, the outer corner
and the cheek below barely change (the lid crease and lashes do, inside the eye region). A fake
blink made by covering the eyes of a photo (a paper strip, a cut-out flap, a finger) has to reach
beyond the eye opening to hide it, so during the "closure" the regions around the eyes change as
much as the eyes themselves.

For every blink (found by the checker's own `BlinkDetector` with the checker's parameters, fed by
the accumulator, so the same closures the challenge counts) five regions per eye are compared
between the closed frames and the open frames just before: the eye opening itself and four
regions around it (brow zone above, cheek below, outer and inner side). Each region is described
by its mean grey level and its texture (mean absolute grey-level gradient), both divided by the
face's contrast (grey-level standard deviation of the face crop): a skin-coloured strip hardly
changes the mean but wipes out the texture of brow and lid crease. Regions are placed from the
eye corners in each frame, so head motion moves them with the eye. The capture's value is the
largest surround change over its blinks.
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
AFTER_MS = 150.0  # open frames after the reopening (the blink is confirmed this long after it)
HISTORY_MS = 2500.0
_N_REGIONS = 5  # inside, above, below, outer, inner


@dataclass(frozen=True, slots=True)
class BlinkAppearance:
    t_ms: float
    surround_change: float  # mean over the four surrounding regions and both eyes / face contrast
    inside_change: float


def eye_regions(m: FrameMeasurements, face: FaceObservation) -> np.ndarray | None:
    """(2 eyes, 5 regions, 2) mean grey level and texture divided by the face crop's contrast, or None."""
    if face.landmarks.shape[0] < 478:
        return None
    grey = m.face_grey
    contrast = float(grey.std()) or 1.0
    h, w = grey.shape
    out = np.zeros((2, _N_REGIONS, 2))
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
            region = grey[ya:yb, xa:xb]
            texture = float(np.abs(np.diff(region, axis=1)).mean()) if region.shape[1] > 1 else 0.0
            out[e, r] = (float(region.mean()) / contrast, texture / contrast)
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
        start, end = blink.t_start_ms, blink.t_end_ms
        before = [(t, r) for t, r in self._history if start - BASELINE_MS[0] <= t <= start - BASELINE_MS[1]]
        after = [(t, r) for t, r in self._history if end <= t <= end + AFTER_MS]
        closed = [(t, r) for t, r in self._history if start <= t < end]
        if len(before) < 2 or not closed:
            return
        t0, r0 = float(np.mean([t for t, _ in before])), np.mean([r for _, r in before], axis=0)
        if after:
            # The head may be moving (a blink on the way back from a turn): compare each closed
            # frame with the open look interpolated between just before and just after the blink.
            t1, r1 = float(np.mean([t for t, _ in after])), np.mean([r for _, r in after], axis=0)
        else:
            t1, r1 = t0, r0
        changes = []
        for t, r in closed:
            w = 0.0 if t1 <= t0 else float(np.clip((t - t0) / (t1 - t0), 0.0, 1.0))
            changes.append(np.abs(r - ((1 - w) * r0 + w * r1)))
        # Largest change per eye and region over the closed frames, mean or texture whichever moved more.
        change = np.max(changes, axis=0).max(axis=2)  # (2 eyes, 5 regions)
        self.blinks.append(
            BlinkAppearance(blink.t_min_ms, float(change[:, 1:].mean()), float(change[:, 0].mean()))
        )


def score_eye_cover(test: EyeCoverTest, max_change: float) -> SignalScore:
    if not test.blinks:
        return SignalScore(NAME, Reason.EYE_COVER_SUSPECTED, None, None, max_change, "no blink measured")
    worst = max(test.blinks, key=lambda b: b.surround_change)
    detail = ", ".join(
        f"{b.t_ms / 1000:.1f}s: around {b.surround_change:.2f} / inside {b.inside_change:.2f}"
        for b in test.blinks
    )
    return SignalScore(
        NAME,
        Reason.EYE_COVER_SUSPECTED,
        ratio_score(worst.surround_change, max_change, attack_if="above"),
        worst.surround_change,
        max_change,
        detail,
    )
