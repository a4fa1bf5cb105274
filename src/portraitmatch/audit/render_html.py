"""The inspection report as one self-contained HTML page (inline CSS and SVG charts, no scripts).

It embeds the signed canonical data (base64, in a ``<script type="application/octet-stream">``
element that browsers never run) and its signature, so the page can be checked offline with
``portraitmatch report verify`` or with OpenSSL after decoding the data.
"""

from __future__ import annotations

import base64
import json
import re
from html import escape
from string import Template

from portraitmatch.audit.event import format_time
from portraitmatch.audit.inspection import InspectionReport, OutletChannelStats, Severity, display_time
from portraitmatch.audit.report_signature import ReportSignature, report_data

DATA_ID = "portraitmatch-report-data"
SIGNATURE_ID = "portraitmatch-report-signature"

_CSS = """
:root { --ok:#2e7d32; --bad:#c62828; --warn:#b26a00; --muted:#607d8b; --line:#d9dee3; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Segoe UI", Roboto, "WenQuanYi Zen Hei", sans-serif;
       margin: 0; color: #1c2733; background: #f4f6f8; font-size: 14px; line-height: 1.45; }
main { max-width: 1080px; margin: 0 auto; padding: 28px 32px 48px; background: #fff; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 30px 0 10px; border-bottom: 2px solid var(--line); padding-bottom: 4px; }
.sub { color: var(--muted); margin: 0; }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; margin-top: 18px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
.card b { display: block; font-size: 22px; } .card span { color: var(--muted); font-size: 12px; }
.ok b { color: var(--ok); } .bad b { color: var(--bad); } .warn b { color: var(--warn); }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: #eef1f4; font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: 700; border-top: 2px solid #9aa5b1; }
td:first-child { min-width: 150px; } td .note { white-space: nowrap; }
.sev-critical { color: var(--bad); font-weight: 700; } .sev-warning { color: var(--warn); font-weight: 700; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; } .charts .wide { grid-column: 1 / 3; }
.charts svg { width: 100%; height: auto; }
code { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12px; word-break: break-all; }
.note { color: var(--muted); font-size: 12px; }
@media print { body { background: #fff; } main { padding: 0; } }
"""

