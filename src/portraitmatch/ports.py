"""The interfaces the core needs from models. Implementations live in ``adapters/models``.

Implementations load their weights once, explicitly (never at import), and must be safe to call
from several threads at once (an internal lock or per-thread instances).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from portraitmatch.types import Box, Embedding, Frame, FrameAnalysis


@runtime_checkable
class LandmarkDetector(Protocol):
    """Finds every face in a live frame with landmarks, pose and eye state."""

    def observe(self, frame: Frame) -> FrameAnalysis: ...


@runtime_checkable
class FaceDetector(Protocol):
    """Finds faces in a still image, including small ones (an ID card scan). Boxes in pixels."""

    def detect(self, pixels: np.ndarray) -> list[Box]: ...


@runtime_checkable
class Embedder(Protocol):
    """Maps a face (RGB pixels + its box) to an identity vector. Higher cosine = more alike."""

    model_id: str

    def embed(self, pixels: np.ndarray, box: Box) -> Embedding: ...
