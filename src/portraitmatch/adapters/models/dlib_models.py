"""dlib models: the HOG face detector for stills and the 128-D ResNet face embedder.

Both load their files explicitly (``load()``), never at import, from sha256-checked paths
(``weights.verified_path``). dlib objects are not documented as thread-safe, so every call into
a dlib object holds that object's lock; an ``Engine`` can share one instance across request threads.
The embedder keeps one lock per dlib object (HOG detector, shape predictor, ResNet), so that one
thread's HOG box refinement, which runs outside the GIL, overlaps another's ResNet pass.

Latencies on the 2-core dev machine are measured and printed by ``portraitmatch bench verify``.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import dlib
import numpy as np

from portraitmatch.adapters.models.resnet_processes import ResNetProcesses
from portraitmatch.adapters.models.weights import verified_path
from portraitmatch.errors import ModelError
from portraitmatch.types import Box, Embedding

_log = logging.getLogger(__name__)

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

    The box seeds dlib's 5-point shape predictor, which was trained on dlib detector boxes (brow
    to chin). Boxes from other detectors (MediaPipe's landmark box also spans the forehead) shift
    the alignment, so with ``refine_box`` the face is first re-detected with HOG in a window around
    the given box and the detection overlapping it most is used (the given box if none is found).

    ``flip=True`` averages the descriptors of the chip and its mirror image: on East Asian
    pairs it cut FNMR at FMR 1e-3 by a quarter (docs/calibration.md) for twice the time.
    ``num_jitters`` > 1 is dlib's own random-jitter averaging: no better than ``flip`` there, at
    ``num_jitters`` times the cost. Vectors are returned L2-normalised.

    ``processes`` > 0 runs the ResNet passes in that many worker processes (`ResNetProcesses`):
    dlib holds the GIL during a pass, so only processes put a second core to work on them. The
    descriptors are the same bit for bit; the box refinement and alignment stay in this process.
    """

    model_id = "dlib-resnet-128"

    def __init__(
        self, *, flip: bool = True, num_jitters: int = 0, padding: float = 0.25, refine_box: bool = True
    ) -> None:
        self._workers: ResNetProcesses | None = None
        self.flip = flip
        self.num_jitters = num_jitters
        self.padding = padding
        self.refine_box = refine_box
        self._shape_predictor: dlib.shape_predictor | None = None
        self._resnet: dlib.face_recognition_model_v1 | None = None
        self._detector: dlib.fhog_object_detector | None = None
        self._detector_lock = threading.Lock()
        self._predictor_lock = threading.Lock()
        self._resnet_lock = threading.Lock()

    @classmethod
    def load(
        cls,
        *,
        flip: bool = True,
        num_jitters: int = 0,
        padding: float = 0.25,
        refine_box: bool = True,
        processes: int = 0,
    ) -> DlibEmbedder:
        embedder = cls(flip=flip, num_jitters=num_jitters, padding=padding, refine_box=refine_box)
        resnet_path = verified_path(RESNET_FILE)
        workers = None
        if processes > 0:
            # started first: the workers load their networks while this process loads the rest
            try:
                workers = ResNetProcesses(resnet_path, processes)
            except OSError as exc:
                _log.warning("ResNet worker processes could not start (%s); using this process", exc)
        embedder._shape_predictor = dlib.shape_predictor(str(verified_path(SHAPE_PREDICTOR_FILE)))
        embedder._detector = dlib.get_frontal_face_detector()
        if workers is not None:
            try:
                workers.wait_ready()
                embedder._workers = workers
            except ModelError as exc:
                _log.warning("ResNet worker processes failed (%s); using this process", exc)
        if embedder._workers is None:
            embedder._resnet = dlib.face_recognition_model_v1(str(resnet_path))
        return embedder

    def embed(self, pixels: np.ndarray, box: Box) -> Embedding:
        chip = self.face_chip(pixels, box)
        chips = [chip, np.ascontiguousarray(chip[:, ::-1])] if self.flip else [chip]
        vectors = self._describe_all(chips)
        vector = vectors[0] + vectors[1] if self.flip else vectors[0]
        return Embedding(vector / np.linalg.norm(vector), self.model_id)

    def descriptor(self, pixels: np.ndarray, box: Box) -> np.ndarray:
        """dlib's raw, unnormalised descriptor of one aligned chip, exactly as ``face_recognition``
        computes it (no flip, no box refinement): for its Euclidean 0.6 rule (the baseline)."""
        return self._describe_all([self.face_chip(pixels, box, refine=False)])[0]

    def close(self) -> None:
        """Stop the worker processes, if any (they also stop when the embedder is dropped)."""
        if self._workers is not None:
            self._workers.close()

    def face_chip(self, pixels: np.ndarray, box: Box, *, refine: bool | None = None) -> np.ndarray:
        """The 150x150 aligned chip the ResNet sees."""
        if self._shape_predictor is None:
            raise RuntimeError("DlibEmbedder.load() was not called")
        image = _as_dlib_image(pixels)
        if refine if refine is not None else self.refine_box:
            box = self._refined(image, box)
        with self._predictor_lock:
            shape = self._shape_predictor(image, _to_rect(box))
            return dlib.get_face_chip(image, shape, 150, self.padding)

    def landmarks5(self, pixels: np.ndarray, box: Box) -> np.ndarray:
        """The 5 alignment points (x, y): the corners of both eyes and the base of the nose."""
        if self._shape_predictor is None:
            raise RuntimeError("DlibEmbedder.load() was not called")
        image = _as_dlib_image(pixels)
        with self._predictor_lock:
            shape = self._shape_predictor(image, _to_rect(box))
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)

    def _describe_all(self, chips: list[np.ndarray]) -> list[np.ndarray]:
        if self._workers is not None:
            return self._workers.describe(chips, self.num_jitters)
        return [self._describe(chip) for chip in chips]

    def _describe(self, chip: np.ndarray) -> np.ndarray:
        if self._resnet is None:
            raise RuntimeError("DlibEmbedder.load() was not called")
        with self._resnet_lock:
            return np.array(self._resnet.compute_face_descriptor(chip, self.num_jitters), dtype=np.float64)

    def _refined(self, image: np.ndarray, box: Box) -> Box:
        """The HOG detection overlapping `box` most, searched in a window of 2x the box's side."""
        assert self._detector is not None
        side = max(box.w, box.h)
        x0, y0 = max(0, int(box.cx - side)), max(0, int(box.cy - side))
        x1, y1 = min(image.shape[1], int(box.cx + side)), min(image.shape[0], int(box.cy + side))
        if x1 - x0 < 8 or y1 - y0 < 8:
            return box
        window = np.ascontiguousarray(image[y0:y1, x0:x1])
        # HOG finds faces down to ~80 px; smaller windows are searched at 2x.
        upsample = 0 if side >= 100 else 1
        with self._detector_lock:
            rects = self._detector(window, upsample)
        found = [Box(r.left() + x0, r.top() + y0, r.width(), r.height()) for r in rects]
        best = max(found, key=box.iou, default=None)
        return best if best is not None and box.iou(best) > 0.2 else box
