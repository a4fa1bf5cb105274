"""The whole service, with real models on a real dev clip, evidence retention off and on.

A clerk opens a session with an ID portrait, the customer's video is verified, a number is
registered, the holder later passes a self-service session and reads what is kept about them, and
an auditor pulls the signed inspection report. Then, as a data-protection officer would: the
portrait and video bytes are nowhere at rest (database, data directory, temp directory), the plaintext
scan is clean, retained evidence is ciphertext that disappears at its retention date, and the audit
chain verifies.
"""

from __future__ import annotations

import base64
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, select

from portraitmatch.adapters.keys.providers import ensure_development_signing_key, load_signer
from portraitmatch.adapters.storage.api_keys import create_api_key
from portraitmatch.adapters.storage.audit_store import (
    ChainSigning,
    SigningPolicy,
    anchor_path,
    events_between,
    verify_database,
)
from portraitmatch.adapters.storage.privacy_store import (
    EvidenceRow,
    known_personal_values,
    purge,
    scan_database,
    scan_directory,
)
from portraitmatch.audit.catalogue import EventType
from portraitmatch.audit.report_signature import verify_file
from portraitmatch.audit.signing import TrustedKeys, unb64
from portraitmatch.config import RetentionSettings, ServiceSettings, Settings
from portraitmatch.privacy import LocalMasterKeys
from portraitmatch.registry.access import Role
from tests.integration.storage import seed

PINNED = ("turn_left", "turn_right")  # what d12.mp4 performs (see tests/e2e/api/conftest.py)
NAME = "测试丙丁"


@pytest.fixture(scope="module")
def clip(dev_data: Path) -> tuple[bytes, bytes]:
    path = dev_data / "liveness" / "liveportrait" / "driving" / "d12.mp4"
    if not path.is_file():
        pytest.skip(f"dev clip {path} is missing")
    cap = cv2.VideoCapture(str(path))
    ok, bgr = cap.read()
    cap.release()
    assert ok
    ok, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    return jpeg.tobytes(), path.read_bytes()


