"""`bench pad` rates: what each APCER column counts, on hand-made presentations."""

from portraitmatch.bench.pad import PadBenchResult, Presentation
from portraitmatch.liveness.pad.result import SignalScore, combine
from portraitmatch.types import Action, Reason


def _pad(attack: bool):
    score = 2.0 if attack else 0.5
    return combine((SignalScore("medium_border", Reason.MEDIUM_BORDER_DETECTED, score, score, 1.0, ""),))


def _attack(name: str, performed: tuple[Action, ...], *, flagged: bool, issuable: bool) -> Presentation:
    return Presentation(
        name,
        "eye_cover",
        "print",
        "src",
        "clip",
        frames=90,
        seconds=3.0,
        pad=_pad(flagged),
        performed=performed,
        checker_passed=True,
        issuable=issuable,
    )


def test_a_one_action_recording_counts_offline_but_not_in_a_video_session() -> None:
    result = PadBenchResult(
        seed=0,
        quick=True,
        settings={},
        presentations=[
            _attack("one blink", (Action.BLINK,), flagged=False, issuable=False),
            _attack("blink then turn", (Action.BLINK, Action.TURN_LEFT), flagged=False, issuable=True),
            _attack("flagged", (Action.BLINK, Action.TURN_LEFT), flagged=True, issuable=True),
        ],
        elapsed_s=1.0,
        started_at="2026-11-22T00:00:00+00:00",
        timings_ms={},
        notes=[],
    )
    rates = result.rates()["attacks"]["eye_cover"]
    assert rates["apcer_pad"]["errors"] == 2
    assert rates["apcer_system"]["errors"] == 2
    assert rates["apcer_video_session"]["errors"] == 1
    # Switching the border signal off lets the flagged one through as well.
    off = result.rates(off=["medium_border"])["attacks"]["eye_cover"]
    assert off["apcer_video_session"]["errors"] == 2
