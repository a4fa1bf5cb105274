"""PortraitMatch: liveness challenge + 1:1 ID portrait matching for real-name SIM registration.

The public API is `portraitmatch.api`, re-exported here; everything else is internal.
"""

from portraitmatch.api import (
    Challenge,
    Decision,
    Engine,
    LiveCapture,
    LivenessResult,
    MatchResult,
    Outcome,
    PortraitTemplate,
    Progress,
    Settings,
    issue_challenge,
    parse_challenge,
)

__all__ = [
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
]
__version__ = "0.1.0"
