"""The accumulator over whole captures of analysed frames (no pixels: analysis-level signals)."""

import numpy as np
import pytest

from portraitmatch.config import PadSettings
from portraitmatch.errors import InputError
from portraitmatch.liveness.checker import Mode
from portraitmatch.liveness.pad import SIGNALS, PadAccumulator
from portraitmatch.types import Action, Reason
from tests.unit.pad.samples import analysis, face


def _turn_capture(turn_start_ms: float, n: int = 150):
    """A face calibrating at rest, then turning to its own left (yaw > 0, unmirrored) and back."""
    for k in range(n):
        t = k * 33.3
        yaw = 0.0
        if t >= turn_start_ms:
            yaw = min(25.0, (t - turn_start_ms) / 12.0)
        if t >= turn_start_ms + 900:
            yaw = max(0.0, 25.0 - (t - turn_start_ms - 900) / 12.0)
        yield analysis(t, face(yaw=yaw), index=k)


def test_every_signal_is_reported_and_none_fires_on_a_plain_capture() -> None:
    acc = PadAccumulator(PadSettings(disabled_signals=()))
    for a in _turn_capture(2000):
        acc.add(a)
    result = acc.result()
    assert [s.name for s in result.signals] == list(SIGNALS)
    assert not result.is_attack
    assert result.signal("response_timing").score is None  # offline


def test_streaming_turn_that_started_before_its_prompt_is_an_attack() -> None:
    early = PadAccumulator(PadSettings(), Mode.STREAMING)
    timely = PadAccumulator(PadSettings(), Mode.STREAMING)
    for a in _turn_capture(2000):
        early.add(a)
        timely.add(a)
    # the turn reaches 13° at ~2.16 s: a prompt at 2.1 s is 60 ms before: anticipation
    early.prompt_shown(Action.TURN_LEFT, 2100)
    timely.prompt_shown("turn_left", 1200)
    assert early.result().is_attack
    assert Reason.RESPONSE_TIMING in early.result().reasons
    assert not timely.result().is_attack


def test_mirrored_frames_turn_the_other_way() -> None:
    acc = PadAccumulator(PadSettings(), Mode.STREAMING, mirrored=True)
    for a in _turn_capture(2000):
        acc.add(a)
    acc.prompt_shown(Action.TURN_RIGHT, 1200)  # on a selfie preview, yaw > 0 is the customer's right
    assert not acc.result().is_attack


def test_model_scores_and_identity_feed_their_signals() -> None:
    acc = PadAccumulator(PadSettings(model_threshold=0.5))
    rng = np.random.default_rng(0)
    ref = rng.normal(size=32)
    for a in _turn_capture(10_000, n=20):
        acc.add(a, identity=ref + rng.normal(scale=0.01, size=32), model_score=0.8)
    result = acc.result()
    assert result.signal("model").fired
    assert Reason.PAD_MODEL_REJECTED in result.reasons
    assert result.signal("identity").is_assessed and not result.signal("identity").fired
    with pytest.raises(RuntimeError):
        acc.add(analysis(10_000, face()))


def test_disabled_signals_do_not_decide() -> None:
    acc = PadAccumulator(PadSettings(disabled_signals=("model",)))
    for a in _turn_capture(10_000, n=10):
        acc.add(a, model_score=0.99)
    result = acc.result()
    assert result.signal("model").score > 1 and not result.is_attack


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown signals"):
        PadAccumulator(PadSettings(disabled_signals=("nose_length",)))
    acc = PadAccumulator(PadSettings())
    acc.add(analysis(100.0, face()))
    with pytest.raises(InputError):
        acc.add(analysis(50.0, face()))
    with pytest.raises(InputError):
        acc.add(analysis(float("nan"), face()))
    with pytest.raises(ValueError):
        acc.add(analysis(200.0, face()), model_score=1.5)


def test_result_is_computed_once() -> None:
    acc = PadAccumulator(PadSettings())
    acc.add(analysis(0.0))
    assert acc.result() is acc.result()
