"""Small real media made on the spot: a face-free video and a face-free image."""

from __future__ import annotations

import tempfile
from pathlib import Path

import cv2
import numpy as np


def faceless_video(seconds: float = 1.6, fps: int = 25) -> bytes:
    """An MP4 of a plain grey wall: decodable, no face in it."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "wall.mp4"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (320, 240))
        rng = np.random.default_rng(7)
        for _ in range(int(seconds * fps)):
            writer.write(np.clip(rng.normal(110, 6, (240, 320, 3)), 0, 255).astype(np.uint8))
        writer.release()
        return path.read_bytes()


def faceless_jpeg() -> bytes:
    ok, jpeg = cv2.imencode(".jpg", np.full((400, 300, 3), 128, np.uint8))
    assert ok
    return jpeg.tobytes()
