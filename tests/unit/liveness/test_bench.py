"""The liveness benchmark's bookkeeping: which challenges a recording performs, the issued odds."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from datetime import UTC, datetime

import pytest

from portraitmatch.bench.liveness import (
    Clip,
    LabelledAction,
    bona_fide_challenges,
    fits_recording,
    issued_distribution,
)
from portraitmatch.config import LivenessSettings
from portraitmatch.liveness import issue_challenge
from portraitmatch.types import Action

B, L, R, U, D = Action.BLINK, Action.TURN_LEFT, Action.TURN_RIGHT, Action.LOOK_UP, Action.LOOK_DOWN
SETTINGS = LivenessSettings()


def blink(t: float, uncertain: bool = False) -> LabelledAction:
    return LabelledAction(B, t - 0.05, t, t + 0.05, None, uncertain)


def turn(action: Action, start: float, peak_t: float, end: float, peak: float) -> LabelledAction:
    return LabelledAction(action, start, peak_t, end, peak, False)


# The dev clip tranvanluyt/real.mp4 in short: left 44°, blink on the way back, right 21°, down 24°,
# up 40°, two blinks.
RECORDING = (
    turn(L, 2.0, 5.0, 5.7, 44),
    blink(5.47),
    turn(R, 7.4, 10.1, 10.5, 21),
    turn(D, 11.7, 13.0, 13.9, 24),
    turn(U, 14.4, 15.1, 16.3, 40),
    blink(16.47),
    blink(17.77),
)


@pytest.mark.parametrize(
    ("challenge", "fits"),
    [
        ((L,), True),
        ((L, B), True),  # the blink on the way back from the turn counts
        ((L, B, R), True),
        ((L, R, D, U), True),
        ((B,), False),  # would skip the 44° left turn: a wrong action
        ((R,), False),
        ((L, D), False),  # skips the right turn
        ((L, B, B), False),
        ((R, L), False),
    ],
)
def test_fits_recording(challenge: tuple[Action, ...], fits: bool) -> None:
    assert fits_recording(challenge, RECORDING, SETTINGS) is fits


def test_small_turns_may_be_skipped_and_uncertain_events_never_count() -> None:
    recording = (
        blink(0.5, uncertain=True),
        turn(L, 1.0, 1.3, 1.6, 16),
        blink(2.0),
        turn(R, 3.1, 3.3, 3.7, 19),
    )
    assert fits_recording((B,), recording, SETTINGS)  # the 16° turn is not a clear wrong action
    assert fits_recording((B, R), recording, SETTINGS)
    assert not fits_recording((B, B), recording, SETTINGS)
    strict = SETTINGS.model_copy(update={"wrong_turn_deg": 15.0})
    assert not fits_recording((B,), recording, strict)


def test_time_limit() -> None:
    late = (blink(1.0), blink(25.0))
    assert fits_recording((B, B), late, SETTINGS.model_copy(update={"action_timeout_s": 13.0}))
    assert not fits_recording((B, B), late, SETTINGS)  # 2 actions x 10 s


def test_bona_fide_challenges_of_a_recording() -> None:
    clip = Clip("x/y", None, "bona_fide", 30.0, 640, 480, 20.0, RECORDING, None)  # type: ignore[arg-type]
    got = set(bona_fide_challenges(clip, SETTINGS))
    assert got == {(L,), (L, B), (L, R), (L, B, R), (L, R, D), (L, B, R, D), (L, R, D, U)}


@pytest.mark.parametrize("require_blink", [True, False])
def test_issued_distribution_matches_issue_challenge(require_blink: bool) -> None:
    settings = LivenessSettings(require_blink=require_blink)
    dist = dict(issued_distribution(settings))
    assert sum(dist.values()) == pytest.approx(1.0)
    assert all(a is not b for seq in dist for a, b in itertools.pairwise(seq))
    rng = random.Random(11)
    n = 20_000
    drawn = Counter(issue_challenge(settings, rng=rng, now=datetime.now(UTC)).actions for _ in range(n))
    assert set(drawn) <= set(dist)
    for seq, p in dist.items():
        assert drawn[seq] / n == pytest.approx(p, abs=4 * (p * (1 - p) / n) ** 0.5 + 1e-3), seq


def test_challenges_near_the_wrong_action_threshold_are_not_scored() -> None:
    # An 18.8° turn (d12.mp4) between two blinks: whether skipping it is a wrong action depends on
    # a degree or two of neutral estimate, so "blink, blink" is reported but not scored.
    recording = (blink(0.5), turn(R, 1.0, 1.3, 1.6, 18.8), blink(2.0))
    clip = Clip("x/y", None, "bona_fide", 30.0, 640, 480, 3.0, recording, None)  # type: ignore[arg-type]
    scored = set(bona_fide_challenges(clip, SETTINGS))
    assert (B, R, B) in scored and (R, B) in scored and (B, B) not in scored
    assert bona_fide_challenges(clip, SETTINGS, ambiguous=True) == [(B, B)]
