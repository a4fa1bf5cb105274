"""Blink detection from per-frame eye aspect ratios, with levels that adapt to each capture.

A blink is a short dip of *both* eyes' openness that comes back up. Nothing here is absolute:
open-eye EAR is ~0.31 for some faces and ~0.18 for others, it rises for the far eye during a head
turn and falls when the head tilts back. So each EAR is first put on a frontal scale
(`yaw_corrected`), and every comparison is against levels measured in the same capture a moment
earlier or later:

* open level P: a high percentile of the mean openness over the last ``open_window_ms`` of frames
  in which the eyes were open (frames of a closure are left out, so a blink does not drag down its
  own reference);
* capture level L: the median openness over the last ``capture_window_ms``. A dip only counts when
  P itself is at least ``min_open_vs_capture``·L: eyes that were already nearly shut (a downcast
  gaze, a frown) do not "blink" when they flicker;
* reopened level Q: the highest openness within ``confirm_ms`` after the eyes reopened. Eyes that
  end up much wider open than before the dip (Q > ``max_reopen_gain``·P0) were not open before it:
  that is the end of a downcast gaze or a squint (d3.mp4), not a blink. Labelled blinks on the dev
  clips reopen to 0.57-1.16 of their level before.

A closure starts when the mean openness falls below ``close_ratio``·P (P frozen at that moment as
P0) and ends when it has climbed back ``reopen_fraction`` of the way from its minimum m to P0.
Reopening is judged against m rather than P0 because the far eye's EAR is inflated during a head
turn, and a blink on the way back from a turn reopens to a lower, frontal level. It is a blink
when the closure lasted at most ``max_closed_ms`` (labelled slow closures last 0.3-0.5 s, a downcast
gaze lasts seconds), m ≤ ``deep_ratio``·min(P0, Q) (a dip, not a step down to a new level), and
*each* eye fell to at most ``eye_ratio`` of its own open level (a wink leaves one eye open).
The face box's height/width must stay above ``min_shape_ratio`` of its open-eye value meanwhile:
tilting a printed photo away from the camera halves every vertical distance, the eyes' included,
but a blink moves only the lids (genuine dev blinks keep 0.89-1.13 of it).

Sparse frames (``sparse_gap_ms``: a 15 fps webcam stream, a phone that dropped frames) can miss a
fast blink's deepest moment: at 12.5 fps the dev clips' quickest blinks showed only a half-closed
frame. Where a frame next to the closure's lowest one is at least ``sparse_gap_ms`` away, the depth
tests use the lowest openness the lids can have reached between the frames: the sampled minimum
less half the larger step to its neighbours (a V-shaped dip sampled anywhere between its apex and
a neighbour shows at most that much less than the apex). Frames closer together (25-30 fps, every
dev clip) are judged on the samples alone, as before.

If the eyes close again within ``confirm_ms`` before climbing ``merge_fraction`` of the way back, the
two dips are one closure (a flutter), so one blink cannot be counted twice. A blink is reported
``confirm_ms`` after the reopening; `settled_ms` says up to which time the
list of blinks is final, so a caller can order blinks and other events correctly.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from portraitmatch.types import FaceObservation, Reason

# Frames whose eyes cannot be read do not feed the detector.
_EYES_UNREADABLE = (Reason.EYES_NOT_VISIBLE, Reason.FACE_CUT_OFF)


@dataclass(frozen=True, slots=True)
class BlinkParams:
    close_ratio: float = 0.6
    deep_ratio: float = 0.45
    eye_ratio: float = 0.5
    reopen_fraction: float = 0.35
    merge_fraction: float = 0.5  # a new dip before the eyes got this far back up continues the closure
    max_closed_ms: float = 800.0
    confirm_ms: float = 150.0
    open_window_ms: float = 600.0
    open_percentile: float = 80.0
    capture_window_ms: float = 8000.0
    min_open_vs_capture: float = 0.5
    max_reopen_gain: float = 1.5  # eyes that open much wider than before came out of a squint
    min_shape_ratio: float = 0.8  # the face box's height/width may not shrink more than this meanwhile
    max_gap_ms: float = 250.0  # a longer run of frames without readable eyes abandons a closure
    sparse_gap_ms: float = 50.0  # frames this far apart may straddle a blink's deepest moment


def yaw_corrected(ear: float, yaw_deg: float) -> float:
    """The eye aspect ratio as a frontal view would show it, to first order.

    Turned by yaw, an eye's width in the image shrinks by about cos(yaw) and its height does not,
    so the EAR grows by 1/cos(yaw) (more for the far eye). Without this, a blink made on the way
    back from a turn was measured against two different scales: tranvanluyt/real's first blink
    bottoms out at 34° of yaw (mean EAR 0.077 there, 0.11 once the clip is re-encoded at x264 CRF
    35) and reopens to a frontal 0.21, so the dip missed the depth test in 6 of 10 re-encoded
    versions (fifth session). Yaw is capped at 60°, beyond which MediaPipe's eyes are not
    readable anyway.
    """
    return ear * math.cos(math.radians(min(abs(yaw_deg), 60.0)))


def has_readable_eyes(face: FaceObservation) -> bool:
    return not any(r in face.quality.reasons for r in _EYES_UNREADABLE)


def face_shape(face: FaceObservation) -> float:
    """Height / width of the face box (1.0 when there is no usable box)."""
    return face.box.h / face.box.w if face.box.w > 0 and face.box.h > 0 else 1.0


@dataclass(frozen=True, slots=True)
class Blink:
    t_start_ms: float  # first frame of the closure
    t_min_ms: float  # frame of minimum openness
    t_end_ms: float  # first frame open again
    depth: float  # minimum mean openness / min(open level before, level after); 0 = fully shut
    open_level: float  # mean EAR of the open eyes just before the blink


class BlinkDetector:
    """Feed every frame in time order: `update` for a frame with readable eyes, `skip` for one
    without. Both return a `Blink` when one has just been confirmed (``confirm_ms`` after the eyes
    reopened), else None."""

    def __init__(self, params: BlinkParams | None = None) -> None:
        self.params = params or BlinkParams()
        self._open: deque[tuple[float, float, float, float, float]] = deque()  # t, mean, left, right, shape
        self._capture: deque[tuple[float, float]] = deque()
        self._closure: _Closure | None = None
        self._pending: deque[_Closure] = deque()  # reopened, waiting for the level after them
        self._last_t: float | None = None
        self.blinks: list[Blink] = []

    @property
    def open_level(self) -> float | None:
        """The current open-eye level (mean EAR), or None before any open frame."""
        if not self._open:
            return None
        return float(np.percentile([s[1] for s in self._open], self.params.open_percentile))

    @property
    def settled_ms(self) -> float | None:
        """Blinks ending before this time are all known; None means every frame fed so far is settled."""
        if self._pending:
            return self._pending[0].t_start
        if self._closure is not None:
            return self._closure.t_start
        return None

    def skip(self, t_ms: float) -> Blink | None:
        """A frame without readable eyes (no face, eyes hidden)."""
        blink = self._confirm_if_due(t_ms)
        if self._closure is not None and t_ms - self._closure.t_last > self.params.max_gap_ms:
            self._closure = None
        return blink

    def flush(self) -> list[Blink]:
        """The capture has ended: judge the closures that reopened but were not yet confirmed."""
        self._closure = None
        blinks = [b for b in (self._judge(c) for c in self._pending) if b is not None]
        self._pending.clear()
        return blinks

    def observe(self, t_ms: float, face: FaceObservation | None) -> Blink | None:
        """One frame's primary face (None: no face): `update` when its eyes can be read (quality
        and finite EARs), `skip` otherwise. The checker, PAD and the benches all feed frames here,
        so they find the same blinks."""
        if (
            face is None
            or not has_readable_eyes(face)
            or not (math.isfinite(face.ear_left) and math.isfinite(face.ear_right))
        ):
            return self.skip(t_ms)
        return self.update(t_ms, face.ear_left, face.ear_right, face_shape(face), face.yaw_deg)

    def update(
        self, t_ms: float, ear_left: float, ear_right: float, face_shape: float = 1.0, yaw_deg: float = 0.0
    ) -> Blink | None:
        """`face_shape` is the face box's height / width; without a box leave it at 1. `yaw_deg` is
        the head's yaw towards the camera (either sign); see `yaw_corrected`."""
        ear_left, ear_right = yaw_corrected(ear_left, yaw_deg), yaw_corrected(ear_right, yaw_deg)
        p = self.params
        if self._last_t is not None and t_ms - self._last_t > p.max_gap_ms:
            # After a long gap the old levels describe another moment (and maybe another pose).
            self._open.clear()
            self._closure = None
        self._last_t = t_ms
        mean = (ear_left + ear_right) / 2
        self._capture.append((t_ms, mean))
        while self._capture[0][0] < t_ms - p.capture_window_ms:
            self._capture.popleft()

        for pending in self._pending:
            pending.after = max(pending.after, mean)
        blink = self._confirm_if_due(t_ms)

        closure = self._closure
        if closure is not None:
            if t_ms - closure.t_start > p.max_closed_ms:
                # Too long for a blink (downcast gaze, eyes kept shut): start over from the new level.
                self._closure = None
                self._open.clear()
                self._add_open(t_ms, mean, ear_left, ear_right, face_shape)
                return blink
            closure.observe(t_ms, mean, ear_left, ear_right, face_shape)
            if mean >= closure.min_mean + p.reopen_fraction * (closure.p_mean - closure.min_mean):
                self._closure = None
                closure.t_end = t_ms
                closure.after = mean
                self._pending.append(closure)
                self._add_open(t_ms, mean, ear_left, ear_right, face_shape)
            return blink

        level = self.open_level
        if level is not None and mean < p.close_ratio * level:
            last = self._pending[-1] if self._pending else None
            if last is not None and last.is_half_open(p.merge_fraction):
                # The eyes only half-opened: one closure with a flutter, not two blinks.
                self._pending.pop()
                last.observe(t_ms, mean, ear_left, ear_right, face_shape)
                self._closure = last
            else:
                self._closure = self._start_closure(t_ms, mean, ear_left, ear_right, face_shape, level)
            return blink
        self._add_open(t_ms, mean, ear_left, ear_right, face_shape)
        return blink

    def _confirm_if_due(self, t_ms: float) -> Blink | None:
        if not self._pending or t_ms - self._pending[0].t_end < self.params.confirm_ms:
            return None
        return self._judge(self._pending.popleft())

    def _start_closure(
        self, t_ms: float, mean: float, left: float, right: float, shape: float, level: float
    ) -> _Closure:
        p = self.params
        samples = list(self._open)
        before = samples[-1]
        eye_left = float(np.percentile([s[2] for s in samples], p.open_percentile))
        eye_right = float(np.percentile([s[3] for s in samples], p.open_percentile))
        open_shape = float(np.median([s[4] for s in samples]))
        capture = float(np.median([s[1] for s in self._capture]))
        closure = _Closure(t_ms, level, eye_left, eye_right, capture, open_shape)
        closure.previous = (before[0], before[1], before[2], before[3])
        closure.observe(t_ms, mean, left, right, shape)
        return closure

    def _add_open(self, t_ms: float, mean: float, left: float, right: float, shape: float) -> None:
        self._open.append((t_ms, mean, left, right, shape))
        while self._open[0][0] < t_ms - self.params.open_window_ms:
            self._open.popleft()

    def _judge(self, c: _Closure) -> Blink | None:
        p = self.params
        reference = min(c.p_mean, c.after)
        lowest_mean, lowest_left, lowest_right = c.lowest(p.sparse_gap_ms)
        if reference <= 0 or lowest_mean > p.deep_ratio * reference:
            return None
        if lowest_left > p.eye_ratio * c.p_left or lowest_right > p.eye_ratio * c.p_right:
            return None  # one eye stayed open: a wink or a squint, not a blink
        if c.p_mean < p.min_open_vs_capture * c.capture_level or c.after > p.max_reopen_gain * c.p_mean:
            return None  # the eyes were not open before the dip: a downcast gaze or a squint ending
        if c.min_shape < p.min_shape_ratio * c.open_shape:
            return None  # the whole face flattened, not just the lids: a picture tilted away
        blink = Blink(c.t_start, c.t_min, c.t_end, lowest_mean / reference, c.p_mean)
        self.blinks.append(blink)
        return blink


