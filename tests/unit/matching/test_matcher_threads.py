"""`Matcher.embed_live`: several threads and reused identity vectors change the schedule, never the
vectors or the score."""

from __future__ import annotations

import threading
import time
from datetime import date

import numpy as np
import pytest

from portraitmatch.matching.calibration import Calibration, fit_calibration
from portraitmatch.matching.live import LiveCandidate
from portraitmatch.matching.matcher import Matcher
from portraitmatch.types import Box, Embedding, FaceObservation, Frame, Quality

BOX = Box(8, 8, 48, 48)


class CountingEmbedder:
    """Colour histogram of the box (a real function of the pixels), counting calls and threads."""

    def __init__(self, model_id: str, bins: int, delay_s: float = 0.0) -> None:
        self.model_id = model_id
        self.bins = bins
        self.delay_s = delay_s
        self.calls = 0
        self.threads: set[int] = set()
        self._lock = threading.Lock()

    def embed(self, pixels: np.ndarray, box: Box) -> Embedding:
        with self._lock:
            self.calls += 1
            self.threads.add(threading.get_ident())
        time.sleep(self.delay_s)
        crop = pixels[int(box.y) : int(box.y + box.h), int(box.x) : int(box.x + box.w)]
        step = 256 // self.bins
        hist = np.concatenate(
            [np.bincount(crop[..., c].ravel() // step, minlength=self.bins) for c in range(3)]
        )
        return Embedding((hist / np.linalg.norm(hist)).astype(np.float32), self.model_id)


def _calibration() -> Calibration:
    rng = np.random.default_rng(0)
    models = ("hist-8", "hist-16")
    return fit_calibration(
        {m: rng.normal(0.95, 0.02, 500) for m in models},
        {m: rng.normal(0.6, 0.1, 5000) for m in models},
        1e-3,
        created=date(2026, 11, 22),
        population="Test",
        options={m: {} for m in models},
    )


def _candidates(n: int) -> list[LiveCandidate]:
    face = FaceObservation(BOX, np.zeros((1, 3)), 0.0, 0.0, 0.0, 0.3, 0.3, quality=Quality(face_px=48))
    rng = np.random.default_rng(7)
    out = []
    for i in range(n):
        base = np.zeros((64, 64, 3), np.int16) + np.array((200, 150, 120), np.int16)
        pixels = np.clip(base + rng.integers(-30, 31, base.shape), 0, 255).astype(np.uint8)
        out.append(LiveCandidate(Frame(pixels, t_ms=i * 400.0, index=10 + i), face, 1.0))
    return out


class _Still:
    def __init__(self, c: LiveCandidate) -> None:
        self.pixels = c.frame.pixels
        self.box = c.face.box


def _matcher(threads: int, delay_s: float = 0.0) -> Matcher:
    embedders = [CountingEmbedder("hist-8", 8, delay_s), CountingEmbedder("hist-16", 16, delay_s)]
    return Matcher(_calibration(), embedders, threads=threads)


def test_threads_give_exactly_the_sequential_vectors_and_score() -> None:
    live = _candidates(3)
    one, two = _matcher(1), _matcher(2, delay_s=0.01)
    seq, par = one.embed_live(live), two.embed_live(live)
    assert [sorted(f) for f in par] == [sorted(f) for f in seq]
    for a, b in zip(seq, par, strict=True):
        for m in a:
            assert a[m].dtype == b[m].dtype == np.float32
            np.testing.assert_array_equal(a[m], b[m])
    for k, c in enumerate(live):  # and they are what `embed` gives frame by frame
        for m, v in one.embed(c.frame.pixels, c.face.box).items():
            np.testing.assert_array_equal(v, seq[k][m])
    portrait = one.enrol(_Still(live[0]))
    assert one.match_live(portrait, live) == two.match_live(portrait, live)
    assert len(set().union(*(e.threads for e in two.embedders))) == 2  # the work was spread


def test_known_vectors_are_used_instead_of_embedding_again() -> None:
    live = _candidates(3)
    reference = _matcher(1)
    raw = {c.frame.index: reference.embedders[1].embed(c.frame.pixels, c.face.box).vector for c in live[:2]}
    matcher = _matcher(2)
    known = {index: {"hist-16": v, "not-calibrated": np.ones(3)} for index, v in raw.items()}
    per_frame = matcher.embed_live(live, known=known)
    assert [e.calls for e in matcher.embedders] == [3, 1]  # hist-16 only for the frame not known
    assert all(set(f) == {"hist-8", "hist-16"} for f in per_frame)
    for k, expected in enumerate(reference.embed_live(live)):
        for m in expected:
            np.testing.assert_array_equal(per_frame[k][m], expected[m])
    portrait = reference.enrol(_Still(live[1]))
    assert matcher.match_live(portrait, live, known=known) == reference.match_live(portrait, live)


def test_threads_must_be_positive() -> None:
    with pytest.raises(ValueError):
        _matcher(0)
