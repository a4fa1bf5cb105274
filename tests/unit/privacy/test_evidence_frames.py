"""Which live frames the service encodes for evidence: none unless retention keeps frames; then at
most ``frames_kept`` of the matcher's best, as JPEGs in capture order."""

from __future__ import annotations

import cv2
import numpy as np

from portraitmatch.adapters.web.verification import evidence_jpegs, keeps_frames
from portraitmatch.config import RetentionSettings
from portraitmatch.types import Frame


def _frame(t_ms: float, shade: int) -> Frame:
    pixels = np.zeros((48, 64, 3), np.uint8)
    pixels[..., 0] = shade  # red in RGB: checks the colour order survives the encoding
    return Frame(pixels, t_ms, int(t_ms))


BEST_FIRST = [_frame(900.0, 200), _frame(100.0, 120), _frame(500.0, 60)]


def test_nothing_is_encoded_unless_frames_are_kept() -> None:
    for retention in (
        RetentionSettings(),
        RetentionSettings(enabled=True, artefacts=("id_portrait",)),
        RetentionSettings(enabled=True, frames_kept=0),
    ):
        assert not keeps_frames(retention)
        assert evidence_jpegs(retention, BEST_FIRST) == ()


def test_the_best_frames_up_to_the_limit_in_capture_order() -> None:
    jpegs = evidence_jpegs(RetentionSettings(enabled=True, frames_kept=2), BEST_FIRST)
    assert len(jpegs) == 2
    decoded = [cv2.imdecode(np.frombuffer(j, np.uint8), cv2.IMREAD_COLOR) for j in jpegs]
    # the two best (shades 200 at 900 ms, 120 at 100 ms), earliest first; OpenCV decodes to BGR
    reds = [float(d[..., 2].mean()) for d in decoded]
    assert abs(reds[0] - 120) < 4 and abs(reds[1] - 200) < 4, reds
    assert all(abs(float(d[..., :2].mean())) < 3 for d in decoded)
