"""`compare`, `liveness` and `verify`: the engine on files, from the command line."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from portraitmatch.adapters.cli._output import (
    EXIT_NOT_PASSED,
    EXIT_PASS,
    emit_json,
    fail_input,
    input_errors,
    stdout,
    with_status,
)
from portraitmatch.adapters.cli.app import app
from portraitmatch.api import Engine, iter_challenges
from portraitmatch.config import Settings
from portraitmatch.decision.record import decision_to_dict, liveness_to_dict, match_to_dict
from portraitmatch.errors import InputError, PortraitMatchError
from portraitmatch.liveness.challenge import parse_challenge
from portraitmatch.types import Decision, Outcome

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
MirroredFlag = Annotated[
    bool, typer.Option("--mirrored", help="The video is mirrored (selfie preview): swap left and right.")
]
CalibrationOpt = Annotated[
    Path | None, typer.Option("--calibration", help="Calibration file (default: the shipped East Asian one).")
]


def _engine(calibration: Path | None, as_json: bool) -> Engine:
    settings = Settings()
    if calibration is not None:
        settings.matching.calibration_file = calibration
    with input_errors(as_json):
        return with_status("Loading models…", lambda: Engine.load(settings), quiet=as_json)
    raise AssertionError("unreachable")


@app.command()
def compare(
    a: Annotated[Path | None, typer.Argument(help="ID-side image (chip photo or card scan).")] = None,
    b: Annotated[Path | None, typer.Argument(help="Second image.")] = None,
    pairs: Annotated[Path | None, typer.Option("--pairs", help="CSV with columns a,b: batch mode.")] = None,
    root: Annotated[Path | None, typer.Option("--root", help="Folder the CSV paths are relative to.")] = None,
    calibration: CalibrationOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """1:1 comparison: score (higher = more alike), calibrated threshold, match or not."""
    if pairs is None and (a is None or b is None):
        fail_input("USAGE", "give two images A B, or --pairs PAIRS.csv", as_json=as_json)
    if pairs is not None and (a is not None or b is not None):
        fail_input("USAGE", "give either two images or --pairs, not both", as_json=as_json)
    if pairs is not None:
        _compare_batch(pairs, root, calibration)
        return
    assert a is not None and b is not None
    engine = _engine(calibration, as_json)
    with input_errors(as_json):
        result = engine.compare(a, b)
    out = {"a": str(a), "b": str(b), **(match_to_dict(result) or {})}
    if as_json:
        emit_json(out)
    else:
        verdict = "[green]MATCH[/]" if result.is_match else "[red]NO MATCH[/]"
        stdout.print(
            f"{verdict}  score {result.score:.4f}  threshold {result.threshold:.4f} ({result.threshold_band})"
        )
    raise typer.Exit(EXIT_PASS if result.is_match else EXIT_NOT_PASSED)


def _read_pairs(path: Path) -> list[tuple[str, str]]:
    with input_errors(True), path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or not {"a", "b"} <= set(reader.fieldnames):
            raise InputError(f"{path}: the CSV needs a header with columns a,b", code="BAD_CSV")
        return [(row["a"], row["b"]) for row in reader]
    raise AssertionError("unreachable")


def _compare_batch(pairs: Path, root: Path | None, calibration: Path | None) -> None:
    rows = _read_pairs(pairs)
    base = root if root is not None else pairs.parent
    engine = _engine(calibration, True)
    templates: dict[str, Any] = {}

    def template(name: str) -> Any:
        if name not in templates:
            try:
                templates[name] = engine.read_portrait(base / name)
            except (PortraitMatchError, OSError) as exc:
                code = getattr(
                    exc, "code", "FILE_NOT_FOUND" if isinstance(exc, FileNotFoundError) else "IO_ERROR"
                )
                message = getattr(exc, "message", str(exc))
                templates[name] = {"code": code, "message": message}
        return templates[name]

    for a, b in rows:
        ta, tb = template(a), template(b)
        if isinstance(ta, dict) or isinstance(tb, dict):
            err = ta if isinstance(ta, dict) else tb
            emit_json(
                {
                    "a": a,
                    "b": b,
                    "score": None,
                    "match": None,
                    "error": {**err, "side": "a" if err is ta else "b"},
                }
            )
            continue
        m = engine.matcher.compare(ta, tb)
        emit_json(
            {
                "a": a,
                "b": b,
                "score": round(m.score, 6),
                "match": m.is_match,
                "threshold_band": m.threshold_band,
            }
        )


@app.command()
def liveness(
    video: Annotated[Path, typer.Argument(help="Recorded capture (mp4, webm, mov…).")],
    challenge: Annotated[
        str | None, typer.Option("--challenge", help="Actions in order, e.g. blink,turn_left,turn_right.")
    ] = None,
    challenges: Annotated[
        Path | None, typer.Option("--challenges", help="File with one comma-separated challenge per line.")
    ] = None,
    mirrored: MirroredFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Did a live person perform the challenge? With --challenges the clip is analysed once."""
    if (challenge is None) == (challenges is None):
        fail_input("USAGE", "give exactly one of --challenge or --challenges", as_json=as_json)
    with input_errors(as_json):
        if challenges is not None:
            batch = list(iter_challenges(challenges.read_text(encoding="utf-8").splitlines()))
            if not batch:
                raise InputError(f"{challenges} lists no challenge", code="INVALID_CHALLENGE")
        else:
            batch = [parse_challenge(challenge or "")]
    engine = _engine(None, as_json)
    with input_errors(as_json):
        capture = with_status(
            "Analysing the capture…", lambda: engine.analyse_video(video, mirrored=mirrored), quiet=as_json
        )
        results = [capture.check(actions, engine.settings) for actions in batch]
    if challenges is not None:
        for result in results:
            emit_json(
                {
                    "challenge": ",".join(a.value for a in result.challenge),
                    "passed": result.passed,
                    "decision": result.outcome.value,
                    "reasons": [r.value for r in result.reasons],
                }
            )
        return
    result = results[0]
    if as_json:
        emit_json(liveness_to_dict(result))
    else:
        _print_liveness(result)
    raise typer.Exit(EXIT_PASS if result.passed else EXIT_NOT_PASSED)


