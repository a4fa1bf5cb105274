"""Calibration: how raw similarities become one fused score, and the threshold it must reach.

Per model, the cosine similarity is z-normalised with the mean and standard deviation of that
model's impostor scores on the calibration data; the z-scores are combined with weights (fitted
by class-balanced logistic regression, or equal); a comparison matches when the fused score is at
least ``threshold``, chosen so that the FMR on the calibration impostors is at most
``fmr_target``. A small portrait (an ID chip photo, a card scanned at low resolution) scores its
owner lower than a full photo does, so a calibration may carry *portrait bands*: for portraits
whose face is at most ``max_face_px`` pixels (square root of the face box area, in the source
image) the threshold is one fitted, at the same FMR target, on impostor pairs with portraits of
that size. Everything is recorded in a versioned JSON file together with the data it was
fitted on, the population, the date and, optionally, per-model adaptation projections
(``matching.adaptation``). Thresholds never live in code.

A calibration holds for the population it was fitted on only: a dlib threshold fitted to FMR 1e-3
on Western faces gives an FMR near 40% on East Asian faces (docs/calibration.md).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from portraitmatch.errors import ConfigurationError
from portraitmatch.matching.adaptation import Projection
from portraitmatch.matching.metrics import min_impostors_for, rates_at_threshold, threshold_at_fmr

FORMAT = "portraitmatch-calibration/1"
DEFAULT_CALIBRATION = "east_asian_default.json"
FUSIONS = ("logistic", "mean")


@dataclass(frozen=True, slots=True)
class SetSummary:
    """One data set a calibration was fitted on."""

    name: str
    people: int
    images: int
    genuine_pairs: int
    impostor_pairs: int


@dataclass(frozen=True, slots=True)
class ModelCalibration:
    """One embedder's part of a calibration.

    ``options`` are the embedder settings the scores were produced with (e.g. ``{"flip": true}``):
    the scores, and so the threshold, are only valid with the same settings.
    """

    model_id: str
    impostor_mean: float
    impostor_std: float
    weight: float
    options: dict[str, Any] = field(default_factory=dict)
    projection: Projection | None = None

    def normalise(self, score: float | np.ndarray) -> float | np.ndarray:
        return (score - self.impostor_mean) / self.impostor_std


@dataclass(frozen=True, slots=True)
class PortraitBand:
    """A threshold for portraits whose face is at most ``max_face_px`` (sqrt of box area, source px).

    Fitted at the calibration's FMR target on impostor pairs whose portrait side was degraded to
    that size (``protocol``), so the FMR promise holds per band, not only on average.
    """

    name: str
    max_face_px: float
    threshold: float
    protocol: str = ""
    impostor_pairs: int = 0
    genuine_pairs: int = 0


@dataclass(frozen=True, slots=True)
class Calibration:
    calibration_id: str
    created: str  # ISO date
    population: str
    fmr_target: float
    threshold: float
    fusion: str
    bias: float
    models: tuple[ModelCalibration, ...]
    sets: tuple[SetSummary, ...]
    pair_rule: str = ""
    measured: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    portrait_bands: tuple[PortraitBand, ...] = ()  # smallest max_face_px first

    @property
    def model_ids(self) -> tuple[str, ...]:
        return tuple(m.model_id for m in self.models)

    def model(self, model_id: str) -> ModelCalibration:
        for m in self.models:
            if m.model_id == model_id:
                return m
        raise KeyError(model_id)

    def fuse(self, scores: Mapping[str, float | np.ndarray]) -> float | np.ndarray:
        """The fused score from per-model cosine similarities (all calibrated models needed)."""
        missing = [m.model_id for m in self.models if m.model_id not in scores]
        if missing:
            raise ValueError(f"scores missing for calibrated models: {missing}")
        total: float | np.ndarray = self.bias
        for m in self.models:
            total = total + m.weight * m.normalise(np.asarray(scores[m.model_id], dtype=np.float64))
        return float(total) if np.ndim(total) == 0 else total

    def band_for(self, portrait_face_px: float | None) -> PortraitBand | None:
        """The band a portrait of this face size falls in; None: the photo threshold applies.

        An unknown size (0 or None, e.g. a template stored before sizes were recorded) gets the
        photo threshold, which is the stricter one.
        """
        if not portrait_face_px or portrait_face_px <= 0:
            return None
        for band in self.portrait_bands:
            if portrait_face_px <= band.max_face_px:
                return band
        return None

    def threshold_for(self, portrait_face_px: float | None) -> float:
        band = self.band_for(portrait_face_px)
        return self.threshold if band is None else band.threshold

    def is_match(self, fused_score: float, portrait_face_px: float | None = None) -> bool:
        return fused_score >= self.threshold_for(portrait_face_px)

    def with_bands(self, bands: Sequence[PortraitBand]) -> Calibration:
        return replace(self, portrait_bands=tuple(sorted(bands, key=lambda b: b.max_face_px)))

    # --- file format -------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "calibration_id": self.calibration_id,
            "created": self.created,
            "population": self.population,
            "fmr_target": self.fmr_target,
            "threshold": self.threshold,
            "decision_rule": "match when fused >= threshold; fused = bias + sum(weight * (cos - mean) / std)"
            + (
                "; a portrait band's threshold replaces it for portraits no larger than the band's"
                if self.portrait_bands
                else ""
            ),
            "portrait_bands": [
                {
                    "name": b.name,
                    "max_face_px": b.max_face_px,
                    "threshold": b.threshold,
                    "protocol": b.protocol,
                    "impostor_pairs": b.impostor_pairs,
                    "genuine_pairs": b.genuine_pairs,
                }
                for b in self.portrait_bands
            ],
            "fusion": self.fusion,
            "bias": self.bias,
            "models": [
                {
                    "model_id": m.model_id,
                    "options": m.options,
                    "impostor_mean": m.impostor_mean,
                    "impostor_std": m.impostor_std,
                    "weight": m.weight,
                    "projection": m.projection.to_json() if m.projection is not None else None,
                }
                for m in self.models
            ],
            "data": {
                "pair_rule": self.pair_rule,
                "people": sum(s.people for s in self.sets),
                "genuine_pairs": sum(s.genuine_pairs for s in self.sets),
                "impostor_pairs": sum(s.impostor_pairs for s in self.sets),
                "sets": [
                    {
                        "name": s.name,
                        "people": s.people,
                        "images": s.images,
                        "genuine_pairs": s.genuine_pairs,
                        "impostor_pairs": s.impostor_pairs,
                    }
                    for s in self.sets
                ],
            },
            "measured": self.measured,
            "notes": list(self.notes),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Calibration:
        if data.get("format") != FORMAT:
            raise ConfigurationError(
                f"not a calibration file of format {FORMAT!r} (got {data.get('format')!r})"
            )
        try:
            models = tuple(
                ModelCalibration(
                    model_id=str(m["model_id"]),
                    impostor_mean=float(m["impostor_mean"]),
                    impostor_std=float(m["impostor_std"]),
                    weight=float(m["weight"]),
                    options=dict(m.get("options") or {}),
                    projection=Projection.from_json(m["projection"]) if m.get("projection") else None,
                )
                for m in data["models"]
            )
            sets = tuple(
                SetSummary(
                    name=str(s["name"]),
                    people=int(s["people"]),
                    images=int(s["images"]),
                    genuine_pairs=int(s["genuine_pairs"]),
                    impostor_pairs=int(s["impostor_pairs"]),
                )
                for s in data["data"]["sets"]
            )
            calibration = cls(
                calibration_id=str(data["calibration_id"]),
                created=str(data["created"]),
                population=str(data["population"]),
                fmr_target=float(data["fmr_target"]),
                threshold=float(data["threshold"]),
                fusion=str(data["fusion"]),
                bias=float(data["bias"]),
                models=models,
                sets=sets,
                pair_rule=str(data["data"].get("pair_rule", "")),
                measured={str(k): float(v) for k, v in (data.get("measured") or {}).items()},
                notes=tuple(str(n) for n in data.get("notes") or ()),
                portrait_bands=tuple(
                    sorted(
                        (
                            PortraitBand(
                                name=str(b["name"]),
                                max_face_px=float(b["max_face_px"]),
                                threshold=float(b["threshold"]),
                                protocol=str(b.get("protocol", "")),
                                impostor_pairs=int(b.get("impostor_pairs", 0)),
                                genuine_pairs=int(b.get("genuine_pairs", 0)),
                            )
                            for b in data.get("portrait_bands") or ()
                        ),
                        key=lambda b: b.max_face_px,
                    )
                ),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigurationError(f"calibration file is invalid: {exc!r}") from exc
        _validate(calibration)
        return calibration


def _validate(c: Calibration) -> None:
    problems = []
    if not c.models:
        problems.append("no models")
    if len(set(c.model_ids)) != len(c.model_ids):
        problems.append("a model is listed twice")
    if not 0 < c.fmr_target < 1:
        problems.append(f"fmr_target {c.fmr_target} not in (0, 1)")
    if not math.isfinite(c.threshold):
        problems.append("threshold is not finite")
    for b in c.portrait_bands:
        if not (math.isfinite(b.threshold) and b.max_face_px > 0):
            problems.append(f"portrait band {b.name!r}: invalid threshold or size")
    if len({b.max_face_px for b in c.portrait_bands}) != len(c.portrait_bands):
        problems.append("two portrait bands have the same size limit")
    for m in c.models:
        if not (m.impostor_std > 0 and math.isfinite(m.impostor_mean) and math.isfinite(m.weight)):
            problems.append(f"{m.model_id}: invalid normalisation or weight")
    if problems:
        raise ConfigurationError("calibration file is invalid: " + "; ".join(problems))


def save_calibration(calibration: Calibration, path: Path) -> None:
    _validate(calibration)
    path.write_text(json.dumps(calibration.to_json(), indent=2) + "\n", encoding="utf-8")


def load_calibration(path: Path | None = None) -> Calibration:
    """Load a calibration file, or the shipped East Asian default when `path` is None."""
    try:
        if path is None:
            text = (
                resources.files("portraitmatch.matching")
                .joinpath("calibration", DEFAULT_CALIBRATION)
                .read_text(encoding="utf-8")
            )
            source = f"shipped {DEFAULT_CALIBRATION}"
        else:
            text = Path(path).read_text(encoding="utf-8")
            source = str(path)
    except OSError as exc:
        raise ConfigurationError(f"cannot read calibration file {path}: {exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"calibration file {source} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigurationError(f"calibration file {source} must hold a JSON object")
    return Calibration.from_json(data)


def fit_calibration(
    genuine_scores: Mapping[str, np.ndarray | Sequence[float]],
    impostor_scores: Mapping[str, np.ndarray | Sequence[float]],
    fmr_target: float,
    *,
    created: date,
    population: str,
    sets: Sequence[SetSummary] = (),
    pair_rule: str = "",
    fusion: str = "logistic",
    options: Mapping[str, Mapping[str, Any]] | None = None,
    projections: Mapping[str, Projection] | None = None,
    calibration_id: str | None = None,
    notes: Sequence[str] = (),
) -> Calibration:
    """Fit normalisation, fusion weights and the threshold for FMR `fmr_target`.

    `genuine_scores[model_id]` and `impostor_scores[model_id]` are the cosine similarities of the
    same comparisons for every model (aligned arrays). ``options``/``projections`` are recorded
    per model: they must be the ones the scores were computed with.
    """
    model_ids = list(genuine_scores)
    if not model_ids or set(model_ids) != set(impostor_scores):
        raise ValueError("genuine and impostor scores must cover the same, non-empty set of models")
    if fusion not in FUSIONS:
        raise ValueError(f"unknown fusion {fusion!r}; expected one of {FUSIONS}")
    if not 0 < fmr_target < 1:
        raise ValueError("fmr_target must be in (0, 1)")
    gen = np.column_stack([np.asarray(genuine_scores[m], dtype=np.float64) for m in model_ids])
    imp = np.column_stack([np.asarray(impostor_scores[m], dtype=np.float64) for m in model_ids])
    if len(gen) < 2 or len(imp) < min_impostors_for(fmr_target):
        raise ValueError(
            f"too few comparisons: need 2 genuine and {min_impostors_for(fmr_target)} impostor (3 / FMR) "
            f"for FMR {fmr_target:g}, got {len(gen)} and {len(imp)}"
        )
    if not (np.isfinite(gen).all() and np.isfinite(imp).all()):
        raise ValueError("scores must be finite")

    mean, std = imp.mean(axis=0), imp.std(axis=0)
    if np.any(std <= 0):
        raise ValueError("impostor scores of a model have zero spread")
    z_gen, z_imp = (gen - mean) / std, (imp - mean) / std
    if fusion == "logistic" and len(model_ids) > 1:
        weights, bias = fit_logistic(z_gen, z_imp)
    else:
        weights, bias = np.ones(len(model_ids)), 0.0

    options = options or {}
    projections = projections or {}
    models = tuple(
        ModelCalibration(
            model_id=m,
            impostor_mean=float(mean[i]),
            impostor_std=float(std[i]),
            weight=float(weights[i]),
            options=dict(options.get(m, {})),
            projection=projections.get(m),
        )
        for i, m in enumerate(model_ids)
    )
    cid = (
        calibration_id
        or f"{population.lower().replace(' ', '-')}-{'+'.join(model_ids)}-{created.isoformat()}"
    )
    draft = Calibration(
        calibration_id=cid,
        created=created.isoformat(),
        population=population,
        fmr_target=fmr_target,
        threshold=0.0,
        fusion=fusion if len(model_ids) > 1 else "single",
        bias=float(bias),
        models=models,
        sets=tuple(sets),
        pair_rule=pair_rule,
        notes=tuple(notes),
    )
    # The threshold is read from fused scores computed exactly as at run time.
    fused_gen = np.asarray(draft.fuse({m: gen[:, i] for i, m in enumerate(model_ids)}))
    fused_imp = np.asarray(draft.fuse({m: imp[:, i] for i, m in enumerate(model_ids)}))
    threshold = threshold_at_fmr(fused_imp, fmr_target)
    fmr, fnmr = rates_at_threshold(fused_gen, fused_imp, threshold)
    return replace(
        draft,
        threshold=threshold,
        measured={
            "fmr_at_threshold_on_fit_data": fmr,
            "fnmr_at_threshold_on_fit_data": fnmr,
            "genuine_pairs": float(len(gen)),
            "impostor_pairs": float(len(imp)),
        },
    )


def fit_logistic(
    positive: np.ndarray, negative: np.ndarray, *, l2: float = 1e-4, iterations: int = 50
) -> tuple[np.ndarray, float]:
    """Class-balanced, L2-regularised logistic regression by Newton's method: (weights, bias).

    Balanced, because the ratio of impostor to genuine pairs in a data set says nothing about
    the deployment; the bias therefore is the log-odds at equal priors.
    """
    x = np.vstack([positive, negative])
    y = np.concatenate([np.ones(len(positive)), np.zeros(len(negative))])
    sample_w = np.where(y == 1, 0.5 / len(positive), 0.5 / len(negative))
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    ridge = l2 * np.eye(len(w))
    ridge[-1, -1] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(xb @ w, -30, 30)))
        grad = xb.T @ (sample_w * (p - y)) + ridge @ w
        hess = (xb * (sample_w * p * (1 - p))[:, None]).T @ xb + ridge
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.max(np.abs(step)) < 1e-9:
            break
    return w[:-1], float(w[-1])
