from __future__ import annotations

from datetime import UTC, datetime, timedelta

from portraitmatch.registry.attempts import AttemptPolicy, locked_until

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
POLICY = AttemptPolicy(max_failures=5, window_s=180, lockout_s=900)


def _at(*seconds: float) -> list[datetime]:
    return [T0 + timedelta(seconds=s) for s in seconds]


def test_five_failures_in_three_minutes_lock_out_for_fifteen_minutes() -> None:
    failures = _at(0, 30, 60, 90, 120)
    until = locked_until(failures, policy=POLICY, now=T0 + timedelta(seconds=121))
    assert until == T0 + timedelta(seconds=120 + 900)
    assert locked_until(failures, policy=POLICY, now=T0 + timedelta(seconds=1019)) == until
    assert locked_until(failures, policy=POLICY, now=T0 + timedelta(seconds=1020)) is None


def test_four_failures_do_not_lock() -> None:
    assert locked_until(_at(0, 30, 60, 90), policy=POLICY, now=T0 + timedelta(seconds=100)) is None


def test_failures_spread_wider_than_the_window_do_not_lock() -> None:
    failures = _at(0, 50, 100, 150, 181)  # the first falls out of the window when the fifth comes
    assert locked_until(failures, policy=POLICY, now=T0 + timedelta(seconds=200)) is None


def test_order_of_input_does_not_matter() -> None:
    failures = _at(120, 0, 90, 30, 60)
    assert locked_until(failures, policy=POLICY, now=T0 + timedelta(seconds=130)) is not None


def test_failures_during_a_lock_out_do_not_extend_it_and_the_slate_is_clean_after() -> None:
    failures = _at(0, 10, 20, 30, 40)  # locked until 940
    during = _at(100, 200, 300, 400, 500)  # in-flight sessions finishing during the lock-out
    now = T0 + timedelta(seconds=941)
    assert locked_until(failures + during, policy=POLICY, now=now) is None
    after = _at(950, 960, 970, 980)
    assert locked_until(failures + during + after, policy=POLICY, now=T0 + timedelta(seconds=985)) is None
    again = [*after, T0 + timedelta(seconds=990)]
    assert locked_until(failures + during + again, policy=POLICY, now=T0 + timedelta(seconds=995)) == (
        T0 + timedelta(seconds=990 + 900)
    )


def test_policy_is_configurable() -> None:
    strict = AttemptPolicy(max_failures=2, window_s=10, lockout_s=60)
    assert locked_until(_at(0, 5), policy=strict, now=T0 + timedelta(seconds=6)) == T0 + timedelta(seconds=65)
    assert locked_until(_at(0, 11), policy=strict, now=T0 + timedelta(seconds=12)) is None


def test_horizon_covers_window_and_lockout() -> None:
    assert POLICY.horizon >= timedelta(seconds=POLICY.window_s + POLICY.lockout_s)
