"""`serve`, `keys create`, `db upgrade`: running the service and managing what it stores.

Every command that touches stored data takes ``--data-dir`` and ``--database-url`` (or
``PORTRAITMATCH_DATA_DIR`` / ``PORTRAITMATCH_DATABASE_URL``); the default is an SQLite file in
``./portraitmatch-data``. Flags override the environment, which overrides the defaults.
"""

from __future__ import annotations

import fcntl
import logging
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from portraitmatch.adapters.cli._output import emit_json, input_errors, stderr, stdout
from portraitmatch.adapters.cli.app import app, bench_app
from portraitmatch.adapters.keys.providers import ensure_development_signing_key
from portraitmatch.config import Settings
from portraitmatch.errors import InputError
from portraitmatch.registry.access import Role

DataDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Data directory (SQLite file, development keys). Env: PORTRAITMATCH_DATA_DIR."
    ),
]
DatabaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db. Env: PORTRAITMATCH_DATABASE_URL.",
    ),
]


def _group(name: str, help: str) -> typer.Typer:
    """The command group ``name``, shared with other modules that add commands to it."""
    for info in app.registered_groups:
        if info.name == name and info.typer_instance is not None:
            return info.typer_instance
    group = typer.Typer(help=help, no_args_is_help=True)
    app.add_typer(group, name=name)
    return group


keys_app = _group("keys", "Keys: API keys for clerks, auditors and admins; master keys.")
db_app = _group("db", "The database: migrations.")


def build_settings(data_dir: Path | None, database_url: str | None, **more: Any) -> Settings:
    overrides: dict[str, Any] = {k: v for k, v in more.items() if v is not None}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if database_url is not None:
        overrides["database_url"] = database_url
    return Settings(**overrides)


