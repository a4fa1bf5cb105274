"""Remote photoplethysmography: a live face's skin colour pulses with the heart beat; paper does not.

The mean RGB of forehead and cheek skin (`FrameMeasurements.skin_rgb`) is resampled to a steady
rate and turned into a pulse signal with the POS projection (Wang et al., "Algorithmic principles
of remote PPG", IEEE TBME 2017), which cancels changes of brightness and of specular reflection.
The value is the signal-to-noise ratio of the strongest peak between 42 and 180 beats a minute:
power within ±0.1 Hz of that peak and of its first harmonic over the rest of the band, in dB.

It needs a long, steady capture: at least ``pulse_min_capture_s`` of frames with a face, and
motion (head turns) corrupts it. A replayed video carries the recorded person's pulse, so it only
speaks against prints and still photos. Compression of the dev clips removes much of the signal,
so the signal is computed and reported but off by default (docs/pad.md has the numbers).
"""

from __future__ import annotations

import numpy as np

from portraitmatch.liveness.pad.result import SignalScore, ratio_score
from portraitmatch.types import Reason

NAME = "pulse"
RATE_HZ = 30.0
BAND_HZ = (0.7, 3.0)
WINDOW_S = 1.6  # POS temporal window


def pos_signal(rgb: np.ndarray) -> np.ndarray:
    """POS pulse signal from (N, 3) mean skin RGB at RATE_HZ."""
    n = len(rgb)
    w = max(2, int(WINDOW_S * RATE_HZ))
    h = np.zeros(n)
    project = np.array([[0.0, 1.0, -1.0], [-2.0, 1.0, 1.0]])
    for start in range(0, n - w + 1):
        block = rgb[start : start + w]
        mean = block.mean(axis=0)
        if np.any(mean <= 0):
            continue
        s = (block / mean) @ project.T
        std1 = s[:, 1].std()
        p = s[:, 0] + (s[:, 0].std() / std1 if std1 > 0 else 0.0) * s[:, 1]
        h[start : start + w] += p - p.mean()
    return h


def pulse_snr_db(t_ms: np.ndarray, rgb: np.ndarray) -> tuple[float, float] | None:
    """(SNR in dB, pulse rate in Hz) of the skin colour trace, or None when it cannot be computed."""
    if len(t_ms) < 2:
        return None
    t = (t_ms - t_ms[0]) / 1000.0
    grid = np.arange(0.0, t[-1], 1.0 / RATE_HZ)
    if len(grid) < 4 * WINDOW_S * RATE_HZ:
        return None
    rgb_uniform = np.stack([np.interp(grid, t, rgb[:, c]) for c in range(3)], axis=1)
    h = pos_signal(rgb_uniform)
    h = h - h.mean()
    spectrum = np.abs(np.fft.rfft(h * np.hanning(len(h)), n=8 * len(h))) ** 2
    freqs = np.fft.rfftfreq(8 * len(h), d=1.0 / RATE_HZ)
    band = (freqs >= BAND_HZ[0]) & (freqs <= BAND_HZ[1])
    if not band.any() or spectrum[band].sum() <= 0:
        return None
    f0 = float(freqs[band][np.argmax(spectrum[band])])
    signal = band & ((np.abs(freqs - f0) <= 0.1) | (np.abs(freqs - 2 * f0) <= 0.1))
    noise = band & ~signal
    if spectrum[noise].sum() <= 0:
        return None
    return 10.0 * float(np.log10(spectrum[signal].sum() / spectrum[noise].sum())), f0


def score_pulse(
    t_ms: list[float], rgb: list[tuple[float, float, float]], min_capture_s: float, min_snr_db: float
) -> SignalScore:
    if len(t_ms) < 2 or (t_ms[-1] - t_ms[0]) / 1000.0 < min_capture_s:
        return SignalScore(
            NAME, Reason.NO_PULSE_DETECTED, None, None, min_snr_db, "capture too short for a pulse"
        )
    got = pulse_snr_db(np.asarray(t_ms, dtype=np.float64), np.asarray(rgb, dtype=np.float64))
    if got is None:
        return SignalScore(NAME, Reason.NO_PULSE_DETECTED, None, None, min_snr_db, "no usable skin trace")
    snr, rate = got
    # dB can be negative: score on the linear power ratio so 1.0 still sits on the threshold.
    score = ratio_score(10 ** (snr / 10), 10 ** (min_snr_db / 10), attack_if="below")
    return SignalScore(
        NAME, Reason.NO_PULSE_DETECTED, score, snr, min_snr_db, f"SNR {snr:.1f} dB at {rate * 60:.0f} bpm"
    )
