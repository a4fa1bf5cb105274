"""The inspection report: what a supervisor needs to judge a period, with nothing personal in it.

:func:`build_report` is pure: it takes facts (sessions, registrations, exceptions, holdings,
re-verification counts, the audit-chain status) and returns an :class:`InspectionReport`. The facts
carry outlet ids, channels, times, outcomes and reason codes only: no names, ID numbers, phone numbers
or biometric data, so neither can the report. Rendering (HTML, PDF, CSV) and signing live beside it.

Anomalies are outlets whose failure or exception rate is well above the rest (a two-proportion
z-test, z >= 3 with at least ``MIN_DECISIONS`` decisions), any registration whose session did not
pass (this must be zero), and a broken audit chain.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from portraitmatch.audit.event import format_time
from portraitmatch.audit.verify import ChainStatus

MIN_DECISIONS = 20
Z_THRESHOLD = 3.0


@dataclass(frozen=True, slots=True)
class SessionFact:
    outlet: str
    channel: str
    issued_at: datetime
    outcome: str | None  # pass | fail | retry; None: expired or never decided
    reasons: tuple[str, ...] = ()
    purpose: str = "registration"


@dataclass(frozen=True, slots=True)
class RegistrationFact:
    subscription_id: int
    outlet: str
    channel: str
    started_at: datetime
    session_id: str
    session_outcome: str | None


@dataclass(frozen=True, slots=True)
class ExceptionFact:
    outlet: str | None
    channel: str | None
    at: datetime
    kind: str


@dataclass(frozen=True, slots=True)
class ReverificationCounts:
    requested: int = 0  # requests made in the period
    completed: int = 0  # re-verifications done in the period
    pending: int = 0  # open requests at the end of the period
    suspended: int = 0  # numbers suspended for a missed deadline, at the end of the period


@dataclass(frozen=True, slots=True)
class InspectionFacts:
    period_from: datetime
    period_to: datetime
    sessions: Sequence[SessionFact]
    registrations: Sequence[RegistrationFact]
    exceptions: Sequence[ExceptionFact]
    live_numbers_per_holder: Sequence[int]  # at the end of the period, one count per holder
    reverification: ReverificationCounts
    chain: ChainStatus
    outlet_names: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OutletChannelStats:
    outlet: str
    outlet_name: str
    channel: str
    sessions: int
    passed: int
    failed: int
    retried: int
    undecided: int
    registrations: int
    exceptions: int
    top_reasons: tuple[tuple[str, int], ...]

    @property
    def decided(self) -> int:
        return self.passed + self.failed + self.retried

    def rate(self, count: int) -> float:
        return count / self.decided if self.decided else 0.0

    @property
    def pass_rate(self) -> float:
        return self.rate(self.passed)

    @property
    def fail_rate(self) -> float:
        return self.rate(self.failed)

    @property
    def retry_rate(self) -> float:
        return self.rate(self.retried)


class Severity(StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Anomaly:
    severity: Severity
    kind: str  # high_failure_rate | high_exception_rate | registration_without_passed_session | chain_broken
    outlet: str | None
    message: str
    value: float | None = None
    baseline: float | None = None
    z: float | None = None


@dataclass(frozen=True, slots=True)
class ChainSummary:
    is_intact: bool
    entries: int
    signed_through: int
    checkpoints: int
    head_hash: str
    key_ids: tuple[str, ...]
    findings: tuple[str, ...]  # "kind@seq: message"
    checked_at: datetime


@dataclass(frozen=True, slots=True)
class InspectionReport:
    report_id: str
    installation: str
    period_from: datetime
    period_to: datetime
    generated_at: datetime
    rows: tuple[OutletChannelStats, ...]
    totals: OutletChannelStats
    failure_reasons: tuple[tuple[str, int], ...]
    numbers_per_id: tuple[tuple[int, int], ...]  # (numbers held, holders)
    reverification: ReverificationCounts
    unverified_registrations: tuple[int, ...]  # subscription ids: must be empty
    anomalies: tuple[Anomaly, ...]
    chain: ChainSummary

    def to_json(self) -> dict[str, object]:
        """Plain data, rounded, in a fixed shape: what the report signature covers."""
        return {
            "kind": "portraitmatch.inspection_report",
            "v": 1,
            "report_id": self.report_id,
            "installation": self.installation,
            "period_from": format_time(self.period_from),
            "period_to": format_time(self.period_to),
            "generated_at": format_time(self.generated_at),
            "rows": [_stats_json(r) for r in self.rows],
            "totals": _stats_json(self.totals),
            "failure_reasons": [[r, n] for r, n in self.failure_reasons],
            "numbers_per_id": [[k, n] for k, n in self.numbers_per_id],
            "reverification": asdict(self.reverification),
            "unverified_registrations": list(self.unverified_registrations),
            "anomalies": [_anomaly_json(a) for a in self.anomalies],
            "chain": {
                "intact": self.chain.is_intact,
                "entries": self.chain.entries,
                "signed_through": self.chain.signed_through,
                "checkpoints": self.chain.checkpoints,
                "head_hash": self.chain.head_hash,
                "key_ids": list(self.chain.key_ids),
                "findings": list(self.chain.findings),
                "checked_at": format_time(self.chain.checked_at),
            },
        }


def _stats_json(s: OutletChannelStats) -> dict[str, object]:
    return {
        "outlet": s.outlet,
        "outlet_name": s.outlet_name,
        "channel": s.channel,
        "sessions": s.sessions,
        "passed": s.passed,
        "failed": s.failed,
        "retried": s.retried,
        "undecided": s.undecided,
        "pass_rate": round(s.pass_rate, 4),
        "fail_rate": round(s.fail_rate, 4),
        "retry_rate": round(s.retry_rate, 4),
        "registrations": s.registrations,
        "exceptions": s.exceptions,
        "top_reasons": [[r, n] for r, n in s.top_reasons],
    }


def _anomaly_json(a: Anomaly) -> dict[str, object]:
    return {
        "severity": a.severity.value,
        "kind": a.kind,
        "outlet": a.outlet,
        "message": a.message,
        "value": None if a.value is None else round(a.value, 4),
        "baseline": None if a.baseline is None else round(a.baseline, 4),
        "z": None if a.z is None else round(a.z, 2),
    }


ALL = "*"


def display_time(at: datetime) -> str:
    """How times are shown to people (the signed data keeps full ISO times)."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _stats(
    outlet: str,
    name: str,
    channel: str,
    sessions: Iterable[SessionFact],
    registrations: int,
    exceptions: int,
) -> OutletChannelStats:
    sessions = list(sessions)
    outcomes = Counter(s.outcome for s in sessions)
    reasons = Counter(r for s in sessions if s.outcome in ("fail", "retry") for r in s.reasons)
    return OutletChannelStats(
        outlet=outlet,
        outlet_name=name,
        channel=channel,
        sessions=len(sessions),
        passed=outcomes["pass"],
        failed=outcomes["fail"],
        retried=outcomes["retry"],
        undecided=outcomes[None],
        registrations=registrations,
        exceptions=exceptions,
        top_reasons=tuple(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:5]),
    )


