"""Who may do what. Keys carry one role; a clerk key is bound to one outlet (and so one operator).

- ``clerk``: runs sessions and registers numbers for its own outlet; sees only its outlet's data
  (and its operator's number inventory).
- ``auditor``: reads everything, changes nothing.
- ``admin``: manages operators, outlets, keys and inventories, flags numbers for re-verification.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from portraitmatch.registry.refusals import ForbiddenError, NotFoundError


class Role(StrEnum):
    CLERK = "clerk"
    AUDITOR = "auditor"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: str
    role: Role
    outlet_id: str | None = None
    operator_id: str | None = None

    @property
    def is_clerk(self) -> bool:
        return self.role is Role.CLERK


def require_role(principal: Principal, *roles: Role) -> None:
    if principal.role not in roles:
        allowed = ", ".join(r.value for r in roles)
        raise ForbiddenError(
            f"This needs the role {allowed}; the key has {principal.role.value}.", code="ROLE"
        )


def require_outlet(principal: Principal, outlet_id: str, *, what: str) -> None:
    """Clerks reach only their own outlet's records. To them another outlet's record does not exist."""
    if principal.is_clerk and principal.outlet_id != outlet_id:
        raise NotFoundError(f"No such {what}.", code=f"UNKNOWN_{what.upper().replace(' ', '_')}")


def require_operator(principal: Principal, operator_id: str, *, what: str) -> None:
    if principal.is_clerk and principal.operator_id != operator_id:
        raise NotFoundError(f"No such {what}.", code=f"UNKNOWN_{what.upper().replace(' ', '_')}")