@pytest.fixture(scope="module")
def engine():  # type: ignore[no-untyped-def]
    from portraitmatch.api import Engine

    return Engine.load(Settings())


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point every temp-file API at an empty directory we can inspect afterwards."""
    path = tmp_path / "tmp"
    path.mkdir()
    monkeypatch.setenv("TMPDIR", str(path))
    monkeypatch.setattr(tempfile, "tempdir", str(path))
    yield path


@pytest.mark.data
@pytest.mark.parametrize("retention_on", [False, True], ids=["retention-off", "retention-on"])
def test_full_flow_keeps_nothing_biometric_in_clear(  # type: ignore[no-untyped-def]
    engine, clip: tuple[bytes, bytes], tmp_path: Path, private_tmp: Path, retention_on: bool
) -> None:
    from portraitmatch.adapters.web import create_app

    portrait, video = clip
    data_dir = tmp_path / "data"
    settings = Settings(
        environment="development",
        data_dir=data_dir,
        retention=RetentionSettings(enabled=retention_on, days=30),
        service=ServiceSettings(pinned_challenge=PINNED),
    )
    ensure_development_signing_key(settings)
    provider = LocalMasterKeys([os.urandom(32)])
    app = create_app(settings, engine, key_provider=provider)
    ctx = app.state.context
    with TestClient(app) as client:
        now = datetime.now(UTC)
        with ctx.database.transaction() as db:
            admin = create_api_key(db=db, role=Role.ADMIN, outlet_id=None, label="admin", now=now).secret
            auditor = create_api_key(
                db=db, role=Role.AUDITOR, outlet_id=None, label="auditor", now=now
            ).secret

        def call(method: str, path: str, key: str, **kw):  # type: ignore[no-untyped-def]
            headers = {"Authorization": f"Bearer {key}", **kw.pop("headers", {})}
            return client.request(method, path, headers=headers, **kw)

        assert call("POST", "/v1/operators", admin, json={"id": "op-1", "name": "Op"}).status_code == 201
        assert (
            call(
                "POST", "/v1/outlets", admin, json={"id": "shop-1", "operator_id": "op-1", "name": "Shop"}
            ).status_code
            == 201
        )
        clerk = call("POST", "/v1/keys", admin, json={"role": "clerk", "outlet_id": "shop-1"}).json()["key"]
        msisdn = "13912345678"
        assert (
            call("POST", "/v1/operators/op-1/numbers", admin, json={"numbers": [msisdn]}).status_code == 200
        )
        doc = seed.unique_resident_id()
        form = {
            "document_type": "resident_id",
            "document_number": doc,
            "holder_name": NAME,
            "document_expires_on": "2035-01-01",
        }

        def verified(purpose: str) -> dict:  # type: ignore[type-arg]
            r = call(
                "POST",
                "/v1/sessions",
                clerk,
                data={**form, "purpose": purpose},
                files={"portrait": ("p.jpg", portrait, "image/jpeg")},
            )
            assert r.status_code == 201, r.text
            session = r.json()
            r = call(
                "POST",
                f"/v1/sessions/{session['id']}/video",
                session["capture_token"],
                params={"nonce": session["challenge"]["nonce"]},
                content=video,
                headers={"Content-Type": "video/mp4"},
            )
            assert r.status_code == 200 and r.json()["outcome"] == "pass", r.text
            return session

        session = verified("registration")
        body = {"session_id": session["id"], "document_type": "resident_id", "document_number": doc}
        assert call("POST", f"/v1/numbers/{msisdn}/registration", clerk, json=body).status_code == 201

        mine = verified("self_service")
        r = call("GET", f"/v1/sessions/{mine['id']}/holder-data", mine["capture_token"])
        assert r.status_code == 200, r.text
        kept = r.json()
        assert kept["holder_name"] == NAME and [n["msisdn"] for n in kept["numbers"]] == [msisdn]
        assert len(kept["sessions"]) == 2 and kept["personal_data_kept_until"] is None
        assert [e["label"] for e in kept["evidence"]] == (
            ["id_portrait", "id_portrait"] if retention_on else []
        )

        r = call(
            "GET",
            "/v1/reports/inspection",
            auditor,
            params={
                "from": (now - timedelta(days=1)).isoformat(),
                "to": (now + timedelta(days=1)).isoformat(),
                "format": "pdf",
            },
        )
        assert r.status_code == 200, r.text
        signer = load_signer(settings)
        trusted = TrustedKeys([signer.public_key])
        assert verify_file(trusted, r.content, unb64(r.headers["X-PortraitMatch-Signature"])) == signer.key_id
        assert (
            call(
                "GET", "/v1/reports/inspection", clerk, params={"from": "2026-01-01", "to": "2026-02-01"}
            ).status_code
            == 403
        )

    database = ctx.database
    # Nothing biometric or personal in clear, anywhere at rest.
    with database.reading() as db:
        needles = known_personal_values(db=db, protection=ctx.protection)
        evidence = list(db.scalars(select(EvidenceRow)))
    assert ("name", NAME) in needles and ("id_number", doc) in needles
    findings = scan_database(database=database, needles=needles)
    findings += scan_directory(data_dir, needles=needles) + scan_directory(private_tmp, needles=needles)
    assert findings == []
    assert list(private_tmp.iterdir()) == []  # no temp files at all
    rest = _dump(database) + b"".join(p.read_bytes() for p in data_dir.rglob("*") if p.is_file())
    for secret in (portrait, video[1000:1600], base64.b64encode(portrait)[:200], NAME.encode(), doc.encode()):
        assert secret not in rest
    assert len(evidence) == (2 if retention_on else 0)
    with database.reading() as db:
        sealed_events = [
            e
            for e in events_between(
                db=db, start=now - timedelta(hours=1), end=datetime.now(UTC) + timedelta(hours=1)
            )
            if e.type is EventType.EVIDENCE_SEALED
        ]
    assert len(sealed_events) == len(evidence)

    # Retention end: the evidence and its key go; the audit chain is intact and signed.
    later = datetime.now(UTC) + timedelta(days=31)
    with database.transaction() as db:
        result = purge(db=db, protection=ctx.protection, retention=settings.retention, now=later)
    assert result.evidence_deleted == (2 if retention_on else 0)
    ChainSigning(database, signer, SigningPolicy.from_settings(settings), anchor_path(settings)).sign(
        now=datetime.now(UTC), force=True
    )
    status = verify_database(
        database=database,
        trusted=trusted,
        now=datetime.now(UTC),
        policy=SigningPolicy.from_settings(settings),
        anchor_file=anchor_path(settings),
    )
    assert status.is_intact, status.findings
    database.dispose()


def _dump(database) -> bytes:  # type: ignore[no-untyped-def]
    meta = MetaData()
    meta.reflect(database.engine)
    out = bytearray()
    with database.engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(select(table)):
                for value in row:
                    out += bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()
    return bytes(out)
