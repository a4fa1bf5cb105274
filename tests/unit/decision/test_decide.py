"""The decision rule on real result values: liveness first, then the match; inconclusive is retry."""

from __future__ import annotations

from portraitmatch.decision.decide import decide
from portraitmatch.decision.record import decision_to_dict
from portraitmatch.types import Action, LivenessResult, MatchResult, Outcome, Reason, StepResult


def liveness(outcome: Outcome, *reasons: Reason) -> LivenessResult:
    steps = (StepResult(Action.BLINK, outcome is Outcome.PASS, 1000.0, 1200.0, 0.1),)
    return LivenessResult(
        outcome is Outcome.PASS, (Action.BLINK,), steps, outcome, reasons, {"blink_count": 1.0}
    )


MATCH = MatchResult(5.0, 3.5, True, (3, 9), {"dlib-resnet-128": 0.97}, "cal")
NO_MATCH = MatchResult(1.0, 3.5, False, (3,), {}, "cal")


def test_live_and_matching_passes() -> None:
    d = decide(liveness(Outcome.PASS, Reason.CHALLENGE_PASSED), MATCH, timings_ms={"total": 12.0})
    assert d.outcome is Outcome.PASS
    assert d.reasons == (Reason.CHALLENGE_PASSED, Reason.MATCH)
    assert "matches" in d.message


def test_live_but_other_person_fails_with_no_match() -> None:
    d = decide(liveness(Outcome.PASS, Reason.CHALLENGE_PASSED), NO_MATCH)
    assert (d.outcome, d.reasons) == (Outcome.FAIL, (Reason.NO_MATCH,))


def test_a_capture_not_shown_live_is_never_reported_as_matching() -> None:
    d = decide(liveness(Outcome.FAIL, Reason.PRESENTATION_ATTACK_SUSPECTED, Reason.SCREEN_DETECTED), MATCH)
    assert d.outcome is Outcome.FAIL
    assert d.match is None
    assert Reason.MATCH not in d.reasons


def test_inconclusive_liveness_is_retry_with_its_reasons() -> None:
    d = decide(liveness(Outcome.RETRY, Reason.FACE_LOST, Reason.FACE_LOST), None)
    assert (d.outcome, d.reasons) == (Outcome.RETRY, (Reason.FACE_LOST,))


def test_no_usable_live_frame_is_retry() -> None:
    d = decide(liveness(Outcome.PASS, Reason.CHALLENGE_PASSED), None)
    assert (d.outcome, d.reasons) == (Outcome.RETRY, (Reason.NO_USABLE_FRAMES,))


def test_record_has_the_documented_schema_in_seconds() -> None:
    d = decide(liveness(Outcome.PASS, Reason.CHALLENGE_PASSED), MATCH, timings_ms={"total": 12.0})
    out = decision_to_dict(d)
    assert out["decision"] == "pass"
    assert out["liveness"]["steps"][0] == {
        "action": "blink",
        "ok": True,
        "t_start": 1.0,
        "t_end": 1.2,
        "peak": 0.1,
        "reason": None,
    }
    assert out["match"]["match"] is True and out["match"]["frames_used"] == [3, 9]
    assert out["timings_ms"] == {"total": 12.0}
