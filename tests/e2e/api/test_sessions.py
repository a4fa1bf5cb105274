"""Sessions end to end with real clips: create, capture, decide; one-time use; expiry; bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from portraitmatch.adapters.storage.audit_store import events_between, stored_entries
from portraitmatch.adapters.web.schemas import DecisionOut
from portraitmatch.audit.catalogue import EventType
from portraitmatch.audit.event import AuditEvent
from tests.e2e.api.conftest import PINNED_CHALLENGE, Api, AppFactory, Clips
from tests.e2e.api.media import faceless_jpeg
from tests.integration.storage import seed


def _all_events(db: Session) -> list[AuditEvent]:
    everything = (datetime(2000, 1, 1, tzinfo=UTC), datetime(3000, 1, 1, tzinfo=UTC))
    return list(events_between(db=db, start=everything[0], end=everything[1]))


def test_complete_counter_flow(api: Api, clips: Clips) -> None:
    numbers = api.add_numbers(1)
    doc = seed.unique_resident_id()
    r = api.create_session(clips.portrait, number=doc)
    assert r.status_code == 201, r.text
    session = r.json()
    assert session["state"] == "issued" and session["channel"] == "counter"
    # a session for a recorded upload lists its actions: the recording has to perform them
    challenge = session["challenge"]
    assert challenge["capture"] == "video" and challenge["steps"] == len(PINNED_CHALLENGE)
    assert tuple(challenge["actions"]) == PINNED_CHALLENGE
    assert session["capture_token"].startswith("pmc_") and session["challenge"]["nonce"]

    # a wrong nonce and an unreadable upload are refused and do not use the session up
    assert api.upload({**session, "challenge": {"nonce": "wrong"}}, clips.bona_fide).status_code == 403
    r = api.upload(session, b"this is not a video")
    assert r.status_code == 422, r.text
    assert api.get(f"/v1/sessions/{session['id']}").json()["state"] == "issued"

    r = api.upload(session, clips.bona_fide)
    assert r.status_code == 200, r.text
    decision = DecisionOut.model_validate(r.json())
    assert decision.outcome == "pass", decision
    assert decision.match is not None and decision.match.is_match
    assert decision.liveness is not None and [s.action for s in decision.liveness.steps] == list(
        PINNED_CHALLENGE
    )

    # one capture per session
    again = api.upload(session, clips.bona_fide)
    assert again.status_code == 409 and again.json()["code"] == "SESSION_CAPTURE_TAKEN"

    stored = api.get(f"/v1/sessions/{session['id']}").json()
    assert stored["state"] == "decided" and stored["decision"]["outcome"] == "pass"

    body = {"session_id": session["id"], "document_type": "resident_id", "document_number": doc}
    r = api.post(f"/v1/numbers/{numbers[0]}/registration", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "active"
    assert api.get(f"/v1/sessions/{session['id']}").json()["state"] == "used"
    r = api.post(f"/v1/numbers/{numbers[0]}/registration", json=body)
    assert r.status_code == 409

    # a video session's order was disclosed anyway: its creation is audited with it
    created, decided = _session_events(api, session["id"])
    assert created["capture"] == "video" and created["actions"] == ",".join(PINNED_CHALLENGE)
    assert decided["actions"] == ",".join(PINNED_CHALLENGE) and decided["outcome"] == "pass"


def _session_events(api: Api, session_id: str) -> list[dict[str, object]]:
    """Details of the session's session.created and session.decided events (those that exist)."""
    with api.ctx.database.reading() as db:
        events = _all_events(db)
    wanted = (EventType.SESSION_CREATED, EventType.SESSION_DECIDED)
    return [
        dict(e.details) for e in events if e.type in wanted and dict(e.object_ids)["session"] == session_id
    ]


