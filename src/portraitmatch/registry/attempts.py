"""Failure limits: too many failed verifications in a short window lock a subject out for a while.

Subjects are an ID document and a device/client. The lock-out is derived from the stored failure
times alone, so every API process reaches the same answer without shared memory.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Subject(StrEnum):
    DOCUMENT = "document"
    DEVICE = "device"


@dataclass(frozen=True, slots=True)
class AttemptPolicy:
    max_failures: int = 5
    window_s: float = 180.0
    lockout_s: float = 900.0

    @property
    def horizon(self) -> timedelta:
        """How far back failures can still matter for a lock-out in force now (with margin for chains)."""
        return timedelta(seconds=2 * (self.window_s + self.lockout_s))


def locked_until(failures: Iterable[datetime], *, policy: AttemptPolicy, now: datetime) -> datetime | None:
    """The end of the lock-out in force at ``now``, or None.

    ``max_failures`` failures within ``window_s`` lock the subject out for ``lockout_s`` from the
    last of them. Failures before a lock-out ended do not count towards the next one, so a subject
    leaving a lock-out starts with a clean slate.
    """
    window: deque[datetime] = deque()
    until: datetime | None = None
    span = timedelta(seconds=policy.window_s)
    for at in sorted(failures):
        if until is not None and at < until:
            continue
        window.append(at)
        while window and window[0] < at - span:
            window.popleft()
        if len(window) >= policy.max_failures:
            until = at + timedelta(seconds=policy.lockout_s)
            window.clear()
    return until if until is not None and until > now else None
