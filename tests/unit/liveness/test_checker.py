from __future__ import annotations

import dataclasses
import random

import numpy as np
import pytest

from portraitmatch.config import LivenessSettings
from portraitmatch.errors import InputError, InvalidChallengeError
from portraitmatch.liveness import Guidance, LivenessChecker, Mode, Progress, parse_challenge
from portraitmatch.types import Action, FrameAnalysis, LivenessResult, Outcome, Reason
from tests.unit.liveness.scripted import Capture

SETTINGS = LivenessSettings()
LEFT, RIGHT = 25.0, -25.0  # image yaw of the customer's own left / right turn on an unmirrored camera


def check(
    challenge: str,
    capture: Capture,
    *,
    mode: Mode = Mode.OFFLINE,
    mirrored: bool = False,
    settings: LivenessSettings = SETTINGS,
    identities: dict[int, np.ndarray] | None = None,
) -> tuple[LivenessResult, list[Progress]]:
    checker = LivenessChecker(
        parse_challenge(challenge), settings, mode=mode, mirrored=mirrored, start_ms=0.0
    )
    progress = [checker.feed(f, (identities or {}).get(f.index)) for f in capture.frames]
    return checker.finish(capture.t_ms), progress


def test_challenge_performed_in_order_passes() -> None:
    c = Capture().rest(1000).blink().rest(600).turn(yaw=LEFT).rest(600).turn(yaw=RIGHT).rest(500)
    result, progress = check("blink,turn_left,turn_right", c)
    assert result.passed and result.outcome is Outcome.PASS
    assert result.reasons == (Reason.CHALLENGE_PASSED,)
    assert [s.action for s in result.steps] == [Action.BLINK, Action.TURN_LEFT, Action.TURN_RIGHT]
    assert all(s.ok for s in result.steps)
    blink, left, right = result.steps
    assert blink.t_end_ms < left.t_start_ms < left.t_end_ms < right.t_start_ms
    assert left.peak == pytest.approx(25, abs=2) and right.peak == pytest.approx(25, abs=2)
    assert result.signals["blink_count"] == 1
    assert result.signals["yaw_left_max_deg"] == pytest.approx(25, abs=2)
    assert result.signals["neutral_yaw_deg"] == pytest.approx(2.0, abs=1)
    assert progress[-1].done and progress[-1].guidance is Guidance.DONE and progress[-1].fraction == 1.0
    assert result.frames_seen < len(c.frames)  # it stops reading once done


def test_natural_pauses_between_actions_are_fine_offline() -> None:
    c = Capture().rest(1000).turn(yaw=LEFT).rest(8000).blink().rest(500)
    result, _ = check("turn_left,blink", c)
    assert result.passed


def test_offline_total_time_limit() -> None:
    c = Capture().rest(1000).turn(yaw=LEFT).rest(20_000).blink().rest(500)
    result, _ = check("turn_left,blink", c)  # 2 actions x 10 s
    assert result.outcome is Outcome.RETRY and result.reasons == (Reason.ACTION_TIMEOUT,)
    assert result.steps[0].ok and not result.steps[1].ok and result.steps[1].reason is Reason.ACTION_TIMEOUT


def test_clear_turn_of_the_wrong_kind_fails() -> None:
    # A recording that turns right first cannot answer "turn left, then right".
    c = Capture().rest(1000).turn(yaw=RIGHT).rest(600).turn(yaw=LEFT).rest(500)
    result, progress = check("turn_left,turn_right", c)
    assert result.outcome is Outcome.FAIL and result.reasons == (Reason.WRONG_ACTION,)
    assert result.steps[0].reason is Reason.WRONG_ACTION
    assert progress[-1].outcome is Outcome.FAIL and progress[-1].prompt is None


def test_turning_when_a_blink_was_asked_fails() -> None:
    c = Capture().rest(1000).turn(pitch=-25).rest(600).blink().rest(500)
    result, _ = check("blink,look_down", c)
    assert result.reasons == (Reason.WRONG_ACTION,)


def test_small_incidental_movements_and_extra_blinks_never_fail() -> None:
    c = Capture().rest(1000).blink().rest(300).turn(yaw=-12, ramp_ms=300, hold_ms=200).rest(300)
    c.turn(pitch=14, hold_ms=200).rest(300).blink().rest(200).turn(yaw=LEFT).rest(300).blink().rest(500)
    result, _ = check("turn_left,blink", c)
    assert result.passed
    assert result.signals["blink_count"] >= 2


