"""The `portraitmatch` command line. Each command group lives in its own module and registers here."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="portraitmatch",
    help="Liveness challenge + 1:1 ID portrait matching for real-name SIM registration.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
bench_app = typer.Typer(help="Benchmarks: accuracy, liveness error rates, speed, load.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")


def _register() -> None:
    # Command modules register themselves on `app` / `bench_app` when imported.
    # Add one import line per module; keep them sorted.
    import portraitmatch.adapters.cli.liveness_bench
    import portraitmatch.adapters.cli.pad_bench
    import portraitmatch.adapters.cli.privacy
    import portraitmatch.adapters.cli.service
    import portraitmatch.adapters.cli.speed_bench
    import portraitmatch.adapters.cli.verification
    import portraitmatch.adapters.cli.verify_bench  # noqa: F401


def main() -> None:
    _register()
    app()


if __name__ == "__main__":
    main()
