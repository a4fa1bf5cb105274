"""Cues of the medium: the border of a screen or a photo around the face, and recapture texture.

*Medium border.* A phone, tablet or monitor showing a face, and a photo held up to the camera,
put long straight edges (bezel, screen edge, paper border) close around the face, usually on three
or four sides at once. `measure_frame` finds the strongest straight edge on each side of the face;
this signal counts the share of frames in which three or more sides have an edge along at least
``MIN_SUPPORT`` of the face's extent. Rooms have straight edges too (doors, shelves, a whiteboard),
but on the dev clips never on three sides of the face at once (docs/pad.md). A screen or print
held so close that its border is outside the frame shows no border: the texture cue and the
operator's model are the defence there.

*Recapture texture.* A screen seen by a camera shows its pixel grid as moiré, a print its halftone
dots: a periodic pattern, i.e. a sharp isolated peak in the spectrum of the face texture, where
skin, hair and camera noise give a smooth spectrum. The value is the median over sampled frames of
the strongest high-frequency peak over the median spectral level. Camera sharpening and JPEG
blocks make small peaks too (bona fide dev clips 4.4-9.5, JPEG quality 40 included), far below
a close-up screen's (31-107 on the bench's rendered screens); the real phone replays of the dev
set show none (5.0-6.1), so this cue catches close screens with a visible pixel grid only
(docs/pad.md).
"""

from __future__ import annotations

import numpy as np

from portraitmatch.liveness.pad.measurements import FrameMeasurements
from portraitmatch.liveness.pad.result import SignalScore, ratio_score
from portraitmatch.types import Reason

BORDER = "medium_border"
TEXTURE = "recapture_texture"
MIN_SUPPORT = 0.7
MIN_SIDES = 3
MIN_FRAMES = 5


def enclosed_sides(m: FrameMeasurements) -> int:
    return sum(e.support >= MIN_SUPPORT for e in m.edges)


def score_medium_border(sides_per_frame: list[int], max_fraction: float) -> SignalScore:
    if len(sides_per_frame) < MIN_FRAMES:
        return SignalScore(BORDER, Reason.MEDIUM_BORDER_DETECTED, None, None, max_fraction, "too few frames")
    sides = np.asarray(sides_per_frame)
    value = float(np.mean(sides >= MIN_SIDES))
    detail = f"{int(np.sum(sides >= MIN_SIDES))} of {len(sides)} frames with edges on {MIN_SIDES}+ sides"
    return SignalScore(
        BORDER,
        Reason.MEDIUM_BORDER_DETECTED,
        ratio_score(value, max_fraction, attack_if="above"),
        value,
        max_fraction,
        detail,
    )


def spectral_peak(texture: np.ndarray) -> float | None:
    """Strongest isolated peak in the high half of the texture spectrum, over the median level."""
    if texture.size == 0 or min(texture.shape) < 24:
        return None
    g = texture.astype(np.float64)
    # Remove the smooth shading with a 3x3 box blur so only fine structure is left.
    pad = np.pad(g, 1, mode="edge")
    blur = sum(pad[i : i + g.shape[0], j : j + g.shape[1]] for i in range(3) for j in range(3)) / 9.0
    fine = g - blur
    n = g.shape[0]
    win = np.outer(np.hanning(n), np.hanning(g.shape[1]))
    spec = np.abs(np.fft.fftshift(np.fft.fft2(fine * win)))
    yy, xx = np.mgrid[0:n, 0 : g.shape[1]]
    r = np.hypot((yy - n // 2) / (n / 2), (xx - g.shape[1] // 2) / (g.shape[1] / 2))
    band = (r > 0.3) & (r < 0.95)
    level = float(np.median(spec[band]))
    if level <= 0:
        return None
    return float(spec[band].max()) / level


def score_recapture(peaks: list[float], max_peak: float) -> SignalScore:
    if len(peaks) < MIN_FRAMES:
        return SignalScore(TEXTURE, Reason.SCREEN_DETECTED, None, None, max_peak, "too few texture samples")
    value = float(np.median(peaks))
    return SignalScore(
        TEXTURE,
        Reason.SCREEN_DETECTED,
        ratio_score(value, max_peak, attack_if="above"),
        value,
        max_peak,
        f"median spectral peak {value:.1f} over {len(peaks)} samples",
    )
