"""AES-GCM stays under the recipes: only modules of ``portraitmatch.privacy`` import ``_aead``."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[3] / "src" / "portraitmatch"


def _imports_aead(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            names = [a.name for a in node.names]
            if (node.module or "").endswith("_aead") or (
                "_aead" in names and (node.module or "").endswith("privacy")
            ):
                return True
        elif isinstance(node, ast.Import) and any(a.name.endswith("privacy._aead") for a in node.names):
            return True
    return False


def test_only_privacy_recipes_import_aead() -> None:
    users = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py") if _imports_aead(p)}
    assert users, "the recipes should import _aead"
    assert all(u.startswith("privacy/") for u in users), users