def test_numbers_under_my_id_with_a_self_service_session(api: Api, clips: Clips) -> None:
    numbers = api.add_numbers(2)
    doc = seed.unique_resident_id()
    for msisdn in numbers:
        session = api.passed_session(number=doc)
        body = {"session_id": session.id, "document_type": "resident_id", "document_number": doc}
        assert api.post(f"/v1/numbers/{msisdn}/registration", json=body).status_code == 201
    r = api.create_session(
        clips.portrait, number=doc, purpose="self_service", channel="online", holder_name="张三"
    )
    assert r.status_code == 201, r.text
    session = r.json()
    token = session["capture_token"]
    # the customer's own device sends the capture with the session's capture token
    decision = api.upload(session, clips.bona_fide, key=token)
    assert decision.status_code == 200 and decision.json()["outcome"] == "pass", decision.text
    assert decision.json()["match"] is None  # no scores for the customer's device
    listed = api.get(f"/v1/sessions/{session['id']}/numbers", token)
    assert listed.status_code == 200, listed.text
    view = listed.json()
    assert view["holder_name"] == "张三"
    assert view["document_number_masked"] == doc[:3] + "*" * 11 + doc[-4:]
    assert sorted(n["msisdn"] for n in view["numbers"]) == sorted(numbers)
    auditor = api.post("/v1/keys", api.admin_key, json={"role": "auditor"}).json()["key"]
    assert api.get(f"/v1/sessions/{session['id']}/numbers", auditor).status_code == 403  # holders only
    flag_url = f"/v1/sessions/{session['id']}/numbers/{numbers[1]}/flag"
    # a holder picks a reason code; typed text (here with a name and a number) is refused unstored
    typed = api.post(flag_url, token, json={"note": "张三 never had it, call 13900000000"})
    assert typed.status_code == 422
    assert api.post(flag_url, token, json={"reason": "张三"}).status_code == 422
    flagged = api.post(flag_url, token, json={"reason": "document_stolen"})
    assert flagged.status_code == 200 and flagged.json()["holder_flag"]["reason"] == "document_stolen"
    with api.ctx.database.reading() as db:
        events = _all_events(db)
    (event,) = [
        e
        for e in events
        if e.type is EventType.NUMBER_FLAGGED and dict(e.object_ids)["session"] == session["id"]
    ]
    assert dict(event.details) == {"reason": "document_stolen"}
    assert dict(event.object_ids)["subscription"] == str(flagged.json()["id"])
    assert "13900000000" not in repr(events) and "张三" not in repr(events)
    report = api.get("/v1/subscriptions", api.admin_key, params={"flagged": True}).json()["subscriptions"]
    assert numbers[1] in {s["msisdn"] for s in report}
    # a self-service session cannot register a number
    body = {"session_id": session["id"], "document_type": "resident_id", "document_number": doc}
    r = api.post(f"/v1/numbers/{api.add_numbers(1)[0]}/registration", json=body)
    assert r.status_code == 403 and r.json()["code"] == "SESSION_OTHER_PURPOSE"


def test_a_stream_session_never_lists_its_actions(api: Api, clips: Clips) -> None:
    r = api.create_session(clips.portrait, capture=None)  # the default: a live stream
    assert r.status_code == 201, r.text
    created = r.json()
    seen = [
        created,
        api.get(f"/v1/sessions/{created['id']}").json(),
        api.get(f"/v1/sessions/{created['id']}", created["capture_token"]).json(),
        next(s for s in api.get("/v1/sessions").json()["sessions"] if s["id"] == created["id"]),
    ]
    for session in seen:
        challenge = session["challenge"]
        assert challenge["capture"] == "stream" and challenge["steps"] == len(PINNED_CHALLENGE)
        assert challenge["actions"] is None
        assert challenge["nonce"] == created["challenge"]["nonce"] and challenge["expires_at"]
        # nowhere in the answer, under any name
        assert not any(a in json.dumps(session) for a in PINNED_CHALLENGE), session
    # nor in the audit trail, which operators' auditors read while the session is open
    (audited,) = _session_events(api, created["id"])
    assert audited["capture"] == "stream" and audited["steps"] == len(PINNED_CHALLENGE)
    assert "actions" not in audited and not any(a in repr(audited) for a in PINNED_CHALLENGE)
    assert api.create_session(clips.portrait, capture="photo").json()["code"] == "VALIDATION_FAILED"


def test_a_stream_session_refuses_an_upload_and_stays_usable(api: Api, clips: Clips) -> None:
    session = api.create_session(clips.portrait, capture="stream").json()
    assert api.consent(session).status_code == 200
    with api.ctx.database.reading() as db:
        before = len(stored_entries(db=db))
    r = api.upload(session, clips.bona_fide, consent=False)
    assert r.status_code == 409 and r.json()["code"] == "CAPTURE_MODE_MISMATCH", r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    # Refused before the claim, and nothing audited: the session is as it was …
    assert api.get(f"/v1/sessions/{session['id']}").json()["state"] == "issued"
    with api.ctx.database.reading() as db:
        assert len(stored_entries(db=db)) == before
    # … and takes the live capture it was issued for.
    url = f"/v1/sessions/{session['id']}/stream?nonce={session['challenge']['nonce']}"
    with api.client.websocket_connect(url, headers=api.auth(api.clerk_key)) as ws:
        assert ws.receive_json()["type"] == "ready"
        ws.send_text(json.dumps({"type": "finish"}))
        assert ws.receive_json()["type"] == "decision"
    assert api.get(f"/v1/sessions/{session['id']}").json()["state"] == "decided"