def test_blinks_before_their_turn_are_not_counted_but_are_not_errors() -> None:
    c = Capture().rest(1000).blink().rest(500).turn(yaw=LEFT).rest(1000)
    result, _ = check("turn_left,blink", c)
    assert result.outcome is Outcome.RETRY and result.reasons == (Reason.CHALLENGE_INCOMPLETE,)
    assert result.steps[0].ok and not result.steps[1].ok


def test_blink_on_the_way_back_from_a_turn_counts() -> None:
    c = Capture().rest(1000).move_to(2 + 30, -5, 400).rest(400).move_to(2 + 12, -5, 250)
    c.blink().move_to(2, -5, 300).rest(600)
    result, _ = check("turn_left,blink", c)
    assert result.passed


def test_one_turn_cannot_answer_two() -> None:
    # Left to 30°, only part way back, left again: the second needs a return to neutral first.
    c = Capture().rest(1000).move_to(32, -5, 400).rest(300).move_to(20, -5, 300).rest(200)
    c.move_to(32, -5, 300).rest(1000)
    result, progress = check("turn_left,turn_left", c)
    assert result.outcome is Outcome.RETRY and result.reasons == (Reason.NO_RETURN_TO_NEUTRAL,)
    assert progress[-1].guidance is Guidance.TURN_BACK
    c.move_to(2, -5, 400).rest(500).turn(yaw=LEFT).rest(500)
    assert check("turn_left,turn_left", c)[0].passed


def test_capture_ending_at_the_peak_of_a_turn() -> None:
    c = Capture().rest(1000).move_to(2 + 30, -5, 400).rest(500)
    result, progress = check("turn_left", c)
    assert result.reasons == (Reason.NO_RETURN_TO_NEUTRAL,)
    assert progress[-1].guidance is Guidance.TURN_BACK
    assert progress[-1].fraction == pytest.approx(0.5)


def test_mirrored_preview() -> None:
    c = Capture().rest(1000).turn(yaw=RIGHT).rest(600).turn(yaw=LEFT).rest(500)
    assert check("turn_left,turn_right", c, mirrored=True)[0].passed
    assert check("turn_left,turn_right", c, mirrored=False)[0].reasons == (Reason.WRONG_ACTION,)


def test_several_faces_for_a_while_is_a_retry() -> None:
    c = Capture().rest(1000).rest(600, extra_faces=1).blink().rest(500)
    result, progress = check("blink", c)
    assert result.outcome is Outcome.RETRY and result.reasons == (Reason.MULTIPLE_FACES,)
    assert any(p.guidance is Guidance.MULTIPLE_FACES for p in progress)


def test_a_false_second_face_for_two_frames_is_ignored() -> None:
    c = Capture().rest(1000).rest(66, extra_faces=1).rest(300).blink().rest(500)
    assert check("blink", c)[0].passed


def test_face_lost_too_long_is_a_retry() -> None:
    c = Capture().rest(1000).no_face(2000).blink().rest(500)
    result, progress = check("blink", c)
    assert result.reasons == (Reason.FACE_LOST,) and result.outcome is Outcome.RETRY
    assert result.signals["face_lost_longest_s"] > 1.5
    assert any(p.guidance is Guidance.NO_FACE for p in progress)


def test_short_loss_of_the_face_is_bridged() -> None:
    # Tracking drops out at the extreme of a turn (as in the dev replay clip).
    c = Capture().rest(1000).move_to(2 + 30, -5, 400).no_face(600).move_to(2, -5, 400).rest(500)
    result, _ = check("turn_left", c)
    assert result.passed
    assert result.signals["face_lost_total_s"] == pytest.approx(0.6, abs=0.05)


def test_another_face_midway_fails() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=128), rng.normal(size=128)
    c = Capture().rest(1000).turn(yaw=LEFT).rest(600).blink().rest(500)
    same = {k: a + 0.1 * rng.normal(size=128) for k in range(0, len(c.frames), 5)}
    assert check("turn_left,blink", c, identities=same)[0].passed
    swapped = {k: (a if k < 45 else b) for k in range(0, len(c.frames), 5)}
    result, _ = check("turn_left,blink", c, identities=swapped)
    assert result.outcome is Outcome.FAIL and result.reasons == (Reason.FACE_CHANGED,)
    assert result.signals["identity_min_cosine"] < 0.5


