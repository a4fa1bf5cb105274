from portraitmatch.liveness.pad.timing import ActionOnset, match_responses, score_timing
from portraitmatch.types import Action

WINDOW = {"min_ms": 300.0, "max_ms": 3000.0}


def test_reactions_within_the_window_pass() -> None:
    onsets = [ActionOnset(Action.TURN_LEFT, 2900), ActionOnset(Action.BLINK, 6100)]
    r = match_responses([(Action.TURN_LEFT, 2000), (Action.BLINK, 5000)], onsets, **WINDOW)
    assert [x.ok for x in r] == [True, True]
    assert not score_timing(r, is_streaming=True).fired


def test_a_turn_already_under_way_at_the_prompt_fails() -> None:
    r = match_responses([(Action.TURN_LEFT, 2000)], [ActionOnset(Action.TURN_LEFT, 1700)], **WINDOW)
    assert r[0].latency_ms == -300 and not r[0].ok
    assert score_timing(r, is_streaming=True).fired


def test_a_late_response_fails() -> None:
    r = match_responses([(Action.TURN_RIGHT, 1000)], [ActionOnset(Action.TURN_RIGHT, 5200)], **WINDOW)
    assert not r[0].ok


def test_blinks_only_fail_by_a_missing_response() -> None:
    onsets = [ActionOnset(Action.BLINK, 1900), ActionOnset(Action.BLINK, 2100)]
    (r,) = match_responses([(Action.BLINK, 2000)], onsets, **WINDOW)
    assert r.ok and r.latency_ms == 100  # the blink before the prompt is ignored, a quick one is fine
    (late,) = match_responses([(Action.BLINK, 2000)], [ActionOnset(Action.BLINK, 1900)], **WINDOW)
    assert not late.ok and late.latency_ms is None


def test_offline_captures_are_not_assessed() -> None:
    assert score_timing([], is_streaming=False).score is None
    assert score_timing([], is_streaming=True).score is None
