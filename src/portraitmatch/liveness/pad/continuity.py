"""Temporal and identity continuity over the whole capture.

*Stream.* Frames that come from a camera in real time form one continuous take. Frames injected
instead (a virtual camera, an edited file, a replayed stream) give themselves away by:

* repeated frames: a frame identical to one seen before (same digest of a sparse pixel sample). A
  sensor never delivers the same noise twice; a player or an injector that pads a clip does;
* cuts: a jump of the whole picture and of the face between two consecutive frames, far beyond
  the capture's own frame-to-frame change and out of line with the steps on either side of it (a
  spliced or reordered clip, a switch of person; a fast real movement is a run of large steps);
* the clock (streaming only): a live camera's frames cannot arrive before they are taken, so the
  frames' own timestamps must not run ahead of the server's clock as they arrive. A recording
  pushed faster than real time does. Frames arriving *late* are not evidence: a slow network or a
  busy server (frames queue while earlier ones are analysed) delays them, and a delayed start
  drains afterwards, so the test is one-sided and measures the lead from the least delayed of the
  first frames.

*Frame order* (``frame_order``). A camera's frames follow each other: every frame is closest to
its neighbours. In an edited recording whose blocks of frames were moved (swapped, reordered to fit
a challenge), the picture jumps at each block boundary to a frame that belongs several frames
away. At every boundary between two frames this signal asks three things of the jump (mean
absolute difference of the zero-mean 32x24 thumbnails, so global light changes do not count):
how much larger it is than the steps on either side of it, than the capture's median step, and
than the smallest difference between either frame and a frame ``ORDER_GAP`` (4-16) frames away on
the other side. The boundary's *reversal ratio* is the smallest of the three; a real jump (a
dropped burst of frames, a fast turn) is large against its neighbours but matches no frame further
on, and the turning point of a fast head movement matches the frames just before it but is no
larger than its neighbours. One such boundary can be a glitch of the source (the dev clips, which
are rate-converted, have one at most per capture); a moved block leaves two or three, so the
signal's value is the capture's *second* largest reversal ratio.

*Identity.* Identity vectors sampled through the capture must all stay close to the face seen at
the start; a switch of person between two steps shows as a sustained drop. (The checker's
FACE_CHANGED rule compares with the first sample; this one compares with the mean of the first
three and reports the whole capture's lowest sustained similarity.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from portraitmatch.liveness.pad.measurements import FrameMeasurements
from portraitmatch.liveness.pad.result import SignalScore, ratio_score
from portraitmatch.types import FaceObservation, Reason

STREAM = "stream"
FRAME_ORDER = "frame_order"
IDENTITY = "identity"
REPEAT_MEMORY = 90  # frames a repeat is looked for in (3 s at 30 fps)
CUT_RATIO = 6.0  # a step this many times the capture's median step ...
CUT_MIN_PICTURE = 0.06  # ... and at least this large (mean |Δgrey| / mean grey) ...
CUT_MIN_FACE = 0.2  # ... while the face moved at least this share of its size, is a cut ...
CUT_LOCAL_RATIO = 2.0  # ... if the step is also this many times the larger of its neighbours' steps
REFERENCE_SAMPLES = 3
# The rate is judged once its two frames arrived this far apart. Over all frames with a 1.5 s
# minimum, a 3 s recording pushed 2-3x fast (arrival span 1.0-1.5 s, lead 1.5-2.0 s) escaped both
# the rate and the lead test; between the least delayed frames of the first and last thirds, half a
# second is enough (network jitter of tens of ms moves the rate by a few per cent).
RATE_MIN_SPAN_S = 0.5
MAX_RATE_ERROR = 0.2  # the frame clock may run at most 20 % faster than the arrival clock
ORDER_GAP = (4, 16)  # a moved block's frames match frames this far away on the other side of a jump


@dataclass(slots=True)
class StreamRecord:
    """Per-frame trace the stream test needs (kept for the whole capture, ~100 bytes a frame)."""

    t_ms: list[float] = field(default_factory=list)
    arrival_ms: list[float | None] = field(default_factory=list)
    picture_step: list[float] = field(default_factory=list)  # vs the previous frame
    face_step: list[float] = field(default_factory=list)  # face centre/size change vs previous face frame
    repeated: int = 0
    frames: int = 0
    thumbs: list[np.ndarray] = field(default_factory=list)  # zero-mean thumbnails (float16), frame order


class StreamTest:
    def __init__(self) -> None:
        self.record = StreamRecord()
        self._digests: list[bytes] = []
        self._thumb: np.ndarray | None = None
        self._face: FaceObservation | None = None

    def update(
        self, t_ms: float, face: FaceObservation | None, m: FrameMeasurements | None, arrival_ms: float | None
    ) -> None:
        r = self.record
        r.frames += 1
        r.t_ms.append(t_ms)
        r.arrival_ms.append(arrival_ms)
        if m is None:
            r.picture_step.append(float("nan"))
            r.face_step.append(float("nan"))
            return
        if m.digest in self._digests:
            r.repeated += 1
        self._digests.append(m.digest)
        if len(self._digests) > REPEAT_MEMORY:
            self._digests.pop(0)
        thumb = m.thumb
        r.thumbs.append((thumb - float(np.mean(thumb))).astype(np.float16))
        if self._thumb is None:
            r.picture_step.append(float("nan"))
        else:
            level = float(np.mean(self._thumb)) + 1.0
            r.picture_step.append(float(np.mean(np.abs(thumb - self._thumb))) / level)
        self._thumb = thumb
        if face is None or self._face is None:
            r.face_step.append(float("nan"))
        else:
            a, b = self._face.box, face.box
            size = max(a.w, a.h, 1.0)
            moved = float(np.hypot(b.cx - a.cx, b.cy - a.cy)) / size
            resized = abs(np.log(max(b.w * b.h, 1.0) / max(a.w * a.h, 1.0))) / 2
            r.face_step.append(max(moved, resized))
        if face is not None:
            self._face = face


def find_cuts(record: StreamRecord) -> list[int]:
    """Frame indices where the picture and the face both jump (see the module docstring)."""
    pic = np.asarray(record.picture_step, dtype=np.float64)
    face = np.asarray(record.face_step, dtype=np.float64)
    valid = pic[np.isfinite(pic)]
    if valid.size < 5:
        return []
    typical = float(np.median(valid))
    limit = max(CUT_RATIO * typical, CUT_MIN_PICTURE)
    # A cut is one step out of line with the steps around it. A fast real movement (a quick nod,
    # with motion blur and the face lost for a frame or two) is a run of large steps: heavily
    # compressed, such a run crossed the limit above because compression lowers the median step.
    steps = np.nan_to_num(pic, nan=0.0)
    isolated = steps > CUT_LOCAL_RATIO * _larger_neighbour(steps)
    with np.errstate(invalid="ignore"):
        hits = (pic > limit) & isolated & (np.nan_to_num(face, nan=np.inf) >= CUT_MIN_FACE)
    return [int(i) for i in np.flatnonzero(hits)]


def _larger_neighbour(steps: np.ndarray) -> np.ndarray:
    """For each step, the larger of the steps just before and just after it (0 past either end)."""
    before = np.concatenate([[0.0], steps[:-1]])
    after = np.concatenate([steps[1:], [0.0]])
    return np.maximum(before, after)


def clock_drift_s(record: StreamRecord) -> tuple[float, float | None] | None:
    """(largest lead in s, clock rate) of the frame clock against the arrival clock.

    Lead: how far the frame clock ran *ahead* of the arrival clock (frames arriving sooner after the
    previous ones than they were taken), measured from the least delayed frame of the first tenth
    of the capture; never negative. Rate: the frame clock's speed against the arrival clock between
    the least delayed frame of the first third and that of the last third (None when they arrived
    less than RATE_MIN_SPAN_S apart). Network buffering and a busy server delay frames, which only
    ever lowers the lead; the least delayed frames are the ones that show the clocks' real pace (a
    least-squares rate over all frames read 1.3 for a live stream whose first second queued behind
    a slow start). Over seconds a live camera's frames arrive no faster than they are taken.
    """
    pairs = [(t, a) for t, a in zip(record.t_ms, record.arrival_ms, strict=True) if a is not None]
    if len(pairs) < 5:
        return None
    t = np.array([p[0] for p in pairs])
    a = np.array([p[1] for p in pairs])
    drift = (t - t[0]) - (a - a[0])
    base = float(np.max(drift[: max(3, len(drift) // 10)]))  # the least delayed early frame
    largest = max(0.0, float(np.max(drift - base))) / 1000.0
    third = max(2, len(drift) // 3)
    i = int(np.argmax(drift[:third]))
    j = len(drift) - third + int(np.argmax(drift[-third:]))
    span_s = (a[j] - a[i]) / 1000.0
    rate = None
    if span_s >= RATE_MIN_SPAN_S:
        rate = float((t[j] - t[i]) / (a[j] - a[i]))
    return largest, rate


def reversal_ratios(record: StreamRecord) -> np.ndarray:
    """Per boundary between consecutive measured frames, its reversal ratio (module docstring)."""
    n = len(record.thumbs)
    lo, hi = ORDER_GAP
    if n < 2 * lo:
        return np.zeros(0)
    x = np.stack(record.thumbs).astype(np.float32).reshape(n, -1)

    def dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.mean(np.abs(x[a] - x[b]), axis=-1)

    i = np.arange(1, n)  # the boundary between frame i-1 and frame i
    jump = dist(i - 1, i)
    eps = 1e-6 + 1e-3 * float(np.median(jump))
    local = _larger_neighbour(jump)
    typical = float(np.median(jump))
    # The closest frame ORDER_GAP away on the other side: i against i-gap, and i-1 against i-1+gap.
    match = np.full(n - 1, np.inf)
    for gap in range(lo, hi + 1):
        back = i - gap
        ok = back >= 0
        match[ok] = np.minimum(match[ok], dist(i[ok], back[ok]))
        ahead = i - 1 + gap
        ok = ahead < n
        match[ok] = np.minimum(match[ok], dist(i[ok] - 1, ahead[ok]))
    ratios = np.minimum.reduce([jump / (local + eps), jump / (typical + eps), jump / (match + eps)])
    return ratios


def score_frame_order(test: StreamTest, max_ratio: float) -> SignalScore:
    ratios = reversal_ratios(test.record)
    if ratios.size < 2:
        return SignalScore(FRAME_ORDER, Reason.STREAM_INCONSISTENT, None, None, max_ratio, "too few frames")
    top = np.sort(ratios)[::-1]
    value = float(top[1])
    strongest = np.argsort(ratios)[::-1][:3] + 1
    detail = f"reversal ratios {', '.join(f'{v:.2f}' for v in top[:3])} at frames {strongest.tolist()}"
    score = ratio_score(value, max_ratio, attack_if="above")
    return SignalScore(FRAME_ORDER, Reason.STREAM_INCONSISTENT, score, value, max_ratio, detail)


def score_stream(
    test: StreamTest, *, max_cuts: int, max_repeated_fraction: float, max_drift_s: float
) -> SignalScore:
    r = test.record
    if r.frames < 5:
        return SignalScore(STREAM, Reason.STREAM_INCONSISTENT, None, None, None, "too few frames")
    cuts = find_cuts(r)
    repeated = r.repeated / r.frames
    times = np.asarray(r.t_ms)
    non_increasing = int(np.sum(np.diff(times) <= 0))
    clock = clock_drift_s(r)
    drift, rate = clock if clock is not None else (None, None)
    rate_error = max(0.0, rate - 1.0) if rate is not None else None  # late frames are no evidence
    parts = {
        "cuts": (len(cuts)) / (max_cuts + 1),
        "repeated": ratio_score(repeated, max_repeated_fraction, attack_if="above") if repeated else 0.0,
        "time": float(non_increasing),
        "clock": ratio_score(drift, max_drift_s, attack_if="above") if drift is not None else 0.0,
        "rate": ratio_score(rate_error, MAX_RATE_ERROR, attack_if="above") if rate_error is not None else 0.0,
    }
    worst = max(parts, key=lambda k: parts[k])
    detail = (
        f"cuts at frames {cuts[:5]}{'...' if len(cuts) > 5 else ''}; repeated {r.repeated}/{r.frames}; "
        f"non-increasing times {non_increasing}; clock lead "
        + ("n/a" if drift is None else f"{drift:.2f} s")
        + ("" if rate is None else f", rate {rate:.2f}")
        + f"; worst: {worst}"
    )
    values = {
        "cuts": float(len(cuts)),
        "repeated": repeated,
        "time": float(non_increasing),
        "clock": drift or 0.0,
        "rate": rate_error or 0.0,
    }
    return SignalScore(STREAM, Reason.STREAM_INCONSISTENT, parts[worst], values[worst], None, detail)


class IdentityTest:
    def __init__(self) -> None:
        self._vectors: list[np.ndarray] = []

    def update(self, vector: np.ndarray) -> None:
        v = np.asarray(vector, dtype=np.float64).ravel()
        norm = float(np.linalg.norm(v))
        if v.size == 0 or not np.isfinite(norm) or norm == 0:
            raise ValueError("an identity vector must be non-empty, finite and non-zero")
        if self._vectors and v.shape != self._vectors[0].shape:
            raise ValueError("identity vectors differ in size")
        self._vectors.append(v / norm)

    def cosines(self) -> np.ndarray:
        if len(self._vectors) < REFERENCE_SAMPLES + 1:
            return np.zeros(0)
        ref = np.mean(self._vectors[:REFERENCE_SAMPLES], axis=0)
        ref /= np.linalg.norm(ref) or 1.0
        return np.array([float(v @ ref) for v in self._vectors])


def score_identity(test: IdentityTest, min_cosine: float) -> SignalScore:
    cos = test.cosines()
    if cos.size < REFERENCE_SAMPLES + 1:
        return SignalScore(IDENTITY, Reason.FACE_CHANGED, None, None, min_cosine, "too few identity samples")
    # A single poor sample (blur, a turned face) is not a change: take the lowest similarity that
    # held for two samples in a row.
    sustained = np.maximum(cos[:-1], cos[1:])
    value = float(sustained.min())
    # Similarity lives in [-1, 1]; compare distances (1 - cosine) so the score is a plain ratio.
    score = ratio_score(1.0 - value, 1.0 - min_cosine, attack_if="above")
    return SignalScore(
        IDENTITY,
        Reason.FACE_CHANGED,
        score,
        value,
        min_cosine,
        f"lowest sustained cosine {value:.3f} over {cos.size} samples",
    )
