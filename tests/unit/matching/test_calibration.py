"""Calibration fitting, the fused score, and the calibration file format."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from portraitmatch.errors import ConfigurationError
from portraitmatch.matching.adaptation import fit_projection
from portraitmatch.matching.calibration import (
    Calibration,
    PortraitBand,
    SetSummary,
    fit_calibration,
    fit_logistic,
    load_calibration,
    save_calibration,
)
from portraitmatch.matching.metrics import rates_at_threshold

SETS = (SetSummary("set_a", 10, 50, 200, 1000),)


def _scores(rng: np.random.Generator, n_gen: int = 2000, n_imp: int = 20000) -> tuple[dict, dict]:
    """Two models: "strong" separates genuine from impostor well, "weak" barely."""
    gen = {"strong": rng.normal(0.8, 0.05, n_gen), "weak": rng.normal(0.55, 0.1, n_gen)}
    imp = {"strong": rng.normal(0.5, 0.05, n_imp), "weak": rng.normal(0.5, 0.1, n_imp)}
    return gen, imp


def _fit(rng: np.random.Generator, **kw) -> Calibration:
    gen, imp = _scores(rng)
    return fit_calibration(gen, imp, 1e-3, created=date(2026, 11, 22), population="Test", sets=SETS, **kw)


def test_threshold_meets_fmr_target_on_fit_data() -> None:
    rng = np.random.default_rng(0)
    gen, imp = _scores(rng)
    c = fit_calibration(gen, imp, 1e-3, created=date(2026, 11, 22), population="Test")
    fused_gen, fused_imp = c.fuse(gen), c.fuse(imp)
    fmr, fnmr = rates_at_threshold(fused_gen, fused_imp, c.threshold)
    assert fmr <= 1e-3
    assert fmr >= 0.5e-3  # the lowest threshold that meets the target, not a needlessly strict one
    assert c.measured["fmr_at_threshold_on_fit_data"] == pytest.approx(fmr)
    assert c.measured["fnmr_at_threshold_on_fit_data"] == pytest.approx(fnmr)


def test_logistic_fusion_weights_the_stronger_model_more() -> None:
    c = _fit(np.random.default_rng(1))
    assert c.fusion == "logistic"
    assert c.model("strong").weight > 3 * abs(c.model("weak").weight)
    # z-normalisation uses the impostor distribution of each model
    assert c.model("strong").impostor_mean == pytest.approx(0.5, abs=0.005)
    assert c.model("weak").impostor_std == pytest.approx(0.1, abs=0.005)


def test_fusion_beats_the_weak_model_and_matches_strong_alone() -> None:
    rng = np.random.default_rng(2)
    gen, imp = _scores(rng)
    fused = fit_calibration(gen, imp, 1e-2, created=date(2026, 1, 1), population="T")
    weak = fit_calibration(
        {"weak": gen["weak"]}, {"weak": imp["weak"]}, 1e-2, created=date(2026, 1, 1), population="T"
    )
    fnmr_fused = fused.measured["fnmr_at_threshold_on_fit_data"]
    fnmr_weak = weak.measured["fnmr_at_threshold_on_fit_data"]
    assert fnmr_fused < fnmr_weak / 2


def test_mean_fusion_gives_equal_weights() -> None:
    c = _fit(np.random.default_rng(3), fusion="mean")
    assert [m.weight for m in c.models] == [1.0, 1.0]
    assert c.bias == 0.0


def test_fuse_is_the_documented_formula() -> None:
    c = _fit(np.random.default_rng(4))
    scores = {"strong": 0.7, "weak": 0.6}
    expected = c.bias + sum(
        m.weight * (scores[m.model_id] - m.impostor_mean) / m.impostor_std for m in c.models
    )
    assert c.fuse(scores) == pytest.approx(expected)
    assert c.is_match(c.threshold) and not c.is_match(np.nextafter(c.threshold, -np.inf))
    with pytest.raises(ValueError, match="missing"):
        c.fuse({"strong": 0.7})


def test_fit_logistic_recovers_a_known_direction() -> None:
    rng = np.random.default_rng(5)
    pos = rng.normal([2.0, 0.0], 1.0, (5000, 2))
    neg = rng.normal([0.0, 0.0], 1.0, (5000, 2))
    w, b = fit_logistic(pos, neg)
    assert w[0] == pytest.approx(2.0, abs=0.15)  # log-odds slope of two unit Gaussians 2 apart
    assert abs(w[1]) < 0.1
    assert b == pytest.approx(-2.0, abs=0.15)


def test_file_round_trip_with_projection(tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    vectors = rng.normal(size=(60, 8))
    people = np.repeat([f"p{i}" for i in range(12)], 5)
    projection = fit_projection(vectors, people, "wccn", 1.0, centre=0.5)
    gen, imp = _scores(rng, 300, 3000)
    c = fit_calibration(
        gen,
        imp,
        1e-3,
        created=date(2026, 11, 22),
        population="Test population",
        sets=SETS,
        options={"strong": {"flip": True}},
        projections={"strong": projection},
        notes=("a note",),
    )
    path = tmp_path / "cal.json"
    save_calibration(c, path)
    loaded = load_calibration(path)
    assert loaded.to_json() == c.to_json()
    assert loaded.model("strong").options == {"flip": True}
    p = loaded.model("strong").projection
    assert p is not None and p.centre == 0.5
    np.testing.assert_allclose(p.apply(vectors[:3]), projection.apply(vectors[:3]), rtol=1e-6)
    data = json.loads(path.read_text())
    assert data["fmr_target"] == 1e-3
    assert data["population"] == "Test population"
    assert data["data"]["sets"][0]["name"] == "set_a"
    assert data["created"] == "2026-11-22"


def test_corrupted_projection_is_refused(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    projection = fit_projection(rng.normal(size=(20, 4)), np.repeat(["a", "b", "c", "d"], 5))
    gen, imp = _scores(rng, 100, 1000)
    c = fit_calibration(
        gen, imp, 1e-2, created=date(2026, 1, 1), population="T", projections={"weak": projection}
    )
    data = c.to_json()
    data["models"][1]["projection"]["sha256"] = "0" * 64
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigurationError):
        load_calibration(path)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(format="something-else/9"),
        lambda d: d.update(threshold=float("inf")),
        lambda d: d.update(fmr_target=2.0),
        lambda d: d["models"][0].update(impostor_std=0.0),
        lambda d: d.pop("models"),
        lambda d: d["models"].append(dict(d["models"][0])),
    ],
)
def test_invalid_files_raise_configuration_error(tmp_path: Path, mutate) -> None:
    data = _fit(np.random.default_rng(8)).to_json()
    mutate(data)
    path = tmp_path / "c.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigurationError):
        load_calibration(path)


def test_unreadable_files_raise_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        load_calibration(tmp_path / "missing.json")
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(ConfigurationError):
        load_calibration(tmp_path / "x.json")
    (tmp_path / "y.json").write_text("[1, 2]")
    with pytest.raises(ConfigurationError):
        load_calibration(tmp_path / "y.json")


def test_shipped_default_is_east_asian_at_fmr_1e3() -> None:
    c = load_calibration()
    assert c.population == "East Asian"
    assert c.fmr_target == 1e-3
    assert {s.name for s in c.sets} == {"lfw_east_asian_gray", "asian_faces_jpkr", "kpop_idols"}
    assert set(c.model_ids) == {"dlib-resnet-128", "faceres-1024"}
    assert c.model("dlib-resnet-128").options == {"flip": True}
    assert any("East Asian" in n for n in c.notes)


def test_fit_refuses_mismatched_or_degenerate_scores() -> None:
    with pytest.raises(ValueError):
        fit_calibration({"a": [0.9, 0.8]}, {"b": [0.1, 0.2]}, 1e-3, created=date(2026, 1, 1), population="T")
    with pytest.raises(ValueError, match="spread"):
        fit_calibration({"a": [0.9, 0.8]}, {"a": [0.1] * 40}, 1e-1, created=date(2026, 1, 1), population="T")
    with pytest.raises(ValueError, match="too few"):
        fit_calibration(
            {"a": [0.9, 0.8]}, {"a": [0.1, 0.2, 0.3]}, 1e-2, created=date(2026, 1, 1), population="T"
        )
    with pytest.raises(ValueError, match="fmr_target"):
        fit_calibration({"a": [0.9, 0.8]}, {"a": [0.1, 0.2]}, 0.0, created=date(2026, 1, 1), population="T")


def test_portrait_bands_pick_the_threshold_by_portrait_size(tmp_path: Path) -> None:
    c = _fit(np.random.default_rng(9)).with_bands(
        [PortraitBand("tiny", 40.0, -1.0), PortraitBand("chip", 80.0, 1.5, protocol="id_chip")]
    )
    assert [b.name for b in c.portrait_bands] == ["tiny", "chip"]  # smallest first
    assert c.threshold_for(30.0) == -1.0
    assert c.threshold_for(80.0) == 1.5  # the limit is inclusive
    assert c.threshold_for(80.5) == c.threshold
    # An unknown size (old templates) gets the photo threshold.
    assert c.threshold_for(None) == c.threshold and c.threshold_for(0.0) == c.threshold
    assert c.threshold < 1.0 < 1.5
    assert c.is_match(1.0, 200.0) and not c.is_match(1.0, 60.0)
    path = tmp_path / "banded.json"
    save_calibration(c, path)
    loaded = load_calibration(path)
    assert loaded.portrait_bands == c.portrait_bands
    assert "portrait band" in json.loads(path.read_text())["decision_rule"]


@pytest.mark.parametrize(
    "bands",
    [
        [PortraitBand("chip", 80.0, float("nan"))],
        [PortraitBand("chip", 0.0, 1.0)],
        [PortraitBand("a", 80.0, 1.0), PortraitBand("b", 80.0, 2.0)],
    ],
)
def test_invalid_portrait_bands_are_refused(tmp_path: Path, bands: list[PortraitBand]) -> None:
    data = _fit(np.random.default_rng(10)).to_json()
    data["portrait_bands"] = [
        {"name": b.name, "max_face_px": b.max_face_px, "threshold": b.threshold} for b in bands
    ]
    path = tmp_path / "c.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigurationError, match="portrait band"):
        load_calibration(path)


def test_files_without_bands_still_load(tmp_path: Path) -> None:
    data = _fit(np.random.default_rng(11)).to_json()
    del data["portrait_bands"]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data))
    assert load_calibration(path).portrait_bands == ()
