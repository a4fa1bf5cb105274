"""Administration: operators, outlets, API keys; and the record of limit hits."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from portraitmatch.adapters.storage import api_keys as key_store
from portraitmatch.adapters.storage import attempts as attempt_store
from portraitmatch.adapters.storage import outlets as outlet_store
from portraitmatch.adapters.web.deps import Admin, Context, Reader
from portraitmatch.adapters.web.schemas import (
    ApiKeyCreatedOut,
    ApiKeyIn,
    ApiKeyOut,
    LimitHitOut,
    OperatorIn,
    OperatorOut,
    OutletIn,
    OutletOut,
)
from portraitmatch.audit.catalogue import EventType
from portraitmatch.registry.access import Role, require_role

router = APIRouter(tags=["administration"])


@router.post("/v1/operators", status_code=status.HTTP_201_CREATED, summary="Create an operator (admin)")
def create_operator(ctx: Context, admin: Admin, body: OperatorIn) -> OperatorOut:
    now = ctx.now()
    with ctx.database.transaction() as db:
        operator = outlet_store.create_operator(db=db, operator_id=body.id, name=body.name, now=now)
        ctx.emit(
            db, EventType.OPERATOR_CREATED, actor=f"key:{admin.key_id}", objects={"operator": operator.id}
        )
    return OperatorOut.from_domain(operator)


@router.get("/v1/operators", summary="List operators")
def list_operators(ctx: Context, principal: Reader) -> list[OperatorOut]:
    with ctx.database.reading() as db:
        operators = outlet_store.list_operators(db=db)
    if principal.role is Role.CLERK:
        operators = [o for o in operators if o.id == principal.operator_id]
    return [OperatorOut.from_domain(o) for o in operators]


@router.post("/v1/outlets", status_code=status.HTTP_201_CREATED, summary="Create an outlet (admin)")
def create_outlet(ctx: Context, admin: Admin, body: OutletIn) -> OutletOut:
    now = ctx.now()
    with ctx.database.transaction() as db:
        outlet = outlet_store.create_outlet(
            db=db, outlet_id=body.id, operator_id=body.operator_id, name=body.name, now=now
        )
        ctx.emit(
            db,
            EventType.OUTLET_CREATED,
            actor=f"key:{admin.key_id}",
            objects={"outlet": outlet.id, "operator": outlet.operator_id},
        )
    return OutletOut.from_domain(outlet)


@router.get("/v1/outlets", summary="List outlets")
def list_outlets(ctx: Context, principal: Reader) -> list[OutletOut]:
    with ctx.database.reading() as db:
        outlets = outlet_store.list_outlets(db=db)
    if principal.role is Role.CLERK:
        outlets = [o for o in outlets if o.id == principal.outlet_id]
    return [OutletOut.from_domain(o) for o in outlets]


@router.post("/v1/keys", status_code=status.HTTP_201_CREATED, summary="Issue an API key (admin)")
def create_key(ctx: Context, admin: Admin, body: ApiKeyIn) -> ApiKeyCreatedOut:
    now = ctx.now()
    with ctx.database.transaction() as db:
        new = key_store.create_api_key(
            db=db, role=body.role, outlet_id=body.outlet_id, label=body.label, now=now
        )
        ctx.emit(
            db,
            EventType.API_KEY_ISSUED,
            actor=f"key:{admin.key_id}",
            objects={"api_key": new.info.id, **({"outlet": body.outlet_id} if body.outlet_id else {})},
            role=body.role.value,
        )
    return ApiKeyCreatedOut.from_new(new)


@router.get("/v1/keys", summary="List API keys, never their secrets (admin, auditor)")
def list_keys(ctx: Context, principal: Reader) -> list[ApiKeyOut]:
    require_role(principal, Role.ADMIN, Role.AUDITOR)
    with ctx.database.reading() as db:
        return [ApiKeyOut.from_domain(k) for k in key_store.list_api_keys(db=db)]


@router.post("/v1/keys/{key_id}/revocation", summary="Revoke an API key (admin)")
def revoke_key(ctx: Context, admin: Admin, key_id: Annotated[str, Path(max_length=32)]) -> ApiKeyOut:
    now = ctx.now()
    with ctx.database.transaction() as db:
        info = key_store.revoke_api_key(db=db, key_id=key_id, now=now)
        ctx.emit(db, EventType.API_KEY_REVOKED, actor=f"key:{admin.key_id}", objects={"api_key": key_id})
    return ApiKeyOut.from_domain(info)


@router.get("/v1/limit-hits", summary="Every time a limit refused or locked something (admin, auditor)")
def list_limit_hits(
    ctx: Context,
    principal: Reader,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[LimitHitOut]:
    require_role(principal, Role.ADMIN, Role.AUDITOR)
    with ctx.database.reading() as db:
        hits = attempt_store.list_limit_hits(db=db, outlet_id=None, limit=limit, since=since)
    return [LimitHitOut.from_domain(h) for h in hits]