class FixedDelays(random.Random):
    """An rng whose `uniform` returns the given fractions of the range in turn (the delays drawn)."""

    def __init__(self, *fractions: float) -> None:
        super().__init__(0)
        self.fractions = list(fractions)
        self.calls: list[tuple[float, float]] = []

    def uniform(self, a: float, b: float) -> float:
        self.calls.append((a, b))
        return a + self.fractions.pop(0) * (b - a)


def stream(
    challenge: str, capture: Capture, rng: random.Random, settings: LivenessSettings = SETTINGS
) -> tuple[LivenessChecker, LivenessResult, list[Progress]]:
    checker = LivenessChecker(parse_challenge(challenge), settings, mode=Mode.STREAMING, rng=rng)
    progress = [checker.feed(f) for f in capture.frames]
    return checker, checker.finish(capture.t_ms), progress


def test_streaming_each_action_has_its_own_deadline() -> None:
    settings = LivenessSettings(action_timeout_s=5)
    # Delays: 0.8 s after calibration (at 0.5 s), then 0.8 s after the turn is done.
    c = Capture().rest(1500).turn(yaw=LEFT).rest(6500).blink().rest(500)
    checker, result, progress = stream("turn_left,blink", c, FixedDelays(0.0, 0.0), settings)
    assert result.outcome is Outcome.RETRY and result.reasons == (Reason.ACTION_TIMEOUT,)
    assert result.steps[0].ok and result.steps[1].reason is Reason.ACTION_TIMEOUT
    stopped = next(i for i, p in enumerate(progress) if p.outcome is Outcome.RETRY)
    # The stop is known while streaming, 5 s after the second prompt became visible.
    shown = checker.prompts_shown[1][2]
    assert 5000 < c.frames[stopped].t_ms - shown < 5100
    # Offline, the same recording is fine: 2 actions x 5 s overall.
    assert check("turn_left,blink", c, settings=settings)[0].passed


def test_streaming_deadline_runs_from_the_visible_prompt() -> None:
    settings = LivenessSettings(action_timeout_s=5, prompt_delay_min_s=1.0, prompt_delay_max_s=4.0)
    # The second prompt is withheld 4 s; the blink comes 4.5 s after it: in time.
    c = Capture().rest(2000).turn(yaw=LEFT).rest(8500).blink().rest(500)
    _, result, _ = stream("turn_left,blink", c, FixedDelays(0.0, 1.0), settings)
    assert result.passed, result.reasons
    # With a 1 s delay the same blink comes 7.5 s after its prompt: too late.
    _, result, _ = stream("turn_left,blink", c, FixedDelays(0.0, 0.0), settings)
    assert result.reasons == (Reason.ACTION_TIMEOUT,)


def test_streaming_prompts_are_withheld_for_a_random_delay() -> None:
    c = Capture().rest(3000).turn(yaw=LEFT).rest(2500).blink().rest(500)
    rng = FixedDelays(0.25, 0.5)  # 0.8 + 0.25 * 3.2 = 1.6 s, then 2.4 s
    checker, result, progress = stream("turn_left,blink", c, rng)
    assert result.passed, result.reasons
    assert rng.calls == [(0.8, 4.0), (0.8, 4.0)]
    assert progress[0].guidance is Guidance.LOOK_AT_CAMERA and progress[0].prompt is None
    (s0, a0, t0), (s1, a1, t1) = checker.prompts_shown
    assert (s0, a0, s1, a1) == (0, Action.TURN_LEFT, 1, Action.BLINK)
    # calibrated after 0.5 s (+ a frame), so the first prompt shows at 2.1 s; the second 2.4 s after
    # the turn
    assert 2100 <= t0 < 2100 + 2 * c.dt_ms
    done = result.steps[0].t_end_ms
    assert done is not None and 2400 <= t1 - done < 2400 + 2 * c.dt_ms
    for f, p in zip(c.frames, progress, strict=False):
        if f.t_ms < t0 or (done is not None and done <= f.t_ms < t1):
            # no prompt while it is withheld: "look at the camera" (or turn back after a turn)
            assert p.prompt is None and p.guidance in (Guidance.LOOK_AT_CAMERA, Guidance.TURN_BACK)
        elif f.t_ms == t0 or f.t_ms == t1:
            assert p.prompt is not None and p.guidance is Guidance.DO_ACTION
    waiting = next(p for p in progress if p.prompt is Action.BLINK)
    assert waiting.message == "Blink." and waiting.step == 1 and waiting.fraction == pytest.approx(0.5)
    assert result.signals["prompts_shown"] == 2 and result.signals["anticipated_turns"] == 0
    assert result.signals["response_latency_min_s"] > 0