class _Closure:
    __slots__ = (
        "after",
        "around_min",
        "capture_level",
        "min_left",
        "min_mean",
        "min_right",
        "min_shape",
        "open_shape",
        "p_left",
        "p_mean",
        "p_right",
        "previous",
        "t_end",
        "t_last",
        "t_min",
        "t_start",
    )

    def __init__(
        self,
        t_ms: float,
        p_mean: float,
        p_left: float,
        p_right: float,
        capture_level: float,
        open_shape: float,
    ) -> None:
        self.t_start = self.t_min = self.t_last = self.t_end = t_ms
        self.p_mean, self.p_left, self.p_right = p_mean, p_left, p_right
        self.capture_level = capture_level
        self.open_shape = open_shape
        self.min_mean = self.min_left = self.min_right = self.min_shape = float("inf")
        self.after = 0.0
        # (t, mean, left, right) of the last frame observed, and of the frames on either side of the
        # lowest one (the one after it is None until it arrives)
        self.previous: tuple[float, float, float, float] | None = None
        self.around_min: tuple[tuple[float, float, float, float] | None, ...] = (None, None, None)

    def lowest(self, sparse_gap_ms: float) -> tuple[float, float, float]:
        """Lowest mean, left and right openness the closure reached: the sampled minima, less half
        the larger step to a neighbour of the lowest frame when a neighbour is `sparse_gap_ms` or
        more away (see the module docstring)."""
        before, lowest, after = self.around_min
        if lowest is None:
            return self.min_mean, self.min_left, self.min_right
        neighbours = [n for n in (before, after) if n is not None]
        if not any(abs(n[0] - lowest[0]) >= sparse_gap_ms for n in neighbours):
            return self.min_mean, self.min_left, self.min_right
        out = []
        for k, sampled in ((1, self.min_mean), (2, self.min_left), (3, self.min_right)):
            step = max((n[k] - lowest[k] for n in neighbours), default=0.0)
            out.append(max(0.0, sampled - 0.5 * max(0.0, step)))
        return out[0], out[1], out[2]

    def is_half_open(self, fraction: float) -> bool:
        """Since reopening, the eyes got less than `fraction` of the way back to the open level."""
        return self.after < self.min_mean + fraction * (self.p_mean - self.min_mean)

    def observe(self, t_ms: float, mean: float, left: float, right: float, shape: float) -> None:
        self.t_last = t_ms
        sample = (t_ms, mean, left, right)
        if mean < self.min_mean:
            self.min_mean, self.t_min = mean, t_ms
            self.around_min = (self.previous, sample, None)
        elif self.around_min[2] is None and self.around_min[1] is not None:
            self.around_min = (self.around_min[0], self.around_min[1], sample)
        self.previous = sample
        self.min_left = min(self.min_left, left)
        self.min_right = min(self.min_right, right)
        self.min_shape = min(self.min_shape, shape)
