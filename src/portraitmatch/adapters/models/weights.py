"""Locating model files and checking them against SHA256SUMS before they are loaded.

Vendored files live beside this module in ``weights/``; files shipped by registry packages
(dlib's, via ``face-recognition-models``) are found in that package. Every file we load is listed
in ``weights/SHA256SUMS``: a file that does not match is refused, never silently used.
"""

from __future__ import annotations

import hashlib
import importlib.util
from functools import cache
from pathlib import Path

from portraitmatch.errors import ModelError

WEIGHTS_DIR = Path(__file__).with_name("weights")


@cache
def expected_sha256() -> dict[str, str]:
    sums: dict[str, str] = {}
    for line in (WEIGHTS_DIR / "SHA256SUMS").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            digest, name = line.split(maxsplit=1)
            sums[name.strip().lstrip("*")] = digest.lower()
    return sums


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _package_models_dir() -> Path:
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or spec.origin is None:
        raise ModelError("face-recognition-models is not installed (pip install face-recognition-models)")
    return Path(spec.origin).parent / "models"


@cache
def verified_path(name: str) -> Path:
    """Path of model file `name` after its sha256 has been checked (once per process)."""
    expected = expected_sha256().get(name)
    if expected is None:
        raise ModelError(f"model file {name!r} is not listed in SHA256SUMS")
    path = WEIGHTS_DIR / name
    if not path.exists():
        path = _package_models_dir() / name
    if not path.exists():
        raise ModelError(
            f"model file {name!r} not found (looked in {WEIGHTS_DIR} and face_recognition_models)"
        )
    actual = sha256_of(path)
    if actual != expected:
        raise ModelError(f"model file {name!r} has sha256 {actual}, expected {expected}: refusing to load it")
    return path
