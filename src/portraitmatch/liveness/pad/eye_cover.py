"""Blink appearance: a real blink changes the eye opening; a flap or a strip over the eyes of a
photo changes what lies around them too.

A blink moves the upper lid over the eye; the brow, the skin between the eyes, the outer corner
and the cheek change little (the lid crease, the lashes and the brows move a bit). A fake blink
made by covering the eyes of a photo (a paper strip, cut-out flaps of closed eyes, a finger) has
to reach beyond the eye opening to hide it, so during the "closure" the surround changes too.

For every blink (found by the checker's own `BlinkDetector` with the checker's parameters, fed by
the accumulator, so the same closures the challenge counts) each closed frame is compared pixel by
pixel with the open frames on either side of the blink, on the tracker's area-averaged face crop
(`FrameMeasurements.fine_grey`), blurred a little, after aligning the open frame onto the closed
one with a homography fitted (RANSAC) on landmarks the lids do not move (eye corners, brows, nose
bridge and tip). The *surround change* is the mean absolute difference over a ring around each eye
opening, over the face's contrast.

How much the surround changes also depends on the capture: head motion the homography does not
explain, compression noise, a low frame rate. So each blink's surround change is divided by the
same measure between two open frames around it (the earliest open frame before the blink against
the first one after it): a real face's surround changes about as much during a blink as between
open frames (dev clips and re-encodings: ratio ≤ 1.9), while a photo held still barely changes
between open frames and a cover then stands out (docs/pad.md, seventh session).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np

from portraitmatch.liveness.blink import Blink
from portraitmatch.liveness.pad.measurements import FrameMeasurements
from portraitmatch.liveness.pad.result import SignalScore, ratio_score
from portraitmatch.types import FaceObservation, Reason

NAME = "eye_cover"
EYES = ((33, 133), (263, 362))  # (outer, inner) corner of the eye on the image left, image right
# Landmarks the lids leave in place: eye corners, nose bridge and tip, brows.
ANCHORS = (33, 133, 263, 362, 168, 6, 1, 70, 105, 107, 336, 334, 300)
BASELINE_MS = (450.0, 60.0)  # open frames this long before the closure start (from, to)
AFTER_MS = 150.0  # open frames after the reopening (the blink is confirmed this long after it)
HISTORY_MS = 2500.0
BLUR_SIGMA = 2.5  # fine-crop pixels (~1/50 of a face): compression noise and sub-pixel misalignment
MIN_OPEN_CHANGE = 0.05  # floor of the open-frame change: a perfectly still capture is not infinitely suspect
_ANCHOR_ROWS = np.array(ANCHORS)  # landmark rows kept per frame
_EYE_ROWS = tuple((ANCHORS.index(outer), ANCHORS.index(inner)) for outer, inner in EYES)  # in a look's points


@dataclass(frozen=True, slots=True)
class BlinkAppearance:
    t_ms: float
    surround_change: float  # largest over the closed frames: mean |closed - open| around the eyes / contrast
    open_change: float  # the same measure between two open frames around the blink
    inside_change: float  # the same inside the eye openings (a blink's own change), for the detail

    @property
    def ratio(self) -> float:
        return self.surround_change / max(self.open_change, MIN_OPEN_CHANGE)


@dataclass(frozen=True, slots=True)
class _Look:
    t_ms: float
    grey: np.ndarray  # the frame's fine crop (uint8, shared with its FrameMeasurements)
    points: np.ndarray  # (len(ANCHORS), 2) float32 anchor landmarks in fine-crop pixels


def _masks(points: np.ndarray, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray] | None:
    """(ring around the eye openings, the openings) as boolean masks, or None if an eye is degenerate."""
    h, w = shape[:2]
    outer_box = np.zeros((h, w), bool)
    inside = np.zeros((h, w), bool)
    for outer, inner in _EYE_ROWS:
        p_out, p_in = points[outer], points[inner]
        c = (p_out + p_in) / 2
        width = float(np.linalg.norm(p_out - p_in))
        if width < 4:
            return None
        _fill(outer_box, c, width, (-1.1, 1.1, -1.0, 0.9))
        _fill(inside, c, width, (-0.6, 0.6, -0.45, 0.4))
    ring = outer_box & ~inside
    if not ring.any() or not inside.any():
        return None
    return ring, inside


def _fill(mask: np.ndarray, c: np.ndarray, width: float, box: tuple[float, float, float, float]) -> None:
    h, w = mask.shape
    x0, x1, y0, y1 = box
    xa, xb = int(np.clip(c[0] + x0 * width, 0, w)), int(np.clip(c[0] + x1 * width, 0, w))
    ya, yb = int(np.clip(c[1] + y0 * width, 0, h)), int(np.clip(c[1] + y1 * width, 0, h))
    mask[ya:yb, xa:xb] = True


class _Blurred(dict[int, np.ndarray]):
    """Each look's blurred crop, computed once per blink however often it is compared."""

    def of(self, look: _Look) -> np.ndarray:
        key = id(look)
        if key not in self:
            self[key] = cv2.GaussianBlur(look.grey.astype(np.float32), (0, 0), BLUR_SIGMA)
        return self[key]


