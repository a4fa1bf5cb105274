from portraitmatch.liveness.pad.result import SignalScore, combine, ratio_score
from portraitmatch.types import Reason


def _signal(name: str, score: float | None, reason: Reason = Reason.SCREEN_DETECTED) -> SignalScore:
    return SignalScore(name, reason, score, value=score, threshold=1.0)


def test_ratio_score_is_one_on_the_threshold_and_grows_with_evidence() -> None:
    assert ratio_score(0.5, 0.5, attack_if="above") == 1.0
    assert ratio_score(1.0, 0.5, attack_if="above") == 2.0
    assert ratio_score(0.02, 0.04, attack_if="below") == 2.0
    assert ratio_score(0.08, 0.04, attack_if="below") == 0.5


def test_any_signal_over_one_makes_an_attack_with_its_reason() -> None:
    result = combine(
        (
            _signal("flat_motion", 0.4, Reason.FLAT_SURFACE_MOTION),
            _signal("medium_border", 3.0, Reason.MEDIUM_BORDER_DETECTED),
            _signal("stream", 1.2, Reason.STREAM_INCONSISTENT),
            _signal("pulse", None, Reason.NO_PULSE_DETECTED),
        )
    )
    assert result.is_attack
    # the strongest evidence first, after the umbrella code
    assert result.reasons == (
        Reason.PRESENTATION_ATTACK_SUSPECTED,
        Reason.MEDIUM_BORDER_DETECTED,
        Reason.STREAM_INCONSISTENT,
    )
    assert result.scores["pulse"] is None


def test_no_signal_over_one_is_bona_fide() -> None:
    result = combine((_signal("flat_motion", 0.99), _signal("pulse", None)))
    assert not result.is_attack
    assert result.reasons == ()


def test_without_recomputes_the_verdict_with_signals_switched_off() -> None:
    result = combine((_signal("medium_border", 3.0), _signal("flat_motion", 0.2)))
    assert result.is_attack
    reduced = result.without(["medium_border"])
    assert not reduced.is_attack
    assert reduced.signal("medium_border").score == 3.0  # kept for the report
    assert not reduced.signal("medium_border").enabled


def test_summary_is_plain_data() -> None:
    summary = combine((_signal("stream", 2.0, Reason.STREAM_INCONSISTENT),)).summary()
    assert summary["is_attack"] is True
    assert summary["reasons"] == ["PRESENTATION_ATTACK_SUSPECTED", "STREAM_INCONSISTENT"]
    assert summary["signals"]["stream"]["fired"] is True
