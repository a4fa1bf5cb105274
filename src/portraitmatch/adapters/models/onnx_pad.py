"""An operator-supplied anti-spoofing model in ONNX format, behind `liveness.pad.PadModel`.

PortraitMatch ships no anti-spoofing model (none with usable weights and licence exists, see
docs/pad.md); an operator who has one plugs it in here. The model is any ONNX graph that takes one
face crop and returns either one number (the probability that the face is an attack) or a row of
class scores of which one is "live". How to prepare its input is described in a JSON file next to
it, ``<model>.json`` (every key optional):

    {"input_px": 80,              # side of the square crop the model takes
     "margin": 0.2,               # crop enlarged by this share of the face box on each side
     "channel_order": "RGB",      # or "BGR"
     "layout": "NCHW",            # or "NHWC"
     "scale": 0.00392156862745,   # pixel value multiplier (1/255), then ...
     "mean": [0, 0, 0], "std": [1, 1, 1],   # ... (x * scale - mean) / std per channel
     "live_index": null,          # null: the output is the attack probability; k: column k is "live"
     "softmax": false}            # apply softmax to the class scores first

The file is refused unless its sha256 matches ``sha256`` when one is configured
(``pad.model_sha256``), and it loads explicitly (`OnnxPadModel.load`), never at import.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from portraitmatch.adapters.models.weights import sha256_of
from portraitmatch.errors import InputError, ModelError
from portraitmatch.types import Box


@dataclass(frozen=True, slots=True)
class OnnxPadPreprocessing:
    input_px: int = 80
    margin: float = 0.2
    channel_order: str = "RGB"
    layout: str = "NCHW"
    scale: float = 1.0 / 255.0
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    live_index: int | None = None
    softmax: bool = False

    @classmethod
    def from_json(cls, path: Path) -> OnnxPadPreprocessing:
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot read the PAD model description {path.name}: {exc}") from exc
        known = set(cls.__dataclass_fields__)
        unknown = set(doc) - known
        if unknown:
            raise ModelError(f"{path.name} has unknown keys {sorted(unknown)}; known: {sorted(known)}")
        for key in ("mean", "std"):
            if key in doc:
                doc[key] = tuple(float(v) for v in doc[key])
        prep = cls(**doc)
        if (
            prep.channel_order not in ("RGB", "BGR")
            or prep.layout not in ("NCHW", "NHWC")
            or prep.input_px < 8
        ):
            raise ModelError(f"{path.name}: channel_order must be RGB/BGR, layout NCHW/NHWC, input_px >= 8")
        return prep


class OnnxPadModel:
    """Scores one face crop: probability (0..1) that it is a presentation attack."""

    def __init__(self, session: ort.InferenceSession, prep: OnnxPadPreprocessing, model_id: str) -> None:
        self._session = session
        self._input = session.get_inputs()[0].name
        self.prep = prep
        self.model_id = model_id

    @classmethod
    def load(cls, path: Path | str, *, sha256: str | None = None, threads: int = 1) -> OnnxPadModel:
        """Load the model (and ``<path>.json`` if present). Raises `ModelError` if the file is
        missing, does not match `sha256`, or onnxruntime cannot load it."""
        path = Path(path)
        if not path.is_file():
            raise ModelError(f"PAD model file not found: {path}")
        if sha256 is not None and sha256_of(path) != sha256.lower():
            raise ModelError(
                f"PAD model {path.name} does not match its configured sha256; refusing to load it"
            )
        sidecar = path.with_suffix(".json")
        prep = OnnxPadPreprocessing.from_json(sidecar) if sidecar.is_file() else OnnxPadPreprocessing()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        try:
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelError(f"onnxruntime cannot load the PAD model {path.name}: {exc}") from exc
        return cls(session, prep, model_id=f"onnx-pad:{path.stem}")

    def score(self, pixels: np.ndarray, box: Box) -> float:
        """Attack probability of the face in `box` (RGB uint8 pixels)."""
        if (
            not isinstance(pixels, np.ndarray)
            or pixels.ndim != 3
            or pixels.shape[2] != 3
            or pixels.dtype != np.uint8
        ):
            raise InputError("expected HxWx3 uint8 RGB pixels")
        if not (np.isfinite([box.x, box.y, box.w, box.h]).all() and box.w >= 1 and box.h >= 1):
            raise InputError(f"face box must have a positive finite size, got {box}")
        out = self._session.run(None, {self._input: self.to_input(pixels, box)})[0]
        return self._attack_probability(np.asarray(out, dtype=np.float64).reshape(-1))

    def to_input(self, pixels: np.ndarray, box: Box) -> np.ndarray:
        p = self.prep
        side = max(box.w, box.h) * (1 + 2 * p.margin)
        s = p.input_px / side
        m = np.array([[s, 0, p.input_px / 2 - s * box.cx], [0, s, p.input_px / 2 - s * box.cy]])
        crop = cv2.warpAffine(
            pixels, m, (p.input_px, p.input_px), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE
        )
        if p.channel_order == "BGR":
            crop = crop[..., ::-1]
        x = (crop.astype(np.float32) * p.scale - np.array(p.mean, np.float32)) / np.array(p.std, np.float32)
        x = x[None]
        if p.layout == "NCHW":
            x = x.transpose(0, 3, 1, 2)
        return np.ascontiguousarray(x, dtype=np.float32)

    def _attack_probability(self, out: np.ndarray) -> float:
        p = self.prep
        if p.live_index is None:
            if out.size != 1:
                raise ModelError(f"the PAD model returned {out.size} values; set live_index in its .json")
            value = float(out[0])
        else:
            if not 0 <= p.live_index < out.size:
                raise ModelError(f"live_index {p.live_index} is outside the model's {out.size} outputs")
            scores = out
            if p.softmax:
                e = np.exp(scores - scores.max())
                scores = e / e.sum()
            value = 1.0 - float(scores[p.live_index])
        if not np.isfinite(value):
            raise ModelError("the PAD model returned a non-finite score")
        return float(np.clip(value, 0.0, 1.0))
