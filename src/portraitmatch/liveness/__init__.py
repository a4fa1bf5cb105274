"""Liveness: issue a random challenge, then check a capture against it, frame by frame.

Pure logic: nothing here loads or calls a model. The engine analyses frames (landmarks, pose, eye
state, quality, optional identity vectors) and feeds the results to a `LivenessChecker`.
"""

from portraitmatch.liveness.challenge import Challenge, issue_challenge, parse_challenge
from portraitmatch.liveness.checker import LivenessChecker, Mode, Progress
from portraitmatch.liveness.guidance import Guidance

__all__ = [
    "Challenge",
    "Guidance",
    "LivenessChecker",
    "Mode",
    "Progress",
    "issue_challenge",
    "parse_challenge",
]
