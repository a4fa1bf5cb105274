"""Plain-JSON views of results: the documented schema of the CLI's `--json` output (docs/cli.md)."""

from __future__ import annotations

import math
from typing import Any

from portraitmatch.types import Decision, LivenessResult, MatchResult, Quality


def _num(x: float | None, digits: int = 4) -> float | None:
    if x is None or not math.isfinite(x):
        return None
    return round(float(x), digits)


def _seconds(ms: float | None) -> float | None:
    return None if ms is None else _num(ms / 1000.0, 3)


def quality_to_dict(q: Quality | None) -> dict[str, Any] | None:
    if q is None:
        return None
    return {
        "usable": q.is_usable,
        "reasons": [r.value for r in q.reasons],
        "face_px": _num(q.face_px, 1),
        "sharpness": _num(q.sharpness, 2),
        "brightness": _num(q.brightness, 1),
    }


def liveness_to_dict(r: LivenessResult) -> dict[str, Any]:
    return {
        "passed": r.passed,
        "outcome": r.outcome.value,
        "challenge": [a.value for a in r.challenge],
        "reasons": [x.value for x in r.reasons],
        "steps": [
            {
                "action": s.action.value,
                "ok": s.ok,
                "t_start": _seconds(s.t_start_ms),
                "t_end": _seconds(s.t_end_ms),
                "peak": _num(s.peak, 3),
                "reason": s.reason.value if s.reason else None,
            }
            for s in r.steps
        ],
        "signals": {k: _num(v) for k, v in r.signals.items()},
        "frames_seen": r.frames_seen,
    }


def match_to_dict(m: MatchResult | None) -> dict[str, Any] | None:
    if m is None:
        return None
    return {
        "score": _num(m.score),
        "threshold": _num(m.threshold),
        "threshold_band": m.threshold_band,
        "match": m.is_match,
        "frames_used": list(m.frames_used),
        "scores_by_model": {k: _num(v) for k, v in m.scores_by_model.items()},
        "calibration": m.calibration_id,
    }


def decision_to_dict(d: Decision) -> dict[str, Any]:
    return {
        "decision": d.outcome.value,
        "reasons": [r.value for r in d.reasons],
        "message": d.message,
        "liveness": liveness_to_dict(d.liveness) if d.liveness else None,
        "match": match_to_dict(d.match),
        "quality": {"portrait": quality_to_dict(d.portrait_quality)},
        "timings_ms": {k: _num(v, 1) for k, v in d.timings_ms.items()},
    }
