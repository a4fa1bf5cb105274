"""`bench verify` and `calibrate` end to end on a handful of real dev images (small and fast)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from portraitmatch.bench.verify import read_pairs, run_calibrate, run_verify_bench
from portraitmatch.errors import InputError
from portraitmatch.matching.calibration import load_calibration

JOHNS = Path("verification/dlib_johns")


def _johns(dev_data: Path, per_person: int, people: int) -> list[str]:
    rows = list(csv.DictReader((dev_data / JOHNS / "identities.csv").open()))
    chosen: dict[str, list[str]] = {}
    for r in rows:
        names = chosen.setdefault(r["identity"], [])
        if len(names) < per_person:
            names.append(r["file"])
    return [f for person in sorted(chosen)[:people] for f in chosen[person]]


def _write_pairs(path: Path, files: list[str], extra_column: bool = False) -> None:
    person = {f: f.split("/")[1] for f in files}
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["a", "b", "same", "kind"] if extra_column else ["a", "b", "same"])
        for i, a in enumerate(files):
            for b in files[i + 1 :]:
                same = int(person[a] == person[b])
                w.writerow([a, b, same, "genuine" if same else "impostor"] if extra_column else [a, b, same])


def test_bench_verify_writes_reports_for_both_protocols(dev_data: Path, tmp_path: Path) -> None:
    files = _johns(dev_data, 2, 3)  # 6 images: 3 genuine and 12 impostor pairs
    pairs = tmp_path / "johns_small" / "pairs.csv"
    pairs.parent.mkdir()
    _write_pairs(pairs, files, extra_column=True)
    out = tmp_path / "out"
    report = run_verify_bench([pairs], root=dev_data / JOHNS, out=out, calibration_files=[])
    assert (out / "verify.json").is_file() and (out / "verify.md").is_file()
    assert json.loads((out / "verify.json").read_text())["pairs_files"] == [str(pairs)]
    for protocol in ("normal", "id_chip"):
        data = report["protocols"][protocol]
        rows = data["groups"]["johns_small"]
        base = next(v for k, v in rows.items() if k.startswith("baseline"))
        ours = next(
            v for k, v in rows.items() if k.startswith("calibration east-asian-dlib-resnet-128+faceres-1024")
        )
        assert base["genuine"] + base["impostor"] + base["fte_pairs"] == 15
        assert ours["fte_pairs"] == 0
        assert ours["auc"] > 0.9
        assert ours["fnmr_at_fmr_0.001"] is None  # 12 impostors cannot support FMR 1e-3
        assert ours["fmr_at_threshold"] == 0.0
        assert data["failure_to_enrol"]["johns_small"]["images"] == 5 + 5  # distinct side-a and side-b images
        assert data["plots"] and all((out / p).is_file() for p in data["plots"])
    md = (out / "verify.md").read_text()
    assert "n/a (too few impostors)" in md
    assert "id_chip" in md


def test_bench_groups_by_a_csv_column(dev_data: Path, tmp_path: Path) -> None:
    files = _johns(dev_data, 2, 2)
    pairs = tmp_path / "pairs.csv"
    _write_pairs(pairs, files, extra_column=True)
    report = run_verify_bench(
        [pairs], root=dev_data / JOHNS, out=tmp_path / "o", group_column="kind", protocols=("normal",)
    )
    assert set(report["protocols"]["normal"]["groups"]) == {"genuine", "impostor", "all (pooled)"}


def test_pairs_file_errors_are_input_errors(tmp_path: Path) -> None:
    bad = tmp_path / "pairs.csv"
    bad.write_text("x,y\n1,2\n")
    with pytest.raises(InputError, match="missing column"):
        read_pairs(bad)
    bad.write_text("a,b,same\nx.jpg,y.jpg,2\n")
    with pytest.raises(InputError, match="same must be 0 or 1"):
        read_pairs(bad)
    with pytest.raises(InputError):
        read_pairs(tmp_path / "missing.csv")


def test_calibrate_writes_a_loadable_file_and_cross_validates(dev_data: Path, tmp_path: Path) -> None:
    files = _johns(dev_data, 4, 5)  # 20 images, 5 people: 30 genuine, 160 impostor pairs
    folder = tmp_path / "johns20"
    folder.mkdir()
    _write_pairs(folder / "pairs.csv", files)
    out = tmp_path / "cal.json"
    calibration, cv = run_calibrate(
        [folder / "pairs.csv"],
        root=dev_data / JOHNS,
        fmr=0.1,
        out=out,
        population="Test (dlib johns)",
        models=["dlib-resnet-128"],
        adapt="none",
        cv_folds=5,
        chip_protocol=True,
    )
    loaded = load_calibration(out)
    assert loaded.to_json() == calibration.to_json()
    assert loaded.population == "Test (dlib johns)"
    assert loaded.sets[0].name == "johns20" and loaded.sets[0].people == 5
    assert loaded.sets[0].genuine_pairs == 30 and loaded.sets[0].impostor_pairs == 160
    assert loaded.model("dlib-resnet-128").options == {"flip": True}
    assert loaded.measured["fmr_at_threshold_on_fit_data"] <= 0.1
    assert "johns20" in cv and cv["johns20"]["auc"] > 0.9
    assert cv["johns20 [id_chip]"]["genuine"] > 20 and cv["johns20 [id_chip]"]["auc"] > 0.8
    assert any(k.startswith("cv5:johns20:") for k in loaded.measured)
