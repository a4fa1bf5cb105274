"""Fitting a calibration recipe on labelled vectors, and identity-disjoint cross-validation.

A ``Recipe`` says which models to fuse, how to adapt each one (a projection fitted on the
training people), how to fuse and at which FMR to set the threshold. ``fit_recipe`` turns it into
a ``Calibration`` using every within-set pair of the training images.

``cross_validate`` estimates how a recipe does on people it has never seen. People (never
images) are dealt into k folds. A test pair whose two people fall in folds i and j is scored by
a calibration fitted on all the other folds, so neither person, nor anyone sharing their folds,
was used for the projection, the fusion weights or the threshold ("fold-pair exclusion"). This
scores every pair of a set, not only the pairs inside one fold, which matters at FMR 1e-3 where
a few thousand impostor pairs leave only a handful above the threshold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from portraitmatch.matching.adaptation import Projection, fit_projection, l2_normalise
from portraitmatch.matching.calibration import Calibration, PortraitBand, SetSummary, fit_calibration
from portraitmatch.matching.metrics import min_impostors_for, threshold_at_fmr


@dataclass(frozen=True, slots=True)
class Adaptation:
    kind: str = "wccn"
    regularisation: float = 1.0
    centre: float = 1.0


@dataclass(frozen=True, slots=True)
class Recipe:
    models: tuple[str, ...]
    fmr_target: float = 1e-3
    fusion: str = "logistic"
    adaptations: Mapping[str, Adaptation] = field(default_factory=dict)
    options: Mapping[str, Mapping[str, object]] = field(default_factory=dict)

    def describe(self) -> str:
        parts = []
        for m in self.models:
            a = self.adaptations.get(m)
            parts.append(m if a is None else f"{m}[{a.kind} reg={a.regularisation} centre={a.centre}]")
        return " + ".join(parts) + (f" ({self.fusion})" if len(self.models) > 1 else "")


@dataclass(frozen=True, slots=True)
class LabelledVectors:
    """Raw L2-normalised vectors of n images per model, with each image's person and set.

    Person labels must be unique across sets (prefix them with the set name).
    """

    vectors: Mapping[str, np.ndarray]
    people: np.ndarray
    sets: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.people)
        if len(self.sets) != n or any(len(v) != n for v in self.vectors.values()):
            raise ValueError("vectors, people and sets must have one row per image")


def within_set_pairs(data: LabelledVectors, mask: np.ndarray | None = None) -> np.ndarray:
    """Every unordered pair of images (in `mask`) from the same set: rows (i, j, same)."""
    index = np.flatnonzero(np.ones(len(data.people), bool) if mask is None else mask)
    rows = []
    for s in np.unique(data.sets[index]):
        members = index[data.sets[index] == s]
        a, b = np.triu_indices(len(members), 1)
        i, j = members[a], members[b]
        rows.append(np.stack([i, j, (data.people[i] == data.people[j]).astype(np.int64)], axis=1))
    return np.concatenate(rows) if rows else np.zeros((0, 3), np.int64)


def fit_recipe(
    data: LabelledVectors,
    recipe: Recipe,
    *,
    created: date,
    population: str,
    mask: np.ndarray | None = None,
    sets: Sequence[SetSummary] = (),
    notes: Sequence[str] = (),
) -> Calibration:
    """Fit `recipe` on the images in `mask` (default: all), using all their within-set pairs."""
    train = np.ones(len(data.people), bool) if mask is None else mask
    projections: dict[str, Projection] = {}
    for m, a in recipe.adaptations.items():
        projections[m] = fit_projection(
            data.vectors[m][train], data.people[train], a.kind, a.regularisation, centre=a.centre
        )
    pairs = within_set_pairs(data, train)
    same = pairs[:, 2] == 1
    cosines = pair_cosines(data.vectors, pairs, recipe.models, projections)
    return fit_calibration(
        {m: c[same] for m, c in cosines.items()},
        {m: c[~same] for m, c in cosines.items()},
        recipe.fmr_target,
        created=created,
        population=population,
        sets=sets,
        pair_rule="every within-set pair of the listed sets (genuine: same person; impostor: not)",
        fusion=recipe.fusion,
        options=recipe.options,
        projections=projections,
        calibration_id=_calibration_id(recipe, population, created),
        notes=notes,
    )


def _calibration_id(recipe: Recipe, population: str, created: date) -> str:
    parts = [population.lower().replace(" ", "-"), "+".join(recipe.models)]
    kinds = sorted({f"{a.kind}{a.centre:g}" for a in recipe.adaptations.values()})
    if kinds:
        parts.append("adapted-" + "-".join(kinds))
    return "-".join([*parts, created.isoformat()])


def pair_cosines(
    vectors: Mapping[str, np.ndarray],
    pairs: np.ndarray,
    models: Sequence[str],
    projections: Mapping[str, Projection] | None = None,
) -> dict[str, np.ndarray]:
    """Per model, the cosine similarity of each pair (i, j, ...) after the model's projection."""
    out = {}
    used, positions = np.unique(pairs[:, :2], return_inverse=True)
    positions = positions.reshape(-1, 2)
    # Many pairs over few images (all pairs of a set): one Gram matrix beats gathering rows.
    dense = len(pairs) > 4 * len(used) and len(used) <= 4000
    for m in models:
        p = (projections or {}).get(m)
        rows = vectors[m][used]
        z = l2_normalise(rows) if p is None else p.apply(rows)
        if dense:
            out[m] = (z @ z.T)[positions[:, 0], positions[:, 1]]
        else:
            out[m] = np.einsum("ij,ij->i", z[positions[:, 0]], z[positions[:, 1]])
    return out


