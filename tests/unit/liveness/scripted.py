"""Scripted captures: FrameAnalysis sequences of a face at rest, turning, blinking, leaving.

Values follow what MediaPipe reports on the dev clips: open-eye EAR 0.18-0.35 depending on the
person, ~0.02-0.05 when shut; a blink closes in ~2 frames, stays shut 1-5 frames and reopens in
~2; head turns ramp over a few hundred ms; a little noise on every frame (seeded).
Angles are in image terms (yaw > 0: nose towards the image right), as the landmarker reports them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np

from portraitmatch.types import Box, FaceObservation, FrameAnalysis, Quality, Reason

WIDTH, HEIGHT = 640, 480
FACE = Box(220, 120, 200, 240)


@dataclass
class Capture:
    fps: float = 30.0
    ear_open: float = 0.28
    yaw_deg: float = 2.0  # rest pose
    pitch_deg: float = -5.0
    ear_noise: float = 0.006
    angle_noise: float = 0.4
    seed: int = 0
    t_ms: float = 0.0
    frames: list[FrameAnalysis] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._yaw, self._pitch = self.yaw_deg, self.pitch_deg

    @property
    def dt_ms(self) -> float:
        return 1000.0 / self.fps

    def _n(self, ms: float) -> int:
        return max(1, round(ms / self.dt_ms))

    def _face(
        self, yaw: float, pitch: float, ear_l: float, ear_r: float, box: Box = FACE, reasons: tuple = ()
    ) -> FaceObservation:
        g = self._rng.gauss
        return FaceObservation(
            box=box,
            landmarks=np.zeros((0, 3), dtype=np.float32),
            yaw_deg=yaw + g(0, self.angle_noise),
            pitch_deg=pitch + g(0, self.angle_noise),
            roll_deg=0.0,
            ear_left=max(0.0, ear_l + g(0, self.ear_noise)),
            ear_right=max(0.0, ear_r + g(0, self.ear_noise)),
            quality=Quality(reasons=reasons),
        )

    def _emit(self, faces: tuple[FaceObservation, ...]) -> None:
        self.frames.append(FrameAnalysis(len(self.frames), self.t_ms, WIDTH, HEIGHT, faces))
        self.t_ms += self.dt_ms

    def rest(self, ms: float, *, extra_faces: int = 0, reasons: tuple[Reason, ...] = ()) -> Capture:
        for _ in range(self._n(ms)):
            face = self._face(self._yaw, self._pitch, self.ear_open, self.ear_open, reasons=reasons)
            extra = tuple(
                self._face(0.0, 0.0, 0.3, 0.3, box=Box(20 + 120 * k, 20, 100, 120))
                for k in range(extra_faces)
            )
            self._emit((face, *extra))
        return self

    def move_to(self, yaw: float, pitch: float, ms: float) -> Capture:
        """Ramp the head from its current pose to (yaw, pitch) in image degrees."""
        n = self._n(ms)
        y0, p0 = self._yaw, self._pitch
        for i in range(1, n + 1):
            a = i / n
            self._yaw, self._pitch = y0 + a * (yaw - y0), p0 + a * (pitch - p0)
            self._emit((self._face(self._yaw, self._pitch, self.ear_open, self.ear_open),))
        return self

    def turn(
        self, *, yaw: float = 0.0, pitch: float = 0.0, ramp_ms: float = 400, hold_ms: float = 400
    ) -> Capture:
        """Turn by (yaw, pitch) degrees from the rest pose, hold, and come back."""
        self.move_to(self.yaw_deg + yaw, self.pitch_deg + pitch, ramp_ms)
        self.rest(hold_ms)
        return self.move_to(self.yaw_deg, self.pitch_deg, ramp_ms)

    def blink(
        self, *, closed_ms: float = 100, shut: float = 0.03, eyes: str = "both", other: float = 1.0
    ) -> Capture:
        """Close (2 frames), stay shut, reopen (2 frames). eyes: both | left | right (a wink, where the
        other eye narrows to `other` of open, as the cheek rises)."""
        profile = [0.55, 0.2] + [0.0] * self._n(closed_ms) + [0.3, 0.75]
        for a in profile:
            ear = shut + a * (self.ear_open - shut)
            narrowed = self.ear_open * (1 - (1 - other) * (1 - a))
            left = ear if eyes in ("both", "left") else narrowed
            right = ear if eyes in ("both", "right") else narrowed
            self._emit((self._face(self._yaw, self._pitch, left, right),))
        return self

    def eyes_level(self, ear: float, ms: float) -> Capture:
        """Eyes held at another openness (a squint, a downcast gaze) for a while."""
        for _ in range(self._n(ms)):
            self._emit((self._face(self._yaw, self._pitch, ear, ear),))
        return self

    def tilt_picture(self, factor: float, ms: float) -> Capture:
        """A printed photo tilted away and back: every vertical distance, the lids' included, shrinks
        to `factor` (cos of the tilt) at the middle of `ms`, so the EAR dips like a blink's."""
        n = self._n(ms)
        for i in range(n):
            a = 1 - (1 - factor) * (1 - abs(2 * i / max(1, n - 1) - 1))
            box = Box(FACE.x, FACE.y + FACE.h * (1 - a) / 2, FACE.w, FACE.h * a)
            ear = self.ear_open * a
            self._emit((self._face(self._yaw, self._pitch, ear, ear, box=box),))
        return self

    def no_face(self, ms: float) -> Capture:
        for _ in range(self._n(ms)):
            self._emit(())
        return self
