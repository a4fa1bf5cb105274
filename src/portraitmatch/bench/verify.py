"""Verification accuracy on labelled pairs (`portraitmatch bench verify`) and calibration fitting
(`portraitmatch calibrate`).

Pairs come from CSV files with columns ``a``, ``b``, ``same`` (others ignored); ``a`` is the ID
side. Each image is decoded, its face found and embedded once per protocol (kept in memory only,
never written). Two protocols:

- ``normal``: both images as they are;
- ``id_chip``: side ``a`` degraded like the portrait on an ID card chip: the face cropped with
  ICAO-like framing, resized to 102x126 px, JPEG quality 40.

Systems, scored on the same pairs in the same run:

- ``baseline``: what a user of ``face_recognition`` gets: HOG detection (upsample 1) on the raw
  image, the first face, 5-point alignment, one descriptor, Euclidean distance, accepted at
  ``distance <= 0.6``;
- ``<model> cosine``: each embedder alone, on our portrait reading (padding, tiling), no
  threshold;
- each calibration file: our full pipeline (embedders, adaptation, fusion, threshold).

Metrics per group (a pairs file, named after its folder, or a CSV column) and protocol: ROC AUC,
EER, FNMR at FMR 1e-2 and 1e-3 (only with at least 3 / FMR impostor pairs), FMR and FNMR at the
deployed threshold, and the failure-to-enrol rate. Failed pairs are left out of the error rates
and counted in ``fte``; ``fnmr_incl_fte`` counts a genuine pair with a failed image as rejected.
"""

from __future__ import annotations

import csv
import json
import platform
import statistics
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from portraitmatch.analysis.portrait import Portrait, read_portrait
from portraitmatch.capture.image import load_image
from portraitmatch.config import LimitsSettings
from portraitmatch.errors import InputError, PortraitMatchError
from portraitmatch.matching.calibration import Calibration, SetSummary, load_calibration, save_calibration
from portraitmatch.matching.crossval import (
    Adaptation,
    BandData,
    LabelledVectors,
    Recipe,
    calibration_scores,
    cross_validate,
    fit_band,
    fit_recipe,
    within_set_pairs,
)
from portraitmatch.matching.metrics import (
    equal_error_rate,
    fnmr_at_fmr,
    min_impostors_for,
    rates_at_threshold,
    roc_auc,
)
from portraitmatch.types import Frame

PROTOCOLS = ("normal", "id_chip")
CHIP_SIZE_PX = (102, 126)  # width, height
CHIP_JPEG_QUALITY = 40
BASELINE_TOLERANCE = 0.6
REPORT_FMRS = (1e-2, 1e-3)
DLIB_ID = "dlib-resnet-128"
FACERES_ID = "faceres-1024"
CALIBRATION_DIR = Path(__file__).resolve().parents[1] / "matching" / "calibration"

Progress = Callable[[str, int], Callable[[], None]]  # (description, total) -> advance()


def _no_progress(description: str, total: int) -> Callable[[], None]:
    return lambda: None


# --- pairs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PairSet:
    """One pairs file: image paths (resolved), labels, group per pair, person per image."""

    name: str
    a: tuple[Path, ...]
    b: tuple[Path, ...]
    same: np.ndarray
    groups: tuple[str, ...]
    people: Mapping[Path, str]

    @property
    def images(self) -> list[Path]:
        return sorted(set(self.a) | set(self.b))


def read_pairs(path: Path, root: Path | None = None, group_column: str | None = None) -> PairSet:
    """Read a pairs CSV. Paths are relative to `root` (default: the CSV's folder).

    People come from ``identities.csv`` (``file,identity``) beside the CSV when it exists, else
    from the genuine pairs (images linked by ``same=1`` are one person; others are their own).
    """
    base = root if root is not None else path.parent
    name = path.parent.name or path.stem
    a, b, same, groups = [], [], [], []
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            missing = {"a", "b", "same"} - set(reader.fieldnames or ())
            if missing:
                raise InputError(f"{path}: missing column(s) {sorted(missing)}; need a,b,same")
            if group_column and group_column not in (reader.fieldnames or ()):
                raise InputError(f"{path}: no column {group_column!r} for --group-column")
            for line, row in enumerate(reader, start=2):
                if row["same"].strip() not in ("0", "1"):
                    raise InputError(f"{path}:{line}: same must be 0 or 1, got {row['same']!r}")
                a.append((base / row["a"].strip()).resolve())
                b.append((base / row["b"].strip()).resolve())
                same.append(int(row["same"]))
                groups.append(row[group_column].strip() if group_column else name)
    except OSError as exc:
        raise InputError(f"cannot read pairs file {path}: {exc}") from exc
    if not a:
        raise InputError(f"{path} has no pairs")
    people = _people(path.parent / "identities.csv", base, a, b, same, prefix=name)
    return PairSet(name, tuple(a), tuple(b), np.array(same, dtype=np.int64), tuple(groups), people)


