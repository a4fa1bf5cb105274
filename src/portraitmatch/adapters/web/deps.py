"""Request dependencies, each named once as an ``Annotated`` alias for the routes to declare."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from portraitmatch.adapters.storage.api_keys import authenticate
from portraitmatch.adapters.web.context import ServiceContext
from portraitmatch.adapters.web.problems import Unauthenticated
from portraitmatch.registry.access import Principal, Role, require_role

CAPTURE_TOKEN_PREFIX = "pmc_"

_bearer = HTTPBearer(
    auto_error=False,
    description="An API key (`pm_…`), or for capture endpoints a session's capture token (`pmc_…`).",
)


def get_context(request: Request) -> ServiceContext:
    return request.app.state.context


Context = Annotated[ServiceContext, Depends(get_context)]


def bearer_token(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> str | None:
    return credentials.credentials.strip() if credentials else None


BearerToken = Annotated[str | None, Depends(bearer_token)]


def principal_for(ctx: ServiceContext, token: str | None) -> Principal:
    if not token:
        raise Unauthenticated("Send an API key: Authorization: Bearer pm_…")
    with ctx.database.reading() as db:
        principal = authenticate(db=db, token=token)
    if principal is None:
        raise Unauthenticated("The API key is unknown, malformed or revoked.")
    return principal


def current_principal(ctx: Context, token: BearerToken) -> Principal:
    return principal_for(ctx, token)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def _clerk(principal: CurrentPrincipal) -> Principal:
    require_role(principal, Role.CLERK)
    return principal


def _admin(principal: CurrentPrincipal) -> Principal:
    require_role(principal, Role.ADMIN)
    return principal


def _clerk_or_admin(principal: CurrentPrincipal) -> Principal:
    require_role(principal, Role.CLERK, Role.ADMIN)
    return principal


Clerk = Annotated[Principal, Depends(_clerk)]
Admin = Annotated[Principal, Depends(_admin)]
Writer = Annotated[Principal, Depends(_clerk_or_admin)]
Reader = CurrentPrincipal  # every role may read (clerks only their own outlet's records)


@dataclass(frozen=True, slots=True)
class CaptureCaller:
    """Who sends a capture: a clerk (API key) or the customer's device (the session's capture token)."""

    principal: Principal | None = None
    capture_token: str | None = None

    @property
    def actor(self) -> str:
        return f"key:{self.principal.key_id}" if self.principal else "capture-token"

    @property
    def sees_scores(self) -> bool:
        # A customer's device gets the outcome, never the match score: scores would let an
        # attacker steer a forged face towards the threshold.
        return self.principal is not None


def capture_caller_for(ctx: ServiceContext, token: str | None) -> CaptureCaller:
    if token and token.startswith(CAPTURE_TOKEN_PREFIX):
        return CaptureCaller(capture_token=token)
    return CaptureCaller(principal=principal_for(ctx, token))


def _capture_caller(ctx: Context, token: BearerToken) -> CaptureCaller:
    return capture_caller_for(ctx, token)


Caller = Annotated[CaptureCaller, Depends(_capture_caller)]
