"""The core never imports model runtimes, the database layer, the web framework or the adapters."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "portraitmatch"
CORE = [
    "types.py",
    "errors.py",
    "ports.py",
    "liveness",
    "matching",
    "decision",
    "registry",
    "privacy",
    "audit",
]
FORBIDDEN = ("mediapipe", "dlib", "onnxruntime", "sqlalchemy", "fastapi", "portraitmatch.adapters", "uvicorn")


def _core_files() -> list[Path]:
    files: list[Path] = []
    for entry in CORE:
        path = PACKAGE / entry
        files.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return files


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.parametrize("path", _core_files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_core_module_imports_no_adapter_or_runtime(path: Path) -> None:
    bad = [n for n in _imports(path) if any(n == f or n.startswith(f + ".") for f in FORBIDDEN)]
    assert not bad, f"{path.relative_to(PACKAGE)} imports {bad}: core code must stay free of adapters"
