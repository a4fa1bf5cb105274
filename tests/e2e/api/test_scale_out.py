"""Scale-out: two server processes on one PostgreSQL database serve the same sessions.

No session state lives in a process's memory: a session created on one process is captured on the
other, read back on the first and used for a registration on the second. Then 50 registrations at
one ID document, and 50 at one number, are fired at both processes at once; exactly the allowed
ones succeed.
"""

from __future__ import annotations

import base64
import json
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from portraitmatch.adapters.storage.api_keys import create_api_key
from portraitmatch.adapters.storage.database import Database
from portraitmatch.adapters.storage.migrations import upgrade_database
from portraitmatch.adapters.storage.protection import Protection
from portraitmatch.adapters.web.routes.console import NOTICE_VERSION
from portraitmatch.bench.load import running_server
from portraitmatch.privacy import LocalMasterKeys
from portraitmatch.registry.access import Role
from tests.e2e.api.conftest import MASTER_KEY, PINNED_CHALLENGE, Clips
from tests.integration.storage import seed

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
CONCURRENT = 50


@pytest.fixture(scope="module")
def two_servers(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    database = Database(pg_url)
    upgrade_database(database)
    with database.transaction() as db:
        admin = create_api_key(
            db=db, role=Role.ADMIN, outlet_id=None, label="scale-out", now=datetime.now(UTC)
        )
    database.dispose()
    env = {
        "PORTRAITMATCH_ENVIRONMENT": "development",
        "PORTRAITMATCH_KEYS__PROVIDER": "env",
        "PORTRAITMATCH_MASTER_KEY": base64.b64encode(MASTER_KEY).decode(),
        "PORTRAITMATCH_SERVICE__PINNED_CHALLENGE": json.dumps(list(PINNED_CHALLENGE)),
    }
    root = tmp_path_factory.mktemp("scale-out")
    with (
        running_server(data_dir=root / "a", database_url=pg_url, env=env) as a,
        running_server(data_dir=root / "b", database_url=pg_url, env=env) as b,
    ):
        yield a, b, admin.secret


def _client(base: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=120)


def _setup(a: str, b: str, admin: str, n_numbers: int) -> tuple[str, str, str, list[str]]:
    import secrets

    suffix = secrets.token_hex(4)
    with _client(a, admin) as ca, _client(b, admin) as cb:
        assert ca.post("/v1/operators", json={"id": f"op-{suffix}", "name": "Op"}).status_code == 201
        r = cb.post(
            "/v1/outlets", json={"id": f"shop-{suffix}", "operator_id": f"op-{suffix}", "name": "Shop"}
        )
        assert r.status_code == 201
        clerk = ca.post("/v1/keys", json={"role": "clerk", "outlet_id": f"shop-{suffix}"}).json()["key"]
        base = 18_600_000_000 + secrets.randbelow(10**8)
        numbers = [str(base + i) for i in range(n_numbers)]
        assert cb.post(f"/v1/operators/op-{suffix}/numbers", json={"numbers": numbers}).status_code == 200
    return f"op-{suffix}", f"shop-{suffix}", clerk, numbers


def test_a_session_alternates_between_two_processes(two_servers: tuple[str, str, str], clips: Clips) -> None:
    a, b, admin = two_servers
    _, _, clerk, numbers = _setup(a, b, admin, 1)
    doc = seed.unique_resident_id()
    with _client(a, clerk) as ca, _client(b, clerk) as cb:
        created = ca.post(
            "/v1/sessions",
            data={
                "document_type": "resident_id",
                "document_number": doc,
                "holder_name": "张三",
                "document_expires_on": "2035-01-01",
                "capture": "video",
            },
            files={"portrait": ("p.jpg", clips.portrait, "image/jpeg")},
        )
        assert created.status_code == 201, created.text
        session = created.json()
        # consent recorded through one process is what the other one checks before the capture
        consent = {"notice_version": NOTICE_VERSION, "language": "zh"}
        assert ca.post(f"/v1/sessions/{session['id']}/consent", json=consent).status_code == 200
        decided = cb.post(
            f"/v1/sessions/{session['id']}/video",
            params={"nonce": session["challenge"]["nonce"]},
            content=clips.bona_fide,
            headers={"Content-Type": "video/mp4"},
        )
        assert decided.status_code == 200, decided.text
        assert decided.json()["outcome"] == "pass", decided.json()
        read_back = ca.get(f"/v1/sessions/{session['id']}").json()
        assert read_back["state"] == "decided" and read_back["decision"]["outcome"] == "pass"
        body = {"session_id": session["id"], "document_type": "resident_id", "document_number": doc}
        registered = cb.post(f"/v1/numbers/{numbers[0]}/registration", json=body)
        assert registered.status_code == 201, registered.text
        assert ca.get(f"/v1/numbers/{numbers[0]}").json()["subscription"]["id"] == registered.json()["id"]
        again = ca.post(f"/v1/numbers/{numbers[0]}/registration", json=body)
        assert again.status_code == 409


def _fire(requests: list[tuple[str, str, dict]], clerk: str) -> Counter[tuple[int, str]]:
    """Send every request at once (half to each process); count (status, code) pairs."""
    barrier = threading.Barrier(len(requests))
    results: list[tuple[int, str]] = [(0, "")] * len(requests)

    def run(i: int) -> None:
        base, path, body = requests[i]
        with _client(base, clerk) as client:
            barrier.wait()
            r = client.post(path, json=body)
        results[i] = (r.status_code, r.json().get("code", "") if r.status_code >= 400 else "")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    return Counter(results)


def _passed_sessions(pg_url: str, operator_id: str, outlet_id: str, docs: list[str]) -> list:  # type: ignore[type-arg]
    database = Database(pg_url)
    protection = Protection(LocalMasterKeys([MASTER_KEY]))
    protection.prepare(database, now=datetime.now(UTC))
    try:
        return [
            seed.decided_session(
                database,
                protection,
                operator_id=operator_id,
                outlet_id=outlet_id,
                doc=seed.document(doc),
                now=datetime.now(UTC),
            )[0]
            for doc in docs
        ]
    finally:
        database.dispose()


def test_fifty_concurrent_registrations_at_one_id(two_servers: tuple[str, str, str], pg_url: str) -> None:
    a, b, admin = two_servers
    operator_id, outlet_id, clerk, numbers = _setup(a, b, admin, CONCURRENT)
    doc = seed.unique_resident_id()
    sessions = _passed_sessions(pg_url, operator_id, outlet_id, [doc] * CONCURRENT)
    requests = [
        (
            (a, b)[i % 2],
            f"/v1/numbers/{numbers[i]}/registration",
            {"session_id": s.id, "document_type": "resident_id", "document_number": doc},
        )
        for i, s in enumerate(sessions)
    ]
    outcome = _fire(requests, clerk)
    assert outcome == Counter({(201, ""): 5, (409, "DOCUMENT_NUMBER_LIMIT"): CONCURRENT - 5}), outcome


def test_fifty_concurrent_registrations_of_one_number(two_servers: tuple[str, str, str], pg_url: str) -> None:
    a, b, admin = two_servers
    operator_id, outlet_id, clerk, numbers = _setup(a, b, admin, 1)
    docs = [seed.unique_resident_id() for _ in range(CONCURRENT)]
    sessions = _passed_sessions(pg_url, operator_id, outlet_id, docs)
    requests = [
        (
            (a, b)[i % 2],
            f"/v1/numbers/{numbers[0]}/registration",
            {"session_id": s.id, "document_type": "resident_id", "document_number": docs[i]},
        )
        for i, s in enumerate(sessions)
    ]
    outcome = _fire(requests, clerk)
    assert outcome == Counter({(201, ""): 1, (409, "NUMBER_ASSIGNED"): CONCURRENT - 1}), outcome
