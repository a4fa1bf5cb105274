"""What to tell the customer while the challenge runs: a stable code plus a short message.

The checker picks one `Guidance` per frame, the most pressing first: a missing or doubled face,
then image quality, then the pose the next action needs, then the action itself. Codes are stable
(a web client may show its own translation); the English messages are the default wording.
Directions are the customer's own: "turn to your left" whatever the camera does.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from portraitmatch.types import Action, Reason


class Guidance(StrEnum):
    """Stable guidance codes; never rename a member, clients key on them."""

    NO_FACE = "NO_FACE"
    MULTIPLE_FACES = "MULTIPLE_FACES"
    FACE_TOO_SMALL = "FACE_TOO_SMALL"
    TOO_DARK = "TOO_DARK"
    OVEREXPOSED = "OVEREXPOSED"
    HOLD_STILL = "HOLD_STILL"
    CENTRE_FACE = "CENTRE_FACE"
    EYES_NOT_VISIBLE = "EYES_NOT_VISIBLE"
    LOOK_AT_CAMERA = "LOOK_AT_CAMERA"
    TURN_BACK = "TURN_BACK"
    DO_ACTION = "DO_ACTION"
    DONE = "DONE"
    STOPPED = "STOPPED"


MESSAGES: Mapping[Guidance, str] = {
    Guidance.NO_FACE: "Show your face to the camera.",
    Guidance.MULTIPLE_FACES: "Only one person should be in view.",
    Guidance.FACE_TOO_SMALL: "Move closer to the camera.",
    Guidance.TOO_DARK: "Find more light.",
    Guidance.OVEREXPOSED: "Too bright: move away from strong light.",
    Guidance.HOLD_STILL: "Hold the camera still.",
    Guidance.CENTRE_FACE: "Centre your face in the frame.",
    Guidance.EYES_NOT_VISIBLE: "Keep your eyes visible.",
    Guidance.LOOK_AT_CAMERA: "Look straight at the camera.",
    Guidance.TURN_BACK: "Turn back towards the camera.",
    Guidance.DONE: "Done, thank you.",
    Guidance.STOPPED: "Please start again.",
}

ACTION_MESSAGES: Mapping[Action, str] = {
    Action.BLINK: "Blink.",
    Action.TURN_LEFT: "Turn your head to your left.",
    Action.TURN_RIGHT: "Turn your head to your right.",
    Action.LOOK_UP: "Tilt your head up.",
    Action.LOOK_DOWN: "Tilt your head down.",
}

# Quality problems in the order they are worth fixing: a fix higher up often fixes those below.
_QUALITY_GUIDANCE: tuple[tuple[Reason, Guidance], ...] = (
    (Reason.FACE_TOO_SMALL, Guidance.FACE_TOO_SMALL),
    (Reason.TOO_DARK, Guidance.TOO_DARK),
    (Reason.OVEREXPOSED, Guidance.OVEREXPOSED),
    (Reason.FACE_CUT_OFF, Guidance.CENTRE_FACE),
    (Reason.OFF_CENTRE, Guidance.CENTRE_FACE),
    (Reason.BLURRED, Guidance.HOLD_STILL),
    (Reason.EYES_NOT_VISIBLE, Guidance.EYES_NOT_VISIBLE),
)


def guidance_for_quality(reasons: tuple[Reason, ...]) -> Guidance | None:
    """The guidance code for the most pressing quality problem of a face, or None if it has none."""
    for reason, code in _QUALITY_GUIDANCE:
        if reason in reasons:
            return code
    return None


def message_for(code: Guidance, action: Action | None = None) -> str:
    if code == Guidance.DO_ACTION and action is not None:
        return ACTION_MESSAGES[action]
    return MESSAGES.get(code, "")