def _people(
    identities_csv: Path, base: Path, a: list[Path], b: list[Path], same: list[int], *, prefix: str
) -> dict[Path, str]:
    images = set(a) | set(b)
    if identities_csv.is_file():
        with identities_csv.open(newline="", encoding="utf-8-sig") as f:
            listed = {(base / r["file"].strip()).resolve(): r["identity"].strip() for r in csv.DictReader(f)}
        if images <= set(listed):
            return {p: f"{prefix}:{listed[p]}" for p in images}
    parent = {p: p for p in images}

    def find(p: Path) -> Path:
        while parent[p] != p:
            parent[p] = parent[parent[p]]
            p = parent[p]
        return p

    for x, y, s in zip(a, b, same, strict=True):
        if s:
            parent[find(x)] = find(y)
    return {p: f"{prefix}:{find(p).as_posix()}" for p in images}


# --- faces -----------------------------------------------------------------------------------


def degrade_to_chip(pixels: np.ndarray, face_box: Any) -> np.ndarray:
    """An ID-chip-like portrait: ICAO-style framing around the face, 102x126 px, JPEG q40.

    The crop is 2.1x the detector box tall (head and shoulders, the face ~ half the height,
    eyes a little above the middle) with the chip's aspect ratio; outside the photo is white.
    """
    width, height = CHIP_SIZE_PX
    crop_h = 2.1 * face_box.h
    crop_w = crop_h * width / height
    left = round(face_box.cx - crop_w / 2)
    top = round(face_box.cy - 0.47 * crop_h)
    cw, ch = max(1, round(crop_w)), max(1, round(crop_h))
    h, w = pixels.shape[:2]
    pads = (max(0, -top), max(0, top + ch - h), max(0, -left), max(0, left + cw - w))
    region = pixels[max(0, top) : top + ch, max(0, left) : left + cw]
    if any(pads):
        region = cv2.copyMakeBorder(region, *pads, cv2.BORDER_CONSTANT, value=(255, 255, 255))
    small = cv2.resize(region, CHIP_SIZE_PX, interpolation=cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 40])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return cv2.cvtColor(cv2.imdecode(jpeg, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


@dataclass
class FaceResult:
    """One image under one protocol: our vectors (or why none) and the baseline's descriptor."""

    vectors: dict[str, np.ndarray] | None = None
    failure: str | None = None
    baseline: np.ndarray | None = None
    baseline_failure: str | None = None
    notes: tuple[str, ...] = ()
    face_px: float = 0.0  # the portrait's face size: picks a calibration's portrait band


@dataclass
class Timings:
    load_ms: dict[str, float] = field(default_factory=dict)
    samples_ms: dict[str, list[float]] = field(default_factory=dict)

    def add(self, stage: str, started: float) -> None:
        self.samples_ms.setdefault(stage, []).append((time.perf_counter() - started) * 1000)

    def summary(self) -> dict[str, Any]:
        return {
            "load_ms": {k: round(v, 1) for k, v in self.load_ms.items()},
            "per_image_ms": {
                k: {
                    "median": round(statistics.median(v), 1),
                    "mean": round(statistics.fmean(v), 1),
                    "n": len(v),
                }
                for k, v in sorted(self.samples_ms.items())
                if v
            },
        }


class FaceExtractor:
    """Loads the models once and turns each (image, protocol) into a ``FaceResult``, cached."""

    def __init__(self, models: Iterable[str], *, limits: LimitsSettings | None = None, baseline: bool = True):
        from portraitmatch.adapters.models.dlib_models import DlibEmbedder, DlibHogDetector

        self.limits = limits or LimitsSettings()
        self.timings = Timings()
        self.models = tuple(dict.fromkeys(models))
        unknown = set(self.models) - {DLIB_ID, FACERES_ID}
        if unknown:
            raise InputError(f"unknown model(s) {sorted(unknown)}; known: {DLIB_ID}, {FACERES_ID}")
        t0 = time.perf_counter()
        self.detector = DlibHogDetector.load(upsample=1)
        self.timings.load_ms["dlib_hog"] = (time.perf_counter() - t0) * 1000
        self.embedders: dict[str, Any] = {}
        if DLIB_ID in self.models:
            t0 = time.perf_counter()
            # worker processes: the mirror pass runs beside the other one (same vectors, bit for bit)
            self.embedders[DLIB_ID] = DlibEmbedder.load(flip=True, processes=2)
            self.timings.load_ms[DLIB_ID] = (time.perf_counter() - t0) * 1000
        if FACERES_ID in self.models:
            from portraitmatch.adapters.models.faceres_embedder import FaceresEmbedder

            t0 = time.perf_counter()
            self.embedders[FACERES_ID] = FaceresEmbedder.load()
            self.timings.load_ms[FACERES_ID] = (time.perf_counter() - t0) * 1000
        self.baseline_embedder = DlibEmbedder.load(flip=False, refine_box=False) if baseline else None
        self._cache: dict[tuple[Path, str], FaceResult] = {}

    def options(self) -> dict[str, dict[str, Any]]:
        """The embedder settings a calibration fitted on these vectors must record."""
        out: dict[str, dict[str, Any]] = {}
        for m, e in self.embedders.items():
            out[m] = {"flip": bool(getattr(e, "flip", False))}
        return out

    def extract(self, path: Path, protocol: str) -> FaceResult:
        key = (path, protocol)
        if key not in self._cache:
            self._cache[key] = self._extract(path, protocol)
        return self._cache[key]

    def _extract(self, path: Path, protocol: str) -> FaceResult:
        t0 = time.perf_counter()
        try:
            frame = load_image(
                path, max_bytes=self.limits.max_upload_bytes, max_pixels=self.limits.max_image_pixels
            )
        except PortraitMatchError as exc:
            return FaceResult(failure=exc.code, baseline_failure=exc.code)
        self.timings.add("decode", t0)
        if protocol == "id_chip":
            try:
                located = read_portrait(frame, self.detector, require_usable=False)
            except PortraitMatchError as exc:
                return FaceResult(failure=exc.code, baseline_failure=exc.code)
            t0 = time.perf_counter()
            frame = Frame(degrade_to_chip(located.upright(frame.pixels), located.source_box))
            self.timings.add("chip_degrade", t0)
        result = FaceResult()
        t0 = time.perf_counter()
        try:
            portrait: Portrait | None = read_portrait(frame, self.detector)
            self.timings.add(f"read_portrait[{protocol}]", t0)
        except PortraitMatchError as exc:
            portrait = None
            result.failure = exc.code
        if portrait is not None:
            result.notes = portrait.notes
            result.face_px = portrait.quality.face_px
            vectors = {}
            for m, embedder in self.embedders.items():
                t0 = time.perf_counter()
                vectors[m] = np.asarray(
                    embedder.embed(portrait.pixels, portrait.box).vector, dtype=np.float32
                )
                self.timings.add(f"embed[{m}]", t0)
            result.vectors = vectors
        if self.baseline_embedder is not None:
            t0 = time.perf_counter()
            found = self.detector.detect_scored(frame.pixels, upsample=1)
            if found:
                result.baseline = self.baseline_embedder.descriptor(frame.pixels, found[0].box)
                self.timings.add("baseline_detect_embed", t0)
            else:
                result.baseline_failure = "NO_FACE"
        return result


def extract_all(
    extractor: FaceExtractor, images: Sequence[Path], protocols: Sequence[str], progress: Progress
) -> None:
    for protocol in protocols:
        advance = progress(f"faces ({protocol})", len(images))
        for path in images:
            extractor.extract(path, protocol)
            advance()


# --- systems and metrics ---------------------------------------------------------------------


@dataclass(frozen=True)
class SystemScores:
    """Scores of one system on the pairs of one pairs set (NaN where an image failed)."""

    name: str
    scores: np.ndarray
    threshold: float | None
    fitted_on: frozenset[str] = frozenset()  # sets the calibration was fitted on
    pair_thresholds: np.ndarray | None = None  # per pair, where portrait bands make them differ


def system_scores(
    pair_set: PairSet,
    extractor: FaceExtractor,
    protocol: str,
    calibrations: Sequence[Calibration],
) -> list[SystemScores]:
    side_a = [extractor.extract(p, protocol) for p in pair_set.a]
    side_b = [extractor.extract(p, "normal") for p in pair_set.b]
    n = len(side_a)
    out: list[SystemScores] = []
    if extractor.baseline_embedder is not None:
        base = np.full(n, np.nan)
        for i, (ra, rb) in enumerate(zip(side_a, side_b, strict=True)):
            if ra.baseline is not None and rb.baseline is not None:
                base[i] = -float(np.linalg.norm(ra.baseline - rb.baseline))
        out.append(
            SystemScores("baseline (face_recognition-style dlib, distance<=0.6)", base, -BASELINE_TOLERANCE)
        )
    ok = np.array(
        [ra.vectors is not None and rb.vectors is not None for ra, rb in zip(side_a, side_b, strict=True)]
    )
    for m in extractor.models:
        cos = np.full(n, np.nan)
        for i in np.flatnonzero(ok):
            cos[i] = float(side_a[i].vectors[m] @ side_b[i].vectors[m])  # type: ignore[index]
        out.append(SystemScores(f"{m} cosine", cos, None))
    if ok.any():
        index = np.flatnonzero(ok)
        vectors = {
            m: np.stack([side_a[i].vectors[m] for i in index] + [side_b[i].vectors[m] for i in index])  # type: ignore[index]
            for m in extractor.models
        }
        pairs = np.stack([np.arange(len(index)), np.arange(len(index)) + len(index)], axis=1)
        for c in calibrations:
            fused = np.full(n, np.nan)
            fused[index] = calibration_scores(c, {m: vectors[m] for m in c.model_ids}, pairs)
            per_pair = np.array([c.threshold_for(ra.face_px) for ra in side_a])
            shown = float(np.median(per_pair[index]))  # the threshold most pairs of the protocol meet
            out.append(
                SystemScores(
                    f"calibration {c.calibration_id}", fused, shown, _fitted_on(c), pair_thresholds=per_pair
                )
            )
    else:
        out.extend(
            SystemScores(f"calibration {c.calibration_id}", np.full(n, np.nan), c.threshold, _fitted_on(c))
            for c in calibrations
        )
    return out


def _fitted_on(c: Calibration) -> frozenset[str]:
    return frozenset(s.name for s in c.sets)


def error_rates(
    scores: np.ndarray,
    same: np.ndarray,
    threshold: float | None,
    pair_thresholds: np.ndarray | None = None,
) -> dict[str, Any]:
    """Every reported number for one system on one group of pairs. With `pair_thresholds` the
    rates at the threshold use each pair's own (portrait band) threshold."""
    scored = ~np.isnan(scores)
    gen, imp = scores[scored & (same == 1)], scores[scored & (same == 0)]
    row: dict[str, Any] = {
        "pairs": len(scores),
        "genuine": len(gen),
        "impostor": len(imp),
        "fte_pairs": int((~scored).sum()),
    }
    if len(gen) == 0 or len(imp) == 0:
        return row
    row["auc"] = roc_auc(gen, imp)
    row["eer"] = equal_error_rate(gen, imp)
    for fmr in REPORT_FMRS:
        key = f"fnmr_at_fmr_{fmr:g}"
        row[key] = fnmr_at_fmr(gen, imp, fmr) if len(imp) >= min_impostors_for(fmr) else None
    if threshold is not None:
        if pair_thresholds is None:
            fmr_t, fnmr_t = rates_at_threshold(gen, imp, threshold)
        else:
            fmr_t = float(np.mean(imp >= pair_thresholds[scored & (same == 0)]))
            fnmr_t = float(np.mean(gen < pair_thresholds[scored & (same == 1)]))
        n_gen_all = int((same == 1).sum())
        failed_gen = int((~scored & (same == 1)).sum())
        row["threshold"] = threshold
        row["fmr_at_threshold"] = fmr_t
        row["fnmr_at_threshold"] = fnmr_t
        row["fnmr_incl_fte"] = (fnmr_t * len(gen) + failed_gen) / n_gen_all if n_gen_all else None
    return row


def failure_to_enrol(pair_set: PairSet, extractor: FaceExtractor, protocol: str) -> dict[str, Any]:
    a_side = {p: extractor.extract(p, protocol) for p in set(pair_set.a)}
    b_side = {p: extractor.extract(p, "normal") for p in set(pair_set.b)}
    results = list(a_side.values()) + list(b_side.values())
    ours = [r.failure for r in results if r.failure]
    base = [r.baseline_failure for r in results if r.baseline_failure]
    reasons: dict[str, int] = {}
    for code in ours:
        reasons[code] = reasons.get(code, 0) + 1
    return {
        "images": len(results),
        "ours_failed": len(ours),
        "ours_rate": len(ours) / len(results),
        "ours_reasons": reasons,
        "baseline_failed": len(base),
        "baseline_rate": len(base) / len(results),
    }


# --- the bench -------------------------------------------------------------------------------


def shipped_calibrations() -> list[Path]:
    return sorted(CALIBRATION_DIR.glob("*.json"))


def run_verify_bench(
    pair_files: Sequence[Path],
    *,
    root: Path | None,
    out: Path,
    group_column: str | None = None,
    calibration_files: Sequence[Path] = (),
    protocols: Sequence[str] = PROTOCOLS,
    progress: Progress = _no_progress,
    command: str = "",
) -> dict[str, Any]:
    """Run the whole bench; write verify.json, verify.md and DET plots into `out`."""
    from portraitmatch.bench.plots import plot_det

    bad = set(protocols) - set(PROTOCOLS)
    if bad:
        raise InputError(f"unknown protocol(s) {sorted(bad)}; known: {', '.join(PROTOCOLS)}")
    pair_sets = [read_pairs(p, root, group_column) for p in pair_files]
    calibrations = [load_calibration(p) for p in (calibration_files or shipped_calibrations())]
    models = sorted({m for c in calibrations for m in c.model_ids} | {DLIB_ID})
    extractor = FaceExtractor(models)
    images = sorted({p for s in pair_sets for p in s.images})
    extract_all(extractor, images, ["normal"], progress)
    if "id_chip" in protocols:
        extract_all(extractor, sorted({p for s in pair_sets for p in s.a}), ["id_chip"], progress)

    report: dict[str, Any] = {
        "command": command,
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()}, {platform.system()}, Python {platform.python_version()}",
        "pairs_files": [str(p) for p in pair_files],
        "calibrations": [
            {
                "id": c.calibration_id,
                "population": c.population,
                "fmr_target": c.fmr_target,
                "threshold": c.threshold,
                "portrait_bands": [
                    {"name": b.name, "max_face_px": b.max_face_px, "threshold": b.threshold}
                    for b in c.portrait_bands
                ],
                "models": list(c.model_ids),
                "adapted": [m.model_id for m in c.models if m.projection is not None],
            }
            for c in calibrations
        ],
        "protocols": {},
        "timings": extractor.timings.summary(),
    }
    out.mkdir(parents=True, exist_ok=True)
    for protocol in protocols:
        # group -> system -> (scores, same, per-pair thresholds); thresholds per system
        collected: dict[str, dict[str, tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]]] = {}
        thresholds: dict[str, float | None] = {}
        fitted_on: dict[str, frozenset[str]] = {}
        fte: dict[str, Any] = {}
        for s in pair_sets:
            fte[s.name] = failure_to_enrol(s, extractor, protocol)
            groups = np.array(s.groups)
            for system in system_scores(s, extractor, protocol, calibrations):
                thresholds[system.name] = system.threshold
                fitted_on[system.name] = system.fitted_on
                for g in dict.fromkeys(s.groups):
                    mask = groups == g
                    xs, ys, ts = collected.setdefault(g, {}).setdefault(system.name, ([], [], []))
                    xs.append(system.scores[mask])
                    ys.append(s.same[mask])
                    per_pair = system.pair_thresholds
                    ts.append(
                        per_pair[mask]
                        if per_pair is not None
                        else np.full(
                            int(mask.sum()), np.nan if system.threshold is None else system.threshold
                        )
                    )
        if len(collected) > 1:
            pooled: dict[str, tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]] = {}
            for systems in list(collected.values()):
                for name, (xs, ys, ts) in systems.items():
                    px, py, pt = pooled.setdefault(name, ([], [], []))
                    px.extend(xs)
                    py.extend(ys)
                    pt.extend(ts)
            collected["all (pooled)"] = pooled
        by_group: dict[str, dict[str, dict[str, Any]]] = {}
        plots = []
        for g, systems in collected.items():
            curves = {}
            for name, (xs, ys, ts) in systems.items():
                sc, y, t = np.concatenate(xs), np.concatenate(ys), np.concatenate(ts)
                row = error_rates(sc, y, thresholds[name], None if thresholds[name] is None else t)
                row["in_sample"] = g in fitted_on[name] or (g == "all (pooled)" and bool(fitted_on[name]))
                by_group.setdefault(g, {})[name] = row
                keep = ~np.isnan(sc)
                if (y[keep] == 1).any() and (y[keep] == 0).any():
                    label = f"{name} † in-sample" if row["in_sample"] else name
                    curves[label] = (sc[keep][y[keep] == 1], sc[keep][y[keep] == 0], thresholds[name])
            if curves:
                png = out / f"det_{protocol}_{_slug(g)}.png"
                plot_det(curves, f"DET: {g}, protocol {protocol}", png)
                plots.append(png.name)
        report["protocols"][protocol] = {"groups": by_group, "failure_to_enrol": fte, "plots": plots}
        report["timings"] = extractor.timings.summary()
    (out / "verify.json").write_text(
        json.dumps(report, indent=2, default=_json_default) + "\n", encoding="utf-8"
    )
    (out / "verify.md").write_text(render_markdown(report), encoding="utf-8")
    return report


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in text).strip("_").lower() or "group"


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(type(o).__name__)


