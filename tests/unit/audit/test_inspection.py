"""The inspection report: counts, rates, anomalies, signature, and the three renderings."""

from __future__ import annotations

import csv
import io
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from portraitmatch.audit.chain import MemoryAuditLog
from portraitmatch.audit.charts import all_png, all_svg
from portraitmatch.audit.checkpoint import sign_checkpoint
from portraitmatch.audit.event import AuditEvent
from portraitmatch.audit.inspection import (
    ExceptionFact,
    InspectionFacts,
    RegistrationFact,
    ReverificationCounts,
    SessionFact,
    Severity,
    build_report,
)
from portraitmatch.audit.render_csv import render_csv
from portraitmatch.audit.render_html import extract_embedded, render_html
from portraitmatch.audit.render_pdf import render_pdf
from portraitmatch.audit.report_signature import (
    report_data,
    sign_file,
    sign_report,
    verify_file,
    verify_report_data,
)
from portraitmatch.audit.signing import Ed25519Signer, TrustedKeys
from portraitmatch.audit.verify import verify_chain
from portraitmatch.privacy.plaintext_scan import find_images

T0 = datetime(2026, 3, 1, tzinfo=UTC)
T1 = datetime(2026, 4, 1, tzinfo=UTC)
SIGNER = Ed25519Signer.from_seed(bytes(range(32)))
TRUSTED = TrustedKeys([SIGNER.public_key])
OUTLETS = {"out-a": "Riverside Mall", "out-b": "Station Kiosk", "out-c": "Harbour Street"}


def _chain():  # type: ignore[no-untyped-def]
    log = MemoryAuditLog()
    for i in range(12):
        log.append(
            AuditEvent.create("session.created", at=T0 + timedelta(hours=i), actor="key:k1", outlet="out-a")
        )
    cp = sign_checkpoint(SIGNER, log.entries, None, now=T1)
    entries = [e.as_stored() for e in log.entries]
    return verify_chain(
        entries, [cp], TRUSTED, now=T1, max_unsigned_events=10, max_unsigned_age=timedelta(days=1)
    )


def _facts(*, bad_registration: bool = False) -> InspectionFacts:
    rng = random.Random(5)
    sessions: list[SessionFact] = []
    registrations: list[RegistrationFact] = []
    fail_rate = {"out-a": 0.08, "out-b": 0.10, "out-c": 0.40}  # out-c stands out
    sub_id = 0
    for outlet, p_fail in fail_rate.items():
        for channel in ("counter", "online"):
            for i in range(60):
                at = T0 + timedelta(minutes=rng.randrange(0, 40000))
                u = rng.random()
                outcome = "fail" if u < p_fail else ("retry" if u < p_fail + 0.1 else "pass")
                if i % 25 == 0:
                    outcome = None
                reasons = {"fail": ("NO_MATCH",), "retry": ("BLURRED", "FACE_TOO_SMALL")}.get(
                    outcome or "", ()
                )
                sessions.append(SessionFact(outlet, channel, at, outcome, reasons))
                if outcome == "pass" and rng.random() < 0.7:
                    sub_id += 1
                    registrations.append(RegistrationFact(sub_id, outlet, channel, at, f"s{sub_id}", "pass"))
    if bad_registration:
        registrations.append(RegistrationFact(999, "out-b", "counter", T0, "s999", "fail"))
    exceptions = [ExceptionFact("out-a", "counter", T0 + timedelta(days=2), "per_id_limit")]
    return InspectionFacts(
        period_from=T0,
        period_to=T1,
        sessions=sessions,
        registrations=registrations,
        exceptions=exceptions,
        live_numbers_per_holder=[1] * 40 + [2] * 9 + [3] * 2 + [5],
        reverification=ReverificationCounts(requested=4, completed=3, pending=1, suspended=0),
        chain=_chain(),
        outlet_names=OUTLETS,
    )


