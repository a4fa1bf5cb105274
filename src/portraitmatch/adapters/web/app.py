"""``create_app(settings, engine=None)``: the FastAPI application, with no module-level state.

Each call builds its own database handle, key provider, worker pool and (unless one is passed in)
verification engine, so tests can start apps on a temporary SQLite file or a fresh PostgreSQL
database side by side. Migrations run on start: several processes may start at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.concurrency import run_in_threadpool

from portraitmatch.adapters.storage import sessions as session_store
from portraitmatch.adapters.storage.audit_store import SqlAuditSink
from portraitmatch.adapters.storage.database import Database
from portraitmatch.adapters.storage.migrations import upgrade_database
from portraitmatch.adapters.storage.protection import Protection
from portraitmatch.adapters.web import registration
from portraitmatch.adapters.web.context import ServiceContext, utc_now
from portraitmatch.adapters.web.events import AuditSink
from portraitmatch.adapters.web.problems import install_problem_handlers
from portraitmatch.adapters.web.routes import (
    admin,
    console,
    health,
    numbers,
    pages,
    sessions,
    stream,
    supervision,
)
from portraitmatch.adapters.web.schemas import ProblemOut
from portraitmatch.audit.catalogue import EventType
from portraitmatch.config import Settings
from portraitmatch.privacy import KeyProvider

if TYPE_CHECKING:
    from portraitmatch.api import Engine

log = logging.getLogger("portraitmatch.web")

_PROBLEM_STATUSES = {
    400: "Malformed request (for example, invalid JSON)",
    401: "Missing, unknown or revoked credentials",
    403: "The key's role or outlet may not do this",
    404: "No such resource (or not visible to this key)",
    409: "The request conflicts with the current state",
    410: "The session has expired",
    413: "The upload is too large",
    415: "Unsupported content type",
    422: "Invalid input: see code, detail and errors",
    429: "Locked out after too many failed attempts; see Retry-After",
}
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ProblemOut, "description": text} for status, text in _PROBLEM_STATUSES.items()
}

DESCRIPTION = """\
Liveness challenge + 1:1 ID portrait matching for real-name SIM registration.

Authenticate with `Authorization: Bearer <API key>`. Errors are RFC 9457 problem details
(`application/problem+json`) with a stable `code`. The live capture WebSocket
(`/v1/sessions/{id}/stream`) is described in docs/api.md.
"""


def sweep(ctx: ServiceContext) -> None:
    """Erase templates of expired sessions and suspend numbers past their re-verification deadline.

    Idempotent and safe to run in every process at once: each change is a conditional update.
    """
    now = ctx.now()
    with ctx.database.transaction() as db:
        for session_id in session_store.erase_expired_templates(db=db, protection=ctx.protection, now=now):
            ctx.emit(db, EventType.SESSION_EXPIRED, actor="system", objects={"session": session_id})
    registration.suspend_overdue(ctx)


async def _sweep_forever(ctx: ServiceContext) -> None:
    while True:
        await asyncio.sleep(ctx.settings.service.sweep_interval_s)
        try:
            await run_in_threadpool(sweep, ctx)
        except Exception:
            log.exception("sweep failed; retrying at the next interval")


def _problem_openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                for status, response in operation.get("responses", {}).items():
                    if str(status).startswith(("4", "5")):
                        response["content"] = {
                            "application/problem+json": {
                                "schema": {"$ref": "#/components/schemas/ProblemOut"}
                            }
                        }
        schema.get("components", {}).get("schemas", {}).pop("HTTPValidationError", None)
        schema.get("components", {}).get("schemas", {}).pop("ValidationError", None)
        app.openapi_schema = schema
        return schema

    return openapi


def _version() -> str:
    try:
        return importlib.metadata.version("portraitmatch")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


def create_app(
    settings: Settings,
    engine: Engine | None = None,
    *,
    key_provider: KeyProvider | None = None,
    audit_sink: AuditSink | None = None,
    clock: Callable[[], datetime] = utc_now,
    migrate: bool = True,
) -> FastAPI:
    database = Database(settings.resolved_database_url)
    if migrate:
        upgrade_database(database)
    if key_provider is None:
        from portraitmatch.adapters.keys.providers import load_key_provider

        key_provider = load_key_provider(settings)
    protection = Protection(key_provider)
    protection.prepare(database, now=clock())
    if engine is None:
        from portraitmatch.api import Engine

        engine = Engine.load(settings)
    ctx = ServiceContext(
        settings=settings,
        database=database,
        protection=protection,
        engine=engine,
        pool=ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="pm-worker"),
        audit=audit_sink or SqlAuditSink.for_service(settings, database),
        clock=clock,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        sweeper = asyncio.create_task(_sweep_forever(ctx))
        try:
            yield
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            ctx.pool.shutdown(wait=False, cancel_futures=True)
            database.dispose()

    app = FastAPI(title="PortraitMatch", version=_version(), description=DESCRIPTION, lifespan=lifespan)
    app.state.context = ctx
    install_problem_handlers(app)
    app.include_router(health.router)
    for router in (sessions.router, numbers.router, admin.router, console.router, supervision.router):
        app.include_router(router, responses=PROBLEM_RESPONSES)
    app.include_router(stream.router)
    pages.mount_pages(app)
    app.openapi = _problem_openapi(app)  # type: ignore[method-assign]
    return app