def test_an_operator_can_refuse_video_sessions(make_api: AppFactory, clips: Clips) -> None:
    api = make_api(service={"allow_video_sessions": False})
    with api.ctx.database.reading() as db:
        before = len(stored_entries(db=db))
    refused = api.create_session(clips.portrait, capture="video")
    assert refused.status_code == 403 and refused.json()["code"] == "VIDEO_SESSIONS_DISABLED"
    with api.ctx.database.reading() as db:
        assert len(stored_entries(db=db)) == before  # refused before anything is stored or audited
    assert api.create_session(clips.portrait, capture="stream").status_code == 201


def test_a_replayed_video_does_not_pass_and_counts_as_a_failure(api: Api, clips: Clips) -> None:
    session = api.create_session(clips.replay_portrait).json()
    r = api.upload(session, clips.replay)
    assert r.status_code == 200, r.text
    assert r.json()["outcome"] != "pass", r.json()
    from sqlalchemy import select

    from portraitmatch.adapters.storage.tables import AttemptFailureRow

    with api.ctx.database.reading() as db:
        subjects = db.scalars(
            select(AttemptFailureRow.subject).where(AttemptFailureRow.session_id == session["id"])
        )
        assert sorted(subjects) == ["device", "document"]


def test_expired_sessions_are_gone(api: Api, clips: Clips) -> None:
    session = api.create_session(clips.portrait).json()
    api.clock.advance(seconds=121)
    r = api.upload(session, clips.bona_fide)
    assert r.status_code == 410 and r.json()["code"] == "SESSION_EXPIRED"
    assert api.get(f"/v1/sessions/{session['id']}").json()["state"] == "expired"


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        ({"document_number": "11010519491231002A"}, 422, "ID_NUMBER_CHARACTERS"),
        ({"document_number": "110105194912310021"}, 422, "ID_NUMBER_CHECKSUM"),
        ({"document_expires_on": "2020-01-01"}, 422, "DOCUMENT_EXPIRED"),
        ({"document_type": "passport"}, 422, "MRZ_REQUIRED"),
        ({"channel": "fax"}, 422, "VALIDATION_FAILED"),
        ({"document_expires_on": "tomorrow"}, 422, "VALIDATION_FAILED"),
        ({"holder_name": "Robert'); DROP TABLE"}, 422, "HOLDER_NAME_INVALID"),
    ],
)
def test_document_problems(api: Api, clips: Clips, fields: dict[str, str], status: int, code: str) -> None:
    r = api.create_session(clips.portrait, **fields)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == code


def test_portrait_problems(make_api: AppFactory, clips: Clips) -> None:
    api = make_api(limits={"max_upload_bytes": 200_000})
    r = api.create_session(b"\x89PNG\r\n\x1a\n broken")
    assert r.status_code == 422 and r.json()["code"] == "UNREADABLE_MEDIA", r.text
    r = api.create_session(faceless_jpeg())
    assert r.status_code == 422 and r.json()["code"] == "NO_FACE", r.text
    r = api.create_session(clips.portrait + b"\0" * 300_000)
    assert r.status_code == 413, r.text
    r = api.post("/v1/sessions", data={"document_type": "resident_id", "holder_name": "x"})
    assert r.status_code in (415, 422)
    r = api.post(
        "/v1/sessions",
        data={"document_type": "resident_id", "holder_name": "张三"},
        files={"other": ("x.jpg", clips.portrait, "image/jpeg")},
    )
    assert r.status_code == 422 and r.json()["code"] == "PORTRAIT_REQUIRED"


def test_capture_tokens_open_only_their_own_session(api: Api, clips: Clips) -> None:
    first = api.create_session(clips.portrait, channel="online").json()
    second = api.create_session(clips.portrait, channel="online").json()
    assert api.get(f"/v1/sessions/{first['id']}", first["capture_token"]).status_code == 200
    r = api.get(f"/v1/sessions/{first['id']}", second["capture_token"])
    assert r.status_code == 404
    r = api.upload(first, b"x", key=second["capture_token"])
    assert r.status_code == 404
    # a capture token is no API key
    assert api.get("/v1/sessions", first["capture_token"]).status_code == 401


def test_the_test_only_challenge_pin_is_refused_in_production() -> None:
    from pydantic import ValidationError

    from portraitmatch.config import ServiceSettings, Settings

    with pytest.raises(ValidationError, match="pinned_challenge"):
        Settings(environment="production", service=ServiceSettings(pinned_challenge=("blink",)))
    assert Settings(environment="production").service.pinned_challenge == ()
