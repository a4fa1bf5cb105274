"""Data types passed between pipeline stages.

capture → Frame → analysis → FrameAnalysis(FaceObservation, Quality) → liveness → LivenessResult
                                                     ↘ matching → MatchResult → decision → Decision

All are frozen dataclasses; numpy arrays inside them are made read-only so a stage cannot
mutate what another stage sees. Pixels are always RGB uint8, HxWx3, C-contiguous.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.flags.writeable = False
    return a


class Action(StrEnum):
    """A challenge action, named from the customer's own point of view."""

    BLINK = "blink"
    TURN_LEFT = "turn_left"
    TURN_RIGHT = "turn_right"
    LOOK_UP = "look_up"
    LOOK_DOWN = "look_down"


class Outcome(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    RETRY = "retry"


class Reason(StrEnum):
    """Stable machine-readable reason codes. Never rename a member: operators key on them."""

    # frame / portrait quality
    NO_FACE = "NO_FACE"
    MULTIPLE_FACES = "MULTIPLE_FACES"
    FACE_TOO_SMALL = "FACE_TOO_SMALL"
    BLURRED = "BLURRED"
    TOO_DARK = "TOO_DARK"
    OVEREXPOSED = "OVEREXPOSED"
    OFF_CENTRE = "OFF_CENTRE"
    EYES_NOT_VISIBLE = "EYES_NOT_VISIBLE"
    FACE_CUT_OFF = "FACE_CUT_OFF"
    PORTRAIT_UNUSABLE = "PORTRAIT_UNUSABLE"
    # liveness
    CHALLENGE_PASSED = "CHALLENGE_PASSED"
    CHALLENGE_INCOMPLETE = "CHALLENGE_INCOMPLETE"
    CHALLENGE_EXPIRED = "CHALLENGE_EXPIRED"
    ACTION_TIMEOUT = "ACTION_TIMEOUT"
    WRONG_ACTION = "WRONG_ACTION"
    NO_RETURN_TO_NEUTRAL = "NO_RETURN_TO_NEUTRAL"
    FACE_LOST = "FACE_LOST"
    FACE_CHANGED = "FACE_CHANGED"
    CAPTURE_TOO_SHORT = "CAPTURE_TOO_SHORT"
    # presentation-attack signals
    PRESENTATION_ATTACK_SUSPECTED = "PRESENTATION_ATTACK_SUSPECTED"
    FLAT_SURFACE_MOTION = "FLAT_SURFACE_MOTION"
    SCREEN_DETECTED = "SCREEN_DETECTED"
    STREAM_INCONSISTENT = "STREAM_INCONSISTENT"
    RESPONSE_TIMING = "RESPONSE_TIMING"
    EYE_COVER_SUSPECTED = "EYE_COVER_SUSPECTED"
    MEDIUM_BORDER_DETECTED = "MEDIUM_BORDER_DETECTED"
    NO_PULSE_DETECTED = "NO_PULSE_DETECTED"
    PAD_MODEL_REJECTED = "PAD_MODEL_REJECTED"
    # matching
    MATCH = "MATCH"
    NO_MATCH = "NO_MATCH"
    NO_USABLE_FRAMES = "NO_USABLE_FRAMES"
    # exceptions
    SUPERVISOR_EXCEPTION = "SUPERVISOR_EXCEPTION"  # decided by a supervisor-approved photo match


@dataclass(frozen=True, slots=True)
class Box:
    """An axis-aligned box in pixels: left, top, width, height."""

    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    @property
    def area(self) -> float:
        return self.w * self.h

    def iou(self, other: Box) -> float:
        ix = max(0.0, min(self.x + self.w, other.x + other.w) - max(self.x, other.x))
        iy = max(0.0, min(self.y + self.h, other.y + other.h) - max(self.y, other.y))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded image: RGB uint8 pixels, presentation time, index in its capture."""

    pixels: np.ndarray
    t_ms: float = 0.0
    index: int = 0
    mirrored: bool = False

    def __post_init__(self) -> None:
        p = self.pixels
        if p.ndim != 3 or p.shape[2] != 3 or p.dtype != np.uint8:
            raise ValueError(f"Frame pixels must be HxWx3 uint8 RGB, got {p.shape} {p.dtype}")
        object.__setattr__(self, "pixels", _readonly(p))

    @property
    def width_px(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height_px(self) -> int:
        return int(self.pixels.shape[0])


@dataclass(frozen=True, slots=True)
class Quality:
    """Quality of one face in one frame: measured values and the reasons it is not usable."""

    reasons: tuple[Reason, ...] = ()
    face_px: float = 0.0  # inter-ocular-independent size: sqrt(box area)
    sharpness: float = 0.0  # variance of the Laplacian on the face crop
    brightness: float = 0.0  # mean luma of the face crop, 0..255
    overexposed_fraction: float = 0.0
    centre_offset: float = 0.0  # distance of face centre from frame centre / frame diagonal

    @property
    def is_usable(self) -> bool:
        return not self.reasons


@dataclass(frozen=True, slots=True)
class FaceObservation:
    """What analysis found about one face in one frame.

    `yaw_deg` > 0: nose towards the image right; `pitch_deg` > 0: nose up (image terms,
    before any mirroring correction). `ear_left`/`ear_right` are eye aspect ratios of the eye
    on the image left/right; `blink_left`/`blink_right` are MediaPipe blendshape scores (0..1).
    `landmarks` are (N, 3) pixel x, y and relative depth, read-only.
    """

    box: Box
    landmarks: np.ndarray
    yaw_deg: float
    pitch_deg: float
    roll_deg: float
    ear_left: float
    ear_right: float
    blink_left: float = 0.0
    blink_right: float = 0.0
    quality: Quality = field(default_factory=Quality)

    def __post_init__(self) -> None:
        object.__setattr__(self, "landmarks", _readonly(np.asarray(self.landmarks, dtype=np.float32)))

    @property
    def eye_openness(self) -> float:
        return (self.ear_left + self.ear_right) / 2


@dataclass(frozen=True, slots=True)
class FrameAnalysis:
    """Analysis of one frame: every face found, the primary (tracked) one, and timing."""

    index: int
    t_ms: float
    width_px: int
    height_px: int
    faces: tuple[FaceObservation, ...] = ()

    @property
    def n_faces(self) -> int:
        return len(self.faces)

    @property
    def primary(self) -> FaceObservation | None:
        """The largest face; the checker enforces that there is only one."""
        if not self.faces:
            return None
        return max(self.faces, key=lambda f: f.box.area)


@dataclass(frozen=True, slots=True)
class Embedding:
    vector: np.ndarray
    model_id: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "vector", _readonly(np.asarray(self.vector, dtype=np.float32)))


@dataclass(frozen=True, slots=True)
class StepResult:
    action: Action
    ok: bool
    t_start_ms: float | None = None
    t_end_ms: float | None = None
    peak: float | None = None  # peak yaw/pitch deviation in degrees, or min eye openness for a blink
    reason: Reason | None = None


@dataclass(frozen=True, slots=True)
class LivenessResult:
    passed: bool
    challenge: tuple[Action, ...]
    steps: tuple[StepResult, ...]
    outcome: Outcome
    reasons: tuple[Reason, ...]
    signals: dict[str, float] = field(default_factory=dict)
    frames_seen: int = 0


@dataclass(frozen=True, slots=True)
class MatchResult:
    score: float
    threshold: float
    is_match: bool
    frames_used: tuple[int, ...] = ()
    scores_by_model: dict[str, float] = field(default_factory=dict)
    calibration_id: str = ""
    threshold_band: str = "photo"  # which threshold applied: "photo", or a portrait band ("chip")


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    reasons: tuple[Reason, ...]
    message: str
    liveness: LivenessResult | None = None
    match: MatchResult | None = None
    portrait_quality: Quality | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
