"""Shared CLI plumbing: JSON or Rich output, and one mapping of errors to exit codes.

Exit codes: 0 pass / match, 1 a decision was made and it is not a pass (fail, retry, no match),
2 bad input or usage (with ``--json`` the error is printed as ``{"error": {"code", "message"}}``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from rich.console import Console

from portraitmatch.errors import PortraitMatchError

EXIT_PASS = 0
EXIT_NOT_PASSED = 1
EXIT_BAD_INPUT = 2

stdout = Console()
stderr = Console(stderr=True)


def emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def fail_input(code: str, message: str, *, as_json: bool) -> NoReturn:
    if as_json:
        emit_json({"error": {"code": code, "message": message}})
    else:
        stderr.print(f"[bold red]error[/] ({code}): {message}")
    raise typer.Exit(EXIT_BAD_INPUT)


@contextmanager
def input_errors(as_json: bool) -> Iterator[None]:
    """Turn bad input into exit code 2 with a clear message instead of a traceback."""
    try:
        yield
    except PortraitMatchError as exc:
        fail_input(exc.code, exc.message, as_json=as_json)
    except FileNotFoundError as exc:
        fail_input("FILE_NOT_FOUND", f"no such file: {exc.filename}", as_json=as_json)
    except IsADirectoryError as exc:
        fail_input("IS_A_DIRECTORY", f"expected a file, got a directory: {exc.filename}", as_json=as_json)
    except PermissionError as exc:
        fail_input("PERMISSION_DENIED", f"cannot read {exc.filename}", as_json=as_json)


def with_status(message: str, fn: Callable[[], Any], *, quiet: bool = False) -> Any:
    if quiet or not stderr.is_terminal:
        return fn()
    with stderr.status(message):
        return fn()
