"""Challenges: which actions the customer must perform, in which order, until when.

`issue_challenge` draws a fresh random sequence for every attempt, so a recording of an earlier
attempt rarely fits. The caller passes the randomness and the clock in: production code passes
`random.SystemRandom()` (an unpredictable sequence) and the current UTC time; tests pass a seeded
`random.Random`. The nonce always comes from `secrets`, whatever `rng` is, because it names the
attempt and must not be guessable.

With ``require_blink`` (the default) every issued challenge contains at least one blink, drawn by
rejecting sequences without one, so the sequences that remain keep their relative odds. Head turns
alone can be faked by tilting a printed photo or a phone showing a still; a blink cannot.

Issued challenges never repeat an action twice in a row: a second blink straight after the first
adds little that a recording lacks, and it would make the sequence easier to guess. An explicit
challenge (`parse_challenge`, for tests, the CLI and operators replaying a fixed script) may repeat
actions: the checker counts two blinks as two separate closures and two turns the same way only
with a return to neutral in between, so a repeat means what it says.
"""

from __future__ import annotations

import random
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from portraitmatch.config import LivenessSettings
from portraitmatch.errors import ConfigurationError, InvalidChallengeError
from portraitmatch.types import Action

NONCE_BYTES = 16
VALID_NAMES = ", ".join(a.value for a in Action)


@dataclass(frozen=True, slots=True)
class Challenge:
    """One issued challenge. `nonce` identifies the attempt; times are timezone-aware."""

    actions: tuple[Action, ...]
    nonce: str
    issued_at: datetime
    expires_at: datetime

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at

    def describe(self) -> str:
        return ",".join(a.value for a in self.actions)


def issue_challenge(settings: LivenessSettings, *, rng: random.Random, now: datetime) -> Challenge:
    """A random sequence of ``min_actions``..``max_actions`` actions from ``settings.actions`` with no
    action twice in a row (and a blink among them if ``require_blink``), a fresh nonce and an expiry
    ``challenge_ttl_s`` after `now`.

    Raises `ConfigurationError` when the settings name an unknown action or allow no valid sequence,
    and `ValueError` for a naive `now`.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware (use datetime.now(timezone.utc))")
    pool = _action_pool(settings)
    while True:
        length = rng.randint(settings.min_actions, settings.max_actions)
        actions: list[Action] = []
        for _ in range(length):
            choices = [a for a in pool if not actions or a is not actions[-1]]
            actions.append(rng.choice(choices))
        if not settings.require_blink or Action.BLINK in actions:
            break
    return Challenge(
        actions=tuple(actions),
        nonce=secrets.token_urlsafe(NONCE_BYTES),
        issued_at=now,
        expires_at=now + timedelta(seconds=settings.challenge_ttl_s),
    )


def parse_challenge(text: str | Iterable[str]) -> tuple[Action, ...]:
    """Actions from "blink,turn_left" (commas or spaces; case, hyphens ignored) or a list of names.

    Any length >= 1; repeats are allowed (see the module docstring). Raises `InvalidChallengeError`
    naming the valid actions for an unknown name or an empty challenge.
    """
    raw = re.split(r"[,\s]+", text) if isinstance(text, str) else [str(n) for n in text]
    names = [n.strip() for n in raw if n.strip()]
    if not names:
        raise InvalidChallengeError(f"the challenge is empty; name one or more of: {VALID_NAMES}")
    actions: list[Action] = []
    for name in names:
        key = name.lower().replace("-", "_")
        try:
            actions.append(Action(key))
        except ValueError:
            message = f"unknown action {name!r}; valid actions are: {VALID_NAMES}"
            raise InvalidChallengeError(message) from None
    return tuple(actions)


def _action_pool(settings: LivenessSettings) -> tuple[Action, ...]:
    pool: list[Action] = []
    for name in settings.actions:
        try:
            action = Action(str(name).strip().lower())
        except ValueError:
            raise ConfigurationError(
                f"liveness.actions names unknown action {name!r}; valid actions are: {VALID_NAMES}"
            ) from None
        if action not in pool:
            pool.append(action)
    if not pool:
        raise ConfigurationError("liveness.actions is empty")
    if settings.require_blink and Action.BLINK not in pool:
        raise ConfigurationError("liveness.require_blink is set but liveness.actions has no blink")
    if len(pool) < 2 and settings.max_actions > 1:
        raise ConfigurationError("liveness.actions needs two different actions when max_actions > 1")
    return tuple(pool)
