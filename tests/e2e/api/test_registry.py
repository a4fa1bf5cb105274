"""The registry over HTTP: per-ID limit, one-time sessions, cooling, transfer, re-verification.

Sessions here are stored passed (as the service stores them after a real verification) so that
the registry rules can be exercised many times; test_sessions.py runs the real verifications.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from portraitmatch.adapters.storage.audit_store import events_between, stored_entries
from portraitmatch.adapters.web.app import sweep
from portraitmatch.audit.catalogue import EventType
from tests.e2e.api.conftest import Api, AppFactory
from tests.integration.storage import seed

DAY = timedelta(days=1)


def _body(session: Any, doc: str) -> dict[str, str]:
    return {"session_id": session.id, "document_type": "resident_id", "document_number": doc}


def test_registration_rules(make_api: AppFactory) -> None:
    api = make_api(registry={"max_numbers_per_document": 2})
    numbers = api.add_numbers(4)
    doc = seed.unique_resident_id()
    s1 = api.passed_session(number=doc)
    assert api.post(f"/v1/numbers/{numbers[0]}/registration", json=_body(s1, doc)).status_code == 201
    # the same session again
    r = api.post(f"/v1/numbers/{numbers[1]}/registration", json=_body(s1, doc))
    assert r.status_code == 409 and r.json()["code"] == "SESSION_USED"
    # a session for another document
    other = seed.unique_resident_id()
    r = api.post(f"/v1/numbers/{numbers[1]}/registration", json=_body(api.passed_session(number=other), doc))
    assert r.status_code == 403 and r.json()["code"] == "SESSION_OTHER_DOCUMENT"
    # a session from another outlet of the same operator is invisible to this clerk
    _, shop2, clerk2 = api.new_outlet(api.operator_id)
    foreign = api.passed_session(number=doc, outlet=(api.operator_id, shop2))
    r = api.post(f"/v1/numbers/{numbers[1]}/registration", json=_body(foreign, doc))
    assert r.status_code == 404
    # ... and its own clerk can use it
    assert (
        api.post(f"/v1/numbers/{numbers[1]}/registration", clerk2, json=_body(foreign, doc)).status_code
        == 201
    )
    # the per-ID limit (2) is reached
    r = api.post(f"/v1/numbers/{numbers[2]}/registration", json=_body(api.passed_session(number=doc), doc))
    assert r.status_code == 409 and r.json()["code"] == "DOCUMENT_NUMBER_LIMIT"
    assert "numbers_per_document" in [h["kind"] for h in api.get("/v1/limit-hits", api.admin_key).json()]
    # a number already taken
    r = api.post(
        f"/v1/numbers/{numbers[0]}/registration", json=_body(api.passed_session(number=other), other)
    )
    assert r.status_code == 409 and r.json()["code"] == "NUMBER_ASSIGNED"
    # malformed and unknown numbers
    r = api.post("/v1/numbers/12345/registration", json=_body(api.passed_session(number=other), other))
    assert r.status_code == 422 and r.json()["code"] == "MOBILE_NUMBER_LENGTH"
    r = api.post("/v1/numbers/19999999999/registration", json=_body(api.passed_session(number=other), other))
    assert r.status_code == 404


def test_failed_or_expired_sessions_register_nothing(api: Api) -> None:
    from portraitmatch.registry.sessions import Purpose
    from portraitmatch.types import Outcome

    (msisdn,) = api.add_numbers(1)
    doc = seed.unique_resident_id()
    failed, _ = seed.decided_session(
        api.ctx.database,
        api.ctx.protection,
        operator_id=api.operator_id,
        outlet_id=api.outlet_id,
        doc=seed.document(doc),
        now=api.clock(),
        outcome=Outcome.FAIL,
        purpose=Purpose.REGISTRATION,
    )
    r = api.post(f"/v1/numbers/{msisdn}/registration", json=_body(failed, doc))
    assert r.status_code == 409 and r.json()["code"] == "SESSION_NOT_PASSED"
    passed = api.passed_session(number=doc)
    api.clock.advance(seconds=api.ctx.settings.registry.session_use_window_s + 1)
    r = api.post(f"/v1/numbers/{msisdn}/registration", json=_body(passed, doc))
    assert r.status_code == 410


def test_cancellation_cooling_and_transfer(api: Api) -> None:
    numbers = api.add_numbers(2)
    alice, bob = seed.unique_resident_id(), seed.unique_resident_id()
    for msisdn in numbers:
        assert (
            api.post(
                f"/v1/numbers/{msisdn}/registration", json=_body(api.passed_session(number=alice), alice)
            ).status_code
            == 201
        )
    # transfer to Bob needs Bob's own passed session
    r = api.post(f"/v1/numbers/{numbers[0]}/transfer", json=_body(api.passed_session(number=alice), bob))
    assert r.status_code == 403 and r.json()["code"] == "SESSION_OTHER_DOCUMENT"
    r = api.post(f"/v1/numbers/{numbers[0]}/transfer", json=_body(api.passed_session(number=bob), bob))
    assert r.status_code == 200, r.text
    assert r.json()["previous"]["end_reason"] == "transferred" and r.json()["current"]["status"] == "active"
    # cancel: the number cools down before it can be registered again
    r = api.post(f"/v1/numbers/{numbers[1]}/cancellation", json={"reason": "holder_request"})
    assert r.status_code == 200 and r.json()["end_reason"] == "cancelled"
    assert api.get(f"/v1/numbers/{numbers[1]}").json()["state"] == "cooling"
    r = api.post(f"/v1/numbers/{numbers[1]}/registration", json=_body(api.passed_session(number=bob), bob))
    assert r.status_code == 409 and r.json()["code"] == "NUMBER_COOLING"
    api.clock.advance(days=api.ctx.settings.registry.cooling_days, seconds=1)
    assert api.get(f"/v1/numbers/{numbers[1]}").json()["state"] == "available"
    r = api.post(f"/v1/numbers/{numbers[1]}/registration", json=_body(api.passed_session(number=bob), bob))
    assert r.status_code == 201


def test_reverification_deadline_suspension_and_recovery(api: Api) -> None:
    (msisdn,) = api.add_numbers(1)
    doc = seed.unique_resident_id()
    assert (
        api.post(
            f"/v1/numbers/{msisdn}/registration", json=_body(api.passed_session(number=doc), doc)
        ).status_code
        == 201
    )
    r = api.post(f"/v1/numbers/{msisdn}/reverification-request", json={"reason": "fraud_suspected"})
    assert r.status_code == 403  # clerks cannot flag
    r = api.post(
        f"/v1/numbers/{msisdn}/reverification-request", api.admin_key, json={"reason": "fraud_suspected"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["reverification"]["reason"] == "fraud_suspected"
    pending = api.get("/v1/subscriptions", params={"reverification": True}).json()["subscriptions"]
    assert [s["msisdn"] for s in pending] == [msisdn]
    api.clock.advance(days=api.ctx.settings.registry.reverification_days, seconds=1)
    assert api.get(f"/v1/numbers/{msisdn}").json()["subscription"]["status"] == "suspended"
    sweep(api.ctx)  # what every server process runs periodically
    from portraitmatch.adapters.storage.numbers import live_subscription
    from portraitmatch.registry.numbers import SubscriptionStatus

    with api.ctx.database.reading() as db:
        assert live_subscription(db=db, msisdn=msisdn).status is SubscriptionStatus.SUSPENDED  # type: ignore[union-attr]
    # a suspended number cannot be transferred; its holder re-verifies with a re-verification session
    newcomer = seed.unique_resident_id()
    r = api.post(f"/v1/numbers/{msisdn}/transfer", json=_body(api.passed_session(number=newcomer), newcomer))
    assert r.status_code == 409 and r.json()["code"] == "NUMBER_SUSPENDED"
    wrong_purpose = api.passed_session(number=doc)
    r = api.post("/v1/reverifications", json=_body(wrong_purpose, doc))
    assert r.status_code == 403 and r.json()["code"] == "SESSION_OTHER_PURPOSE"
    r = api.post(
        "/v1/reverifications", json=_body(api.passed_session(number=doc, purpose="reverification"), doc)
    )
    assert r.status_code == 200, r.text
    assert [(s["msisdn"], s["status"]) for s in r.json()["reverified"]] == [(msisdn, "active")]
    assert api.get(f"/v1/numbers/{msisdn}").json()["subscription"]["status"] == "active"


def test_a_deadline_in_the_past_is_refused(api: Api) -> None:
    (msisdn,) = api.add_numbers(1)
    doc = seed.unique_resident_id()
    api.post(f"/v1/numbers/{msisdn}/registration", json=_body(api.passed_session(number=doc), doc))
    r = api.post(
        f"/v1/numbers/{msisdn}/reverification-request",
        api.admin_key,
        json={"reason": "other", "deadline": "2001-01-01T00:00:00Z"},
    )
    assert r.status_code == 422 and r.json()["code"] == "DEADLINE_PAST"


def test_inventory_import_validates_every_number(api: Api) -> None:
    r = api.post(
        f"/v1/operators/{api.operator_id}/numbers", api.admin_key, json={"numbers": ["13800138000", "123"]}
    )
    assert r.status_code == 422 and "123" in r.json()["detail"]
    r = api.post("/v1/operators/no-such-op/numbers", api.admin_key, json={"numbers": ["13800138000"]})
    assert r.status_code == 404
    numbers = api.add_numbers(3)
    r = api.post(f"/v1/operators/{api.operator_id}/numbers", api.admin_key, json={"numbers": numbers})
    assert r.json()["added"] == 0 and r.json()["already_present"] == numbers


def test_reasons_are_catalogue_codes_and_free_text_is_refused(api: Api) -> None:
    numbers = api.add_numbers(2)
    doc = seed.unique_resident_id()
    for msisdn in numbers:
        r = api.post(f"/v1/numbers/{msisdn}/registration", json=_body(api.passed_session(number=doc), doc))
        assert r.status_code == 201, r.text
    with api.ctx.database.reading() as db:
        before = len(stored_entries(db=db))
    note = "张三 moved to 13812345678"
    refused = [
        api.post(f"/v1/numbers/{numbers[0]}/cancellation", json={"reason": note}),
        api.post(f"/v1/numbers/{numbers[0]}/cancellation", json={"reason": "other", "note": note}),
        api.post(f"/v1/numbers/{numbers[1]}/reverification-request", api.admin_key, json={"reason": note}),
        api.post(
            f"/v1/numbers/{numbers[1]}/reverification-request",
            api.admin_key,
            json={"reason": "other", "note": note},
        ),
    ]
    assert [r.status_code for r in refused] == [422] * 4
    assert all(r.json()["code"] == "VALIDATION_FAILED" for r in refused)
    with api.ctx.database.reading() as db:
        assert len(stored_entries(db=db)) == before  # a refused request leaves nothing behind

    r = api.post(f"/v1/numbers/{numbers[0]}/cancellation", json={})
    assert r.status_code == 200, r.text
    subscriptions = {str(r.json()["id"])}
    r = api.post(
        f"/v1/numbers/{numbers[1]}/reverification-request", api.admin_key, json={"reason": "holder_flagged"}
    )
    assert r.status_code == 200 and r.json()["reverification"]["reason"] == "holder_flagged"
    subscriptions.add(str(r.json()["id"]))
    with api.ctx.database.reading() as db:
        everyone = events_between(db=db, start=datetime(2000, 1, 1, tzinfo=UTC), end=api.clock() + DAY)
        # PostgreSQL is shared by the session's tests: only this test's subscriptions.
        events = [e for e in everyone if e.object_id("subscription") in subscriptions]
    reasons = {e.type: e.detail("reason") for e in events if e.detail("reason") is not None}
    assert reasons == {
        EventType.NUMBER_CANCELLED: "holder_request",  # the default code
        EventType.REVERIFICATION_REQUESTED: "holder_flagged",
    }
    everything = "".join(json.dumps(e.to_json(), ensure_ascii=False) for e in events)
    assert "moved" not in everything and "REDACTED" not in everything
