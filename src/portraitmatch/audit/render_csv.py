"""The inspection report as one tidy CSV table: ``section, outlet, outlet_name, channel, metric, value``.

One value per row, so a spreadsheet can pivot it any way. The last rows carry the signature.
"""

from __future__ import annotations

import csv
import io

from portraitmatch.audit.inspection import InspectionReport, OutletChannelStats
from portraitmatch.audit.report_signature import ReportSignature
from portraitmatch.audit.signing import b64

HEADER = ("section", "outlet", "outlet_name", "channel", "metric", "value")
_METRICS = (
    "sessions",
    "passed",
    "failed",
    "retried",
    "undecided",
    "pass_rate",
    "fail_rate",
    "retry_rate",
    "registrations",
    "exceptions",
)


def _stats_rows(section: str, s: OutletChannelStats) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for metric in _METRICS:
        value = getattr(s, metric)
        rows.append(
            (
                section,
                s.outlet,
                s.outlet_name,
                s.channel,
                metric,
                round(value, 4) if isinstance(value, float) else value,
            )
        )
    rows += [(section, s.outlet, s.outlet_name, s.channel, f"reason:{r}", n) for r, n in s.top_reasons]
    return rows


def render_csv(report: InspectionReport, signature: ReportSignature) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    meta = report.to_json()
    for key in ("report_id", "installation", "period_from", "period_to", "generated_at"):
        writer.writerow(("report", "", "", "", key, meta[key]))
    for row in report.rows:
        writer.writerows(_stats_rows("outlet", row))
    writer.writerows(_stats_rows("total", report.totals))
    for reason, n in report.failure_reasons:
        writer.writerow(("failure_reason", "", "", "", reason, n))
    for held, holders in report.numbers_per_id:
        writer.writerow(("numbers_per_id", "", "", "", f"holders_with_{held}", holders))
    for key, value in meta["reverification"].items():  # type: ignore[union-attr]
        writer.writerow(("reverification", "", "", "", key, value))
    writer.writerow(
        ("check", "", "", "", "registrations_without_passed_session", len(report.unverified_registrations))
    )
    for a in report.anomalies:
        writer.writerow(("anomaly", a.outlet or "", "", "", f"{a.severity.value}:{a.kind}", a.message))
    chain = meta["chain"]
    for key in ("intact", "entries", "signed_through", "checkpoints", "head_hash"):
        writer.writerow(("audit_chain", "", "", "", key, chain[key]))  # type: ignore[index]
    for finding in report.chain.findings:
        writer.writerow(("audit_chain", "", "", "", "finding", finding))
    writer.writerow(("signature", "", "", "", "algorithm", "Ed25519"))
    writer.writerow(("signature", "", "", "", "key_id", signature.key_id))
    writer.writerow(("signature", "", "", "", "data_sha256", signature.data_sha256))
    writer.writerow(("signature", "", "", "", "signature", b64(signature.signature)))
    return out.getvalue().encode("utf-8")