def calibration_scores(
    calibration: Calibration, vectors: Mapping[str, np.ndarray], pairs: np.ndarray
) -> np.ndarray:
    """Fused scores of `pairs` under `calibration` (its projections included)."""
    projections = {m.model_id: m.projection for m in calibration.models if m.projection is not None}
    return np.asarray(calibration.fuse(pair_cosines(vectors, pairs, calibration.model_ids, projections)))


@dataclass(frozen=True, slots=True)
class BandData:
    """Degraded portraits (e.g. ID chips) made from some of the images, for a portrait band.

    ``rows`` index the degraded portraits' vectors in the ``LabelledVectors``; ``sources`` the
    photo each was made from (same person, same set). They are never used to fit projections or
    fusion weights, only the band's threshold. ``judged_rows`` are every degraded portrait that
    the band's threshold applies to in cross-validation, held-out populations' included (default:
    ``rows``): at run time the band follows the portrait's size, not its origin.
    """

    name: str
    max_face_px: float
    protocol: str
    rows: np.ndarray
    sources: np.ndarray
    judged_rows: np.ndarray | None = None


def band_pairs(data: LabelledVectors, band: BandData, mask: np.ndarray) -> np.ndarray:
    """Each degraded portrait whose source is in `mask` against every other photo in `mask` of
    its source's set: rows (portrait, photo, same). Its own source photo is left out."""
    rows = []
    photos = np.flatnonzero(mask)
    for r, src in zip(band.rows.tolist(), band.sources.tolist(), strict=True):
        if not mask[src]:
            continue
        others = photos[(data.sets[photos] == data.sets[src]) & (photos != src)]
        if len(others):
            same = (data.people[others] == data.people[src]).astype(np.int64)
            rows.append(np.stack([np.full(len(others), r), others, same], axis=1))
    return np.concatenate(rows) if rows else np.zeros((0, 3), np.int64)


def fit_band(
    calibration: Calibration, data: LabelledVectors, band: BandData, mask: np.ndarray | None = None
) -> PortraitBand:
    """The band's threshold: FMR at most the calibration's target on the band's impostor pairs."""
    train = np.ones(len(data.people), bool) if mask is None else mask
    pairs = band_pairs(data, band, train)
    scores = calibration_scores(calibration, data.vectors, pairs)
    impostor = scores[pairs[:, 2] == 0]
    needed = min_impostors_for(calibration.fmr_target)
    if len(impostor) < needed:
        raise ValueError(
            f"portrait band {band.name!r}: {len(impostor)} impostor pairs, need {needed} "
            f"for FMR {calibration.fmr_target:g}"
        )
    return PortraitBand(
        name=band.name,
        max_face_px=band.max_face_px,
        threshold=threshold_at_fmr(impostor, calibration.fmr_target),
        protocol=band.protocol,
        impostor_pairs=len(impostor),
        genuine_pairs=int((pairs[:, 2] == 1).sum()),
    )


def assign_folds(people: Sequence[str], k: int, seed: int = 0) -> dict[str, int]:
    """Deal the distinct people into `k` folds at random (seeded), as evenly as possible."""
    distinct = sorted(set(people))
    if not 2 <= k <= len(distinct):
        raise ValueError(f"need 2 <= k <= number of people ({len(distinct)})")
    order = np.random.default_rng(seed).permutation(len(distinct))
    return {distinct[i]: rank % k for rank, i in enumerate(order)}


@dataclass(frozen=True, slots=True)
class CrossValidated:
    """Held-out fused scores of the evaluated pairs, and the threshold each was judged by."""

    scores: np.ndarray
    thresholds: np.ndarray
    n_models_fitted: int


def cross_validate(
    data: LabelledVectors,
    recipe: Recipe,
    eval_pairs: np.ndarray,
    *,
    train_mask: np.ndarray,
    k: int = 12,
    seed: int = 0,
    created: date,
    population: str,
    bands: Sequence[BandData] = (),
) -> CrossValidated:
    """Score `eval_pairs` (rows i, j, ...) with calibrations that never saw either person.

    Training uses only images in `train_mask` (the calibration population). People outside it
    (another population) get no fold: their pairs are scored by calibrations fitted without the
    folds of the other person, if any. A pair whose side ``i`` is a degraded portrait of one of
    `bands` is judged by that band's threshold, fitted in the same fold.
    """
    band_of = np.full(len(data.people), -1)
    for b, band in enumerate(bands):
        band_of[band.rows if band.judged_rows is None else band.judged_rows] = b
    fold_of = assign_folds(list(data.people[train_mask]), k, seed)
    folds = np.array([fold_of.get(p, -1) for p in data.people])
    fa, fb = folds[eval_pairs[:, 0]], folds[eval_pairs[:, 1]]
    lo, hi = np.minimum(fa, fb), np.maximum(fa, fb)
    scores = np.full(len(eval_pairs), np.nan)
    thresholds = np.full(len(eval_pairs), np.nan)
    keys = sorted(set(zip(lo.tolist(), hi.tolist(), strict=True)))
    for key in keys:
        held_out = [f for f in key if f >= 0]
        mask = train_mask & ~np.isin(folds, held_out)
        calibration = fit_recipe(data, recipe, created=created, population=population, mask=mask)
        rows = (lo == key[0]) & (hi == key[1])
        scores[rows] = calibration_scores(calibration, data.vectors, eval_pairs[rows])
        thresholds[rows] = calibration.threshold
        for b, band in enumerate(bands):
            in_band = rows & (band_of[eval_pairs[:, 0]] == b)
            if in_band.any():
                thresholds[in_band] = fit_band(calibration, data, band, mask).threshold
    return CrossValidated(scores, thresholds, len(keys))
