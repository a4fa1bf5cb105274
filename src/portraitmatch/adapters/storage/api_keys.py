"""API keys: ``pm_<id>_<secret>``. Only a SHA-256 of the secret is stored.

The secret is 256 random bits, so a fast hash is enough: there is nothing to brute-force (a slow
password hash would only slow every request). The id lets a key be found, listed and revoked
without the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portraitmatch.adapters.storage.tables import ApiKeyRow, OutletRow
from portraitmatch.errors import InputError
from portraitmatch.registry.access import Principal, Role
from portraitmatch.registry.refusals import NotFoundError

_KEY = re.compile(r"^pm_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    id: str
    role: Role
    outlet_id: str | None
    label: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class NewApiKey:
    info: ApiKeyInfo
    secret: str  # the whole key; shown once, never stored


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _info(row: ApiKeyRow) -> ApiKeyInfo:
    return ApiKeyInfo(row.id, Role(row.role), row.outlet_id, row.label, row.created_at, row.revoked_at)


def create_api_key(*, db: Session, role: Role, outlet_id: str | None, label: str, now: datetime) -> NewApiKey:
    if role is Role.CLERK and outlet_id is None:
        raise InputError("A clerk key needs an outlet (--outlet).", code="OUTLET_REQUIRED")
    if role is not Role.CLERK and outlet_id is not None:
        raise InputError("Only clerk keys are bound to an outlet.", code="OUTLET_NOT_APPLICABLE")
    if outlet_id is not None and db.get(OutletRow, outlet_id) is None:
        raise NotFoundError(f"No outlet {outlet_id!r}.", code="UNKNOWN_OUTLET")
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    row = ApiKeyRow(
        id=key_id,
        secret_sha256=_digest(secret),
        role=role.value,
        outlet_id=outlet_id,
        label=label,
        created_at=now,
        revoked_at=None,
    )
    db.add(row)
    db.flush()
    return NewApiKey(info=_info(row), secret=f"pm_{key_id}_{secret}")


def authenticate(*, db: Session, token: str) -> Principal | None:
    """The principal for a presented key, or None when it is malformed, unknown, wrong or revoked."""
    match = _KEY.match(token)
    if match is None:
        return None
    key_id, secret = match.groups()
    row = db.get(ApiKeyRow, key_id)
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.secret_sha256, _digest(secret)):
        return None
    operator_id = None
    if row.outlet_id is not None:
        outlet = db.get(OutletRow, row.outlet_id)
        operator_id = outlet.operator_id if outlet else None
    return Principal(key_id=row.id, role=Role(row.role), outlet_id=row.outlet_id, operator_id=operator_id)


def list_api_keys(*, db: Session) -> list[ApiKeyInfo]:
    return [_info(r) for r in db.scalars(select(ApiKeyRow).order_by(ApiKeyRow.created_at, ApiKeyRow.id))]


def revoke_api_key(*, db: Session, key_id: str, now: datetime) -> ApiKeyInfo:
    row = db.get(ApiKeyRow, key_id)
    if row is None:
        raise NotFoundError(f"No API key {key_id!r}.", code="UNKNOWN_KEY")
    if row.revoked_at is None:
        row.revoked_at = now
        db.flush()
    return _info(row)
