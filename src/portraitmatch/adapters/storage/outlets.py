"""Operators (carriers, each with a number inventory) and their outlets (shops, online portals)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portraitmatch.adapters.storage.tables import OperatorRow, OutletRow
from portraitmatch.registry.refusals import ConflictError, NotFoundError


@dataclass(frozen=True, slots=True)
class Operator:
    id: str
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Outlet:
    id: str
    operator_id: str
    name: str
    created_at: datetime


def create_operator(*, db: Session, operator_id: str, name: str, now: datetime) -> Operator:
    if db.get(OperatorRow, operator_id) is not None:
        raise ConflictError(f"Operator {operator_id!r} exists already.", code="OPERATOR_EXISTS")
    db.add(OperatorRow(id=operator_id, name=name, created_at=now))
    db.flush()
    return Operator(operator_id, name, now)


def create_outlet(*, db: Session, outlet_id: str, operator_id: str, name: str, now: datetime) -> Outlet:
    if db.get(OperatorRow, operator_id) is None:
        raise NotFoundError(f"No operator {operator_id!r}.", code="UNKNOWN_OPERATOR")
    if db.get(OutletRow, outlet_id) is not None:
        raise ConflictError(f"Outlet {outlet_id!r} exists already.", code="OUTLET_EXISTS")
    db.add(OutletRow(id=outlet_id, operator_id=operator_id, name=name, created_at=now))
    db.flush()
    return Outlet(outlet_id, operator_id, name, now)


def get_outlet(*, db: Session, outlet_id: str) -> Outlet | None:
    row = db.get(OutletRow, outlet_id)
    return Outlet(row.id, row.operator_id, row.name, row.created_at) if row else None


def get_operator(*, db: Session, operator_id: str) -> Operator | None:
    row = db.get(OperatorRow, operator_id)
    return Operator(row.id, row.name, row.created_at) if row else None


def list_operators(*, db: Session) -> list[Operator]:
    rows = db.scalars(select(OperatorRow).order_by(OperatorRow.id))
    return [Operator(r.id, r.name, r.created_at) for r in rows]


def list_outlets(*, db: Session, operator_id: str | None = None) -> list[Outlet]:
    query = select(OutletRow).order_by(OutletRow.id)
    if operator_id is not None:
        query = query.where(OutletRow.operator_id == operator_id)
    return [Outlet(r.id, r.operator_id, r.name, r.created_at) for r in db.scalars(query)]
