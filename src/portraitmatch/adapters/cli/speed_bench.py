"""`portraitmatch bench speed`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress

from portraitmatch.adapters.cli._output import input_errors, stdout
from portraitmatch.adapters.cli.app import bench_app
from portraitmatch.bench.speed import render_markdown, run_speed_bench

DEFAULT_CLIP = Path("liveness/liveportrait/driving/d12.mp4")


@bench_app.command("speed")
def bench_speed(
    out: Annotated[Path, typer.Option("--out", help="Folder for speed.json and speed.md.")] = Path(
        "bench-out/speed"
    ),
    root: Annotated[
        Path | None,
        typer.Option("--root", help="Dev data folder (default: ../shared/data or $PORTRAITMATCH_DEV_DATA)."),
    ] = None,
    clip: Annotated[
        Path | None, typer.Option("--clip", help="Capture to time (default: a dev clip).")
    ] = None,
    challenge: Annotated[str, typer.Option("--challenge", help="Challenge the clip performs.")] = (
        "turn_left,blink,turn_right"
    ),
    repeats: Annotated[int, typer.Option("--repeats", min=1)] = 5,
) -> None:
    """Start-up time, per-stage latency, frames per second and peak memory."""
    with input_errors(False):
        if clip is None:
            base = root or Path(os.environ.get("PORTRAITMATCH_DEV_DATA", "../shared/data"))
            clip = base / DEFAULT_CLIP
        if not clip.is_file():
            raise FileNotFoundError(2, "clip not found", str(clip))
        out.mkdir(parents=True, exist_ok=True)
        with Progress(console=stdout, transient=True) as bar:
            task = bar.add_task("bench speed", total=4 + 2 * repeats)
            report = run_speed_bench(
                clip,
                tuple(challenge.split(",")),
                repeats=repeats,
                workdir=out,
                tick=lambda: bar.advance(task),
            )
    (out / "speed.json").write_text(json.dumps(report, indent=2))
    md = render_markdown(report)
    (out / "speed.md").write_text(md)
    stdout.print(md)
