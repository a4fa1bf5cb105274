import numpy as np

from portraitmatch.liveness.pad.pulse import pulse_snr_db, score_pulse


def _trace(pulse_hz: float | None, seconds: float = 12.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    t = np.arange(0, seconds, 1 / 30) * 1000
    base = np.array([150.0, 110.0, 90.0])
    rgb = np.tile(base, (len(t), 1)) + rng.normal(0, 0.3, (len(t), 3))
    if pulse_hz:
        # blood volume changes absorb green most (the POS model's assumption)
        rgb += np.outer(np.sin(2 * np.pi * pulse_hz * t / 1000), [0.2, 0.5, 0.15])
    return t, rgb


def test_a_pulse_stands_out_and_noise_does_not() -> None:
    t, rgb = _trace(1.2)
    snr, rate = pulse_snr_db(t, rgb)
    assert abs(rate - 1.2) < 0.1
    t, noise = _trace(None)
    assert snr > pulse_snr_db(t, noise)[0] + 6


def test_short_captures_are_not_assessed() -> None:
    t, rgb = _trace(1.2, seconds=4)
    assert score_pulse(list(t), [tuple(x) for x in rgb], 8.0, 0.0).score is None
