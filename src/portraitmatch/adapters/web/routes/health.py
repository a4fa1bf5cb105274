"""Liveness of the service itself (for load balancers): database reachable, schema current."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from portraitmatch.adapters.storage.migrations import current_revision
from portraitmatch.adapters.web.deps import Context
from portraitmatch.adapters.web.schemas import HealthOut

router = APIRouter(tags=["service"])


@router.get("/healthz", summary="Health check (no authentication)")
def health(ctx: Context) -> HealthOut:
    with ctx.database.reading() as db:
        db.execute(text("SELECT 1"))
    return HealthOut(
        status="ok",
        database=ctx.database.dialect,
        schema_revision=current_revision(ctx.database) or "",
        workers=ctx.settings.workers,
    )