SMALL_LEFT = 16.0  # past turn_deg (13°), short of wrong_turn_deg (20°): a turn, not a clear one


def test_streaming_actions_before_their_prompt_do_not_count() -> None:
    # The turn starts 0.9 s after calibration, while its prompt is withheld (4 s): it is ignored and
    # counted as anticipated; the blink right after it, while the blink prompt is not shown, too.
    c = Capture().rest(1400).turn(yaw=SMALL_LEFT).blink().rest(6000)
    _, result, _ = stream("turn_left,blink", c, FixedDelays(1.0, 1.0))
    assert not result.passed and result.reasons == (Reason.CHALLENGE_INCOMPLETE,)
    assert result.signals["anticipated_turns"] == 1 and not result.steps[0].ok
    # The same turn once its prompt is visible counts; a blink before the blink prompt does not.
    c = Capture().rest(1400).turn(yaw=LEFT).rest(100).blink().rest(6000)
    _, result, _ = stream("turn_left,blink", c, FixedDelays(0.0, 1.0))
    assert result.steps[0].ok and not result.steps[1].ok
    assert result.signals["anticipated_turns"] == 0
    # A turn begun just before the prompt appeared and finished after it does not count either.
    c = (
        Capture()
        .rest(1200)
        .turn(yaw=SMALL_LEFT, hold_ms=1000)
        .rest(500)
        .turn(yaw=LEFT)
        .rest(2000)
        .blink()
        .rest(500)
    )
    checker, result, _ = stream("turn_left,blink", c, FixedDelays(0.3, 0.0))  # first prompt at 2.26 s
    assert result.passed and result.signals["anticipated_turns"] == 1
    assert result.steps[0].t_start_ms is not None and result.steps[0].t_start_ms > checker.prompts_shown[0][2]


@pytest.mark.parametrize("yaw", [LEFT, RIGHT], ids=["the hidden way", "the other way"])
def test_streaming_a_clear_turn_while_waiting_fails_whichever_way_it_goes(yaw: float) -> None:
    # Were only the wrong way to fail, a client could turn while the prompt is withheld and learn
    # the hidden action from whether the session survives.
    c = Capture().rest(1200).turn(yaw=yaw).rest(4000)
    checker, result, progress = stream("turn_left,blink", c, FixedDelays(1.0))
    assert result.outcome is Outcome.FAIL and result.reasons == (Reason.WRONG_ACTION,)
    assert checker.prompts_shown == ()
    stopped = next(dataclasses.astuple(p) for p in progress if p.outcome is Outcome.FAIL)
    _other, _, other_progress = stream(
        "turn_left,blink", Capture().rest(1200).turn(yaw=-yaw).rest(4000), FixedDelays(1.0)
    )
    assert stopped == next(dataclasses.astuple(p) for p in other_progress if p.outcome is Outcome.FAIL)


def test_streaming_progress_says_nothing_about_a_withheld_action() -> None:
    # Small turns (past turn_deg, short of wrong_turn_deg) and a blink while the first prompt is
    # withheld (8 s after calibration): the progress must be the same whatever the challenge, or a
    # client could probe for the action before its prompt.
    settings = LivenessSettings(prompt_delay_min_s=8.0, prompt_delay_max_s=8.0)
    c = (
        Capture()
        .rest(1000)
        .turn(yaw=16)
        .rest(300)
        .turn(yaw=-16)
        .rest(300)
        .turn(pitch=16)
        .rest(300)
        .blink()
        .rest(300)
    )
    assert c.t_ms < 8400
    seen = {}
    for challenge in ("turn_left,blink", "turn_right,blink", "look_up,blink", "blink,turn_left"):
        checker, _, progress = stream(challenge, c, random.Random(0), settings)
        assert checker.prompts_shown == ()
        seen[challenge] = [dataclasses.astuple(p) for p in progress]
    assert any(p[4] is Guidance.TURN_BACK for p in seen["blink,turn_left"])  # the turns were seen
    first, *others = seen.values()
    assert all(other == first for other in others)


