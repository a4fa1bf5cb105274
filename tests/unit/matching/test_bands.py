"""Portrait bands in cross-validation: which pairs fit a band's threshold, and that it holds."""

from __future__ import annotations

from datetime import date

import numpy as np

from portraitmatch.matching.crossval import (
    BandData,
    LabelledVectors,
    Recipe,
    band_pairs,
    calibration_scores,
    cross_validate,
    fit_band,
    fit_recipe,
)


def _data(seed: int = 0, people: int = 40, per_person: int = 4, dim: int = 16):
    """Photos: person centre + noise. Chips of each person's first photo: the same direction with
    much more noise, so chips score their owners lower, as real chip portraits do."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(people, dim))
    photos = np.repeat(centres, per_person, axis=0) + 0.6 * rng.normal(size=(people * per_person, dim))
    sources = np.arange(0, people * per_person, per_person)
    chips = photos[sources] + 1.5 * rng.normal(size=(people, dim))
    vectors = np.concatenate([photos, chips])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    names = np.array([f"p{i}" for i in range(people)])
    labels = np.concatenate([np.repeat(names, per_person), names])
    sets = np.array(["s"] * len(labels))
    data = LabelledVectors({"m": vectors}, labels, sets)
    n = people * per_person
    band = BandData("chip", 80.0, "id_chip", np.arange(n, n + people), sources)
    train = np.zeros(len(labels), bool)
    train[:n] = True
    return data, band, train


def _cross_validate(data: LabelledVectors, pairs: np.ndarray, train: np.ndarray, bands: list[BandData]):
    return cross_validate(
        data,
        Recipe(("m",), fmr_target=1e-2),
        pairs,
        train_mask=train,
        k=4,
        created=date(2026, 11, 22),
        population="T",
        bands=bands,
    )


def test_band_pairs_leave_out_the_source_and_other_sets() -> None:
    data, band, train = _data(people=3, per_person=2)
    pairs = band_pairs(data, band, train)
    assert len(pairs) == 3 * 5  # each chip against every photo but its own source
    for chip, photo, same in pairs.tolist():
        source = band.sources[band.rows.tolist().index(chip)]
        assert photo != source and train[photo]
        assert same == int(data.people[chip] == data.people[photo])
    only_first = train.copy()
    only_first[2:6] = False  # people p1 and p2 leave the training images
    assert set(band_pairs(data, band, only_first)[:, 0].tolist()) == {band.rows[0]}


def test_band_threshold_meets_the_fmr_target_on_its_own_pairs() -> None:
    data, band, train = _data()
    recipe = Recipe(("m",), fmr_target=1e-2)
    calibration = fit_recipe(data, recipe, created=date(2026, 11, 22), population="T", mask=train)
    fitted = fit_band(calibration, data, band, train)
    pairs = band_pairs(data, band, train)
    scores = calibration_scores(calibration, data.vectors, pairs)
    impostor, genuine = scores[pairs[:, 2] == 0], scores[pairs[:, 2] == 1]
    assert np.mean(impostor >= fitted.threshold) <= 1e-2
    assert np.mean(impostor >= fitted.threshold) >= 0.5e-2  # the lowest threshold that meets it
    assert fitted.impostor_pairs == len(impostor) and fitted.genuine_pairs == len(genuine)
    assert (fitted.name, fitted.max_face_px, fitted.protocol) == ("chip", 80.0, "id_chip")


def test_cross_validation_judges_chip_pairs_by_the_folds_band() -> None:
    data, band, train = _data()
    pairs = np.concatenate([np.array([[0, 1, 1], [0, 4, 0]]), band_pairs(data, band, train)])

    plain, banded = _cross_validate(data, pairs, train, []), _cross_validate(data, pairs, train, [band])
    assert np.array_equal(plain.scores, banded.scores)
    assert np.array_equal(plain.thresholds[:2], banded.thresholds[:2])  # photo pairs: unchanged
    changed = plain.thresholds[2:] != banded.thresholds[2:]
    assert changed.mean() > 0.9  # chip pairs: the fold's band threshold
    impostor = pairs[2:, 2] == 0
    held_out_fmr = np.mean(banded.scores[2:][impostor] >= banded.thresholds[2:][impostor])
    assert held_out_fmr <= 3e-2  # fitted on other people, it still holds near the 1e-2 target


def test_held_out_chips_are_judged_by_the_band_they_did_not_fit() -> None:
    data, band, train = _data()
    fitted_only = BandData(band.name, band.max_face_px, band.protocol, band.rows[:-5], band.sources[:-5])
    judged_all = BandData(
        band.name, band.max_face_px, band.protocol, band.rows[:-5], band.sources[:-5], judged_rows=band.rows
    )
    held_out = band_pairs(data, band, train)
    held_out = held_out[np.isin(held_out[:, 0], band.rows[-5:])]

    plain = _cross_validate(data, held_out, train, []).thresholds
    assert np.array_equal(
        _cross_validate(data, held_out, train, [fitted_only]).thresholds, plain
    )  # not judged: the photo threshold
    assert (_cross_validate(data, held_out, train, [judged_all]).thresholds != plain).mean() > 0.9
