"""Client mistakes are 4xx problem details, never 5xx."""

from __future__ import annotations

from tests.e2e.api.conftest import Api


def _is_problem(r, status: int, code: str | None = None) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert {"type", "title", "status", "detail", "code"} <= set(body)
    assert body["status"] == status
    if code is not None:
        assert body["code"] == code


def test_malformed_json_is_400(api: Api) -> None:
    r = api.post(
        "/v1/operators", api.admin_key, content=b'{"id": "x",', headers={"Content-Type": "application/json"}
    )
    _is_problem(r, 400, "MALFORMED_JSON")


def test_wrong_types_and_unknown_fields_are_422_with_errors(api: Api) -> None:
    r = api.post("/v1/operators", api.admin_key, json={"id": 5, "name": ["x"]})
    _is_problem(r, 422, "VALIDATION_FAILED")
    assert {tuple(e["location"])[-1] for e in r.json()["errors"]} == {"id", "name"}
    r = api.post("/v1/operators", api.admin_key, json={"id": "ok-id", "name": "x", "extra": 1})
    _is_problem(r, 422, "VALIDATION_FAILED")
    r = api.post("/v1/operators", api.admin_key, json={"id": "Not A Slug", "name": "x"})
    _is_problem(r, 422, "VALIDATION_FAILED")
    r = api.get("/v1/numbers", params={"limit": "many"})
    _is_problem(r, 422, "VALIDATION_FAILED")


def test_unknown_things_are_404(api: Api) -> None:
    _is_problem(api.get("/v1/sessions/does-not-exist"), 404, "UNKNOWN_SESSION")
    _is_problem(api.get("/v1/no-such-route"), 404, "NOT_FOUND")
    _is_problem(api.get("/v1/numbers/13800138000"), 404, "UNKNOWN_NUMBER")
    _is_problem(api.post("/v1/keys/nope/revocation", api.admin_key), 404, "UNKNOWN_KEY")


def test_wrong_method_and_media_type(api: Api) -> None:
    _is_problem(api.client.delete("/v1/sessions", headers=api.auth(api.clerk_key)), 405, "METHOD_NOT_ALLOWED")
    r = api.post("/v1/sessions", json={"document_type": "resident_id"})
    _is_problem(r, 415, "UNSUPPORTED_MEDIA_TYPE")
    r = api.post(
        "/v1/sessions/x/video", params={"nonce": "n"}, content=b"x", headers={"Content-Type": "text/plain"}
    )
    _is_problem(r, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_malformed_multipart_is_422(api: Api) -> None:
    r = api.post(
        "/v1/sessions",
        content=b'--xyz\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue-without-end',
        headers={"Content-Type": "multipart/form-data; boundary=xyz"},
    )
    assert r.status_code in (413, 422)
    r = api.post("/v1/sessions", content=b"", headers={"Content-Type": "multipart/form-data"})
    _is_problem(r, 422, "MALFORMED_MULTIPART")


def test_oversized_bodies_are_413(make_api) -> None:  # type: ignore[no-untyped-def]
    api = make_api(limits={"max_upload_bytes": 10_000})
    r = api.post(
        "/v1/sessions/x/video",
        params={"nonce": "n"},
        content=b"\0" * 20_000,
        headers={"Content-Type": "video/mp4"},
    )
    _is_problem(r, 413, "PAYLOAD_TOO_LARGE")