def test_streaming_delays_come_from_a_csprng_by_default() -> None:
    checker = LivenessChecker([Action.BLINK], SETTINGS, mode=Mode.STREAMING)
    assert isinstance(checker._rng, random.SystemRandom)
    c = Capture().rest(5000)
    shown = set()
    for _ in range(5):
        checker = LivenessChecker([Action.BLINK], SETTINGS, mode=Mode.STREAMING)
        for f in c.frames:
            checker.feed(f)
        ((_, _, t),) = checker.prompts_shown
        assert 500 + 800 <= t <= 500 + 4000 + 2 * c.dt_ms  # calibrated with the frame after 0.5 s
        shown.add(t)
    assert len(shown) > 1  # not the same moment every session


def test_zero_delay_shows_prompts_at_once_and_offline_shows_no_prompts() -> None:
    zero = LivenessSettings(prompt_delay_min_s=0, prompt_delay_max_s=0)
    c = Capture().rest(1000).turn(yaw=LEFT).rest(500).blink().rest(500)
    checker, result, _ = stream("turn_left,blink", c, random.SystemRandom(), zero)
    assert result.passed
    assert checker.prompts_shown[0][2] == next(f.t_ms for f in c.frames if f.t_ms >= 500)
    checker = LivenessChecker(parse_challenge("turn_left,blink"), SETTINGS)
    offline = [checker.feed(f) for f in c.frames]
    assert checker.prompts_shown == () and checker.finish().passed
    # offline the prompt follows the calibration and the steps at once, as before
    assert offline[20].prompt is Action.TURN_LEFT


def test_quality_guidance() -> None:
    c = Capture().rest(1000, reasons=(Reason.FACE_TOO_SMALL, Reason.BLURRED))
    _, progress = check("blink", c)
    assert progress[-1].guidance is Guidance.FACE_TOO_SMALL
    assert progress[-1].message == "Move closer to the camera."


def test_nothing_seen() -> None:
    result, _ = check("blink", Capture().no_face(3000))
    assert result.outcome is Outcome.RETRY and result.reasons == (Reason.NO_FACE,)
    result, _ = check("blink", Capture().rest(300))
    assert result.reasons == (Reason.CAPTURE_TOO_SHORT,)
    empty = LivenessChecker([Action.BLINK], SETTINGS).finish()
    assert empty.reasons == (Reason.NO_FACE,) and empty.frames_seen == 0


def test_bad_input() -> None:
    with pytest.raises(InvalidChallengeError):
        LivenessChecker([], SETTINGS)
    with pytest.raises(InvalidChallengeError):
        LivenessChecker(["blink", "wave"], SETTINGS)
    checker = LivenessChecker(["blink"], SETTINGS)
    checker.feed(FrameAnalysis(0, 100.0, 640, 480))
    with pytest.raises(InputError, match="time order"):
        checker.feed(FrameAnalysis(1, 50.0, 640, 480))
    with pytest.raises(InputError):
        checker.feed(FrameAnalysis(2, float("nan"), 640, 480))


def test_frames_before_the_start_are_ignored() -> None:
    c = Capture().rest(1000).blink().rest(1000).blink().rest(500)
    checker = LivenessChecker([Action.BLINK, Action.BLINK], SETTINGS, start_ms=1500)
    for f in c.frames:
        checker.feed(f)
    result = checker.finish()
    # The first blink happened before the challenge started: only one blink counts.
    assert not result.passed and result.steps[0].ok and not result.steps[1].ok


def test_names_and_non_finite_values() -> None:
    assert LivenessChecker(["BLINK", "Turn-Left"], SETTINGS).actions == (Action.BLINK, Action.TURN_LEFT)
    # A landmarker glitch (NaN pose or EAR) on some frames must not poison the estimates.
    c = Capture().rest(1000).blink().rest(600).turn(yaw=LEFT).rest(500)
    frames = list(c.frames)
    for k in (5, 40, 70):
        f = frames[k]
        face = dataclasses.replace(f.faces[0], yaw_deg=float("nan"), ear_left=float("nan"))
        frames[k] = dataclasses.replace(f, faces=(face,))
    checker = LivenessChecker([Action.BLINK, Action.TURN_LEFT], SETTINGS)
    for f in frames:
        checker.feed(f)
    assert checker.finish().passed
