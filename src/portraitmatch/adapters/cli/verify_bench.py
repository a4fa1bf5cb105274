"""`portraitmatch bench verify` (accuracy on labelled pairs) and `portraitmatch calibrate`."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from portraitmatch.adapters.cli.app import app, bench_app
from portraitmatch.errors import PortraitMatchError

PairsOpt = Annotated[
    list[Path], typer.Option("--pairs", help="Pairs CSV (columns a,b,same); repeatable, one group per file.")
]
RootOpt = Annotated[
    Path | None,
    typer.Option("--root", help="Folder the CSV paths are relative to (default: each CSV's folder)."),
]


@contextmanager
def _progress(console: Console) -> Iterator[Callable[[str, int], Callable[[], None]]]:
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:

        def start(description: str, total: int) -> Callable[[], None]:
            task = bar.add_task(description, total=total)
            return lambda: bar.advance(task)

        yield start


def _pct(x: Any, digits: int = 1) -> str:
    return "n/a" if x is None else f"{100 * x:.{digits}f}%"


@bench_app.command("verify")
def bench_verify(
    pairs: PairsOpt,
    root: RootOpt = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for verify.json, verify.md, DET plots.")] = Path(
        "bench-out/verify"
    ),
    group_column: Annotated[
        str | None,
        typer.Option("--group-column", help="CSV column naming each pair's group (default: file)."),
    ] = None,
    calibration: Annotated[
        list[Path] | None,
        typer.Option("--calibration", help="Calibration file(s) to evaluate (default: every shipped one)."),
    ] = None,
    protocol: Annotated[
        list[str] | None, typer.Option("--protocol", help="normal and/or id_chip (default: both).")
    ] = None,
) -> None:
    """ROC AUC, EER, FNMR@FMR, errors at the deployed threshold, FTE and DET plots, per group,
    for our pipeline and the plain dlib baseline, on normal and ID-chip protocols."""
    from portraitmatch.bench.verify import PROTOCOLS, run_verify_bench

    console = Console()
    try:
        with _progress(console) as progress:
            report = run_verify_bench(
                pairs,
                root=root,
                out=out,
                group_column=group_column,
                calibration_files=calibration or (),
                protocols=protocol or PROTOCOLS,
                progress=progress,
                command=shlex.join(["portraitmatch", *sys.argv[1:]]),
            )
    except PortraitMatchError as exc:
        console.print(f"[red]{exc.code}[/]: {exc.message}")
        raise typer.Exit(2) from exc
    for name, data in report["protocols"].items():
        table = Table(title=f"protocol {name}", show_lines=False)
        for col in (
            "group",
            "system",
            "gen/imp",
            "AUC",
            "EER",
            "FNMR@1e-2",
            "FNMR@1e-3",
            "FMR@thr",
            "FNMR@thr",
        ):
            table.add_column(col)
        for group, rows in data["groups"].items():
            for system, r in rows.items():
                if "auc" not in r:
                    continue
                table.add_row(
                    group,
                    system,
                    f"{r['genuine']}/{r['impostor']}",
                    f"{r['auc']:.4f}",
                    _pct(r["eer"], 2),
                    _pct(r.get("fnmr_at_fmr_0.01")),
                    _pct(r.get("fnmr_at_fmr_0.001")),
                    _pct(r.get("fmr_at_threshold"), 3) if "threshold" in r else "–",
                    _pct(r.get("fnmr_at_threshold")) if "threshold" in r else "–",
                )
        console.print(table)
    console.print(f"Reports in {out}/verify.md, verify.json and det_*.png")


@app.command("calibrate")
def calibrate(
    pairs: PairsOpt,
    root: RootOpt = None,
    fmr: Annotated[float, typer.Option("--fmr", help="FMR target for the threshold.")] = 1e-3,
    out: Annotated[Path, typer.Option("--out", help="Calibration JSON to write.")] = Path("calibration.json"),
    population: Annotated[
        str, typer.Option("--population", help="Population the data represents (recorded in the file).")
    ] = "East Asian",
    models: Annotated[
        str, typer.Option("--models", help="Comma-separated embedders to fuse.")
    ] = "dlib-resnet-128,faceres-1024",
    adapt: Annotated[
        str,
        typer.Option("--adapt", help="none, or KIND[:REG[:CENTRE]] per model, e.g. wccn:1:0.5 (see docs)."),
    ] = "none",
    cv: Annotated[
        int, typer.Option("--cv", help="Also run identity-disjoint K-fold cross-validation (0: off).")
    ] = 0,
    holdout: Annotated[
        list[Path] | None,
        typer.Option(
            "--holdout-pairs", help="Pairs of other populations, only evaluated in the CV (never fitted)."
        ),
    ] = None,
    cv_report: Annotated[
        Path | None, typer.Option("--cv-report", help="Write the CV table as Markdown here.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed for dealing people into folds.")] = 0,
    cv_chip: Annotated[
        bool, typer.Option("--cv-chip", help="Also cross-validate with side a degraded to an ID chip.")
    ] = False,
    chip_band: Annotated[
        float,
        typer.Option(
            "--chip-band",
            help="Fit a separate threshold for portraits whose face is at most this many pixels "
            "(sqrt of box area), on chip-degraded portraits; 0: no chip band.",
        ),
    ] = 80.0,
) -> None:
    """Fit normalisation, fusion weights, optional adaptation and the threshold on labelled pairs."""
    from portraitmatch.bench.verify import recipe_for, render_cv_markdown, run_calibrate

    console = Console()
    model_ids = [m.strip() for m in models.split(",") if m.strip()]
    command = shlex.join(["portraitmatch", *sys.argv[1:]])
    try:
        with _progress(console) as progress:
            calibration, rows = run_calibrate(
                pairs,
                root=root,
                fmr=fmr,
                out=out,
                population=population,
                models=model_ids,
                adapt=adapt,
                cv_folds=cv,
                holdout_files=holdout or (),
                seed=seed,
                chip_protocol=cv_chip,
                chip_band_px=chip_band,
                progress=progress,
                command=command,
            )
    except PortraitMatchError as exc:
        console.print(f"[red]{exc.code}[/]: {exc.message}")
        raise typer.Exit(2) from exc
    except ValueError as exc:
        console.print(f"[red]BAD_INPUT[/]: {exc}")
        raise typer.Exit(2) from exc
    fit_fmr = _pct(calibration.measured.get("fmr_at_threshold_on_fit_data"), 3)
    fit_fnmr = _pct(calibration.measured.get("fnmr_at_threshold_on_fit_data"))
    console.print(
        f"Wrote {out}: threshold {calibration.threshold:.4f} at FMR target {fmr:g}; "
        f"on the fitting data FMR {fit_fmr}, FNMR {fit_fnmr}"
    )
    for band in calibration.portrait_bands:
        console.print(
            f"Portrait band {band.name} (face <= {band.max_face_px:g} px): threshold {band.threshold:.4f} "
            f"from {band.impostor_pairs} impostor / {band.genuine_pairs} genuine {band.protocol} pairs"
        )
    if rows:
        text = render_cv_markdown(
            rows, recipe_for(model_ids, adapt, fmr, {k: {} for k in model_ids}).describe(), cv
        )
        console.print(text, markup=False)  # set names like "x [id_chip]" are not Rich markup
        if cv_report is not None:
            cv_report.parent.mkdir(parents=True, exist_ok=True)
            cv_report.write_text(f"```\n{command}\n```\n\n" + text, encoding="utf-8")
