"""Errors as RFC 9457 problem details (``application/problem+json``).

Every client mistake becomes a 4xx with ``type``, ``title``, ``status``, ``detail``, ``instance`` and
a stable ``code``; validation problems add ``errors`` (where and what). Anything unexpected is a 500
whose body says nothing about the internals; its traceback goes to the server log.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from portraitmatch.errors import (
    InputError,
    MediaTooLargeError,
    PortraitMatchError,
)
from portraitmatch.registry.refusals import (
    ConflictError,
    ForbiddenError,
    LockedOutError,
    NotFoundError,
    SessionExpiredError,
)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://portraitmatch.invalid/problems/"  # stable identifiers, not fetched
log = logging.getLogger("portraitmatch.web")


class Unauthenticated(PortraitMatchError):
    """No valid credentials: 401 with a ``WWW-Authenticate`` challenge."""

    code = "UNAUTHENTICATED"


class PayloadTooLarge(InputError):
    code = "PAYLOAD_TOO_LARGE"


class UnsupportedMediaType(InputError):
    code = "UNSUPPORTED_MEDIA_TYPE"


# Most specific first.
_STATUS: Sequence[tuple[type[PortraitMatchError], int]] = (
    (Unauthenticated, 401),
    (LockedOutError, 429),
    (NotFoundError, 404),
    (SessionExpiredError, 410),
    (ConflictError, 409),
    (ForbiddenError, 403),
    (MediaTooLargeError, 413),
    (PayloadTooLarge, 413),
    (UnsupportedMediaType, 415),
    (InputError, 422),
)


def status_of(exc: PortraitMatchError) -> int:
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def problem(
    status: int,
    *,
    code: str,
    detail: str,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + code.lower().replace("_", "-"),
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance is not None:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=dict(headers or {}))


def problem_for(exc: PortraitMatchError, *, instance: str | None = None) -> JSONResponse:
    status = status_of(exc)
    headers: dict[str, str] = {}
    extra: dict[str, Any] = {}
    if isinstance(exc, Unauthenticated):
        headers["WWW-Authenticate"] = 'Bearer realm="portraitmatch"'
    if isinstance(exc, LockedOutError):
        headers["Retry-After"] = str(max(1, int(exc.retry_after_s + 0.999)))
        extra["retry_after_s"] = round(exc.retry_after_s, 1)
    if status == 500:
        log.error("unexpected %s: %s", type(exc).__name__, exc.message)
        return problem(
            500, code="INTERNAL", detail="The server could not complete the request.", instance=instance
        )
    return problem(status, code=exc.code, detail=exc.message, instance=instance, headers=headers, **extra)


def _validation_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    out = []
    for err in errors:
        out.append(
            {
                "location": [str(p) for p in err.get("loc", ())],
                "message": str(err.get("msg", "")),
                "type": str(err.get("type", "")),
            }
        )
    return out


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(PortraitMatchError)
    async def _domain(request: Request, exc: PortraitMatchError) -> JSONResponse:
        return problem_for(exc, instance=request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return problem(
                400,
                code="MALFORMED_JSON",
                detail="The request body is not valid JSON.",
                instance=request.url.path,
            )
        return problem(
            422,
            code="VALIDATION_FAILED",
            detail="The request does not match the schema: see errors.",
            instance=request.url.path,
            errors=_validation_errors(errors),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, f"HTTP_{exc.status_code}")
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        return problem(
            exc.status_code, code=code, detail=detail, instance=request.url.path, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return problem(
            500,
            code="INTERNAL",
            detail="The server could not complete the request.",
            instance=request.url.path,
        )