def _at_fmr(x: float | None) -> str:
    return _pct(x) if x is not None else "n/a (too few impostors)"


def _pct(x: float | None, digits: int = 1) -> str:
    if x is None:
        return "n/a"
    return f"{100 * x:.{digits}f}%"


def render_markdown(report: Mapping[str, Any]) -> str:
    lines = ["# Verification bench", ""]
    if report.get("command"):
        lines += ["```", str(report["command"]), "```", ""]
    lines += [f"Date {report['date']}; {report['machine']}.", ""]
    lines += ["Calibrations:", ""]
    for c in report["calibrations"]:
        adapted = f", adapted: {', '.join(c['adapted'])}" if c["adapted"] else ""
        lines.append(
            f"- `{c['id']}`: {' + '.join(c['models'])}{adapted}; population {c['population']}; "
            f"FMR target {c['fmr_target']:g}; threshold {c['threshold']:.4f}"
            + "".join(
                f"; {b['name']} portraits (face <= {b['max_face_px']:g} px) {b['threshold']:.4f}"
                for b in c.get("portrait_bands", ())
            )
        )
    lines.append("")
    for protocol, data in report["protocols"].items():
        lines += [f"## Protocol `{protocol}`", ""]
        lines += [
            "| group | system | genuine / impostor | FTE pairs | ROC AUC | EER | FNMR@FMR 1e-2 "
            "| FNMR@FMR 1e-3 | FMR @ thr | FNMR @ thr | FNMR incl. FTE |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for group, rows in data["groups"].items():
            for system_name, r in rows.items():
                system = f"{system_name} †" if r.get("in_sample") else system_name
                if "auc" not in r:
                    head = f"| {group} | {system} | {r['genuine']} / {r['impostor']} | {r['fte_pairs']}"
                    lines.append(head + " | – | – | – | – | – | – | – |")
                    continue
                f2, f3 = r.get("fnmr_at_fmr_0.01"), r.get("fnmr_at_fmr_0.001")
                lines.append(
                    f"| {group} | {system} | {r['genuine']} / {r['impostor']} | {r['fte_pairs']} "
                    f"| {r['auc']:.4f} | {_pct(r['eer'], 2)} | {_at_fmr(f2)} | {_at_fmr(f3)} "
                    f"| {_pct(r.get('fmr_at_threshold'), 3) if 'threshold' in r else '–'} "
                    f"| {_pct(r.get('fnmr_at_threshold')) if 'threshold' in r else '–'} "
                    f"| {_pct(r.get('fnmr_incl_fte')) if 'threshold' in r else '–'} |"
                )
        lines += [
            "",
            "† in-sample: the calibration was fitted on (some of) these pairs' people, so its numbers "
            "here are optimistic; `portraitmatch calibrate --cv K` gives identity-disjoint estimates.",
        ]
        lines += ["", "Failure to enrol (images of the group under this protocol):", ""]
        lines += [
            "| pairs file | images | ours failed | reasons | baseline failed |",
            "|---|---|---|---|---|",
        ]
        for name, f in data["failure_to_enrol"].items():
            reasons = ", ".join(f"{k} {v}" for k, v in sorted(f["ours_reasons"].items())) or "–"
            lines.append(
                f"| {name} | {f['images']} | {f['ours_failed']} ({_pct(f['ours_rate'])}) | {reasons} "
                f"| {f['baseline_failed']} ({_pct(f['baseline_rate'])}) |"
            )
        lines += [""] + [f"![{p}]({p})" for p in data["plots"]] + [""]
    t = report["timings"]
    lines += [
        "## Timings (this run, this machine)",
        "",
        "| stage | median ms | mean ms | n |",
        "|---|---|---|---|",
    ]
    for stage, v in t["per_image_ms"].items():
        lines.append(f"| {stage} | {v['median']} | {v['mean']} | {v['n']} |")
    lines += ["", "Load: " + ", ".join(f"{k} {v} ms" for k, v in t["load_ms"].items()), ""]
    return "\n".join(lines)


# --- calibration -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CalibrationData:
    vectors: LabelledVectors
    images: list[Path]
    summaries: list[SetSummary]
    failed: int


def labelled_vectors(
    pair_sets: Sequence[PairSet], extractor: FaceExtractor, progress: Progress = _no_progress
) -> CalibrationData:
    """Vectors of every image that enrols, labelled with its person and pairs file."""
    images = sorted({p for s in pair_sets for p in s.images})
    extract_all(extractor, images, ["normal"], progress)
    kept: list[Path] = []
    people, sets = [], []
    failed = 0
    owner = {}
    for s in pair_sets:
        for p in s.images:
            owner.setdefault(p, s)
    for p in images:
        r = extractor.extract(p, "normal")
        if r.vectors is None:
            failed += 1
            continue
        s = owner[p]
        kept.append(p)
        people.append(s.people[p])
        sets.append(s.name)
    vectors = {
        m: np.stack([extractor.extract(p, "normal").vectors[m] for p in kept])  # type: ignore[index]
        for m in extractor.models
    }
    data = LabelledVectors(vectors, np.array(people), np.array(sets))
    pairs = within_set_pairs(data)
    summaries = []
    for s in pair_sets:
        in_set = data.sets == s.name
        in_pairs = data.sets[pairs[:, 0]] == s.name
        summaries.append(
            SetSummary(
                name=s.name,
                people=len(set(data.people[in_set])),
                images=int(in_set.sum()),
                genuine_pairs=int((in_pairs & (pairs[:, 2] == 1)).sum()),
                impostor_pairs=int((in_pairs & (pairs[:, 2] == 0)).sum()),
            )
        )
    return CalibrationData(data, kept, summaries, failed)


def recipe_for(
    models: Sequence[str], adapt: str, fmr: float, options: Mapping[str, Mapping[str, Any]]
) -> Recipe:
    """`adapt`: ``none``, or ``KIND[:REG[:CENTRE]]`` (e.g. ``wccn:1:0.5``) applied to every model."""
    adaptations = {}
    if adapt != "none":
        kind, *rest = adapt.split(":")
        reg = float(rest[0]) if rest else 1.0
        centre = float(rest[1]) if len(rest) > 1 else 1.0
        adaptations = {m: Adaptation(kind, reg, centre) for m in models}
    return Recipe(tuple(models), fmr, "logistic", adaptations, {m: options[m] for m in models})


def cv_table(
    data: LabelledVectors,
    recipe: Recipe,
    eval_sets: Mapping[str, np.ndarray],
    *,
    train_mask: np.ndarray,
    k: int,
    seed: int,
    population: str,
    bands: Sequence[BandData] = (),
) -> dict[str, dict[str, Any]]:
    """Identity-disjoint cross-validated error rates of `recipe` on each set of pairs."""
    names = list(eval_sets)
    everything = np.concatenate([eval_sets[n] for n in names])
    cv = cross_validate(
        data,
        recipe,
        everything,
        train_mask=train_mask,
        k=k,
        seed=seed,
        created=date.today(),
        population=population,
        bands=bands,
    )
    rows = {}
    start = 0
    for name in names:
        stop = start + len(eval_sets[name])
        scores, thresholds, same = cv.scores[start:stop], cv.thresholds[start:stop], eval_sets[name][:, 2]
        start = stop
        row = error_rates(scores, same, None)
        gen, imp = same == 1, same == 0
        row["fmr_at_threshold"] = float(np.mean(scores[imp] >= thresholds[imp])) if imp.any() else None
        row["fnmr_at_threshold"] = float(np.mean(scores[gen] < thresholds[gen])) if gen.any() else None
        rows[name] = row
    return rows


def pairs_as_indices(pair_set: PairSet, images: Sequence[Path]) -> np.ndarray:
    """The set's CSV pairs as rows (i, j, same) into `images` (pairs with a failed image dropped)."""
    index = {p: i for i, p in enumerate(images)}
    rows = [
        (index[a], index[b], s)
        for a, b, s in zip(pair_set.a, pair_set.b, pair_set.same.tolist(), strict=True)
        if a in index and b in index
    ]
    return np.array(rows, dtype=np.int64).reshape(-1, 3)


CHIP_BAND_MAX_FACE_PX = 80.0  # chip faces measure 47-68 px, dev photos 64-1150 (docs/calibration.md)


@dataclass(frozen=True)
class PreparedData:
    """Everything `calibrate` needs, extracted once: calibration sets, held-out sets, pairs."""

    calibration: CalibrationData
    data: LabelledVectors  # calibration images first, then held-out ones, then degraded chips
    train_mask: np.ndarray
    eval_sets: dict[str, np.ndarray]
    options: dict[str, dict[str, Any]]
    bands: tuple[BandData, ...] = ()


def prepare_calibration_data(
    pair_files: Sequence[Path],
    *,
    root: Path | None,
    models: Sequence[str],
    holdout_files: Sequence[Path] = (),
    chip_protocol: bool = False,
    chip_band_px: float = 0.0,
    progress: Progress = _no_progress,
) -> PreparedData:
    """Extract every image once. With `chip_protocol` or a `chip_band_px`, side ``a`` of each pair
    is also degraded to an ID chip; its pairs are added as ``<set> [id_chip]`` (evaluated only,
    never fitted), and the calibration sets' chips make the "chip" portrait band."""
    pair_sets = [read_pairs(p, root) for p in pair_files]
    holdouts = [read_pairs(p, None) for p in holdout_files]
    extractor = FaceExtractor(models, baseline=False)
    calib = labelled_vectors(pair_sets, extractor, progress)
    data, images, eval_sets, train_mask = _with_holdouts(calib, holdouts, extractor, progress)
    for s in pair_sets + holdouts:
        eval_sets[s.name] = pairs_as_indices(s, images)
    bands: tuple[BandData, ...] = ()
    if chip_protocol or chip_band_px > 0:
        data, train_mask, rows, sources, every_chip = _add_chip_pairs(
            pair_sets + holdouts,
            extractor,
            data,
            images,
            eval_sets,
            train_mask,
            progress,
            band_sets={s.name for s in pair_sets},
        )
        if chip_band_px > 0 and len(rows):
            bands = (BandData("chip", chip_band_px, "id_chip", rows, sources, every_chip),)
    return PreparedData(calib, data, train_mask, eval_sets, extractor.options(), bands)


def _add_chip_pairs(
    pair_sets: Sequence[PairSet],
    extractor: FaceExtractor,
    data: LabelledVectors,
    images: Sequence[Path],
    eval_sets: dict[str, np.ndarray],
    train_mask: np.ndarray,
    progress: Progress,
    band_sets: set[str] = frozenset(),  # type: ignore[assignment]
) -> tuple[LabelledVectors, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Append chip vectors of side ``a``; also return the chip rows (and their source photos)
    of the sets in `band_sets`, for fitting the chip band, and every chip row."""
    index = {p: i for i, p in enumerate(images)}
    side_a = sorted({a for s in pair_sets for a in s.a})
    extract_all(extractor, side_a, ["id_chip"], progress)
    rows: dict[tuple[str, Path], int] = {}
    vectors: dict[str, list[np.ndarray]] = {m: [] for m in data.vectors}
    people, sets = [], []
    band_rows, band_sources = [], []
    n = len(data.people)
    for s in pair_sets:
        for a in dict.fromkeys(s.a):
            chip = extractor.extract(a, "id_chip").vectors
            if chip is None:
                continue
            rows[(s.name, a)] = n + len(people)
            if s.name in band_sets and a in index:
                band_rows.append(rows[(s.name, a)])
                band_sources.append(index[a])
            for m in vectors:
                vectors[m].append(chip[m])
            people.append(s.people[a])
            sets.append(f"{s.name} [id_chip]")
        pairs = [
            (rows[(s.name, a)], index[b], same)
            for a, b, same in zip(s.a, s.b, s.same.tolist(), strict=True)
            if (s.name, a) in rows and b in index
        ]
        eval_sets[f"{s.name} [id_chip]"] = np.array(pairs, dtype=np.int64).reshape(-1, 3)
    none = np.zeros(0, np.int64)
    if not people:
        return data, train_mask, none, none, none
    merged = LabelledVectors(
        {m: np.concatenate([data.vectors[m], np.stack(v)]) for m, v in vectors.items()},
        np.concatenate([data.people, people]),
        np.concatenate([data.sets, sets]),
    )
    return (
        merged,
        np.concatenate([train_mask, np.zeros(len(people), bool)]),
        np.array(band_rows, np.int64),
        np.array(band_sources, np.int64),
        np.arange(n, n + len(people), dtype=np.int64),
    )


def calibrate_prepared(
    prepared: PreparedData,
    *,
    models: Sequence[str],
    adapt: str,
    fmr: float,
    population: str,
    cv_folds: int = 0,
    seed: int = 0,
    command: str = "",
) -> tuple[Calibration, dict[str, Any]]:
    """Fit one recipe on prepared data (and cross-validate it when `cv_folds` > 0)."""
    if not 0 < fmr < 1:
        raise InputError("--fmr must be in (0, 1)")
    calib = prepared.calibration
    recipe = recipe_for(models, adapt, fmr, prepared.options)
    notes = [
        f"Fitted by `portraitmatch calibrate` on {population} dev data: "
        + ", ".join(f"{s.name} ({s.people} people, {s.images} images)" for s in calib.summaries)
        + f"; {calib.failed} images failed to enrol and were left out.",
        f"Recipe: {recipe.describe()}; threshold at FMR {fmr:g} on the pooled impostor pairs.",
        "Valid only for this population and these embedder settings: recalibrate for another "
        "(docs/calibration.md).",
    ]
    if command:
        notes.append(f"Command: {command}")
    if prepared.bands:
        notes.append(
            "Portrait bands: "
            + "; ".join(
                f"{b.name} (portrait face <= {b.max_face_px:g} px): threshold at FMR {fmr:g} on impostor "
                f"pairs of {b.protocol} portraits of side a against every photo of another person"
                for b in prepared.bands
            )
            + "."
        )
    calibration = fit_recipe(
        calib.vectors, recipe, created=date.today(), population=population, sets=calib.summaries, notes=notes
    )
    # Band thresholds come from the same fitted scores; the degraded rows sit after the photos.
    n_photos = len(calib.vectors.people)
    fit_mask = np.zeros(len(prepared.data.people), bool)
    fit_mask[:n_photos] = True
    calibration = calibration.with_bands(
        [fit_band(calibration, prepared.data, b, fit_mask) for b in prepared.bands]
    )
    cv_report: dict[str, Any] = {}
    if cv_folds:
        cv_report = cv_table(
            prepared.data,
            recipe,
            prepared.eval_sets,
            train_mask=prepared.train_mask,
            k=cv_folds,
            seed=seed,
            population=population,
            bands=prepared.bands,
        )
        measured = dict(calibration.measured)
        keys = (
            "auc",
            "eer",
            "fnmr_at_fmr_0.01",
            "fnmr_at_fmr_0.001",
            "fmr_at_threshold",
            "fnmr_at_threshold",
        )
        for name, row in cv_report.items():
            for key in keys:
                if row.get(key) is not None:
                    measured[f"cv{cv_folds}:{name}:{key}"] = float(row[key])
        calibration = _replace_measured(calibration, measured)
    return calibration, cv_report


def run_calibrate(
    pair_files: Sequence[Path],
    *,
    root: Path | None,
    fmr: float,
    out: Path,
    population: str,
    models: Sequence[str],
    adapt: str,
    cv_folds: int = 0,
    holdout_files: Sequence[Path] = (),
    seed: int = 0,
    chip_protocol: bool = False,
    chip_band_px: float = CHIP_BAND_MAX_FACE_PX,
    progress: Progress = _no_progress,
    command: str = "",
) -> tuple[Calibration, dict[str, Any]]:
    """Fit a calibration on every within-set pair of the given sets; optionally cross-validate.

    With `chip_band_px` > 0 the calibration also gets a "chip" portrait band: the threshold for
    portraits whose face is at most that size, fitted on chip-degraded side-a portraits."""
    if not 0 < fmr < 1:
        raise InputError("--fmr must be in (0, 1)")
    prepared = prepare_calibration_data(
        pair_files,
        root=root,
        models=models,
        holdout_files=holdout_files,
        chip_protocol=chip_protocol and cv_folds > 0,
        chip_band_px=chip_band_px,
        progress=progress,
    )
    calibration, cv_report = calibrate_prepared(
        prepared,
        models=models,
        adapt=adapt,
        fmr=fmr,
        population=population,
        cv_folds=cv_folds,
        seed=seed,
        command=command,
    )
    save_calibration(calibration, out)
    return calibration, cv_report


def _with_holdouts(
    calib: CalibrationData, holdouts: Sequence[PairSet], extractor: FaceExtractor, progress: Progress
) -> tuple[LabelledVectors, list[Path], dict[str, np.ndarray], np.ndarray]:
    """All images (calibration sets first, then held-out sets) and the within-set pair lists."""
    data = calib.vectors
    images = list(calib.images)
    eval_sets: dict[str, np.ndarray] = {}
    n_train = len(images)
    if holdouts:
        extra = labelled_vectors(holdouts, extractor, progress)
        data = LabelledVectors(
            {m: np.concatenate([data.vectors[m], extra.vectors.vectors[m]]) for m in data.vectors},
            np.concatenate([data.people, extra.vectors.people]),
            np.concatenate([data.sets, extra.vectors.sets]),
        )
        images += extra.images
    train_mask = np.zeros(len(images), bool)
    train_mask[:n_train] = True
    all_pairs = within_set_pairs(LabelledVectors({}, data.people[:n_train], data.sets[:n_train]))
    for name in dict.fromkeys(data.sets[:n_train].tolist()):
        eval_sets[f"{name} (all pairs)"] = all_pairs[data.sets[all_pairs[:, 0]] == name]
    return data, images, eval_sets, train_mask


def _replace_measured(c: Calibration, measured: dict[str, float]) -> Calibration:
    from dataclasses import replace

    return replace(c, measured=measured)


def render_cv_markdown(rows: Mapping[str, Mapping[str, Any]], recipe_text: str, k: int) -> str:
    lines = [
        f"Identity-disjoint {k}-fold cross-validation (fold-pair exclusion) of {recipe_text}",
        "",
        "| pairs | genuine / impostor | ROC AUC | EER | FNMR@1e-2 | FNMR@1e-3 | FMR @ thr | FNMR @ thr |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in rows.items():
        if "auc" not in r:
            continue
        f2, f3 = r.get("fnmr_at_fmr_0.01"), r.get("fnmr_at_fmr_0.001")
        lines.append(
            f"| {name} | {r['genuine']} / {r['impostor']} | {r['auc']:.4f} | {_pct(r['eer'], 2)} "
            f"| {_at_fmr(f2)} | {_at_fmr(f3)} "
            f"| {_pct(r['fmr_at_threshold'], 3)} | {_pct(r['fnmr_at_threshold'])} |"
        )
    return "\n".join(lines) + "\n"


__all__ = [
    "PROTOCOLS",
    "FaceExtractor",
    "PairSet",
    "degrade_to_chip",
    "error_rates",
    "read_pairs",
    "render_markdown",
    "run_calibrate",
    "run_verify_bench",
]