def build_report(
    facts: InspectionFacts, *, report_id: str, installation: str, generated_at: datetime
) -> InspectionReport:
    keys = sorted(
        {(s.outlet, s.channel) for s in facts.sessions}
        | {(r.outlet, r.channel) for r in facts.registrations}
        | {(e.outlet or "-", e.channel or "-") for e in facts.exceptions}
    )
    rows = tuple(
        _stats(
            outlet,
            facts.outlet_names.get(outlet, outlet),
            channel,
            (s for s in facts.sessions if (s.outlet, s.channel) == (outlet, channel)),
            sum(1 for r in facts.registrations if (r.outlet, r.channel) == (outlet, channel)),
            sum(1 for e in facts.exceptions if (e.outlet or "-", e.channel or "-") == (outlet, channel)),
        )
        for outlet, channel in keys
    )
    totals = _stats(ALL, "All outlets", ALL, facts.sessions, len(facts.registrations), len(facts.exceptions))
    reasons = Counter(r for s in facts.sessions if s.outcome in ("fail", "retry") for r in s.reasons)
    unverified = tuple(sorted(r.subscription_id for r in facts.registrations if r.session_outcome != "pass"))
    chain = facts.chain
    summary = ChainSummary(
        is_intact=chain.is_intact,
        entries=chain.entry_count,
        signed_through=chain.signed_through,
        checkpoints=chain.checkpoint_count,
        head_hash=chain.head_hash,
        key_ids=chain.key_ids,
        findings=tuple(
            f"{f.kind.value}@{f.seq if f.seq is not None else '-'}: {f.message}" for f in chain.findings
        ),
        checked_at=chain.checked_at,
    )
    return InspectionReport(
        report_id=report_id,
        installation=installation,
        period_from=facts.period_from,
        period_to=facts.period_to,
        generated_at=generated_at,
        rows=rows,
        totals=totals,
        failure_reasons=tuple(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
        numbers_per_id=tuple(sorted(Counter(facts.live_numbers_per_holder).items())),
        reverification=facts.reverification,
        unverified_registrations=unverified,
        anomalies=tuple(find_anomalies(facts, unverified, summary)),
        chain=summary,
    )


def find_anomalies(facts: InspectionFacts, unverified: Sequence[int], chain: ChainSummary) -> list[Anomaly]:
    anomalies: list[Anomaly] = []
    if unverified:
        anomalies.append(
            Anomaly(
                Severity.CRITICAL,
                "registration_without_passed_session",
                None,
                f"{len(unverified)} registration(s) without a passed verification session "
                f"(subscription ids {_id_list(unverified)})",
                value=float(len(unverified)),
            )
        )
    if not chain.is_intact:
        anomalies.append(
            Anomaly(
                Severity.CRITICAL,
                "chain_broken",
                None,
                f"the audit chain is broken: {len(chain.findings)} finding(s)",
            )
        )
    outlets = sorted({s.outlet for s in facts.sessions} | {r.outlet for r in facts.registrations})
    decided = Counter(s.outlet for s in facts.sessions if s.outcome is not None)
    failed = Counter(s.outlet for s in facts.sessions if s.outcome == "fail")
    registered = Counter(r.outlet for r in facts.registrations)
    excepted = Counter(e.outlet for e in facts.exceptions if e.outlet)
    for outlet in outlets:
        for kind, hits, trials in (
            ("high_failure_rate", failed, decided),
            ("high_exception_rate", excepted, registered),
        ):
            z, rate, rest = _excess(
                hits[outlet],
                trials[outlet],
                sum(hits.values()) - hits[outlet],
                sum(trials.values()) - trials[outlet],
            )
            if z is not None and z >= Z_THRESHOLD:
                what = "failure" if kind == "high_failure_rate" else "exception"
                anomalies.append(
                    Anomaly(
                        Severity.WARNING,
                        kind,
                        outlet,
                        f"{facts.outlet_names.get(outlet, outlet)}: {what} rate {rate:.1%} against "
                        f"{rest:.1%} at other outlets (z = {z:.1f}, n = {trials[outlet]})",
                        value=rate,
                        baseline=rest,
                        z=z,
                    )
                )
    return anomalies


def _id_list(ids: Sequence[int], limit: int = 20) -> str:
    return ", ".join(map(str, ids[:limit])) + ("…" if len(ids) > limit else "")


def _excess(hits: int, trials: int, other_hits: int, other_trials: int) -> tuple[float | None, float, float]:
    """One-sided two-proportion z statistic of this outlet against all the others."""
    if trials < MIN_DECISIONS or other_trials < MIN_DECISIONS:
        return None, 0.0, 0.0
    p1, p0 = hits / trials, other_hits / other_trials
    pooled = (hits + other_hits) / (trials + other_trials)
    var = pooled * (1 - pooled) * (1 / trials + 1 / other_trials)
    if var <= 0:
        return None, p1, p0
    return (p1 - p0) / math.sqrt(var), p1, p0