def test_counts_rates_and_anomalies() -> None:
    report = build_report(_facts(), report_id="r1", installation="Test", generated_at=T1)
    assert len(report.rows) == 6
    t = report.totals
    assert t.sessions == 360 and t.passed + t.failed + t.retried + t.undecided == 360
    assert t.registrations == sum(r.registrations for r in report.rows)
    assert t.exceptions == 1
    assert abs(t.pass_rate - t.passed / t.decided) < 1e-12
    assert report.numbers_per_id == ((1, 40), (2, 9), (3, 2), (5, 1))
    assert report.unverified_registrations == ()
    flagged = {(a.kind, a.outlet) for a in report.anomalies}
    assert flagged == {("high_failure_rate", "out-c")}
    assert report.chain.is_intact
    assert dict(report.failure_reasons)["NO_MATCH"] == t.failed


def test_registration_without_passed_session_is_critical() -> None:
    report = build_report(_facts(bad_registration=True), report_id="r2", installation="Test", generated_at=T1)
    assert report.unverified_registrations == (999,)
    critical = [a for a in report.anomalies if a.severity is Severity.CRITICAL]
    assert [a.kind for a in critical] == ["registration_without_passed_session"]


def test_small_outlets_are_not_flagged() -> None:
    facts = _facts()
    few = [s for s in facts.sessions if s.outlet != "out-c"] + [
        SessionFact("out-d", "counter", T0, "fail", ("NO_MATCH",)) for _ in range(10)
    ]
    report = build_report(replace(facts, sessions=few), report_id="r3", installation="Test", generated_at=T1)
    assert not [a for a in report.anomalies if a.outlet == "out-d"]  # 100% failures, but only 10 decisions


@pytest.fixture(scope="module")
def rendered() -> dict[str, bytes]:
    report = build_report(_facts(), report_id="r1", installation="Test installation", generated_at=T1)
    signature = sign_report(SIGNER, report)
    return {
        "data": report_data(report),
        "html": render_html(report, signature, all_svg(report)),
        "csv": render_csv(report, signature),
        "pdf": render_pdf(report, signature, all_png(report)),
    }


def test_embedded_signature_verifies_and_detects_changes(rendered: dict[str, bytes]) -> None:
    data, signature = extract_embedded(rendered["html"])  # type: ignore[misc]
    assert data == rendered["data"]
    assert verify_report_data(TRUSTED, data, signature)
    assert not verify_report_data(TRUSTED, data.replace(b'"failed":', b'"failed": '), signature)
    assert not verify_report_data(TrustedKeys([Ed25519Signer.generate().public_key]), data, signature)


def test_detached_signature_over_each_file(rendered: dict[str, bytes]) -> None:
    for fmt in ("html", "csv", "pdf"):
        sig = sign_file(SIGNER, rendered[fmt])
        assert verify_file(TRUSTED, rendered[fmt], sig) == SIGNER.key_id
        assert verify_file(TRUSTED, rendered[fmt] + b" ", sig) is None


def test_renderings_are_deterministic_and_hold_no_images(rendered: dict[str, bytes]) -> None:
    report = build_report(_facts(), report_id="r1", installation="Test installation", generated_at=T1)
    signature = sign_report(SIGNER, report)
    assert render_html(report, signature, all_svg(report)) == rendered["html"]
    assert render_pdf(report, signature, all_png(report)) == rendered["pdf"]
    assert rendered["pdf"].startswith(b"%PDF-")
    assert find_images(rendered["html"]) == [] and find_images(rendered["csv"]) == []
    assert rendered["html"].count(b"<svg") == 4


def test_csv_is_one_tidy_table(rendered: dict[str, bytes]) -> None:
    rows = list(csv.reader(io.StringIO(rendered["csv"].decode())))
    assert rows[0] == ["section", "outlet", "outlet_name", "channel", "metric", "value"]
    assert all(len(r) == 6 for r in rows)
    values = {(r[0], r[1], r[3], r[4]): r[5] for r in rows}
    assert values[("total", "*", "*", "sessions")] == "360"
    assert values[("check", "", "", "registrations_without_passed_session")] == "0"
    assert ("signature", "", "", "key_id") in values
