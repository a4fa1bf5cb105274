"""Linear adaptation of embeddings to a population: whitening or WCCN, fitted on labelled data.

Both centre the vectors on the training mean and then rescale the directions in which the
training data varies, so that cosine similarity stops being dominated by traits the whole
population shares (for a model trained mostly on Western faces, East Asian faces crowd into a
narrow cone and every impostor pair looks alike):

- ``whiten``: the total covariance (identity labels unused);
- ``wccn``: the within-identity covariance (Within-Class Covariance Normalisation, Hatch et
  al. 2006), which shrinks the directions that vary between photos of one person.

``regularisation`` adds that multiple of the mean eigenvalue before the inverse square root; with
a few dozen people in the training set, small values overfit (see docs/calibration.md). Every
identity weighs the same whatever its number of photos.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

KINDS = ("whiten", "wccn")


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    v = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(norms, 1e-12)


@dataclass(frozen=True, slots=True, eq=False)
class Projection:
    """``apply(x) = normalise((x - mean) @ matrix)``; fitted by ``fit_projection``.

    ``mean`` is ``centre`` times the training mean.
    """

    kind: str
    regularisation: float
    mean: np.ndarray
    matrix: np.ndarray
    n_people: int
    n_images: int
    centre: float = 1.0

    def __post_init__(self) -> None:
        for name in ("mean", "matrix"):
            a = np.array(getattr(self, name), dtype=np.float32)
            a.flags.writeable = False
            object.__setattr__(self, name, a)
        if self.matrix.ndim != 2 or self.mean.shape != (self.matrix.shape[0],):
            raise ValueError(
                f"projection shapes do not agree: mean {self.mean.shape}, matrix {self.matrix.shape}"
            )

    @property
    def dim_in(self) -> int:
        return int(self.matrix.shape[0])

    def apply(self, vectors: np.ndarray) -> np.ndarray:
        v = np.asarray(vectors, dtype=np.float64)
        if v.shape[-1] != self.dim_in:
            raise ValueError(f"projection expects {self.dim_in}-D vectors, got {v.shape[-1]}-D")
        return l2_normalise((v - self.mean) @ self.matrix.astype(np.float64))

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "regularisation": self.regularisation,
            "centre": self.centre,
            "n_people": self.n_people,
            "n_images": self.n_images,
            "shape": list(self.matrix.shape),
            "mean_f32_b64": _encode(self.mean),
            "matrix_f32_b64": _encode(self.matrix),
            "sha256": self.digest(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Projection:
        rows, cols = (int(n) for n in data["shape"])
        projection = cls(
            kind=str(data["kind"]),
            regularisation=float(data["regularisation"]),
            mean=_decode(data["mean_f32_b64"], (rows,)),
            matrix=_decode(data["matrix_f32_b64"], (rows, cols)),
            n_people=int(data["n_people"]),
            n_images=int(data["n_images"]),
            centre=float(data.get("centre", 1.0)),
        )
        if projection.digest() != data["sha256"]:
            raise ValueError("projection arrays do not match their recorded sha256")
        return projection

    def digest(self) -> str:
        h = hashlib.sha256()
        h.update(self.mean.astype("<f4").tobytes())
        h.update(self.matrix.astype("<f4").tobytes())
        return h.hexdigest()


def _encode(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode("ascii")


def _decode(text: str, shape: tuple[int, ...]) -> np.ndarray:
    raw = np.frombuffer(base64.b64decode(text), dtype="<f4")
    if raw.size != int(np.prod(shape)):
        raise ValueError(f"expected {int(np.prod(shape))} float32 values, got {raw.size}")
    return raw.reshape(shape)


def fit_projection(
    vectors: np.ndarray,
    identities: Sequence[str],
    kind: str = "wccn",
    regularisation: float = 1.0,
    *,
    centre: float = 1.0,
) -> Projection:
    """Fit a whitening or WCCN projection on L2-normalised `vectors` labelled with `identities`.

    ``centre`` is the share of the training mean subtracted before projecting: 1 centres on the
    training population, 0 keeps the origin. Centring is most of the gain on the population the
    projection was fitted on, and most of the loss on others (docs/calibration.md).
    """
    if not 0.0 <= centre <= 1.0:
        raise ValueError("centre must be within 0..1")
    if kind not in KINDS:
        raise ValueError(f"unknown projection kind {kind!r}; expected one of {KINDS}")
    if regularisation <= 0:
        raise ValueError("regularisation must be > 0")
    x = l2_normalise(vectors)
    labels = np.asarray(identities)
    if x.ndim != 2 or len(labels) != len(x):
        raise ValueError("need one identity per vector")
    people = np.unique(labels)
    if len(people) < 2:
        raise ValueError("need at least two identities to fit a projection")
    # Each identity weighs the same, however many photos it has.
    weights = np.empty(len(x))
    means = np.empty((len(people), x.shape[1]))
    for i, person in enumerate(people):
        mask = labels == person
        weights[mask] = 1.0 / mask.sum()
        means[i] = x[mask].mean(axis=0)
    weights /= weights.sum()
    centre_vec = means.mean(axis=0)
    d = x - centre_vec if kind == "whiten" else x - means[np.searchsorted(people, labels)]
    cov = (d * weights[:, None]).T @ d
    eigvals, eigvecs = np.linalg.eigh(cov)
    eigvals = np.clip(eigvals, 0.0, None) + regularisation * max(float(eigvals.mean()), 1e-12)
    matrix = eigvecs @ np.diag(eigvals**-0.5) @ eigvecs.T
    return Projection(kind, regularisation, centre * centre_vec, matrix, len(people), len(x), centre)
