"""What presentation-attack detection reports: one score per signal, the verdict, reason codes.

Each signal reduces a whole capture to one raw statistic (`SignalScore.value`) and compares it with
its threshold. `score` is that comparison as a number: 1.0 sits exactly on the threshold and higher
is more attack-like, so signals with different units can be listed and plotted side by side. A
signal that could not be assessed on this capture (no head turn to measure parallax on, no blink,
too short for a pulse) has ``score`` None and never flags anything.

The verdict is an OR: the capture is an attack when any enabled signal scores at or above 1.0.
Each signal was calibrated on its own to reject no bona fide dev clip with a margin
(docs/pad.md), so every signal is a veto and the reasons name exactly the signals that fired.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from portraitmatch.types import Reason


@dataclass(frozen=True, slots=True)
class SignalScore:
    name: str
    reason: Reason  # reported when this signal fires
    score: float | None  # >= 1.0: attack evidence over the threshold; None: not assessable
    value: float | None = None  # the raw statistic (units in docs/pad.md)
    threshold: float | None = None
    detail: str = ""
    enabled: bool = True

    @property
    def is_assessed(self) -> bool:
        return self.score is not None

    @property
    def fired(self) -> bool:
        return self.enabled and self.score is not None and self.score >= 1.0


@dataclass(frozen=True, slots=True)
class PadResult:
    """Verdict of presentation-attack detection over one capture."""

    is_attack: bool
    reasons: tuple[Reason, ...]  # PRESENTATION_ATTACK_SUSPECTED first, then one per fired signal
    signals: tuple[SignalScore, ...] = ()
    frames: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def scores(self) -> dict[str, float | None]:
        return {s.name: s.score for s in self.signals}

    def signal(self, name: str) -> SignalScore | None:
        return next((s for s in self.signals if s.name == name), None)

    def without(self, names: Iterable[str]) -> PadResult:
        """The verdict recomputed with the named signals switched off (their scores are kept)."""
        off = set(names)
        return combine(
            tuple(replace(s, enabled=s.enabled and s.name not in off) for s in self.signals),
            frames=self.frames,
            notes=self.notes,
        )

    def summary(self) -> dict[str, object]:
        """A JSON-friendly view: verdict, reasons and each signal's score/value/threshold."""
        return {
            "is_attack": self.is_attack,
            "reasons": [r.value for r in self.reasons],
            "frames": self.frames,
            "signals": {
                s.name: {
                    "score": s.score,
                    "value": s.value,
                    "threshold": s.threshold,
                    "enabled": s.enabled,
                    "fired": s.fired,
                    "detail": s.detail,
                }
                for s in self.signals
            },
        }


def combine(signals: tuple[SignalScore, ...], *, frames: int = 0, notes: tuple[str, ...] = ()) -> PadResult:
    """OR of the enabled signals (see the module docstring)."""
    fired = [s for s in signals if s.fired]
    reasons: list[Reason] = []
    if fired:
        reasons.append(Reason.PRESENTATION_ATTACK_SUSPECTED)
        for s in sorted(fired, key=lambda s: -(s.score or 0.0)):
            if s.reason not in reasons:
                reasons.append(s.reason)
    return PadResult(bool(fired), tuple(reasons), signals, frames, notes)


def ratio_score(value: float, threshold: float, *, attack_if: str) -> float:
    """Score of a raw value against its threshold: 1.0 on the threshold, higher = more attack-like.

    ``attack_if="above"``: large values are attack evidence (score = value / threshold);
    ``attack_if="below"``: small values are (score = threshold / value).
    """
    tiny = 1e-9
    if attack_if == "above":
        return value / max(threshold, tiny)
    if attack_if == "below":
        return threshold / max(value, tiny)
    raise ValueError("attack_if must be 'above' or 'below'")
