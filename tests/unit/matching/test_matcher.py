"""The Matcher's contract with a calibration and its embedders, using a small real embedder: the
normalised colour histogram of the face box (weak, but a genuine function of the pixels)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pytest

from portraitmatch.errors import ConfigurationError
from portraitmatch.matching.calibration import Calibration, PortraitBand, fit_calibration
from portraitmatch.matching.live import LiveCandidate
from portraitmatch.matching.matcher import Matcher, PortraitTemplate
from portraitmatch.types import Box, Embedding, FaceObservation, Frame, Quality, Reason


class HistogramEmbedder:
    model_id = "colour-hist"

    def __init__(self, flip: bool = False) -> None:
        self.flip = flip

    def embed(self, pixels: np.ndarray, box: Box) -> Embedding:
        crop = pixels[int(box.y) : int(box.y + box.h), int(box.x) : int(box.x + box.w)]
        hist = np.concatenate([np.bincount(crop[..., c].ravel() // 32, minlength=8) for c in range(3)])
        return Embedding(hist / np.linalg.norm(hist), self.model_id)


@dataclass(frozen=True)
class Still:
    pixels: np.ndarray
    box: Box
    quality: Quality = field(default_factory=Quality)
    notes: tuple[str, ...] = ()


def _calibration(options: dict | None = None) -> Calibration:
    rng = np.random.default_rng(0)
    return fit_calibration(
        {"colour-hist": rng.normal(0.95, 0.02, 500)},
        {"colour-hist": rng.normal(0.6, 0.1, 5000)},
        1e-3,
        created=date(2026, 11, 22),
        population="Test",
        options={"colour-hist": options or {"flip": False}},
    )


def _image(rgb: tuple[int, int, int], noise: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = np.zeros((64, 64, 3), np.int16) + np.array(rgb, np.int16)
    return np.clip(base + rng.integers(-noise, noise + 1, base.shape), 0, 255).astype(np.uint8)


BOX = Box(8, 8, 48, 48)


def test_compare_scores_like_and_unlike_faces() -> None:
    matcher = Matcher(_calibration(), [HistogramEmbedder()])
    a = matcher.enrol(Still(_image((200, 150, 120), 10, 1), BOX))
    b = matcher.enrol(Still(_image((200, 150, 120), 10, 2), BOX))
    c = matcher.enrol(Still(_image((40, 60, 200), 10, 3), BOX))
    same, other = matcher.compare(a, b), matcher.compare(a, c)
    assert same.is_match and not other.is_match
    assert same.threshold == matcher.calibration.threshold
    assert same.scores_by_model["colour-hist"] > 0.95
    assert same.calibration_id == matcher.calibration.calibration_id


def test_match_live_uses_frames_and_reports_them() -> None:
    matcher = Matcher(_calibration(), [HistogramEmbedder()])
    portrait = matcher.enrol(Still(_image((200, 150, 120), 10, 1), BOX))
    face = FaceObservation(BOX, np.zeros((1, 3)), 0.0, 0.0, 0.0, 0.3, 0.3, quality=Quality(face_px=48))
    live = [
        LiveCandidate(Frame(_image((200, 150, 120), 10, 10 + i), t_ms=i * 400.0, index=i), face, 1.0)
        for i in range(3)
    ]
    result = matcher.match_live(portrait, live)
    assert result is not None and result.is_match
    assert result.frames_used == (0, 1, 2)
    by_score = Matcher(_calibration(), [HistogramEmbedder()], frame_fusion="mean_score").match_live(
        portrait, live
    )
    assert by_score is not None and by_score.is_match
    assert matcher.match_live(portrait, []) is None


def test_embedders_must_match_the_calibration() -> None:
    with pytest.raises(ConfigurationError, match="models"):
        Matcher(_calibration(), [])
    with pytest.raises(ConfigurationError, match="flip"):
        Matcher(_calibration({"flip": True}), [HistogramEmbedder(flip=False)])
    with pytest.raises(ValueError):
        Matcher(_calibration(), [HistogramEmbedder()], frame_fusion="max")


def test_template_round_trip_keeps_vectors_and_quality() -> None:
    matcher = Matcher(_calibration(), [HistogramEmbedder()])
    quality = Quality(reasons=(Reason.BLURRED,), face_px=48.0, sharpness=12.5, brightness=100.0)
    t = matcher.enrol(Still(_image((10, 200, 30), 5, 4), BOX, quality, ("note",)))
    back = PortraitTemplate.from_dict(t.to_dict())
    np.testing.assert_array_equal(back.vectors["colour-hist"], t.vectors["colour-hist"])
    assert back.quality == quality
    assert back.notes == ("note",)
    assert matcher.compare(t, back).scores_by_model["colour-hist"] == pytest.approx(1.0, abs=1e-6)


def test_template_without_a_calibrated_model_is_refused() -> None:
    matcher = Matcher(_calibration(), [HistogramEmbedder()])
    stranger = PortraitTemplate({"other-model": np.ones(4)})
    with pytest.raises(ConfigurationError, match="enrol it again"):
        matcher.compare(stranger, stranger)


def test_a_small_portrait_is_judged_by_its_band_threshold() -> None:
    plain = _calibration()
    banded = plain.with_bands([PortraitBand("chip", 80.0, plain.threshold + 100.0)])
    matcher = Matcher(banded, [HistogramEmbedder()])
    pixels = _image((200, 150, 120), 10, 1)
    small = matcher.enrol(Still(pixels, BOX, Quality(face_px=60.0)))
    large = matcher.enrol(Still(pixels, BOX, Quality(face_px=200.0)))
    other = matcher.enrol(Still(_image((200, 150, 120), 10, 2), BOX, Quality(face_px=200.0)))
    chip, photo = matcher.compare(small, other), matcher.compare(large, other)
    assert chip.score == pytest.approx(photo.score)  # same pixels: only the threshold differs
    assert (chip.threshold_band, chip.threshold, chip.is_match) == ("chip", plain.threshold + 100.0, False)
    assert (photo.threshold_band, photo.threshold, photo.is_match) == ("photo", plain.threshold, True)
    face = FaceObservation(BOX, np.zeros((1, 3)), 0.0, 0.0, 0.0, 0.3, 0.3, quality=Quality(face_px=48))
    live = [LiveCandidate(Frame(_image((200, 150, 120), 10, 20), t_ms=0.0, index=0), face, 1.0)]
    result = matcher.match_live(small, live)
    assert result is not None and result.threshold_band == "chip" and not result.is_match
