"""The decision rule: a live person who performed the challenge AND matches the ID portrait passes.

Inconclusive evidence (face lost, too dark, no usable frame) is `retry`, never `fail`: a customer
should not be turned away for bad lighting, and an attacker gains nothing from a retry because every
attempt gets a fresh challenge and counts towards the failure limits.
"""

from __future__ import annotations

from collections.abc import Mapping

from portraitmatch.types import Decision, LivenessResult, MatchResult, Outcome, Quality, Reason

MESSAGES: Mapping[Reason, str] = {
    Reason.NO_FACE: "No face was found. Look straight at the camera.",
    Reason.MULTIPLE_FACES: "More than one face was seen. Only the customer should be in view.",
    Reason.FACE_TOO_SMALL: "The face is too small. Move closer to the camera.",
    Reason.BLURRED: "The image is blurred. Hold still.",
    Reason.TOO_DARK: "The image is too dark. Find more light.",
    Reason.OVEREXPOSED: "The image is too bright. Avoid strong light behind or on the face.",
    Reason.OFF_CENTRE: "Centre the face in the frame.",
    Reason.EYES_NOT_VISIBLE: "The eyes must be visible.",
    Reason.FACE_CUT_OFF: "The whole face must be in the frame.",
    Reason.PORTRAIT_UNUSABLE: "The ID portrait cannot be used. Scan the document again.",
    Reason.CHALLENGE_PASSED: "The challenge was performed.",
    Reason.CHALLENGE_INCOMPLETE: "Not every requested action was seen.",
    Reason.CHALLENGE_EXPIRED: "The challenge expired. Start again.",
    Reason.ACTION_TIMEOUT: "An action was not completed in time.",
    Reason.WRONG_ACTION: "An action other than the requested one was performed.",
    Reason.NO_RETURN_TO_NEUTRAL: "Face the camera again between head turns.",
    Reason.FACE_LOST: "The face left the camera view for too long.",
    Reason.FACE_CHANGED: "The face changed during the capture.",
    Reason.CAPTURE_TOO_SHORT: "The capture is too short.",
    Reason.PRESENTATION_ATTACK_SUSPECTED: "The capture does not look like a live person at the camera.",
    Reason.FLAT_SURFACE_MOTION: "The face moved like a flat picture, not a head.",
    Reason.SCREEN_DETECTED: "A screen appears to be shown to the camera.",
    Reason.STREAM_INCONSISTENT: (
        "The video is not consistent with a live camera: frames repeat, jump or run out of order,"
        " as in an edited or frame-rate-converted recording."
    ),
    Reason.RESPONSE_TIMING: "The responses did not follow the prompts like a live person.",
    Reason.EYE_COVER_SUSPECTED: "The blink looked like something covering the eyes.",
    Reason.MEDIUM_BORDER_DETECTED: "The edge of a photo or screen was seen around the face.",
    Reason.NO_PULSE_DETECTED: "No sign of a living face was seen.",
    Reason.PAD_MODEL_REJECTED: "The anti-spoofing check rejected the capture.",
    Reason.SUPERVISOR_EXCEPTION: "A supervisor approved an exception to the challenge.",
    Reason.MATCH: "The live face matches the ID portrait.",
    Reason.NO_MATCH: "The live face does not match the ID portrait.",
    Reason.NO_USABLE_FRAMES: "No live frame was good enough to compare with the ID portrait.",
}


def describe(reasons: tuple[Reason, ...]) -> str:
    return " ".join(MESSAGES.get(r, r.value) for r in reasons)


def _unique(reasons: list[Reason]) -> tuple[Reason, ...]:
    return tuple(dict.fromkeys(reasons))


def decide(
    liveness: LivenessResult,
    match: MatchResult | None,
    *,
    portrait_quality: Quality | None = None,
    timings_ms: Mapping[str, float] | None = None,
) -> Decision:
    """Combine the liveness result and the 1:1 match into the final decision.

    Liveness is judged first: a face that is not shown to be live is never reported as matching,
    so a failed attack learns nothing about how close its face came to the portrait.
    """
    timings = dict(timings_ms or {})
    if liveness.outcome is not Outcome.PASS:
        reasons = _unique(list(liveness.reasons) or [Reason.CHALLENGE_INCOMPLETE])
        return Decision(
            liveness.outcome, reasons, describe(reasons), liveness, None, portrait_quality, timings
        )
    if match is None:
        reasons = (Reason.NO_USABLE_FRAMES,)
        return Decision(Outcome.RETRY, reasons, describe(reasons), liveness, None, portrait_quality, timings)
    if not match.is_match:
        reasons = (Reason.NO_MATCH,)
        return Decision(Outcome.FAIL, reasons, describe(reasons), liveness, match, portrait_quality, timings)
    reasons = (Reason.CHALLENGE_PASSED, Reason.MATCH)
    return Decision(Outcome.PASS, reasons, describe(reasons), liveness, match, portrait_quality, timings)
