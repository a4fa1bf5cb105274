"""`portraitmatch bench pad`: APCER per attack type and BPCER of presentation-attack detection."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from portraitmatch.adapters.cli.app import bench_app
from portraitmatch.bench.pad import run_pad_bench, write_reports
from portraitmatch.config import Settings
from portraitmatch.errors import PortraitMatchError


@bench_app.command("pad")
def bench_pad(
    root: Annotated[Path, typer.Option("--root", help="Dev data root (with liveness/*/labels.json).")] = Path(
        "../shared/data"
    ),
    out: Annotated[Path, typer.Option("--out", help="Folder for pad.json, pad.md, pad.png.")] = Path(
        "bench-out/pad"
    ),
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of the attack generators and prompt schedules.")
    ] = 0,
    quick: Annotated[
        bool, typer.Option("--quick", help="Half the sources, one attack of each kind per source.")
    ] = False,
) -> None:
    """Build the attack suite from the dev clips, run PAD and the checker, report ISO/IEC 30107-3 rates."""
    console = Console()
    try:
        settings = Settings()
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            task = bar.add_task("starting", total=1)

            def on_progress(stage: str, done: int, total: int) -> None:
                bar.update(task, description=stage[:60], completed=done, total=max(total, 1))

            result = run_pad_bench(root, settings, seed=seed, quick=quick, on_progress=on_progress)
        paths = write_reports(result, out)
    except PortraitMatchError as exc:
        console.print(f"[red]{exc.code}: {exc.message}[/red]")
        raise typer.Exit(2) from None
    rates = result.rates()
    console.print(f"bona fide: BPCER {_fmt(rates['bpcer'])}")
    for kind, a in rates["attacks"].items():
        console.print(f"{kind}: APCER PAD {_fmt(a['apcer_pad'])}, system {_fmt(a['apcer_system'])}")
    for kind, path in paths.items():
        console.print(f"{kind}: {path}")


def _fmt(r: dict) -> str:
    if r.get("rate") is None:
        return "n/a"
    return f"{100 * r['rate']:.1f}% ({r['errors']}/{r['n']})"
