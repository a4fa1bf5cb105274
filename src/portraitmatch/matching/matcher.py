"""1:1 matching: the ID portrait's template against live frames (or another photo).

``Matcher`` holds the embedders a calibration names and the calibration itself. It enrols the
portrait once into a ``PortraitTemplate`` (one vector per model, no pixels), then scores live
frames against it: per model, the cosine similarity of the (optionally projected) vectors;
across models, the calibrated fusion; across frames, the mean of the frames' embeddings per model
before scoring (on several photos per person this beat averaging the per-frame scores:
docs/calibration.md). The result carries the fused score, the calibrated threshold and the
per-model cosines.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from portraitmatch.errors import ConfigurationError
from portraitmatch.matching.adaptation import l2_normalise
from portraitmatch.matching.calibration import Calibration
from portraitmatch.matching.live import LiveCandidate
from portraitmatch.ports import Embedder
from portraitmatch.types import Box, MatchResult, Quality, Reason

FRAME_FUSIONS = ("mean_embedding", "mean_score")


class FaceImage(Protocol):
    """Anything with RGB pixels and the face's box in them (``analysis.portrait.Portrait``)."""

    @property
    def pixels(self) -> np.ndarray: ...

    @property
    def box(self) -> Box: ...


@dataclass(frozen=True, slots=True, eq=False)
class PortraitTemplate:
    """The ID side after enrolment: one L2-normalised vector per model, plus its quality.

    Raw vectors (before any calibration projection) are kept so that a template stays valid
    for any calibration of the same models.
    """

    vectors: Mapping[str, np.ndarray]
    quality: Quality = field(default_factory=Quality)
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        frozen = {}
        for model_id, v in self.vectors.items():
            a = np.array(v, dtype=np.float32).ravel()
            a.flags.writeable = False
            frozen[model_id] = a
        object.__setattr__(self, "vectors", frozen)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (vectors as base64 little-endian float32) for sealing and storage."""
        q = self.quality
        return {
            "vectors": {
                m: base64.b64encode(v.astype("<f4").tobytes()).decode("ascii")
                for m, v in self.vectors.items()
            },
            "quality": {
                "reasons": [r.value for r in q.reasons],
                "face_px": q.face_px,
                "sharpness": q.sharpness,
                "brightness": q.brightness,
                "overexposed_fraction": q.overexposed_fraction,
                "centre_offset": q.centre_offset,
            },
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PortraitTemplate:
        q = data.get("quality") or {}
        quality = Quality(
            reasons=tuple(Reason(r) for r in q.get("reasons", ())),
            face_px=float(q.get("face_px", 0.0)),
            sharpness=float(q.get("sharpness", 0.0)),
            brightness=float(q.get("brightness", 0.0)),
            overexposed_fraction=float(q.get("overexposed_fraction", 0.0)),
            centre_offset=float(q.get("centre_offset", 0.0)),
        )
        vectors = {m: np.frombuffer(base64.b64decode(t), dtype="<f4") for m, t in data["vectors"].items()}
        return cls(vectors, quality, tuple(str(n) for n in data.get("notes", ())))


class Matcher:
    """Embeds faces with the calibrated models and applies the calibration. Thread-safe if the
    embedders are (the ports require it); holds no per-comparison state."""

    def __init__(
        self,
        calibration: Calibration,
        embedders: Sequence[Embedder],
        *,
        frame_fusion: str = "mean_embedding",
        threads: int = 2,
    ) -> None:
        by_id = {e.model_id: e for e in embedders}
        if sorted(by_id) != sorted(calibration.model_ids):
            raise ConfigurationError(
                f"calibration {calibration.calibration_id!r} is for models {list(calibration.model_ids)}, "
                f"got embedders {sorted(by_id)}"
            )
        for m in calibration.models:
            for option, expected in m.options.items():
                actual = getattr(by_id[m.model_id], option, expected)
                if actual != expected:
                    raise ConfigurationError(
                        f"calibration {calibration.calibration_id!r} was fitted with {m.model_id} "
                        f"{option}={expected!r}, but the embedder has {option}={actual!r}"
                    )
        if frame_fusion not in FRAME_FUSIONS:
            raise ValueError(f"frame_fusion must be one of {FRAME_FUSIONS}")
        if threads < 1:
            raise ValueError("threads must be >= 1")
        self.calibration = calibration
        self.embedders = tuple(by_id[m] for m in calibration.model_ids)
        self.frame_fusion = frame_fusion
        # Live frames are embedded on this many threads (2: the reference machine's cores).
        self.threads = threads

    def embed(self, pixels: np.ndarray, box: Box) -> dict[str, np.ndarray]:
        """One raw L2-normalised vector per calibrated model."""
        return {
            e.model_id: l2_normalise(e.embed(pixels, box).vector).astype(np.float32) for e in self.embedders
        }

    def embed_live(
        self,
        candidates: Sequence[LiveCandidate],
        *,
        known: Mapping[int, Mapping[str, np.ndarray]] | None = None,
    ) -> list[dict[str, np.ndarray]]:
        """`embed` for each candidate frame, the frames and models spread over ``threads`` threads.

        The vectors are exactly those of `embed` called frame by frame; only the scheduling differs
        (the model runtimes do most of their work outside the GIL, and dlib's box refinement of one
        frame overlaps the ResNet passes of another). `known` maps a frame index to vectors that
        a model's ``embed`` already returned for that frame and face box (the identity samples
        the liveness check takes): they are used as if embedded again, so the caller must be sure
        they are for the same embedder, frame and box.
        """
        known = known or {}
        jobs = [
            (k, e)
            for k, c in enumerate(candidates)
            for e in self.embedders
            if e.model_id not in known.get(c.frame.index, {})
        ]

        def run(job: tuple[int, Embedder]) -> np.ndarray:
            k, embedder = job
            c = candidates[k]
            return l2_normalise(embedder.embed(c.frame.pixels, c.face.box).vector).astype(np.float32)

        if self.threads > 1 and len(jobs) > 1:
            workers = min(self.threads, len(jobs))
            with ThreadPoolExecutor(workers, thread_name_prefix="portraitmatch-match") as pool:
                vectors = list(pool.map(run, jobs))
        else:
            vectors = [run(job) for job in jobs]
        models = set(self.calibration.model_ids)
        per_frame = [
            {
                m: l2_normalise(v).astype(np.float32)
                for m, v in known.get(c.frame.index, {}).items()
                if m in models
            }
            for c in candidates
        ]
        for (k, embedder), vector in zip(jobs, vectors, strict=True):
            per_frame[k][embedder.model_id] = vector
        return per_frame

    def enrol(self, portrait: FaceImage) -> PortraitTemplate:
        quality = getattr(portrait, "quality", None) or Quality()
        notes = tuple(getattr(portrait, "notes", ()))
        return PortraitTemplate(self.embed(portrait.pixels, portrait.box), quality, notes)

    def compare(self, a: PortraitTemplate, b: PortraitTemplate) -> MatchResult:
        """Score two templates (e.g. the ID portrait and a still photo of the customer)."""
        cosines = {
            m: float(self._project(m, a)[0] @ self._project(m, b)[0]) for m in self.calibration.model_ids
        }
        return self._result(cosines, (), a)

    def match_live(
        self,
        portrait: PortraitTemplate,
        candidates: Sequence[LiveCandidate],
        *,
        known: Mapping[int, Mapping[str, np.ndarray]] | None = None,
    ) -> MatchResult | None:
        """Score the selected live frames against the portrait; None when there is no frame.

        `known`: vectors already computed for some candidates (see `embed_live`).
        """
        if not candidates:
            return None
        per_frame = self.embed_live(candidates, known=known)
        frames_used = tuple(c.frame.index for c in candidates)
        cosines: dict[str, float] = {}
        for m in self.calibration.model_ids:
            ref = self._project(m, portrait)[0]
            live = self._project_vectors(m, np.stack([f[m] for f in per_frame]))
            if self.frame_fusion == "mean_embedding":
                cosines[m] = float(l2_normalise(live.mean(axis=0)) @ ref)
            else:
                cosines[m] = float(np.mean(live @ ref))
        return self._result(cosines, frames_used, portrait)

    def _project(self, model_id: str, template: PortraitTemplate) -> np.ndarray:
        if model_id not in template.vectors:
            raise ConfigurationError(f"the portrait template has no {model_id} vector: enrol it again")
        return self._project_vectors(model_id, template.vectors[model_id][None, :])

    def _project_vectors(self, model_id: str, vectors: np.ndarray) -> np.ndarray:
        projection = self.calibration.model(model_id).projection
        return l2_normalise(vectors) if projection is None else projection.apply(vectors)

    def _result(
        self, cosines: dict[str, float], frames_used: tuple[int, ...], portrait: PortraitTemplate
    ) -> MatchResult:
        """The fused score against the threshold for the portrait's size (docs/calibration.md)."""
        fused = float(self.calibration.fuse(cosines))
        band = self.calibration.band_for(portrait.quality.face_px)
        threshold = self.calibration.threshold if band is None else band.threshold
        return MatchResult(
            score=fused,
            threshold=threshold,
            is_match=fused >= threshold,
            frames_used=frames_used,
            scores_by_model=cosines,
            calibration_id=self.calibration.calibration_id,
            threshold_band="photo" if band is None else band.name,
        )
