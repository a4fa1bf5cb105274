"""Charts for the inspection report, drawn with matplotlib's object API (no pyplot, no global backend).

SVG goes inline into the HTML report (so the file holds no embedded raster image), PNG into the PDF.
Output is deterministic for the same report: fixed hash salt, no timestamps in metadata.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib as mpl
from matplotlib import font_manager
from matplotlib.figure import Figure

from portraitmatch.audit.inspection import InspectionReport

# Figure.savefig picks the renderer for the format, so no global backend is set.
CJK_FONTS = ("WenQuanYi Zen Hei", "Noto Sans CJK SC")
PASS, FAIL, RETRY, MUTED = "#2e7d32", "#c62828", "#f9a825", "#607d8b"


def installed_cjk_font() -> str | None:
    """A CJK font matplotlib knows about (for outlet names in Chinese), if any."""
    known = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in known), None)


def _rc() -> dict[str, object]:
    # DejaVu ships with matplotlib; CJK text falls back to an installed CJK font.
    cjk = installed_cjk_font()
    return {
        "svg.hashsalt": "portraitmatch",
        "font.family": ["DejaVu Sans", *([cjk] if cjk else [])],
        "font.size": 9,
    }


def _label(report: InspectionReport, i: int) -> str:
    row = report.rows[i]
    name = row.outlet_name if len(row.outlet_name) <= 22 else row.outlet_name[:21] + "…"
    return f"{name}\n{row.channel}"


def outcomes_by_outlet(report: InspectionReport) -> Figure:
    fig = Figure(figsize=(7.5, 3.2), dpi=110, layout="constrained")
    ax = fig.add_subplot()
    labels = [_label(report, i) for i in range(len(report.rows))]
    x = range(len(labels))
    bottom = [0] * len(labels)
    for name, color, values in (
        ("pass", PASS, [r.passed for r in report.rows]),
        ("fail", FAIL, [r.failed for r in report.rows]),
        ("retry", RETRY, [r.retried for r in report.rows]),
        ("undecided", MUTED, [r.undecided for r in report.rows]),
    ):
        ax.bar(x, values, bottom=bottom, color=color, label=name, width=0.6)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_xticks(list(x), labels, fontsize=7)
    ax.set_ylabel("verification sessions")
    ax.set_title("Session outcomes per outlet and channel", loc="left")
    ax.legend(ncols=4, fontsize=7, loc="lower right", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def failure_reasons(report: InspectionReport, top: int = 10) -> Figure:
    reasons = list(report.failure_reasons[:top])[::-1]
    fig = Figure(figsize=(7.5, 0.35 * max(3, len(reasons)) + 0.9), dpi=110, layout="constrained")
    ax = fig.add_subplot()
    ax.barh([r for r, _ in reasons], [n for _, n in reasons], color=FAIL)
    ax.set_xlabel("sessions (fail or retry) citing the reason")
    ax.set_title("Failure and retry reasons")
    ax.tick_params(axis="y", labelsize=7)
    ax.spines[["top", "right"]].set_visible(False)
    if not reasons:
        ax.text(0.5, 0.5, "no failures in the period", ha="center", va="center", transform=ax.transAxes)
    return fig


def numbers_per_id(report: InspectionReport) -> Figure:
    fig = Figure(figsize=(3.6, 2.6), dpi=110, layout="constrained")
    ax = fig.add_subplot()
    dist = report.numbers_per_id
    ax.bar([str(k) for k, _ in dist], [n for _, n in dist], color=MUTED)
    ax.set_xlabel("live numbers held")
    ax.set_ylabel("holders (ID documents)")
    ax.set_title("Numbers per ID")
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def rates_by_outlet(report: InspectionReport) -> Figure:
    rows = report.rows[::-1]
    fig = Figure(figsize=(3.6, 0.32 * max(4, len(rows)) + 1.0), dpi=110, layout="constrained")
    ax = fig.add_subplot()
    y = list(range(len(rows)))
    ax.barh([v + 0.2 for v in y], [r.fail_rate * 100 for r in rows], height=0.4, color=FAIL, label="fail")
    ax.barh([v - 0.2 for v in y], [r.retry_rate * 100 for r in rows], height=0.4, color=RETRY, label="retry")
    ax.axvline(report.totals.fail_rate * 100, color=FAIL, lw=0.8, ls="--")
    ax.set_yticks(y, [_label(report, len(report.rows) - 1 - i).replace("\n", " · ") for i in y], fontsize=6)
    ax.set_xlabel("% of decided sessions")
    ax.set_title("Fail and retry rates\n(dashed: fail rate of all outlets)", fontsize=8)
    ax.legend(fontsize=6, frameon=False, ncols=2, loc="upper center", bbox_to_anchor=(0.5, -0.28))
    ax.spines[["top", "right"]].set_visible(False)
    return fig


ALL_CHARTS = (
    ("outcomes", outcomes_by_outlet),
    ("reasons", failure_reasons),
    ("numbers_per_id", numbers_per_id),
    ("rates", rates_by_outlet),
)


def render_svg(figure_fn, report: InspectionReport) -> str:  # type: ignore[no-untyped-def]
    with mpl.rc_context(_rc()):
        fig = figure_fn(report)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog and doctype: it goes inline


def render_png(figure_fn, report: InspectionReport, dpi: int = 150) -> bytes:  # type: ignore[no-untyped-def]
    with mpl.rc_context(_rc()):
        fig = figure_fn(report)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def all_svg(report: InspectionReport) -> dict[str, str]:
    return {name: render_svg(fn, report) for name, fn in ALL_CHARTS}


def all_png(report: InspectionReport) -> dict[str, bytes]:
    return {name: render_png(fn, report) for name, fn in ALL_CHARTS}


__all__: Sequence[str] = ("all_png", "all_svg")
