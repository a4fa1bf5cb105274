"""MediaPipe FaceLandmarker behind `ports.LandmarkDetector`: faces, 478 landmarks, pose, eye state.

The model file ``face_landmarker.task`` (Apache-2.0, see weights/LICENSES.md) is vendored and its
sha256 checked by `weights.verified_path` when `MediaPipeLandmarker.load` runs, never at import.

The landmarker runs in IMAGE mode: every frame is analysed on its own, with no tracking state
between calls, so one loaded instance can serve any number of capture sessions. MediaPipe task
objects are not safe to call from several threads at once, so each call borrows one of a small pool
of task instances (``pool_size``; 1 behaves like a lock).

Everything `observe` reports is in **image terms**, the frame as decoded: yaw > 0 means the nose
points towards the image right, ``ear_left``/``blink_left`` belong to the eye on the image left.
`Frame.mirrored` is passed through untouched; turning image terms into the customer's own left and
right is the liveness checker's job, because only it knows which way the customer was asked to turn.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
import weakref
from collections.abc import Iterator
from typing import Any

import mediapipe as mp
import numpy as np
from mediapipe.tasks import python as mp_tasks
from mediapipe.tasks.python import vision as mp_vision

from portraitmatch.adapters.models._finalizing import release_on_new_thread
from portraitmatch.adapters.models.weights import verified_path
from portraitmatch.analysis.geometry import box_from_landmarks, eye_aspect_ratios, head_angles_deg
from portraitmatch.analysis.quality import assess_quality
from portraitmatch.config import QualitySettings
from portraitmatch.errors import ModelError
from portraitmatch.types import FaceObservation, Frame, FrameAnalysis

MODEL_FILE = "face_landmarker.task"

# MediaPipe names blendshapes from the subject's point of view (ARKit convention): on an unmirrored
# frame the subject's left eye is on the image right. Checked on the dev clip d3.mp4, whose labelled
# image-right wink (frame 11) raises eyeBlinkLeft to 0.56 while eyeBlinkRight stays at 0.11.
_BLINK_IMAGE_LEFT = "eyeBlinkRight"
_BLINK_IMAGE_RIGHT = "eyeBlinkLeft"

# Smallest face (sqrt of landmark-box area) the full-frame pass finds, as a share of the frame's
# long side: 68 px found, 55 px missed at 640x480 (dev clip d10 shrunk onto a grey canvas).
_FULL_FRAME_MIN_FACE_RATIO = 0.106


class MediaPipeLandmarker:
    """Finds every face in a frame (up to ``max_faces``) and describes each as a `FaceObservation`.

    Build it with `MediaPipeLandmarker.load`; call `close` (or use it as a context manager) when
    done, or let it be closed at interpreter exit.
    """

    model_id = "mediapipe-face-landmarker-v2"

    def __init__(self, tasks: list[Any], *, quality: QualitySettings, max_faces: int, load_ms: float) -> None:
        if not tasks:
            raise ValueError("at least one landmarker task is needed")
        self._pool: queue.SimpleQueue[Any] = queue.SimpleQueue()
        for task in tasks:
            self._pool.put(task)
        self._quality = quality
        self.max_faces = max_faces
        self.pool_size = len(tasks)
        self.load_ms = load_ms
        owned = list(tasks)
        self._owned = owned
        # Collected without close(): the collector may run inside another MediaPipe call, which
        # holds concurrent.futures' global lock that closing needs.
        self._finalizer = weakref.finalize(
            self, release_on_new_thread, _close_tasks, owned, name="mediapipe-close"
        )
        finalizer = self._finalizer

        def close_at_exit() -> None:
            if finalizer.detach() is not None:
                _close_tasks(owned)

        # MediaPipe runs each task on a concurrent.futures worker, which is shut down before
        # ordinary atexit handlers (and so before weakref.finalize's) run; a task still open then
        # prints tracebacks at exit. threading's exit hooks run earlier, in reverse order of
        # registration, so ours closes the tasks while their workers still exist.
        register = getattr(threading, "_register_atexit", None)
        if register is not None:
            with contextlib.suppress(RuntimeError):  # interpreter already shutting down
                register(close_at_exit)

    @classmethod
    def load(
        cls,
        quality: QualitySettings | None = None,
        max_faces: int = 4,
        *,
        pool_size: int = 1,
        min_detection_confidence: float = 0.5,
    ) -> MediaPipeLandmarker:
        """Check the model file's sha256 and create ``pool_size`` landmarker task instances.

        ``pool_size`` is how many frames may be analysed at the same moment. MediaPipe runs each
        task on its own worker thread outside the GIL and one call keeps about one core busy, so
        a larger pool only pays where idle cores exist: on the 2-core development machine (shared
        with other work) two threads got 121 frames/s with a pool of 1 and 115 with a pool of 2,
        so 1 is the default. Takes ≈0.1 s (sha256 check included); importing mediapipe itself
        takes ≈1.5 s more on first use. Raises `ModelError` if the model is missing or altered.
        """
        if max_faces < 1:
            raise ValueError("max_faces must be >= 1")
        if pool_size < 1:
            raise ValueError("pool_size must be >= 1")
        started = time.perf_counter()
        path = verified_path(MODEL_FILE)
        options = mp_vision.FaceLandmarkerOptions(
            base_options=mp_tasks.BaseOptions(model_asset_path=str(path)),
            running_mode=mp_vision.RunningMode.IMAGE,
            num_faces=max_faces,
            min_face_detection_confidence=min_detection_confidence,
            min_face_presence_confidence=0.5,
            output_face_blendshapes=True,
            output_facial_transformation_matrixes=True,
        )
        tasks: list[Any] = []
        try:
            for _ in range(pool_size):
                with _native_stderr_silenced():
                    tasks.append(mp_vision.FaceLandmarker.create_from_options(options))
        except (RuntimeError, ValueError, OSError) as exc:
            _close_tasks(tasks)
            raise ModelError(
                f"could not create the MediaPipe face landmarker from {path.name}: {exc}"
            ) from exc
        load_ms = (time.perf_counter() - started) * 1000
        return cls(tasks, quality=quality or QualitySettings(), max_faces=max_faces, load_ms=load_ms)

    def observe(self, frame: Frame) -> FrameAnalysis:
        """Every face in `frame`, largest first, each with landmarks, pose, eye state and quality.

        Results are in image terms even when ``frame.mirrored`` is set (see the module docstring):
        the liveness checker, not this adapter, turns them into the customer's left and right.

        When the whole frame gives no face and the frame is large enough that a face missed by
        the detector could still be big enough to use, the centre half of the frame is tried once
        more (see `_needs_centre_retry`).
        """
        pixels = frame.pixels
        with self._task() as task:
            result = task.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=pixels))
            origin, size = (0, 0), (frame.width_px, frame.height_px)
            if not result.face_landmarks and self._needs_centre_retry(frame):
                w, h = frame.width_px, frame.height_px
                origin, size = (w // 4, h // 4), (w // 2, h // 2)
                crop = np.ascontiguousarray(pixels[h // 4 : h // 4 + h // 2, w // 4 : w // 4 + w // 2])
                result = task.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=crop))
        faces = [self._observation(frame, result, k, origin, size) for k in range(len(result.face_landmarks))]
        faces.sort(key=lambda f: f.box.area, reverse=True)
        return FrameAnalysis(
            index=frame.index,
            t_ms=frame.t_ms,
            width_px=frame.width_px,
            height_px=frame.height_px,
            faces=tuple(faces),
        )

    def close(self) -> None:
        """Release the MediaPipe graphs; later `observe` calls raise `ModelError`. Close only when
        no other thread is inside `observe`."""
        if self._finalizer.detach() is not None:
            _close_tasks(self._owned)

    def __enter__(self) -> MediaPipeLandmarker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _task(self) -> Iterator[Any]:
        if not self._finalizer.alive:
            raise ModelError("this MediaPipeLandmarker has been closed")
        task = self._pool.get()
        try:
            yield task
        finally:
            self._pool.put(task)

    def _needs_centre_retry(self, frame: Frame) -> bool:
        # BlazeFace sees the whole frame at 128 px, so it misses faces smaller than about a tenth of
        # the frame's long side (measured: found at 68 px, missed at 55 px in 640x480). Retrying
        # on the centre half halves that limit; it is only worth a second run (≈8 ms) where the
        # faces it can recover would pass the FACE_TOO_SMALL gate.
        long_side = max(frame.width_px, frame.height_px)
        return long_side * _FULL_FRAME_MIN_FACE_RATIO > self._quality.min_face_px

    def _observation(
        self, frame: Frame, result: Any, k: int, origin: tuple[int, int], size: tuple[int, int]
    ) -> FaceObservation:
        (ox, oy), (w, h) = origin, size
        # MediaPipe's z is on the same scale as x (normalised by the image width).
        landmarks = np.array(
            [(ox + p.x * w, oy + p.y * h, p.z * w) for p in result.face_landmarks[k]], dtype=np.float32
        )
        yaw, pitch, roll = head_angles_deg(np.asarray(result.facial_transformation_matrixes[k]))
        ear_left, ear_right = eye_aspect_ratios(landmarks)
        scores = {c.category_name: float(c.score) for c in result.face_blendshapes[k]}
        box = box_from_landmarks(landmarks)
        return FaceObservation(
            box=box,
            landmarks=landmarks,
            yaw_deg=yaw,
            pitch_deg=pitch,
            roll_deg=roll,
            ear_left=ear_left,
            ear_right=ear_right,
            blink_left=scores.get(_BLINK_IMAGE_LEFT, 0.0),
            blink_right=scores.get(_BLINK_IMAGE_RIGHT, 0.0),
            quality=assess_quality(frame.pixels, box, landmarks, self._quality),
        )


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """MediaPipe's C++ graph writes INFO/WARNING lines straight to file descriptor 2 while it is
    built, before any logging flag can take effect; they would bury the CLI's own messages."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _close_tasks(tasks: list[Any]) -> None:
    for task in tasks:
        task.close()
    tasks.clear()