_PAGE = Template("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Inspection report $period_short</title>
<meta name="generator" content="PortraitMatch"><style>$css</style></head>
<body><main>
<h1>Inspection report</h1>
<p class="sub">$installation · period $period_from to $period_to (end exclusive)
· generated $generated_at · report <code>$report_id</code></p>
<div class="cards">$cards</div>

<h2>Anomalies</h2>
<table><tr><th>Severity</th><th>Kind</th><th>Finding</th></tr>$anomalies</table>
<p class="note">An outlet is flagged when its failure or exception rate exceeds that of all other
outlets with z ≥ 3 (two-proportion test, at least 20 decisions). A registration without a passed
verification session must never occur.</p>

<h2>Per outlet and channel</h2>
<table><tr><th>Outlet</th><th>Channel</th><th class="n">Sessions</th><th class="n">Pass</th>
<th class="n">Fail</th><th class="n">Retry</th><th class="n">Undecided</th>
<th class="n">Registrations</th><th class="n">Exceptions</th><th>Top failure reasons</th></tr>
$rows</table>
<p class="note">Rates are shares of decided sessions (pass + fail + retry); undecided sessions
expired before a decision.</p>

<h2>Charts</h2>
<div class="charts"><div class="wide">$chart_outcomes</div><div>$chart_rates</div>
<div>$chart_numbers</div><div class="wide">$chart_reasons</div></div>

<h2>Failure and retry reasons</h2>
<table style="width:auto"><tr><th>Reason code</th><th class="n">Sessions</th></tr>$reasons</table>

<h2>Numbers per ID and re-verification</h2>
<table style="width:auto"><tr><th class="n">Live numbers held</th><th class="n">Holders (IDs)</th></tr>
$holders</table>
<p>Re-verification: $rv_requested requested and $rv_completed completed in the period; at its end
$rv_pending pending and $rv_suspended number(s) suspended for a missed deadline.</p>

<h2>Audit chain</h2>
<table style="width:auto">
<tr><th>Status</th><td>$chain_status</td></tr>
<tr><th>Entries</th><td>$chain_entries</td></tr>
<tr><th>Signed through</th><td>seq $chain_signed by $chain_checkpoints checkpoint(s)</td></tr>
<tr><th>Head hash</th><td><code>$chain_head</code></td></tr>
<tr><th>Signing keys</th><td><code>$chain_keys</code></td></tr>
<tr><th>Checked</th><td>$chain_checked</td></tr></table>
<p>Findings:</p><ul>$chain_findings</ul>

<h2>Signature</h2>
<table style="width:auto">
<tr><th>Algorithm</th><td>Ed25519</td></tr>
<tr><th>Key id</th><td><code>$key_id</code></td></tr>
<tr><th>SHA-256 of the report data</th><td><code>$data_sha256</code></td></tr>
<tr><th>Signature</th><td><code>$signature</code></td></tr></table>
<p class="note">To verify offline: <code>portraitmatch report verify FILE --public-key KEY.pub.pem</code>;
or base64-decode the block <code>#$data_id</code> of this page to <code>data.json</code> and the signature
above to <code>sig.bin</code>, then run <code>openssl pkeyutl -verify -pubin -inkey KEY.pub.pem -rawin
-in data.json -sigfile sig.bin</code>. The detached signature <code>FILE.sig</code> covers this file's
bytes and verifies the same way. Obtain the public key from the operator out of band and compare its
key id.</p>
<p class="note">This report contains no biometric data and no personal data: outlets, channels,
counts, rates, reason codes and opaque record ids only.</p>
<script type="application/octet-stream" id="$data_id">$data_b64</script>
<script type="application/json" id="$signature_id">$signature_json</script>
</main></body></html>
""")


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def _num(value: object) -> str:
    return f'<td class="n">{value}</td>'


def _row(s: OutletChannelStats, *, total: bool = False) -> str:
    reasons = ", ".join(f"{escape(r)} ({n})" for r, n in s.top_reasons) or "–"
    outlet = escape(s.outlet_name) + ("" if total else f'<br><span class="note">{escape(s.outlet)}</span>')
    cells = (
        f"<td>{outlet}</td><td>{escape('all' if total else s.channel)}</td>"
        + "".join(
            _num(v)
            for v in (
                s.sessions,
                _pct(s.pass_rate),
                _pct(s.fail_rate),
                _pct(s.retry_rate),
                s.undecided,
                s.registrations,
                s.exceptions,
            )
        )
        + f"<td>{reasons}</td>"
    )
    return f'<tr class="total">{cells}</tr>' if total else f"<tr>{cells}</tr>"


def _cards(report: InspectionReport) -> str:
    t = report.totals
    unverified = len(report.unverified_registrations)
    critical = any(a.severity is Severity.CRITICAL for a in report.anomalies)
    intact = report.chain.is_intact
    cards = (
        ("ok" if intact else "bad", "intact" if intact else "BROKEN", "audit chain"),
        ("ok" if unverified == 0 else "bad", str(unverified), "registrations without a passed session"),
        (
            "bad" if critical else ("warn" if report.anomalies else "ok"),
            str(len(report.anomalies)),
            "anomalies",
        ),
        ("", f"{t.sessions} / {_pct(t.pass_rate)}", "sessions / pass rate"),
        ("", str(t.registrations), "registrations"),
        ("", str(t.exceptions), "exceptions approved"),
        ("", _pct(t.fail_rate), "failure rate"),
        ("", _pct(t.retry_rate), "retry rate"),
    )
    return "".join(
        f'<div class="card {c}"><b>{escape(v)}</b><span>{escape(label)}</span></div>' for c, v, label in cards
    )


def render_html(report: InspectionReport, signature: ReportSignature, charts_svg: dict[str, str]) -> bytes:
    r = report
    none_row = '<tr><td colspan="{}">{}</td></tr>'.format
    anomalies = "".join(
        f'<tr><td class="sev-{a.severity.value}">{a.severity.value}</td><td>{escape(a.kind)}</td>'
        f"<td>{escape(a.message)}</td></tr>"
        for a in r.anomalies
    ) or none_row(3, "None: no outlet stands out and every registration has a passed session.")
    sig = signature.to_json()
    page = _PAGE.substitute(
        css=_CSS,
        period_short=escape(f"{format_time(r.period_from)[:10]} – {format_time(r.period_to)[:10]}"),
        installation=escape(r.installation),
        period_from=escape(display_time(r.period_from)),
        period_to=escape(display_time(r.period_to)),
        generated_at=escape(display_time(r.generated_at)),
        report_id=escape(r.report_id),
        cards=_cards(r),
        anomalies=anomalies,
        rows="".join(_row(s) for s in r.rows) + _row(r.totals, total=True),
        chart_outcomes=charts_svg.get("outcomes", ""),
        chart_rates=charts_svg.get("rates", ""),
        chart_numbers=charts_svg.get("numbers_per_id", ""),
        chart_reasons=charts_svg.get("reasons", ""),
        reasons="".join(f"<tr><td><code>{escape(k)}</code></td>{_num(n)}</tr>" for k, n in r.failure_reasons)
        or none_row(2, "none"),
        holders="".join(f"<tr>{_num(k)}{_num(n)}</tr>" for k, n in r.numbers_per_id) or none_row(2, "none"),
        rv_requested=r.reverification.requested,
        rv_completed=r.reverification.completed,
        rv_pending=r.reverification.pending,
        rv_suspended=r.reverification.suspended,
        chain_status="intact" if r.chain.is_intact else '<b class="sev-critical">BROKEN</b>',
        chain_entries=r.chain.entries,
        chain_signed=r.chain.signed_through,
        chain_checkpoints=r.chain.checkpoints,
        chain_head=escape(r.chain.head_hash),
        chain_keys=escape(", ".join(r.chain.key_ids) or "none"),
        chain_checked=escape(display_time(r.chain.checked_at)),
        chain_findings="".join(f"<li>{escape(f)}</li>" for f in r.chain.findings) or "<li>none</li>",
        key_id=escape(signature.key_id),
        data_sha256=escape(signature.data_sha256),
        signature=escape(sig["signature"]),
        data_id=DATA_ID,
        data_b64=base64.b64encode(report_data(r)).decode("ascii"),
        signature_id=SIGNATURE_ID,
        signature_json=_script_safe(json.dumps(sig, sort_keys=True)),
    )
    return page.encode("utf-8")


def _script_safe(text: str) -> str:
    return text.replace("</", "<\\/")


_DATA = re.compile(rf'<script type="application/octet-stream" id="{DATA_ID}">([A-Za-z0-9+/=]+)</script>')
_SIG = re.compile(rf'<script type="application/json" id="{SIGNATURE_ID}">(.*?)</script>', re.DOTALL)


def extract_embedded(html: bytes) -> tuple[bytes, ReportSignature] | None:
    """The signed data and signature embedded in a rendered page (None if absent or malformed)."""
    text = html.decode("utf-8", errors="replace")
    data, sig = _DATA.search(text), _SIG.search(text)
    if not data or not sig:
        return None
    try:
        signature = ReportSignature.from_json(json.loads(sig.group(1).replace("<\\/", "</")))
        return base64.b64decode(data.group(1)), signature
    except (ValueError, KeyError):
        return None
