"""The inspection report as a PDF (A4, reportlab), for printing and filing.

Fonts are DejaVu (shipped with matplotlib) so the output does not depend on the machine, with
WenQuanYi Zen Hei taken instead when installed and the report has CJK text (outlet names). The
signature block on the last page carries the signature over the report data; the detached
``FILE.sig`` covers the PDF's bytes. ``invariant`` output: the same report renders to the same bytes.
"""

from __future__ import annotations

import io
from pathlib import Path
from xml.sax.saxutils import escape

import matplotlib as mpl
from matplotlib import font_manager
from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    Image,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from portraitmatch.audit.charts import installed_cjk_font
from portraitmatch.audit.event import format_time
from portraitmatch.audit.inspection import InspectionReport, Severity, display_time
from portraitmatch.audit.report_signature import ReportSignature
from portraitmatch.audit.signing import b64

INK = colors.HexColor("#1c2733")
MUTED = colors.HexColor("#607d8b")
LINE = colors.HexColor("#d9dee3")
HEAD = colors.HexColor("#eef1f4")
OK = colors.HexColor("#2e7d32")
BAD = colors.HexColor("#c62828")
WARN = colors.HexColor("#b26a00")


def _fonts(needs_cjk: bool) -> tuple[str, str, str]:
    """Register and return (regular, bold, mono) font names."""
    ttf = Path(mpl.get_data_path()) / "fonts" / "ttf"
    pdfmetrics.registerFont(TTFont("PM-Sans", str(ttf / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont("PM-Sans-Bold", str(ttf / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFont(TTFont("PM-Mono", str(ttf / "DejaVuSansMono.ttf")))
    cjk = installed_cjk_font() if needs_cjk else None
    if cjk is not None:
        try:
            path = font_manager.findfont(font_manager.FontProperties(family=cjk), fallback_to_default=False)
            pdfmetrics.registerFont(TTFont("PM-CJK", path, subfontIndex=0))
            return "PM-CJK", "PM-CJK", "PM-Mono"
        except (ValueError, OSError):
            pass  # unreadable font file: CJK glyphs render as boxes, the numbers stay right
    return "PM-Sans", "PM-Sans-Bold", "PM-Mono"


def _has_cjk(report: InspectionReport) -> bool:
    text = report.installation + "".join(r.outlet_name for r in report.rows)
    return any(ord(c) > 0x2E7F for c in text)


def render_pdf(report: InspectionReport, signature: ReportSignature, charts_png: dict[str, bytes]) -> bytes:
    regular, bold, mono = _fonts(_has_cjk(report))
    base = ParagraphStyle("base", fontName=regular, fontSize=9, leading=12, textColor=INK, alignment=TA_LEFT)
    small = ParagraphStyle("small", parent=base, fontSize=7.5, leading=10, textColor=MUTED)
    h1 = ParagraphStyle("h1", parent=base, fontName=bold, fontSize=18, leading=22, spaceAfter=2)
    h2 = ParagraphStyle(
        "h2", parent=base, fontName=bold, fontSize=12, leading=15, spaceBefore=10, spaceAfter=5
    )
    code = ParagraphStyle("code", parent=base, fontName=mono, fontSize=7, leading=9)
    cell = ParagraphStyle("cell", parent=base, fontSize=7.5, leading=9.5)
    r = report
    t = r.totals
    period = f"{format_time(r.period_from)[:10]} – {format_time(r.period_to)[:10]}"

    def table(
        rows: list[list[object]],
        widths: list[float],
        *,
        numeric_from: int = 99,
        total: bool = False,
        header: bool = True,
    ) -> Table:
        tbl = Table(rows, colWidths=widths, repeatRows=1 if header else 0, hAlign="LEFT")
        style = [
            ("FONT", (0, 0), (-1, -1), regular, 7.5),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]
        if header:
            style += [("FONT", (0, 0), (-1, 0), bold, 7.5), ("BACKGROUND", (0, 0), (-1, 0), HEAD)]
        else:
            style += [("FONT", (0, 0), (0, -1), bold, 7.5)]
        style += [
            ("LINEBELOW", (0, 0), (-1, -1), 0.4, LINE),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("ALIGN", (numeric_from, 0), (-1, -1), "RIGHT"),
            ("TOPPADDING", (0, 0), (-1, -1), 2.5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ]
        if total:
            style += [("FONT", (0, -1), (-1, -1), bold, 7.5), ("LINEABOVE", (0, -1), (-1, -1), 1, MUTED)]
        tbl.setStyle(TableStyle(style))
        return tbl

    def pct(x: float) -> str:
        return f"{x * 100:.1f}%"

    story: list[object] = [
        Paragraph("Inspection report", h1),
        Paragraph(
            escape(
                f"{r.installation} · period {display_time(r.period_from)} to {display_time(r.period_to)} "
                f"(end exclusive) · generated {display_time(r.generated_at)} · report {r.report_id}"
            ),
            small,
        ),
        Spacer(1, 4 * mm),
    ]
    unverified = len(r.unverified_registrations)
    critical = any(a.severity is Severity.CRITICAL for a in r.anomalies)
    summary = [
        ["Audit chain", "intact" if r.chain.is_intact else "BROKEN", "Sessions", str(t.sessions)],
        ["Registrations without a passed session", str(unverified), "Pass rate", pct(t.pass_rate)],
        ["Anomalies", str(len(r.anomalies)), "Registrations", str(t.registrations)],
        [
            "Failure / retry rate",
            f"{pct(t.fail_rate)} / {pct(t.retry_rate)}",
            "Exceptions approved",
            str(t.exceptions),
        ],
    ]
    s = table(summary, [66 * mm, 30 * mm, 44 * mm, 30 * mm], header=False)
    s.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), regular, 9),
                ("FONT", (1, 0), (1, -1), bold, 9),
                ("FONT", (3, 0), (3, -1), bold, 9),
                ("BACKGROUND", (0, 0), (-1, 0), colors.white),
                ("TEXTCOLOR", (1, 0), (1, 0), OK if r.chain.is_intact else BAD),
                ("TEXTCOLOR", (1, 1), (1, 1), OK if unverified == 0 else BAD),
                ("TEXTCOLOR", (1, 2), (1, 2), BAD if critical else (WARN if r.anomalies else OK)),
            ]
        )
    )
    story += [s, Paragraph("Anomalies", h2)]
    if r.anomalies:
        rows = [["Severity", "Kind", "Finding"]] + [
            [
                a.severity.value,
                Paragraph(escape(a.kind.replace("_", " ")), cell),
                Paragraph(escape(a.message), cell),
            ]
            for a in r.anomalies
        ]
        anomaly_table = table(rows, [18 * mm, 45 * mm, 107 * mm])
        anomaly_table.setStyle(
            TableStyle(
                [
                    ("TEXTCOLOR", (0, i), (0, i), BAD if a.severity is Severity.CRITICAL else WARN)
                    for i, a in enumerate(r.anomalies, start=1)
                ]
            )
        )
        story.append(anomaly_table)
    else:
        story.append(
            Paragraph("None: no outlet stands out and every registration has a passed session.", base)
        )
    story.append(
        Paragraph(
            "Outlets are flagged when their failure or exception rate exceeds that of all other outlets with "
            "z ≥ 3 (two-proportion test, at least 20 decisions).",
            small,
        )
    )

    story.append(Paragraph("Per outlet and channel", h2))
    head = ["Outlet", "Channel", "Sessions", "Pass", "Fail", "Retry", "Undec.", "Regist.", "Except."]
    body = [
        [
            Paragraph(
                escape(x.outlet_name) + f"<br/><font size=6 color='#607d8b'>{escape(x.outlet)}</font>", cell
            ),
            x.channel,
            x.sessions,
            pct(x.pass_rate),
            pct(x.fail_rate),
            pct(x.retry_rate),
            x.undecided,
            x.registrations,
            x.exceptions,
        ]
        for x in r.rows
    ]
    total = ["All outlets", "all", t.sessions, pct(t.pass_rate), pct(t.fail_rate), pct(t.retry_rate)]
    total += [t.undecided, t.registrations, t.exceptions]
    widths = [48 * mm, 17 * mm, 16 * mm, 15 * mm, 15 * mm, 15 * mm, 14 * mm, 15 * mm, 15 * mm]
    story.append(table([head, *body, total], widths, numeric_from=2, total=True))
    story.append(Paragraph("Rates are shares of decided sessions (pass + fail + retry).", small))

    def chart(name: str, width_mm: float) -> Image | Spacer:
        png = charts_png.get(name)
        if not png:
            return Spacer(1, 1)
        img = Image(io.BytesIO(png))
        scale = width_mm * mm / img.imageWidth
        img.drawWidth, img.drawHeight = img.imageWidth * scale, img.imageHeight * scale
        return img

    story += [
        PageBreak(),
        Paragraph("Charts", h2),
        chart("outcomes", 170),
        Spacer(1, 3 * mm),
        Table([[chart("rates", 84), chart("numbers_per_id", 84)]], colWidths=[86 * mm, 86 * mm]),
        PageBreak(),
        Paragraph("Failure and retry reasons", h2),
        chart("reasons", 150),
        Spacer(1, 2 * mm),
    ]
    reasons = [["Reason code", "Sessions"]] + [[k, n] for k, n in r.failure_reasons]
    story.append(
        table(reasons if len(reasons) > 1 else [*reasons, ["none", 0]], [80 * mm, 25 * mm], numeric_from=1)
    )
    story.append(Paragraph("Numbers per ID and re-verification", h2))
    holders = [["Live numbers held", "Holders (IDs)"]] + [[k, n] for k, n in r.numbers_per_id]
    story.append(
        table(holders if len(holders) > 1 else [*holders, ["–", 0]], [40 * mm, 30 * mm], numeric_from=0)
    )
    rv = r.reverification
    story.append(Spacer(1, 2 * mm))
    story.append(
        Paragraph(
            f"Re-verification: {rv.requested} requested and {rv.completed} completed in the period; "
            f"at its end {rv.pending} pending and {rv.suspended} number(s) suspended for a missed deadline.",
            base,
        )
    )

    chain_rows = [
        ["Status", "intact" if r.chain.is_intact else "BROKEN"],
        ["Entries", r.chain.entries],
        ["Signed through", f"seq {r.chain.signed_through} by {r.chain.checkpoints} checkpoint(s)"],
        ["Head hash", Paragraph(r.chain.head_hash, code)],
        ["Signing keys", ", ".join(r.chain.key_ids) or "none"],
        ["Checked", display_time(r.chain.checked_at)],
    ]
    chain_table = table(chain_rows, [35 * mm, 135 * mm], header=False)
    chain_table.setStyle(TableStyle([("TEXTCOLOR", (1, 0), (1, 0), OK if r.chain.is_intact else BAD)]))
    story += [Paragraph("Audit chain", h2), chain_table]
    for finding in r.chain.findings:
        story.append(Paragraph("• " + escape(finding), cell))

    sig = signature.to_json()
    sig_rows = [
        ["Algorithm", "Ed25519"],
        ["Key id", sig["key_id"]],
        ["SHA-256 of the report data", Paragraph(sig["data_sha256"], code)],
        ["Signature", Paragraph(sig["signature"], code)],
        [
            "Public key (compare out of band)",
            Paragraph(escape(sig["public_key_pem"]).replace("\n", "<br/>"), code),
        ],
    ]
    story.append(
        KeepTogether(
            [
                Paragraph("Signature", h2),
                table(sig_rows, [50 * mm, 120 * mm], header=False),
                Spacer(1, 2 * mm),
                Paragraph(
                    "Verify offline with the operator's public key: the detached signature FILE.sig covers "
                    "this PDF's bytes (openssl pkeyutl -verify -pubin -inkey KEY.pub.pem -rawin -in FILE "
                    "-sigfile FILE.sig); the signature above covers the report data, identical in the HTML "
                    "and CSV renderings of this report (portraitmatch report verify).",
                    small,
                ),
                Spacer(1, 2 * mm),
                Paragraph(
                    "This report contains no biometric data and no personal data: outlets, channels, counts, "
                    "rates, reason codes and opaque record ids only.",
                    small,
                ),
            ]
        )
    )

    def decorate(canvas, doc) -> None:  # type: ignore[no-untyped-def]
        canvas.saveState()
        canvas.setFont(regular, 7)
        canvas.setFillColor(MUTED)
        canvas.drawString(
            20 * mm,
            10 * mm,
            f"PortraitMatch inspection report · {period} · signed by {signature.key_id}",
        )
        canvas.drawRightString(190 * mm, 10 * mm, f"page {doc.page}")
        canvas.restoreState()

    buf = io.BytesIO()
    previous = rl_config.invariant
    rl_config.invariant = 1  # no creation date or random ids: same report, same bytes
    try:
        doc = SimpleDocTemplate(
            buf,
            pagesize=A4,
            leftMargin=20 * mm,
            rightMargin=20 * mm,
            topMargin=16 * mm,
            bottomMargin=16 * mm,
            title=f"Inspection report {period}",
            author=r.installation,
            subject=f"report {r.report_id}; data sha256 {signature.data_sha256}; "
            f"signature {b64(signature.signature)}",
            creator="PortraitMatch",
        )
        doc.build(story, onFirstPage=decorate, onLaterPages=decorate)
    finally:
        rl_config.invariant = previous
    return buf.getvalue()
