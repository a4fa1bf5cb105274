"""dlib models: the HOG face detector for stills and the 128-D ResNet face embedder.

Both load their files explicitly (``load()``), never at import, from sha256-checked paths
(``weights.verified_path``). dlib objects are not documented as thread-safe, so every call into
dlib holds the instance's lock; an ``Engine`` can share one instance across request threads.

Measured on the 2-core dev machine (``portraitmatch bench verify`` prints them per run):
load ~0.3 s; HOG detection ~20 ms (upsample 0) / ~70 ms (upsample 1) on a 250x250 photo;
5-point alignment + ResNet ~65 ms a face (about twice that with ``flip=True``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import dlib
import numpy as np

from portraitmatch.adapters.models.weights import verified_path
from portraitmatch.types import Box, Embedding

SHAPE_PREDICTOR_FILE = "shape_predictor_5_face_landmarks.dat"
RESNET_FILE = "dlib_face_recognition_resnet_model_v1.dat"


def _as_dlib_image(pixels: np.ndarray) -> np.ndarray:
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype != np.uint8:
        raise ValueError(f"expected HxWx3 uint8 RGB pixels, got {pixels.shape} {pixels.dtype}")
    return np.ascontiguousarray(pixels)


def _to_rect(box: Box) -> dlib.rectangle:
    left, top = round(box.x), round(box.y)
    return dlib.rectangle(left, top, left + max(1, round(box.w)) - 1, top + max(1, round(box.h)) - 1)


def _to_box(rect: dlib.rectangle) -> Box:
    return Box(float(rect.left()), float(rect.top()), float(rect.width()), float(rect.height()))


@dataclass(frozen=True, slots=True)
class ScoredBox:
    box: Box
    score: float  # HOG SVM margin: > 0 is a detection, larger is more confident


class DlibHogDetector:
    """dlib's frontal HOG + linear SVM detector (implements ``ports.FaceDetector``).

    It finds faces down to ~80 px wide at ``upsample=0`` and ~40 px at ``upsample=1``
    (each upsampling step doubles the image, and roughly quadruples the time). A face on an ID
    card photographed at arm's length is small: ``analysis.portrait`` upsamples or tiles on top.
    """

    def __init__(self, *, upsample: int = 1, adjust_threshold: float = 0.0) -> None:
        if not 0 <= upsample <= 3:
            raise ValueError("upsample must be 0..3")
        self.upsample = upsample
        self.adjust_threshold = adjust_threshold
        self._detector: dlib.fhog_object_detector | None = None
        self._lock = threading.Lock()

    @classmethod
    def load(cls, *, upsample: int = 1, adjust_threshold: float = 0.0) -> DlibHogDetector:
        detector = cls(upsample=upsample, adjust_threshold=adjust_threshold)
        detector._detector = dlib.get_frontal_face_detector()
        return detector

    def detect(self, pixels: np.ndarray) -> list[Box]:
        return [s.box for s in self.detect_scored(pixels)]

    def detect_scored(self, pixels: np.ndarray, *, upsample: int | None = None) -> list[ScoredBox]:
        """Faces with their SVM scores, most confident first."""
        if self._detector is None:
            raise RuntimeError("DlibHogDetector.load() was not called")
        image = _as_dlib_image(pixels)
        n_up = self.upsample if upsample is None else upsample
        with self._lock:
            rects, scores, _ = self._detector.run(image, n_up, self.adjust_threshold)
        found = [ScoredBox(_to_box(r), float(s)) for r, s in zip(rects, scores, strict=True)]
        return sorted(found, key=lambda s: -s.score)


class DlibEmbedder:
    """dlib ResNet (``model_id = "dlib-resnet-128"``): 5-point alignment, 150x150 chip, 128-D.

    The box only seeds the 5-point shape predictor, so boxes from another detector work if
    they frame the face like dlib's (brow to chin). ``num_jitters`` > 0 averages that many
    randomly jittered copies (dlib's own test-time augmentation; ~that many times slower);
    ``flip=True`` also averages the mirrored chip. Vectors are returned L2-normalised.
    """

    model_id = "dlib-resnet-128"

    def __init__(self, *, num_jitters: int = 0, flip: bool = False, padding: float = 0.25) -> None:
        self.num_jitters = num_jitters
        self.flip = flip
        self.padding = padding
        self._shape_predictor: dlib.shape_predictor | None = None
        self._resnet: dlib.face_recognition_model_v1 | None = None
        self._lock = threading.Lock()

    @classmethod
    def load(cls, *, num_jitters: int = 0, flip: bool = False, padding: float = 0.25) -> DlibEmbedder:
        embedder = cls(num_jitters=num_jitters, flip=flip, padding=padding)
        embedder._shape_predictor = dlib.shape_predictor(str(verified_path(SHAPE_PREDICTOR_FILE)))
        embedder._resnet = dlib.face_recognition_model_v1(str(verified_path(RESNET_FILE)))
        return embedder

    def landmarks5(self, pixels: np.ndarray, box: Box) -> np.ndarray:
        """The 5 alignment points (x, y): two per eye corner pair and the base of the nose."""
        if self._shape_predictor is None:
            raise RuntimeError("DlibEmbedder.load() was not called")
        image = _as_dlib_image(pixels)
        with self._lock:
            shape = self._shape_predictor(image, _to_rect(box))
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)

    def embed(self, pixels: np.ndarray, box: Box) -> Embedding:
        if self._shape_predictor is None or self._resnet is None:
            raise RuntimeError("DlibEmbedder.load() was not called")
        image = _as_dlib_image(pixels)
        with self._lock:
            shape = self._shape_predictor(image, _to_rect(box))
            chip = dlib.get_face_chip(image, shape, 150, self.padding)
            vector = np.array(self._resnet.compute_face_descriptor(chip, self.num_jitters), dtype=np.float64)
            if self.flip:
                mirrored = np.ascontiguousarray(chip[:, ::-1])
                vector += np.array(self._resnet.compute_face_descriptor(mirrored, self.num_jitters))
        return Embedding(vector / np.linalg.norm(vector), self.model_id)
