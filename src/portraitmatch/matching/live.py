"""Choosing which live frames to compare with the ID portrait.

An ID portrait is frontal, eyes open, neutral; so the live frames that match it best are the ones
closest to that: small yaw and pitch, eyes open, sharp, large. Frames close in time carry almost
the same information, so the chosen frames are kept at least ``min_gap_ms`` apart.

``LiveFrameSelector`` is fed every frame of a capture and keeps at most ``max_frames`` candidates
in memory at any time (frames are large); ``select_frames`` does the same for a finished list.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from portraitmatch.types import FaceObservation, Frame


@dataclass(frozen=True, slots=True)
class SelectionSettings:
    max_abs_yaw_deg: float = 20.0  # frames turned further are never used
    max_abs_pitch_deg: float = 20.0
    min_eye_openness: float = 0.18  # eye aspect ratio; ~0.3 when open, < 0.15 mid-blink
    max_blink_score: float = 0.5  # MediaPipe eyeBlink blendshape
    min_gap_ms: float = 300.0
    frontal_scale_deg: float = 10.0  # the yaw/pitch at which frontality costs as much as ...
    sharpness_ref: float = 50.0  # ... halving the sharpness (variance of the Laplacian)


@dataclass(frozen=True, slots=True, eq=False)
class LiveCandidate:
    """A live frame with its (single) face and how well it suits matching (higher is better)."""

    frame: Frame
    face: FaceObservation
    utility: float


def frame_utility(face: FaceObservation, settings: SelectionSettings | None = None) -> float | None:
    """How well `face` suits matching against a frontal portrait; None when it must not be used.

    Unusable: a quality gate failed, the head is turned past the limits, or the eyes are closed.
    Otherwise the utility falls with the squared yaw and pitch (in units of ``frontal_scale_deg``)
    and rises with the log of sharpness and of face size.
    """
    cfg = settings or SelectionSettings()
    if not face.quality.is_usable:
        return None
    if abs(face.yaw_deg) > cfg.max_abs_yaw_deg or abs(face.pitch_deg) > cfg.max_abs_pitch_deg:
        return None
    if (
        face.eye_openness < cfg.min_eye_openness
        or max(face.blink_left, face.blink_right) > cfg.max_blink_score
    ):
        return None
    frontal = (face.yaw_deg / cfg.frontal_scale_deg) ** 2 + (face.pitch_deg / cfg.frontal_scale_deg) ** 2
    sharp = math.log2(max(face.quality.sharpness, 1e-3) / cfg.sharpness_ref)
    size = math.log2(max(face.quality.face_px, face.box.area**0.5, 1.0) / 150.0)
    return -frontal + 0.5 * min(sharp, 2.0) + 0.5 * min(size, 1.0)


class LiveFrameSelector:
    """Keeps the best `max_frames` live frames seen so far, at least ``min_gap_ms`` apart.

    A new frame within the gap of kept frames replaces them only if it is better than all of
    them; the worst kept frame goes when there are too many. Not thread-safe: one per capture.
    """

    def __init__(self, max_frames: int = 5, settings: SelectionSettings | None = None) -> None:
        if max_frames < 1:
            raise ValueError("max_frames must be >= 1")
        self.max_frames = max_frames
        self.settings = settings or SelectionSettings()
        self._kept: list[LiveCandidate] = []

    def offer(self, frame: Frame, face: FaceObservation) -> bool:
        """Consider one frame; True if it is kept (for now)."""
        utility = frame_utility(face, self.settings)
        if utility is None:
            return False
        near = [c for c in self._kept if abs(c.frame.t_ms - frame.t_ms) < self.settings.min_gap_ms]
        if any(c.utility >= utility for c in near):
            return False
        candidate = LiveCandidate(frame, face, utility)
        self._kept = [c for c in self._kept if all(c is not n for n in near)] + [candidate]
        if len(self._kept) > self.max_frames:
            worst = min(self._kept, key=lambda c: c.utility)
            self._kept.remove(worst)
        return any(c is candidate for c in self._kept)

    def best(self) -> tuple[LiveCandidate, ...]:
        """The kept frames, best first."""
        return tuple(sorted(self._kept, key=lambda c: -c.utility))


def select_frames(
    candidates: Iterable[tuple[Frame, FaceObservation]],
    max_frames: int = 5,
    settings: SelectionSettings | None = None,
) -> tuple[LiveCandidate, ...]:
    """The best `max_frames` of `candidates` (frame, face) pairs, best first."""
    selector = LiveFrameSelector(max_frames, settings)
    for frame, face in candidates:
        selector.offer(frame, face)
    return selector.best()
