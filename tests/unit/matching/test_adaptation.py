"""Whitening / WCCN projections and identity-disjoint cross-validation."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from portraitmatch.matching.adaptation import fit_projection, l2_normalise
from portraitmatch.matching.crossval import (
    Adaptation,
    LabelledVectors,
    Recipe,
    assign_folds,
    cross_validate,
    fit_recipe,
    within_set_pairs,
)
from portraitmatch.matching.metrics import roc_auc


def _population(rng: np.random.Generator, people: int, per_person: int, dim: int = 16, nuisance: float = 3.0):
    """Identities differ in a few directions; a shared nuisance direction varies within each
    person (lighting, say) far more than identity does: what WCCN should suppress."""
    centres = rng.normal(0, 1.0, (people, dim))
    centres[:, 0] = 0.0
    x = np.repeat(centres, per_person, axis=0) + rng.normal(0, 0.3, (people * per_person, dim))
    x[:, 0] += rng.normal(0, nuisance, len(x))
    x += 4.0  # a shared offset: everyone sits in one cone, as a population does for a model
    labels = np.repeat([f"p{i}" for i in range(people)], per_person)
    return l2_normalise(x), labels


def _auc(x: np.ndarray, labels: np.ndarray) -> float:
    s = x @ x.T
    iu = np.triu_indices(len(x), 1)
    same = (labels[:, None] == labels[None, :])[iu]
    return roc_auc(s[iu][same], s[iu][~same])


def test_wccn_fitted_on_other_people_improves_separation() -> None:
    rng = np.random.default_rng(0)
    train_x, train_y = _population(rng, 40, 6)
    test_x, test_y = _population(rng, 20, 6)
    p = fit_projection(train_x, train_y, "wccn", 0.1)
    assert _auc(p.apply(test_x), test_y) > _auc(test_x, test_y) + 0.02


def test_projection_output_is_unit_length_and_centre_scales_the_mean() -> None:
    rng = np.random.default_rng(1)
    x, y = _population(rng, 10, 4)
    full = fit_projection(x, y, "whiten", 1.0, centre=1.0)
    half = fit_projection(x, y, "whiten", 1.0, centre=0.5)
    none = fit_projection(x, y, "whiten", 1.0, centre=0.0)
    np.testing.assert_allclose(np.linalg.norm(full.apply(x), axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(half.mean, full.mean * 0.5, rtol=1e-5)
    assert np.all(none.mean == 0)


def test_projection_refuses_bad_arguments() -> None:
    x = np.eye(4)
    with pytest.raises(ValueError):
        fit_projection(x, ["a", "a", "a", "a"])  # one person
    with pytest.raises(ValueError):
        fit_projection(x, ["a", "b", "a", "b"], "lda")
    with pytest.raises(ValueError):
        fit_projection(x, ["a", "b", "a", "b"], centre=2.0)
    p = fit_projection(x, ["a", "b", "a", "b"])
    with pytest.raises(ValueError):
        p.apply(np.ones((1, 5)))


def test_folds_split_people_not_images() -> None:
    people = [f"p{i % 30}" for i in range(120)]
    folds = assign_folds(people, 6, seed=3)
    assert set(folds) == set(people)
    sizes = np.bincount(list(folds.values()))
    assert sizes.min() == sizes.max() == 5
    assert assign_folds(people, 6, seed=3) == folds
    with pytest.raises(ValueError):
        assign_folds(people, 31)


def test_within_set_pairs_never_cross_sets() -> None:
    people = np.array(["a:1", "a:1", "a:2", "b:1", "b:2"])
    sets = np.array(["a", "a", "a", "b", "b"])
    data = LabelledVectors({"m": np.eye(5)}, people, sets)
    pairs = within_set_pairs(data)
    assert {tuple(p) for p in pairs.tolist()} == {(0, 1, 1), (0, 2, 0), (1, 2, 0), (3, 4, 0)}


def test_cross_validation_is_honest_about_unseen_people() -> None:
    """A projection that memorises its training people looks perfect on them; cross-validation
    must report the (worse) error on people it never saw."""
    rng = np.random.default_rng(4)
    x, y = _population(rng, 60, 5, dim=40, nuisance=1.0)
    data = LabelledVectors({"m": x}, y, np.array(["s"] * len(y)))
    recipe = Recipe(("m",), fmr_target=1e-2, adaptations={"m": Adaptation("whiten", 1e-4)})
    pairs = within_set_pairs(data)
    same = pairs[:, 2] == 1
    fitted_on_all = fit_recipe(data, recipe, created=date(2026, 1, 1), population="T")
    seen = fitted_on_all.fuse({"m": _cos(data, fitted_on_all, pairs)})
    cv = cross_validate(
        data, recipe, pairs, train_mask=np.ones(len(y), bool), k=5, created=date(2026, 1, 1), population="T"
    )
    assert cv.n_models_fitted == 15  # 5 folds: 5 same-fold + 10 fold pairs
    auc_seen = roc_auc(seen[same], seen[~same])
    auc_cv = roc_auc(cv.scores[same], cv.scores[~same])
    assert auc_cv < auc_seen
    assert np.isfinite(cv.scores).all() and np.isfinite(cv.thresholds).all()


def _cos(data: LabelledVectors, calibration, pairs: np.ndarray) -> np.ndarray:
    p = calibration.model("m").projection
    z = p.apply(data.vectors["m"])
    return np.einsum("ij,ij->i", z[pairs[:, 0]], z[pairs[:, 1]])