def _change(look: _Look, references: list[_Look], blurred: _Blurred) -> tuple[float, float] | None:
    """(surround, inside) change of `look` against the closest-looking aligned reference, per pixel."""
    masks = _masks(look.points, look.grey.shape)
    if masks is None:
        return None
    ring, inside = masks
    grey = blurred.of(look)
    h, w = grey.shape
    diffs = []
    for ref in references:
        # A homography maps a photo held in the hand onto itself exactly (it is a plane), so a
        # photo's open frames differ by noise only; a real face's do not, nor do a cover's.
        m, _ = cv2.findHomography(ref.points, look.points, cv2.RANSAC, 3.0)
        if m is None:
            continue
        warped = cv2.warpPerspective(
            blurred.of(ref), m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        diffs.append(np.abs(grey - warped))
    if not diffs:
        return None
    # Each pixel against whichever open frame it resembles more: the head may move during the blink.
    diff = np.min(diffs, axis=0)
    contrast = float(grey[ring | inside].std()) or 1.0
    return float(diff[ring].mean()) / contrast, float(diff[inside].mean()) / contrast


class EyeCoverTest:
    """Keeps the last seconds of face crops; `on_blink` judges each confirmed blink."""

    def __init__(self) -> None:
        self._history: deque[_Look] = deque()
        self.blinks: list[BlinkAppearance] = []

    def update(self, t_ms: float, face: FaceObservation | None, m: FrameMeasurements | None) -> None:
        if face is not None and m is not None and m.fine_grey.size and face.landmarks.shape[0] >= 478:
            points = m.to_fine(face.landmarks[_ANCHOR_ROWS]).astype(np.float32)
            if np.isfinite(points).all():
                self._history.append(_Look(t_ms, m.fine_grey, points))
        while self._history and self._history[0].t_ms < t_ms - HISTORY_MS:
            self._history.popleft()

    def on_blink(self, blink: Blink) -> None:
        start, end = blink.t_start_ms, blink.t_end_ms
        before = [x for x in self._history if start - BASELINE_MS[0] <= x.t_ms <= start - BASELINE_MS[1]]
        after = [x for x in self._history if end <= x.t_ms <= end + AFTER_MS]
        closed = [x for x in self._history if start <= x.t_ms < end]
        if not before or not closed or (len(before) < 2 and not after):
            return  # no two open frames to compare: not assessed
        references = [before[-1], *after[:1]]
        blurred = _Blurred()
        changes = [c for c in (_change(x, references, blurred) for x in closed) if c is not None]
        open_change = _change(before[0], after[:1] or [before[-1]], blurred)
        if not changes or open_change is None:
            return
        self.blinks.append(
            BlinkAppearance(
                blink.t_min_ms,
                max(c[0] for c in changes),
                open_change[0],
                max(c[1] for c in changes),
            )
        )


def score_eye_cover(test: EyeCoverTest, max_ratio: float) -> SignalScore:
    if not test.blinks:
        return SignalScore(NAME, Reason.EYE_COVER_SUSPECTED, None, None, max_ratio, "no blink measured")
    worst = max(test.blinks, key=lambda b: b.ratio)
    detail = ", ".join(
        f"{b.t_ms / 1000:.1f}s: around {b.surround_change:.2f} against {b.open_change:.2f} open "
        f"({b.ratio:.1f}x) / inside {b.inside_change:.2f}"
        for b in test.blinks
    )
    return SignalScore(
        NAME,
        Reason.EYE_COVER_SUSPECTED,
        ratio_score(worst.ratio, max_ratio, attack_if="above"),
        worst.ratio,
        max_ratio,
        detail,
    )
