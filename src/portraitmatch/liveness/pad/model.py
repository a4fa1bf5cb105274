"""Plug-in point for an operator-supplied anti-spoofing model.

No anti-spoofing model with usable weights could be shipped (docs/pad.md), so the signals here are
computed from the capture itself. An operator who has a model (licensed, validated on their own
population) plugs it in through `PadModel`: anything with ``score(pixels, box) -> float`` returning
the probability that the face is a presentation attack. `adapters/models/onnx_pad.py` wraps an
ONNX file. The engine calls it on sampled frames and passes the number to
`PadAccumulator.add(model_score=...)`; the capture's value is the mean over the samples.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from portraitmatch.liveness.pad.result import SignalScore, ratio_score
from portraitmatch.types import Box, Reason

NAME = "model"


@runtime_checkable
class PadModel(Protocol):
    model_id: str

    def score(self, pixels: np.ndarray, box: Box) -> float:
        """Probability (0..1) that the face in `box` is a presentation attack."""
        ...


def score_model(samples: list[float], threshold: float) -> SignalScore:
    if not samples:
        return SignalScore(NAME, Reason.PAD_MODEL_REJECTED, None, None, threshold, "no model configured")
    value = float(np.mean(samples))
    return SignalScore(
        NAME,
        Reason.PAD_MODEL_REJECTED,
        ratio_score(value, threshold, attack_if="above"),
        value,
        threshold,
        f"mean attack probability {value:.3f} over {len(samples)} frames",
    )
