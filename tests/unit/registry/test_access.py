from __future__ import annotations

import pytest

from portraitmatch.registry.access import Principal, Role, require_operator, require_outlet, require_role
from portraitmatch.registry.refusals import ForbiddenError, NotFoundError

CLERK = Principal("k1", Role.CLERK, outlet_id="shop-1", operator_id="op-1")
AUDITOR = Principal("k2", Role.AUDITOR)
ADMIN = Principal("k3", Role.ADMIN)


def test_roles() -> None:
    require_role(CLERK, Role.CLERK)
    require_role(ADMIN, Role.CLERK, Role.ADMIN)
    with pytest.raises(ForbiddenError):
        require_role(AUDITOR, Role.CLERK, Role.ADMIN)


def test_a_clerk_sees_no_other_outlet_or_operator() -> None:
    require_outlet(CLERK, "shop-1", what="session")
    with pytest.raises(NotFoundError) as err:
        require_outlet(CLERK, "shop-2", what="session")
    assert err.value.code == "UNKNOWN_SESSION"
    require_operator(CLERK, "op-1", what="number")
    with pytest.raises(NotFoundError):
        require_operator(CLERK, "op-2", what="number")


def test_auditors_and_admins_see_every_outlet() -> None:
    for who in (AUDITOR, ADMIN):
        require_outlet(who, "shop-2", what="session")
        require_operator(who, "op-2", what="number")
