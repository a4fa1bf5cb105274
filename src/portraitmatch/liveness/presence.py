"""Who is in front of the camera: one face, the same face, not gone for long.

Three small trackers the checker consults on every frame. None of them calls a model: they get
face counts, times and (optionally) identity vectors the engine computed.
"""

from __future__ import annotations

from collections import deque

import numpy as np

# Frames further apart than this (a stalled stream) do not count as a long run of faces.
_MAX_FRAME_GAP_MS = 200.0


class FacePresence:
    """Tracks time without a face and time with several faces.

    Detectors report a spurious second face for a frame or two (the dev traces show it), so
    several faces only count once they were seen for ``multiple_faces_min_ms`` out of the last
    ``multiple_faces_window_ms``.
    """

    def __init__(self, *, multiple_faces_min_ms: float, multiple_faces_window_ms: float = 1000.0) -> None:
        self.multiple_faces_min_ms = multiple_faces_min_ms
        self.multiple_faces_window_ms = max(multiple_faces_window_ms, multiple_faces_min_ms)
        self._multi: deque[tuple[float, float]] = deque()  # t, duration with several faces
        self._last_t: float | None = None
        self.last_face_ms: float | None = None
        self.first_face_ms: float | None = None
        self.lost_total_ms = 0.0
        self.lost_longest_ms = 0.0
        self.multiple_faces_ms = 0.0
        self.frames_with_face = 0

    def update(self, t_ms: float, n_faces: int) -> None:
        dt = 0.0 if self._last_t is None else min(max(t_ms - self._last_t, 0.0), _MAX_FRAME_GAP_MS)
        self._last_t = t_ms
        if n_faces == 0:
            if self.last_face_ms is not None:
                self.lost_total_ms += dt
                self.lost_longest_ms = max(self.lost_longest_ms, t_ms - self.last_face_ms)
            return
        if self.first_face_ms is None:
            self.first_face_ms = t_ms
        self.last_face_ms = t_ms
        self.frames_with_face += 1
        if n_faces > 1:
            self._multi.append((t_ms, dt))
            self.multiple_faces_ms += dt
        while self._multi and self._multi[0][0] < t_ms - self.multiple_faces_window_ms:
            self._multi.popleft()

    def lost_ms(self, t_ms: float) -> float:
        """How long the face has been gone at `t_ms` (0 while it is in view or before it appeared)."""
        if self.last_face_ms is None:
            return 0.0
        return max(0.0, t_ms - self.last_face_ms)

    @property
    def has_multiple_faces(self) -> bool:
        return sum(d for _, d in self._multi) >= self.multiple_faces_min_ms


class IdentityTracker:
    """Compares identity vectors from sampled frames with the earlier samples of the same capture.

    A sample's score is its best cosine against the earlier samples that matched (the first one
    always among them, at most ``max_references`` kept): a head turned 40° matches the frames
    on the way there far better than the frontal first frame. A single low score is not enough to
    fail, since a blurred or turned face embeds poorly; the face changed when ``min_consecutive``
    samples in a row score below ``min_cosine``.
    """

    def __init__(self, *, min_cosine: float, min_consecutive: int = 2, max_references: int = 64) -> None:
        self.min_cosine = min_cosine
        self.min_consecutive = max(1, min_consecutive)
        self._first: np.ndarray | None = None
        self._recent: deque[np.ndarray] = deque(maxlen=max(1, max_references - 1))
        self._low_run = 0
        self.samples = 0
        self.lowest_cosine: float | None = None

    def update(self, vector: np.ndarray) -> bool:
        """Add one sample; True when the face is judged to have changed."""
        v = np.asarray(vector, dtype=np.float64).ravel()
        norm = float(np.linalg.norm(v))
        if v.size == 0 or not np.isfinite(norm) or norm == 0.0:
            raise ValueError("an identity vector must be non-empty, finite and non-zero")
        v = v / norm
        self.samples += 1
        if self._first is None:
            self._first = v
            return False
        if v.shape != self._first.shape:
            raise ValueError(f"identity vectors differ in size: {v.shape} vs {self._first.shape}")
        cosine = max(float(v @ r) for r in (self._first, *self._recent))
        self.lowest_cosine = cosine if self.lowest_cosine is None else min(self.lowest_cosine, cosine)
        if cosine < self.min_cosine:
            self._low_run += 1
        else:
            self._low_run = 0
            self._recent.append(v)
        return self._low_run >= self.min_consecutive
