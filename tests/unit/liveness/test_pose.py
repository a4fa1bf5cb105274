from __future__ import annotations

import pytest

from portraitmatch.liveness.pose import TurnEvent, TurnPhase, TurnTracker
from portraitmatch.types import Action
from tests.unit.liveness.scripted import Capture


def events(capture: Capture, *, mirrored: bool = False) -> list[TurnEvent]:
    tracker = TurnTracker(mirrored=mirrored)
    out: list[TurnEvent] = []
    for frame in capture.frames:
        face = frame.primary
        if face is not None:
            out.extend(tracker.update(frame.t_ms, face.yaw_deg, face.pitch_deg))
    return out


def done(capture: Capture, *, mirrored: bool = False) -> list[Action]:
    return [e.action for e in events(capture, mirrored=mirrored) if e.phase is TurnPhase.DONE]


def test_yaw_towards_image_right_is_the_customers_left() -> None:
    c = Capture().rest(1000).turn(yaw=25).rest(500)
    evs = events(c)
    assert [e.phase for e in evs] == [TurnPhase.REACHED, TurnPhase.CLEAR, TurnPhase.DONE]
    assert {e.action for e in evs} == {Action.TURN_LEFT}
    assert evs[-1].peak_deg == pytest.approx(25, abs=2)
    # The onset is where the ramp crossed 13°, about half way up a 400 ms ramp.
    assert 1150 < evs[-1].onset_ms < 1350


def test_mirrored_frames_flip_left_and_right() -> None:
    c = Capture().rest(1000).turn(yaw=25).rest(500).turn(yaw=-25).rest(500)
    assert done(c) == [Action.TURN_LEFT, Action.TURN_RIGHT]
    assert done(c, mirrored=True) == [Action.TURN_RIGHT, Action.TURN_LEFT]


def test_pitch() -> None:
    c = Capture().rest(1000).turn(pitch=22).rest(500).turn(pitch=-18).rest(500)
    assert done(c) == [Action.LOOK_UP, Action.LOOK_DOWN]


def test_small_movements_are_not_turns() -> None:
    c = Capture().rest(1000).turn(yaw=10).rest(300).turn(pitch=-9).rest(300).turn(yaw=-11, pitch=5).rest(500)
    assert events(c) == []


def test_a_turn_only_clear_beyond_the_wrong_action_threshold() -> None:
    c = Capture().rest(1000).turn(yaw=-17).rest(500)
    assert [e.phase for e in events(c)] == [TurnPhase.REACHED, TurnPhase.DONE]


def test_measured_from_the_captures_own_neutral() -> None:
    # Someone who rests at yaw 9°, pitch -12°: a 16° turn is measured from there.
    c = Capture(yaw_deg=9.0, pitch_deg=-12.0).rest(1000).turn(yaw=16).rest(500).turn(yaw=-16).rest(500)
    assert done(c) == [Action.TURN_LEFT, Action.TURN_RIGHT]
    tracker = TurnTracker()
    for f in c.frames:
        tracker.update(f.t_ms, f.primary.yaw_deg, f.primary.pitch_deg)
    assert tracker.neutral == pytest.approx((9.0, -12.0), abs=1.0)


def test_a_slow_turn_still_counts() -> None:
    # Two seconds to turn: the neutral estimate must not follow the head.
    c = Capture().rest(1000).move_to(2 + 20, -5, 2000).rest(300).move_to(2, -5, 2000).rest(500)
    assert done(c) == [Action.TURN_LEFT]


def test_a_one_frame_glitch_is_not_a_turn() -> None:
    c = Capture().rest(1000).move_to(2 + 30, -5, 33).move_to(2, -5, 33).rest(500)
    assert events(c) == []


def test_residue_of_a_turn_is_not_a_second_turn() -> None:
    # Left to 30°, back only to 18°, left to 30° again: one turn, not two.
    c = Capture().rest(1000).move_to(32, -5, 400).rest(300).move_to(20, -5, 300).rest(200)
    c.move_to(32, -5, 300).rest(300).move_to(2, -5, 400).rest(500)
    assert done(c) == [Action.TURN_LEFT]
    # With a return to neutral in between they are two.
    c2 = Capture().rest(1000).turn(yaw=30).rest(400).turn(yaw=30).rest(500)
    assert done(c2) == [Action.TURN_LEFT, Action.TURN_LEFT]


def test_left_then_right_through_neutral_in_one_swing() -> None:
    c = Capture().rest(1000).move_to(2 + 25, -5, 400).rest(300).move_to(2 - 25, -5, 500).rest(300)
    c.move_to(2, -5, 400).rest(500)
    assert done(c) == [Action.TURN_LEFT, Action.TURN_RIGHT]


def test_turn_completes_on_the_way_back() -> None:
    # Done as soon as the head has come clearly back from the peak, not only at neutral.
    c = (
        Capture(angle_noise=0.0)
        .rest(1000)
        .move_to(2 + 40, -5, 400)
        .rest(300)
        .move_to(2 + 26, -5, 200)
        .rest(1000)
    )
    evs = events(c)
    assert evs[-1].phase is TurnPhase.DONE
    tracker = TurnTracker()
    for f in c.frames:
        tracker.update(f.t_ms, f.primary.yaw_deg, f.primary.pitch_deg)
    assert not tracker.is_armed  # but the next turn waits until the head is back at neutral
    assert tracker.returning_from is Action.TURN_LEFT


def test_calibration_needs_a_moment() -> None:
    tracker = TurnTracker()
    assert tracker.update(0.0, 30.0, 0.0) == []
    assert tracker.neutral is None and not tracker.is_calibrated
