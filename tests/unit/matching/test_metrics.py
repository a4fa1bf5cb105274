"""Error-rate definitions on score arrays whose answers are known by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from portraitmatch.matching.metrics import (
    det_curve,
    equal_error_rate,
    fnmr_at_fmr,
    min_impostors_for,
    rates_at_threshold,
    roc_auc,
    threshold_at_fmr,
)


def test_rates_at_threshold_accept_at_equality() -> None:
    genuine = [0.2, 0.5, 0.9]
    impostor = [0.1, 0.5, 0.6, 0.0]
    fmr, fnmr = rates_at_threshold(genuine, impostor, 0.5)
    assert fmr == pytest.approx(2 / 4)  # 0.5 and 0.6 accepted
    assert fnmr == pytest.approx(1 / 3)  # 0.2 rejected


def test_threshold_at_fmr_allows_floor_of_fmr_times_n() -> None:
    impostor = np.arange(1000) / 1000.0  # 0.000 .. 0.999
    t = threshold_at_fmr(impostor, 0.01)  # 10 of 1000 may pass: 0.990 .. 0.999
    assert 0.989 < t <= 0.990 + 1e-12
    assert rates_at_threshold([1.0], impostor, t)[0] == pytest.approx(0.01)


def test_threshold_at_fmr_never_exceeds_target_with_ties() -> None:
    impostor = [0.0] * 990 + [0.7] * 10 + [0.9] * 5
    t = threshold_at_fmr(impostor, 0.01)  # 10.05 may pass, but the 0.7 tie block would make it 15
    fmr, _ = rates_at_threshold([1.0], impostor, t)
    assert fmr <= 0.01
    assert fmr == pytest.approx(5 / 1005)


def test_threshold_at_fmr_one_accepts_everything() -> None:
    assert threshold_at_fmr([0.3, 0.4], 1.0) == -math.inf


def test_fnmr_at_fmr_known_answer() -> None:
    impostor = np.linspace(0, 1, 101)  # threshold for FMR 0.05 sits just above 0.95
    genuine = [0.5, 0.96, 0.97, 0.99]
    assert fnmr_at_fmr(genuine, impostor, 0.05) == pytest.approx(1 / 4)


def test_eer_of_separable_scores_is_zero_and_of_identical_is_half() -> None:
    assert equal_error_rate([0.8, 0.9], [0.1, 0.2]) == 0.0
    assert equal_error_rate([0.5, 0.5], [0.5, 0.5]) == pytest.approx(0.5)


def test_eer_known_crossing() -> None:
    # Threshold 0.45 rejects genuine 0.4 (1/4) and accepts impostor 0.5 (1/4): EER 25%.
    genuine = [0.4, 0.6, 0.7, 0.8]
    impostor = [0.1, 0.2, 0.3, 0.5]
    assert equal_error_rate(genuine, impostor) == pytest.approx(0.25)


def test_eer_of_gaussians_matches_theory() -> None:
    rng = np.random.default_rng(0)
    genuine = rng.normal(2.0, 1.0, 200_000)
    impostor = rng.normal(0.0, 1.0, 200_000)
    # Equal variances: the EER threshold is the midpoint; EER = Phi(-1).
    assert equal_error_rate(genuine, impostor) == pytest.approx(0.158655, abs=0.003)


def test_roc_auc_counts_ties_as_half() -> None:
    assert roc_auc([1.0], [0.0]) == 1.0
    assert roc_auc([0.0], [1.0]) == 0.0
    assert roc_auc([0.5], [0.5]) == 0.5
    assert roc_auc([0.2, 0.8], [0.5]) == 0.5


def test_det_curve_is_monotone() -> None:
    rng = np.random.default_rng(1)
    curve = det_curve(rng.normal(1, 1, 500), rng.normal(0, 1, 500))
    assert np.all(np.diff(curve.fmr) <= 0)
    assert np.all(np.diff(curve.fnmr) >= 0)
    assert curve.fmr[-1] == 0.0 and curve.fnmr[-1] == 1.0


def test_min_impostors_rule_of_three() -> None:
    assert min_impostors_for(1e-3) == 3000
    assert min_impostors_for(1e-2) == 300


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError):
        roc_auc([], [0.1])
    with pytest.raises(ValueError):
        equal_error_rate([float("nan")], [0.1])
    with pytest.raises(ValueError):
        threshold_at_fmr([0.1], 1.5)