@app.command()
def verify(
    id_photo: Annotated[
        Path, typer.Option("--id-photo", help="ID portrait: chip photo or card/passport scan.")
    ],
    video: Annotated[Path, typer.Option("--video", help="Recorded capture of the challenge.")],
    challenge: Annotated[str, typer.Option("--challenge", help="The challenge that was issued, in order.")],
    mirrored: MirroredFlag = False,
    calibration: CalibrationOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Full verification: liveness challenge on the video + 1:1 match against the ID portrait."""
    with input_errors(as_json):
        actions = parse_challenge(challenge)
    engine = _engine(calibration, as_json)
    with input_errors(as_json):
        decision = with_status(
            "Verifying…", lambda: engine.verify(id_photo, video, actions, mirrored=mirrored), quiet=as_json
        )
    if as_json:
        emit_json(decision_to_dict(decision))
    else:
        _print_decision(decision)
    raise typer.Exit(EXIT_PASS if decision.outcome is Outcome.PASS else EXIT_NOT_PASSED)


def _print_liveness(result: Any) -> None:
    colour = {"pass": "green", "fail": "red", "retry": "yellow"}[result.outcome.value]
    stdout.print(
        f"[bold {colour}]{result.outcome.value.upper()}[/]  {', '.join(r.value for r in result.reasons)}"
    )
    table = Table("action", "ok", "start s", "end s")
    for s in result.steps:
        table.add_row(
            s.action.value,
            "✔" if s.ok else "✘",
            f"{s.t_start_ms / 1000:.2f}" if s.t_start_ms is not None else "",
            f"{s.t_end_ms / 1000:.2f}" if s.t_end_ms is not None else "",
        )
    stdout.print(table)


def _print_decision(decision: Decision) -> None:
    colour = {"pass": "green", "fail": "red", "retry": "yellow"}[decision.outcome.value]
    stdout.print(f"[bold {colour}]{decision.outcome.value.upper()}[/]  {decision.message}")
    stdout.print(f"reasons: {', '.join(r.value for r in decision.reasons)}")
    if decision.liveness is not None:
        _print_liveness(decision.liveness)
    if decision.match is not None:
        m = decision.match
        stdout.print(f"match: score {m.score:.4f}  threshold {m.threshold:.4f}  frames {list(m.frames_used)}")
    stdout.print(f"time: {decision.timings_ms.get('total', 0):.0f} ms")
