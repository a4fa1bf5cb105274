import numpy as np
import pytest

from portraitmatch.liveness.pad.continuity import IdentityTest, StreamTest, score_identity, score_stream
from tests.unit.pad.samples import face, measurements

LIMITS = {"max_cuts": 0, "max_repeated_fraction": 0.05, "max_drift_s": 2.0}


def _feed(
    test: StreamTest,
    n: int,
    *,
    thumb=lambda k: 100.0 + k % 3,
    digest=lambda k: bytes([k % 256, k // 256]),
    where=lambda k: 320.0 + k,
    arrival=lambda k: None,
) -> None:
    for k in range(n):
        test.update(
            k * 33.3, face(where(k), 240), measurements(thumb_value=thumb(k), digest=digest(k)), arrival(k)
        )


def test_a_continuous_take_is_consistent() -> None:
    test = StreamTest()
    _feed(test, 60)
    assert not score_stream(test, **LIMITS).fired


def test_repeated_frames_are_flagged() -> None:
    test = StreamTest()
    _feed(test, 60, digest=lambda k: bytes([k // 2]))  # every frame sent twice
    s = score_stream(test, **LIMITS)
    assert s.fired and "repeated 30/60" in s.detail


def test_a_cut_is_flagged() -> None:
    test = StreamTest()
    _feed(
        test,
        60,
        thumb=lambda k: 100.0 + k % 3 if k < 30 else 160.0 + k % 3,
        where=lambda k: 200 if k < 30 else 420,
    )
    s = score_stream(test, **LIMITS)
    assert s.fired and "cuts at frames [30]" in s.detail


def test_a_fast_real_movement_is_not_a_cut() -> None:
    """A quick nod: the picture changes a lot over several frames in a row and the face is lost for
    two of them. Every step is far above the capture's median, but none stands out from its
    neighbours, which is what a splice does."""
    test = StreamTest()
    burst = {28: 20.0, 29: 40.0, 30: 62.0, 31: 80.0, 32: 95.0, 33: 105.0}
    for k in range(60):
        level = 100.0 + burst.get(k, 110.0 if k > 33 else 0.0) + k % 3
        seen = None if k in (31, 32) else face(320.0 + (60.0 if k > 31 else 0.0), 240)
        test.update(k * 33.3, seen, measurements(thumb_value=level, digest=bytes([k])), None)
    s = score_stream(test, **LIMITS)
    assert not s.fired and "cuts at frames []" in s.detail


def test_a_stream_faster_than_real_time_is_flagged() -> None:
    live, pushed = StreamTest(), StreamTest()
    _feed(live, 150, arrival=lambda k: 5000 + k * 33.3 + (k % 4) * 20)  # network jitter only
    _feed(pushed, 150, arrival=lambda k: 5000 + k * 33.3 / 2.5)
    assert not score_stream(live, **LIMITS).fired
    assert score_stream(pushed, **LIMITS).fired


def _unit(v) -> np.ndarray:
    v = np.asarray(v, float)
    return v / np.linalg.norm(v)


def test_identity_changes_are_flagged_when_sustained() -> None:
    rng = np.random.default_rng(0)
    a, b = _unit(rng.normal(size=64)), _unit(rng.normal(size=64))
    same, switched, blip = IdentityTest(), IdentityTest(), IdentityTest()
    for k in range(10):
        noise = rng.normal(scale=0.05, size=64)
        same.update(a + noise)
        switched.update((a if k < 5 else b) + noise)
        blip.update((b if k == 6 else a) + noise)  # one poor sample
    assert not score_identity(same, 0.5).fired
    assert score_identity(switched, 0.5).fired
    assert not score_identity(blip, 0.5).fired


def test_identity_needs_a_few_samples_and_valid_vectors() -> None:
    test = IdentityTest()
    test.update([1.0, 0.0])
    assert score_identity(test, 0.5).score is None
    with pytest.raises(ValueError):
        test.update([0.0, 0.0])
    with pytest.raises(ValueError):
        test.update([1.0, 0.0, 0.0])


def test_frames_arriving_late_are_not_an_injection() -> None:
    # A busy server analyses frames slower than the camera takes them (they queue: rate 0.56),
    # or the first frames wait for a slow start and then drain quickly: neither is a fast push.
    backlog, warmup, pushed = StreamTest(), StreamTest(), StreamTest()
    _feed(backlog, 150, arrival=lambda k: 5000 + k * 33.3 / 0.56)
    _feed(warmup, 150, arrival=lambda k: 5000 + max(1500 + k * 10.0, k * 33.3) if k else 5000)
    _feed(pushed, 90, arrival=lambda k: 5000 + k * 33.3 / 2.5)  # a 3 s recording pushed 2.5x fast
    assert not score_stream(backlog, **LIMITS).fired
    assert not score_stream(warmup, **LIMITS).fired
    assert score_stream(pushed, **LIMITS).fired
