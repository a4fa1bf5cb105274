from __future__ import annotations

import itertools
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from portraitmatch.config import LivenessSettings
from portraitmatch.errors import ConfigurationError, InvalidChallengeError
from portraitmatch.liveness import issue_challenge, parse_challenge
from portraitmatch.types import Action

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_issued_challenges_follow_the_settings() -> None:
    settings = LivenessSettings()
    rng = random.Random(7)
    lengths: Counter[int] = Counter()
    used: Counter[Action] = Counter()
    for _ in range(2000):
        c = issue_challenge(settings, rng=rng, now=NOW)
        lengths[len(c.actions)] += 1
        used.update(c.actions)
        assert all(a is not b for a, b in itertools.pairwise(c.actions)), c.actions
    assert set(lengths) == {2, 3, 4}
    assert set(used) == {Action.BLINK, Action.TURN_LEFT, Action.TURN_RIGHT}
    # Roughly uniform over actions: none is starved.
    assert min(used.values()) > 0.25 * sum(used.values())


def test_all_five_actions_and_custom_lengths() -> None:
    settings = LivenessSettings(actions=tuple(a.value for a in Action), min_actions=3, max_actions=3)
    rng = random.Random(1)
    seen = set()
    for _ in range(500):
        c = issue_challenge(settings, rng=rng, now=NOW)
        assert len(c.actions) == 3
        seen.update(c.actions)
    assert seen == set(Action)


def test_same_seed_same_actions_but_fresh_nonce() -> None:
    settings = LivenessSettings()
    a = issue_challenge(settings, rng=random.Random(3), now=NOW)
    b = issue_challenge(settings, rng=random.Random(3), now=NOW)
    assert a.actions == b.actions
    assert a.nonce != b.nonce
    assert len(a.nonce) >= 20


def test_expiry() -> None:
    settings = LivenessSettings(challenge_ttl_s=90)
    c = issue_challenge(settings, rng=random.Random(0), now=NOW)
    assert c.issued_at == NOW
    assert c.expires_at == NOW + timedelta(seconds=90)
    assert not c.is_expired(NOW + timedelta(seconds=89.9))
    assert c.is_expired(NOW + timedelta(seconds=90))
    assert c.describe() == ",".join(a.value for a in c.actions)


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        issue_challenge(LivenessSettings(), rng=random.Random(0), now=datetime(2026, 1, 1))


def test_bad_action_settings() -> None:
    with pytest.raises(ConfigurationError, match="wave"):
        issue_challenge(LivenessSettings(actions=("blink", "wave")), rng=random.Random(0), now=NOW)
    with pytest.raises(ConfigurationError, match="two different"):
        issue_challenge(LivenessSettings(actions=("blink",)), rng=random.Random(0), now=NOW)
    single = LivenessSettings(actions=("blink",), min_actions=1, max_actions=1)
    assert issue_challenge(single, rng=random.Random(0), now=NOW).actions == (Action.BLINK,)


def test_parse_challenge() -> None:
    assert parse_challenge("blink,turn_left") == (Action.BLINK, Action.TURN_LEFT)
    assert parse_challenge(" Turn-Right , LOOK_UP look_down ") == (
        Action.TURN_RIGHT,
        Action.LOOK_UP,
        Action.LOOK_DOWN,
    )
    assert parse_challenge(["blink"]) == (Action.BLINK,)
    # Explicit challenges may repeat an action: two separate blinks.
    assert parse_challenge("blink,blink") == (Action.BLINK, Action.BLINK)


@pytest.mark.parametrize("text", ["", " , ", []])
def test_parse_empty(text: str | list[str]) -> None:
    with pytest.raises(InvalidChallengeError, match="empty"):
        parse_challenge(text)


def test_parse_unknown_names_the_valid_actions() -> None:
    with pytest.raises(InvalidChallengeError) as info:
        parse_challenge("blink,nod")
    assert "'nod'" in info.value.message
    for action in Action:
        assert action.value in info.value.message
    assert info.value.code == "INVALID_CHALLENGE"


def test_every_issued_challenge_has_a_blink_unless_disabled() -> None:
    rng = random.Random(5)
    with_blink = LivenessSettings()
    assert all(Action.BLINK in issue_challenge(with_blink, rng=rng, now=NOW).actions for _ in range(500))
    free = LivenessSettings(require_blink=False)
    drawn = [issue_challenge(free, rng=rng, now=NOW).actions for _ in range(500)]
    assert any(Action.BLINK not in d for d in drawn)
    with pytest.raises(ConfigurationError, match="no blink"):
        issue_challenge(LivenessSettings(actions=("turn_left", "turn_right")), rng=rng, now=NOW)
    turns_only = LivenessSettings(actions=("turn_left", "turn_right"), require_blink=False)
    assert Action.BLINK not in issue_challenge(turns_only, rng=rng, now=NOW).actions