def ensure_development_master_key(settings: Settings) -> None:
    """In development, create the master key file on first start so the service runs with no setup."""
    if settings.environment != "development" or settings.keys.provider != "file":
        return
    from portraitmatch.adapters.keys.key_file import add_master_key
    from portraitmatch.adapters.keys.providers import master_key_file

    path = master_key_file(settings)
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    # Two processes starting at once on one data directory must not each create a different key.
    with open(path.parent / ".create.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            key_id = add_master_key(path)
            stderr.print(f"created development master key {key_id} in {path} (keep it: it unlocks the data)")


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
    data_dir: DataDirOpt = None,
    database_url: DatabaseUrlOpt = None,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, help="Verification worker threads (default: settings).")
    ] = None,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn log level.")] = "info",
) -> None:
    """Start the HTTP API (OpenAPI docs at /docs). Migrates the database first."""
    import uvicorn
    from sqlalchemy.engine import make_url

    from portraitmatch.adapters.web import create_app

    with input_errors(False):
        settings = build_settings(data_dir, database_url, workers=workers)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        ensure_development_master_key(settings)
        ensure_development_signing_key(settings)
        stderr.print("loading models and migrating the database…")
        application = create_app(settings)
    logging.getLogger("portraitmatch").setLevel(logging.INFO)
    shown = make_url(settings.resolved_database_url).render_as_string(hide_password=True)
    stderr.print(f"PortraitMatch API on http://{host}:{port} (docs at /docs); database {shown}")
    uvicorn.run(application, host=host, port=port, log_level=log_level, ws_max_size=16 * 1024 * 1024)


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option("--role", help="clerk, auditor or admin.")],
    outlet: Annotated[str | None, typer.Option("--outlet", help="The clerk's outlet id.")] = None,
    label: Annotated[str, typer.Option("--label", help="Who or what the key is for.")] = "",
    data_dir: DataDirOpt = None,
    database_url: DatabaseUrlOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create an API key and print it. Only its hash is stored: this is the one time it is shown."""
    from portraitmatch.adapters.storage.api_keys import create_api_key
    from portraitmatch.adapters.storage.database import Database
    from portraitmatch.adapters.storage.migrations import upgrade_database

    with input_errors(as_json):
        try:
            parsed_role = Role(role)
        except ValueError:
            raise InputError(
                f"--role must be one of {', '.join(r.value for r in Role)}.", code="USAGE"
            ) from None
        settings = build_settings(data_dir, database_url)
        database = Database(settings.resolved_database_url)
        try:
            upgrade_database(database)
            with database.transaction() as db:
                new = create_api_key(
                    db=db, role=parsed_role, outlet_id=outlet, label=label, now=datetime.now(UTC)
                )
        finally:
            database.dispose()
    if as_json:
        emit_json(
            {
                "id": new.info.id,
                "role": new.info.role.value,
                "outlet_id": new.info.outlet_id,
                "key": new.secret,
            }
        )
        return
    stderr.print(
        f"created {new.info.role.value} key {new.info.id}" + (f" for outlet {outlet}" if outlet else "")
    )
    stdout.print(new.secret, highlight=False, soft_wrap=True)


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDirOpt = None, database_url: DatabaseUrlOpt = None) -> None:
    """Apply pending migrations (serve does this on start too)."""
    from portraitmatch.adapters.storage.database import Database
    from portraitmatch.adapters.storage.migrations import upgrade_database

    with input_errors(False):
        settings = build_settings(data_dir, database_url)
        database = Database(settings.resolved_database_url)
        try:
            revision = upgrade_database(database)
        finally:
            database.dispose()
    stdout.print(f"database at revision {revision}")


def _ints(text: str, what: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise InputError(f"{what} must be comma-separated integers, e.g. 1,4,16.", code="USAGE") from None
    if not values or any(v < 1 for v in values):
        raise InputError(f"{what} must be positive integers.", code="USAGE")
    return values


def _default_clip() -> Path:
    root = Path(os.environ.get("PORTRAITMATCH_DEV_DATA") or "../shared/data")
    return root / "liveness" / "liveportrait" / "driving" / "d12.mp4"


@bench_app.command("load")
def bench_load(
    clients: Annotated[str, typer.Option("--clients", help="Concurrent client levels.")] = "1,4,16",
    sessions: Annotated[int, typer.Option("--sessions", min=1, help="Full sessions per level.")] = 16,
    max_seconds: Annotated[float, typer.Option("--max-seconds", min=1, help="Time bound per level.")] = 300.0,
    video: Annotated[
        Path | None, typer.Option("--video", help="Capture to upload (default: dev d12.mp4).")
    ] = None,
    portrait_frame: Annotated[
        int, typer.Option("--portrait-frame", min=0, help="Video frame used as ID portrait.")
    ] = 0,
    challenge: Annotated[
        str, typer.Option("--challenge", help="The challenge the video performs (pinned for the run).")
    ] = "turn_left,turn_right",
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, help="Server verification workers.")
    ] = None,
    subscribers: Annotated[
        int, typer.Option("--subscribers", min=1, help="Registry size to load.")
    ] = 1_000_000,
    registry_ops: Annotated[int, typer.Option("--registry-ops", min=1, help="Operations per kind.")] = 300,
    registry_threads: Annotated[str, typer.Option("--registry-threads", help="Thread levels.")] = "1,4",
    registry_seconds: Annotated[
        float, typer.Option("--registry-seconds", min=1, help="Time bound per kind.")
    ] = 60.0,
    registry_databases: Annotated[
        str, typer.Option("--registry-databases", help="sqlite, postgresql or both.")
    ] = "sqlite,postgresql",
    pg_url: Annotated[
        str | None,
        typer.Option(
            "--pg-url", help="PostgreSQL server for the registry part (a fresh database is created)."
        ),
    ] = None,
    skip_sessions: Annotated[bool, typer.Option("--skip-sessions", help="Only the registry part.")] = False,
    skip_registry: Annotated[bool, typer.Option("--skip-registry", help="Only the sessions part.")] = False,
    out: Annotated[Path, typer.Option("--out", help="Folder for load.json and load.md.")] = Path(
        "bench-out/load"
    ),
) -> None:
    """Sessions per second (1/4/16 clients) and registry operations per second with a large registry.

    Loopback only; bounded by --sessions/--max-seconds and --registry-ops/--registry-seconds.
    """
    from portraitmatch.bench import load

    def progress(message: str) -> None:
        stderr.print(message, highlight=False)

    with input_errors(False):
        levels = _ints(clients, "--clients")
        thread_levels = _ints(registry_threads, "--registry-threads")
        result: dict[str, Any] = {
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": load.machine_description(),
        }
        if not skip_sessions:
            clip = video or _default_clip()
            if not clip.is_file():
                raise InputError(
                    f"no video at {clip}: pass --video or set PORTRAITMATCH_DEV_DATA", code="USAGE"
                )
            result["sessions"] = load.bench_sessions(
                video_path=clip,
                portrait_frame=portrait_frame,
                challenge=[c.strip() for c in challenge.split(",") if c.strip()],
                client_levels=levels,
                sessions_per_level=sessions,
                max_seconds_per_level=max_seconds,
                database_url=None,
                workers=workers,
                progress=progress,
            )
        if not skip_registry:
            result["registry"] = []
            kinds = {k.strip() for k in registry_databases.split(",") if k.strip()}
            if not kinds <= {"sqlite", "postgresql"}:
                raise InputError("--registry-databases takes sqlite and/or postgresql.", code="USAGE")
            registry_args = {
                "subscribers": subscribers,
                "ops": registry_ops,
                "threads": thread_levels,
                "max_seconds": registry_seconds,
                "progress": progress,
            }
            if "sqlite" in kinds:
                with tempfile.TemporaryDirectory(prefix="pm-bench-registry-") as tmp:
                    url = f"sqlite:///{Path(tmp) / 'registry.sqlite3'}"
                    result["registry"].append(load.bench_registry(database_url=url, **registry_args))
            if "postgresql" in kinds:
                server = pg_url or os.environ.get("PORTRAITMATCH_TEST_PG_URL") or load.DEFAULT_PG_SERVER
                reason = load.postgres_unreachable_reason(server)
                if reason:
                    progress(f"skipping PostgreSQL: {reason}")
                else:
                    with load.fresh_postgres_database(server) as url:
                        result["registry"].append(load.bench_registry(database_url=url, **registry_args))
        json_path, md_path = load.write_report(result, out)
    stdout.print(md_path.read_text(), highlight=False)
    stderr.print(f"wrote {json_path} and {md_path}")
