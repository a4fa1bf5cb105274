"""Keys, roles and outlet scoping over HTTP."""

from __future__ import annotations

from tests.e2e.api.conftest import Api
from tests.integration.storage import seed


def test_requests_without_a_valid_key_are_401_problems(api: Api) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        r = api.client.get("/v1/sessions", headers=headers)
        assert r.status_code == 401
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert r.json()["code"] == "UNAUTHENTICATED"


def test_keys_are_stored_hashed_and_can_be_revoked(api: Api) -> None:
    r = api.post("/v1/keys", api.admin_key, json={"role": "auditor", "label": "inspector"})
    assert r.status_code == 201
    created = r.json()
    assert created["key"].startswith("pm_")
    listed = api.get("/v1/keys", api.admin_key).json()
    assert all("key" not in k for k in listed)
    from portraitmatch.adapters.storage.tables import ApiKeyRow

    with api.ctx.database.reading() as db:
        row = db.get(ApiKeyRow, created["id"])
        # pm_<id>_<secret>; the url-safe secret may itself contain "_" (even start with one)
        secret = created["key"].split("_", 2)[2]
        assert row is not None and len(secret) >= 40 and secret not in row.secret_sha256
    assert api.get("/v1/sessions", created["key"]).status_code == 200
    assert api.post(f"/v1/keys/{created['id']}/revocation", api.admin_key).status_code == 200
    assert api.get("/v1/sessions", created["key"]).status_code == 401


def test_auditor_reads_everything_and_changes_nothing(api: Api) -> None:
    auditor = api.post("/v1/keys", api.admin_key, json={"role": "auditor"}).json()["key"]
    assert api.get("/v1/numbers", auditor).status_code == 200
    assert api.get("/v1/limit-hits", auditor).status_code == 200
    assert api.get("/v1/keys", auditor).status_code == 200
    refused = [
        api.post("/v1/operators", auditor, json={"id": "x-op", "name": "x"}),
        api.post("/v1/keys", auditor, json={"role": "admin"}),
        api.post(f"/v1/numbers/{'13800138000'}/cancellation", auditor, json={}),
        api.post(
            "/v1/sessions", auditor, data={"document_type": "resident_id"}, files={"portrait": ("p", b"x")}
        ),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403, 403]
    assert all(r.json()["code"] == "ROLE" for r in refused)


def test_clerk_key_needs_an_outlet_and_admin_keys_have_none(api: Api) -> None:
    r = api.post("/v1/keys", api.admin_key, json={"role": "clerk"})
    assert r.status_code == 422 and r.json()["code"] == "OUTLET_REQUIRED"
    r = api.post("/v1/keys", api.admin_key, json={"role": "admin", "outlet_id": api.outlet_id})
    assert r.status_code == 422 and r.json()["code"] == "OUTLET_NOT_APPLICABLE"
    r = api.post("/v1/keys", api.admin_key, json={"role": "clerk", "outlet_id": "no-such-shop"})
    assert r.status_code == 404


def test_a_clerk_cannot_read_another_outlets_data(api: Api) -> None:
    numbers = api.add_numbers(2)
    doc = seed.unique_resident_id()
    session = api.passed_session(number=doc)
    r = api.post(
        f"/v1/numbers/{numbers[0]}/registration",
        json={"session_id": session.id, "document_type": "resident_id", "document_number": doc},
    )
    assert r.status_code == 201, r.text
    # a second outlet of the same operator, and an outlet of another operator
    _, _, same_operator_clerk = api.new_outlet(api.operator_id)
    _, _, other_clerk = api.new_outlet()
    for key in (same_operator_clerk, other_clerk):
        r = api.get(f"/v1/sessions/{session.id}", key)
        assert r.status_code == 404 and r.json()["code"] == "UNKNOWN_SESSION"
        assert session.id not in {s["id"] for s in api.get("/v1/sessions", key).json()["sessions"]}
        assert api.get("/v1/subscriptions", key).json()["subscriptions"] == []
    # same operator: the number is visibly taken, but not by whom
    seen = api.get(f"/v1/numbers/{numbers[0]}", same_operator_clerk).json()
    assert seen["state"] == "assigned" and seen["subscription"] is None
    # another operator's clerk does not even see the number
    assert api.get(f"/v1/numbers/{numbers[0]}", other_clerk).status_code == 404
    assert api.get("/v1/numbers", other_clerk).json()["numbers"] == []
    # the registering outlet sees its own customer
    own = api.get(f"/v1/numbers/{numbers[0]}").json()
    assert own["subscription"]["outlet_id"] == api.outlet_id
    # and an auditor sees everything
    auditor = api.post("/v1/keys", api.admin_key, json={"role": "auditor"}).json()["key"]
    assert api.get(f"/v1/sessions/{session.id}", auditor).status_code == 200


def test_health_and_openapi(api: Api) -> None:
    health = api.client.get("/healthz").json()
    assert health["status"] == "ok" and health["schema_revision"]
    spec = api.client.get("/openapi.json").json()
    assert "/v1/sessions" in spec["paths"]
    problem = spec["paths"]["/v1/sessions"]["post"]["responses"]["422"]["content"]
    assert list(problem) == ["application/problem+json"]
    assert api.client.get("/docs").status_code == 200
