"""The public surface is exactly what api.py declares; a change here is a deliberate API change."""

from __future__ import annotations

import portraitmatch
from portraitmatch import api

EXPECTED = {
    "Challenge",
    "Decision",
    "Engine",
    "LiveCapture",
    "LivenessResult",
    "MatchResult",
    "Outcome",
    "PortraitTemplate",
    "Progress",
    "Settings",
    "issue_challenge",
    "parse_challenge",
}


def test_package_exports_exactly_the_api() -> None:
    assert set(portraitmatch.__all__) == EXPECTED
    assert set(api.__all__) == EXPECTED
    for name in EXPECTED:
        assert getattr(portraitmatch, name) is getattr(api, name)


def test_importing_the_package_loads_no_model() -> None:
    import subprocess
    import sys

    # Models load in Engine.load(), never at import. A fresh interpreter, so other tests don't interfere.
    code = (
        "import sys, portraitmatch; "
        "bad = [m for m in sys.modules if m.startswith('portraitmatch.adapters.models.')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_reason_has_a_human_message() -> None:
    from portraitmatch.decision.decide import MESSAGES
    from portraitmatch.types import Reason

    assert [r.value for r in Reason if r not in MESSAGES] == []
