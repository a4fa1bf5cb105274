"""Response timing in streaming captures: a live person reacts to a prompt; a recording does not.

In a streaming session the checker withholds each prompt for a random, unpredictable delay (drawn
by a CSPRNG from [``liveness.prompt_delay_min_s``, ``prompt_delay_max_s``]) and the engine tells
the accumulator when it became visible (`LivenessChecker.prompts_shown`, then
`PadAccumulator.prompt_shown`). A person starts the action within a human reaction time
after seeing it; a prepared recording does it on its own schedule. For each prompt:

* a head turn must *begin* (reach the checker's ``turn_deg``) no sooner than ``response_min_s``
  after the prompt (sooner means it was already under way: anticipation) and no later than
  ``response_max_s``;
* a blink must begin within ``response_max_s`` after the prompt. People blink on their own all
  the time, so a blink just before the prompt is ignored, and a blink right after it is not held
  against them either: blink prompts can only fail by a missing response. Head turns carry the
  protection, blinks mostly do not.

A recording whose actions happen to be in the right order still has to hit every window by chance:
with delays spread over D seconds and a window of W seconds, each step passes with probability
about W/D (docs/pad.md works out the numbers for the defaults). An attacker who pauses and plays
a recording by hand in response to the prompts is not stopped by timing alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from portraitmatch.liveness.pad.result import SignalScore
from portraitmatch.liveness.pose import TURN_ACTIONS
from portraitmatch.types import Action, Reason

NAME = "response_timing"
LOOKBACK_MS = 1500.0  # a turn that began this long before the prompt is still "the answer"


@dataclass(frozen=True, slots=True)
class ActionOnset:
    action: Action  # the customer's own direction
    t_ms: float


@dataclass(frozen=True, slots=True)
class Response:
    action: Action
    prompt_ms: float
    latency_ms: float | None  # None: no such action followed the prompt
    ok: bool


def match_responses(
    prompts: list[tuple[Action, float]], onsets: list[ActionOnset], *, min_ms: float, max_ms: float
) -> list[Response]:
    out: list[Response] = []
    for action, shown in prompts:
        if action in TURN_ACTIONS:
            candidates = [o.t_ms for o in onsets if o.action is action and o.t_ms >= shown - LOOKBACK_MS]
        else:
            candidates = [o.t_ms for o in onsets if o.action is action and o.t_ms >= shown]
        if not candidates:
            out.append(Response(action, shown, None, False))
            continue
        latency = min(candidates) - shown
        earliest = min_ms if action in TURN_ACTIONS else 0.0
        out.append(Response(action, shown, latency, earliest <= latency <= max_ms))
    return out


def score_timing(responses: list[Response], *, is_streaming: bool) -> SignalScore:
    if not is_streaming:
        return SignalScore(NAME, Reason.RESPONSE_TIMING, None, None, None, "offline capture: no live prompts")
    if not responses:
        return SignalScore(NAME, Reason.RESPONSE_TIMING, None, None, None, "no prompt was reported")
    bad = sum(not r.ok for r in responses)
    detail = ", ".join(
        f"{r.action.value}: " + ("none" if r.latency_ms is None else f"{r.latency_ms / 1000:.2f}s")
        for r in responses
    )
    return SignalScore(NAME, Reason.RESPONSE_TIMING, float(bad), float(bad), 1.0, detail)
