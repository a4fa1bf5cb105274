"""docs/privacy.md lists every audit event with its code: the catalogue and its documentation agree."""

from __future__ import annotations

from portraitmatch.audit.catalogue import CATALOGUE
from tests.conftest import REPO_ROOT


def test_every_event_is_documented() -> None:
    doc = (REPO_ROOT / "docs" / "privacy.md").read_text(encoding="utf-8")
    missing = [
        f"{s.code} {s.type.value}" for s in CATALOGUE.values() if f"`{s.code}` | `{s.type.value}`" not in doc
    ]
    assert not missing, f"add to docs/privacy.md: {missing}"
