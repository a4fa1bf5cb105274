"""DET plots (FNMR against FMR on normal-deviate axes, ISO/IEC 19795-1) for the verification bench."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from statistics import NormalDist

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and CI

import matplotlib.pyplot as plt
import numpy as np

from portraitmatch.matching.metrics import det_curve, rates_at_threshold

_TICKS = (1e-4, 1e-3, 1e-2, 5e-2, 0.2, 0.5, 0.8)
_LIMITS = (5e-5, 0.9)


def _probit(p: np.ndarray | float) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype=np.float64), _LIMITS[0], _LIMITS[1])
    inv = np.vectorize(NormalDist().inv_cdf)
    return inv(q)


def plot_det(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray, float | None]],
    title: str,
    path: Path,
) -> None:
    """One curve per system from (genuine scores, impostor scores, threshold or None); the
    operating point at each system's threshold is marked."""
    fig, ax = plt.subplots(figsize=(7.5, 6.0), dpi=110)
    for label, (gen, imp, threshold) in curves.items():
        curve = det_curve(gen, imp)
        (line,) = ax.plot(_probit(curve.fmr), _probit(curve.fnmr), label=f"{label} ({len(gen)}/{len(imp)})")
        if threshold is not None:
            fmr, fnmr = rates_at_threshold(gen, imp, threshold)
            ax.plot(_probit(fmr), _probit(fnmr), "o", color=line.get_color(), markersize=6)
    ticks = _probit(np.array(_TICKS))
    labels = [f"{t:g}" for t in _TICKS]
    ax.set_xticks(ticks, labels)
    ax.set_yticks(ticks, labels)
    ax.set_xlim(_probit(_LIMITS[0]), _probit(_LIMITS[1]))
    ax.set_ylim(_probit(_LIMITS[0]), _probit(_LIMITS[1]))
    ax.set_xlabel("FMR (false match rate)")
    ax.set_ylabel("FNMR (false non-match rate)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="upper right")
    fig.text(0.01, 0.01, "dots: operating point at the system's threshold", fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
