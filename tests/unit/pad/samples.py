"""Builders of real-looking inputs for the PAD unit tests: faces, frames, measurements."""

from __future__ import annotations

import numpy as np

from portraitmatch.liveness.pad.measurements import EdgeEvidence, FrameMeasurements
from portraitmatch.types import Box, FaceObservation, FrameAnalysis


def face(
    cx: float = 320.0,
    cy: float = 240.0,
    size: float = 160.0,
    *,
    yaw: float = 0.0,
    pitch: float = 0.0,
    ear: float = 0.3,
    ear_right: float | None = None,
) -> FaceObservation:
    """A face whose 478 landmarks sit on a regular grid over its box, with the eye corners where a
    frontal face has them (enough for every measurement that reads landmarks)."""
    rng = np.random.default_rng(0)
    pts = np.zeros((478, 3), np.float32)
    pts[:, 0] = cx + rng.uniform(-0.4, 0.4, 478) * size
    pts[:, 1] = cy + rng.uniform(-0.5, 0.5, 478) * size
    eye_y = cy - 0.12 * size
    for k, x in ((33, -0.32), (133, -0.1), (362, 0.1), (263, 0.32)):
        pts[k] = (cx + x * size, eye_y, 0)
    pts[4] = (cx, cy + 0.05 * size, 0)
    pts[1] = (cx, cy + 0.08 * size, 0)
    box = Box(cx - size / 2, cy - size / 2, size, size)
    return FaceObservation(
        box=box,
        landmarks=pts,
        yaw_deg=yaw,
        pitch_deg=pitch,
        roll_deg=0.0,
        ear_left=ear,
        ear_right=ear if ear_right is None else ear_right,
    )


def analysis(t_ms: float, *faces: FaceObservation, index: int = 0) -> FrameAnalysis:
    return FrameAnalysis(index=index, t_ms=t_ms, width_px=640, height_px=480, faces=tuple(faces))


def measurements(
    *,
    thumb_value: float = 100.0,
    digest: bytes = b"x",
    fine: np.ndarray | None = None,
    fine_origin: tuple[int, int] = (0, 0),
    fine_scale: float = 1.0,
) -> FrameMeasurements:
    none = EdgeEvidence(0.0, 0.0)
    return FrameMeasurements(
        thumb=np.full((24, 32), thumb_value, np.float32),
        digest=digest,
        texture=np.zeros((0, 0), np.float32),
        skin_rgb=(0.0, 0.0, 0.0),
        edges=(none,) * 4,
        fine_grey=np.zeros((0, 0), np.uint8) if fine is None else np.clip(fine, 0, 255).astype(np.uint8),
        fine_origin=fine_origin,
        fine_scale=fine_scale,
    )


def texture(h: int, w: int, seed: int = 0) -> np.ndarray:
    """Smooth random texture (blurred noise), like skin and hair at face-crop scale."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 1, (h + 8, w + 8))
    k = np.ones(5) / 5
    blurred = np.apply_along_axis(lambda r: np.convolve(r, k, "same"), 1, noise)
    blurred = np.apply_along_axis(lambda c: np.convolve(c, k, "same"), 0, blurred)
    out = blurred[4 : 4 + h, 4 : 4 + w]
    return (128 + 60 * out / out.std()).astype(np.float32)


def fine_grey(img: np.ndarray) -> np.ndarray:
    """A texture scaled into the uint8 range of `FrameMeasurements.fine_grey` (mean 128, sd 40)."""
    return 128 + 40 * img / max(1e-6, float(np.std(img)))
