"""Verification error rates from genuine and impostor similarity scores (higher = more alike).

Conventions (ISO/IEC 19795-1, NIST FRTE): a comparison is accepted when ``score >= threshold``;
FMR is the share of impostor comparisons accepted, FNMR the share of genuine ones rejected.
Operating points are read from the empirical distributions without interpolation, so an FMR
claimed for a threshold is never above what was observed on the data it was read from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def _scores(a: np.ndarray | list[float]) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64).ravel()
    if arr.size == 0:
        raise ValueError("need at least one score")
    if not np.all(np.isfinite(arr)):
        raise ValueError("scores must be finite")
    return arr


def min_impostors_for(fmr: float) -> int:
    """Fewest impostor comparisons that support a claim at `fmr` (the "rule of 3": 3 / FMR)."""
    return math.ceil(3.0 / fmr - 1e-9)


def threshold_at_fmr(impostor: np.ndarray | list[float], fmr: float) -> float:
    """The lowest threshold whose empirical FMR is at most `fmr`.

    With n impostor scores at most floor(fmr * n) of them may be accepted. The threshold sits
    halfway between the highest impostor score that must be rejected and the next higher one,
    so ties never push the FMR over the target and rounding in a later recomputation of the
    same scores cannot flip a comparison.
    """
    if not 0.0 <= fmr <= 1.0:
        raise ValueError("fmr must be in [0, 1]")
    imp = np.sort(_scores(impostor))[::-1]
    k = math.floor(fmr * imp.size + 1e-9)
    if k >= imp.size:
        return -math.inf
    rejected = imp[k]
    higher = imp[imp > rejected]
    if higher.size:
        return float((rejected + higher.min()) / 2)
    return float(rejected + max(abs(rejected), 1.0) * 1e-9)


def rates_at_threshold(
    genuine: np.ndarray | list[float], impostor: np.ndarray | list[float], threshold: float
) -> tuple[float, float]:
    """(FMR, FNMR) when accepting ``score >= threshold``."""
    gen, imp = _scores(genuine), _scores(impostor)
    return float(np.mean(imp >= threshold)), float(np.mean(gen < threshold))


def fnmr_at_fmr(genuine: np.ndarray | list[float], impostor: np.ndarray | list[float], fmr: float) -> float:
    """FNMR at the threshold ``threshold_at_fmr(impostor, fmr)``."""
    return rates_at_threshold(genuine, impostor, threshold_at_fmr(impostor, fmr))[1]


def roc_auc(genuine: np.ndarray | list[float], impostor: np.ndarray | list[float]) -> float:
    """Probability that a genuine score beats an impostor score (ties count a half)."""
    gen, imp = _scores(genuine), _scores(impostor)
    imp_sorted = np.sort(imp)
    below = np.searchsorted(imp_sorted, gen, side="left")
    not_above = np.searchsorted(imp_sorted, gen, side="right")
    return float(np.sum(below + 0.5 * (not_above - below)) / (gen.size * imp.size))


@dataclass(frozen=True, slots=True)
class DetCurve:
    """Every distinct operating point: thresholds ascending, FMR falling, FNMR rising."""

    thresholds: np.ndarray
    fmr: np.ndarray
    fnmr: np.ndarray


def det_curve(genuine: np.ndarray | list[float], impostor: np.ndarray | list[float]) -> DetCurve:
    gen, imp = np.sort(_scores(genuine)), np.sort(_scores(impostor))
    thresholds = np.unique(np.concatenate([gen, imp, [np.inf]]))
    fmr = 1.0 - np.searchsorted(imp, thresholds, side="left") / imp.size
    fnmr = np.searchsorted(gen, thresholds, side="left") / gen.size
    return DetCurve(thresholds, fmr, fnmr)


def equal_error_rate(genuine: np.ndarray | list[float], impostor: np.ndarray | list[float]) -> float:
    """The EER: where FMR and FNMR cross, linearly interpolated between the two operating
    points that bracket the crossing (the convex-hull-free definition used by FVC/NIST)."""
    curve = det_curve(genuine, impostor)
    diff = curve.fmr - curve.fnmr  # falls from >= 0 to <= 0 as the threshold rises
    i = int(np.argmax(diff <= 0))
    if diff[i] == 0 or i == 0:
        return float((curve.fmr[i] + curve.fnmr[i]) / 2)
    d0, d1 = diff[i - 1], diff[i]
    w = d0 / (d0 - d1)
    fmr = curve.fmr[i - 1] + w * (curve.fmr[i] - curve.fmr[i - 1])
    fnmr = curve.fnmr[i - 1] + w * (curve.fnmr[i] - curve.fnmr[i - 1])
    return float((fmr + fnmr) / 2)
