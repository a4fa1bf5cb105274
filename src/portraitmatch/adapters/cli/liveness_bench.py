"""`portraitmatch bench liveness`: BPCER / APCER of the liveness checker on labelled clips."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from portraitmatch.adapters.cli.app import bench_app
from portraitmatch.bench.liveness import default_labels, load_clips, run_bench, write_reports
from portraitmatch.config import Settings
from portraitmatch.errors import PortraitMatchError


@bench_app.command("liveness")
def bench_liveness(
    labels: Annotated[
        list[Path] | None,
        typer.Option(
            "--labels",
            help="labels.json (repeatable, relative to --root). Default: <root>/liveness/*/labels.json.",
        ),
    ] = None,
    root: Annotated[
        Path, typer.Option("--root", help="Data root the --labels paths are relative to.")
    ] = Path("../shared/data"),
    out: Annotated[
        Path, typer.Option("--out", help="Folder for liveness.json, liveness.md, liveness.png.")
    ] = Path("bench-out/liveness"),
    attack_challenges: Annotated[
        int, typer.Option("--attack-challenges", min=1, help="Random challenges per attack clip.")
    ] = 200,
    seed: Annotated[int, typer.Option("--seed", help="Seed for the attack challenges.")] = 0,
    source: Annotated[
        str,
        typer.Option(
            "--source", help="model: MediaPipe on the decoded clips; traces: the dev traces (fast, dev only)."
        ),
    ] = "model",
    actions: Annotated[
        str | None,
        typer.Option("--actions", help="Override liveness.actions for the attack challenges, e.g. all five."),
    ] = None,
    frame_step: Annotated[
        int,
        typer.Option(
            "--frame-step", min=1, help="Keep every Nth frame: the clips at a lower rate (2: 12.5-15 fps)."
        ),
    ] = 1,
    frame_offset: Annotated[
        int, typer.Option("--frame-offset", min=0, help="First frame kept with --frame-step.")
    ] = 0,
) -> None:
    """Bona fide clips against the challenges they perform; attack clips against random ones."""
    console = Console()
    if source not in ("model", "traces"):
        raise typer.BadParameter("--source must be 'model' or 'traces'")
    if frame_offset >= frame_step:
        raise typer.BadParameter("--frame-offset must be below --frame-step")
    try:
        settings = Settings()
        if actions:
            names = tuple(a.strip() for a in actions.split(",") if a.strip())
            settings = settings.model_copy(
                update={"liveness": settings.liveness.model_copy(update={"actions": names})}
            )
        files = [p if p.is_absolute() else root / p for p in labels] if labels else default_labels(root)
        if not files:
            console.print(f"[red]no labels.json found under {root / 'liveness'}[/red]")
            raise typer.Exit(2)
        clips = load_clips(files)
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            overall = bar.add_task("clips", total=len(clips))
            inner = bar.add_task("", total=1)

            def on_progress(stage: str, done: int, total: int) -> None:
                if stage.startswith("analysing"):
                    bar.update(overall, completed=done)
                bar.update(inner, description=stage, completed=done, total=max(total, 1))

            result = run_bench(
                clips,
                settings,
                source=source,
                attack_challenges=attack_challenges,
                seed=seed,
                frame_step=frame_step,
                frame_offset=frame_offset,
                on_progress=on_progress,
            )
            bar.update(overall, completed=len(clips))
        paths = write_reports(result, out)
    except PortraitMatchError as exc:
        console.print(f"[red]{exc.code}: {exc.message}[/red]")
        raise typer.Exit(2) from None
    summary = result.summary()
    b = summary["bona_fide"]
    console.print(
        f"bona fide: {b['challenges']} challenges on {b['clips']} clips, {b['rejected']} rejected"
        f" (BPCER {100 * (b['bpcer'] or 0):.1f}%)"
    )
    for kind, a in summary["attacks"].items():
        explained = a["explained_fraction"]
        console.print(
            f"{kind}: {a['challenges']} challenges on {a['clips']} clips, {a['accepted']} accepted"
            f" (APCER {100 * (a['apcer'] or 0):.1f}%, exact {100 * (a['apcer_exact'] or 0):.1f}%,"
            f" order bound {100 * (a['apcer_order_bound'] or 0):.1f}%;"
            f" explained by order: {'n/a' if explained is None else f'{100 * explained:.0f}%'})"
        )
    for kind, path in paths.items():
        console.print(f"{kind}: {path}")
