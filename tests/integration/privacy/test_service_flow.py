"""The whole service, with real models on a real dev clip, evidence retention off and on, on SQLite
and PostgreSQL.

A clerk opens a session with an ID portrait, the customer consents and their video is verified, a
number is registered, the holder later passes a self-service session and reads what is kept about
them, and an auditor pulls the signed inspection report. Then, as a data-protection officer would:
the portrait, video and frame bytes are nowhere at rest in clear (database, data directory, temp
directory), ``portraitmatch privacy-check`` is clean, retained evidence (the ID portrait and the best
live frames) is ciphertext that opens with the holder's key to the portrait and to pictures of a face,
and nothing of it can be recovered after its retention date; the audit chain verifies.
"""

from __future__ import annotations

import base64
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, select
from typer.testing import CliRunner

from portraitmatch.adapters.cli.app import _register
from portraitmatch.adapters.cli.app import app as cli_app
from portraitmatch.adapters.keys.providers import load_key_provider, load_signer
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
    open_evidence,
    purge,
)
from portraitmatch.adapters.web.routes.console import NOTICE_VERSION
from portraitmatch.audit.catalogue import EventType
from portraitmatch.audit.report_signature import verify_file
from portraitmatch.audit.signing import TrustedKeys, unb64
from portraitmatch.config import RetentionSettings, ServiceSettings, Settings
from portraitmatch.privacy import KeyShredded, Sealed, unseal
from portraitmatch.registry.access import Role
from tests.integration.audit.databases import KINDS
from tests.integration.storage import seed
from tests.pg import fresh_database, unreachable_reason

PINNED = ("turn_left", "turn_right")  # what d12.mp4 performs (see tests/e2e/api/conftest.py)
NAME = "测试丙丁"
FRAMES_KEPT = 2

_register()


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


@contextmanager
def database_url(kind: str) -> Iterator[str | None]:
    """None: the service's default SQLite file in the data directory; else a fresh PostgreSQL database."""
    if kind == "sqlite":
        yield None
        return
    reason = unreachable_reason()
    if reason is not None:
        pytest.skip(reason)
    with fresh_database("pm_flow") as url:
        yield url


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli_app, list(args))
    return result.exit_code, result.output


@pytest.mark.data
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("retention_on", [False, True], ids=["retention-off", "retention-on"])
def test_full_flow_keeps_nothing_biometric_in_clear(  # type: ignore[no-untyped-def]
    engine, clip: tuple[bytes, bytes], tmp_path: Path, private_tmp: Path, retention_on: bool, kind: str
) -> None:
    with database_url(kind) as url:
        _full_flow(engine, clip, tmp_path / "data", private_tmp, retention_on, url)


def _full_flow(  # type: ignore[no-untyped-def]
    engine, clip: tuple[bytes, bytes], data_dir: Path, private_tmp: Path, retention_on: bool, url: str | None
) -> None:
    from portraitmatch.adapters.web import create_app

    portrait, video = clip
    where = ["--data-dir", str(data_dir), *(["--database-url", url] if url else [])]
    code, out = cli("keys", "init", *where)  # the master key file and signing key, as an operator does
    assert code == 0, out
    settings = Settings(
        environment="development",
        data_dir=data_dir,
        database_url=url,
        retention=RetentionSettings(enabled=retention_on, days=30, frames_kept=FRAMES_KEPT),
        service=ServiceSettings(pinned_challenge=PINNED),
    )
    app = create_app(settings, engine, key_provider=load_key_provider(settings))
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
            "capture": "video",
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
            token = session["capture_token"]
            consent = {"notice_version": NOTICE_VERSION, "language": "zh"}
            r = call("POST", f"/v1/sessions/{session['id']}/consent", token, json=consent)
            assert r.status_code == 200, r.text
            r = call(
                "POST",
                f"/v1/sessions/{session['id']}/video",
                token,
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
        # The holder sees each kept portrait and frame, with the date it is deleted by.
        shown = [e["label"] for e in kept["evidence"]]
        if retention_on:
            assert shown.count("id_portrait") == 2 and 2 <= shown.count("frame") <= 2 * FRAMES_KEPT, shown
            assert all(e["deleted_by"] > e["sealed_at"] for e in kept["evidence"])
        else:
            assert shown == []

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
    # Nothing biometric or personal in clear, anywhere at rest: the operator's own check says so.
    code, out = cli("privacy-check", *where, "--also", str(private_tmp), "--json")
    assert code == 0, out
    report = json.loads(out)
    assert report["clean"] and report["known_values_checked"] >= 2, report
    assert list(private_tmp.iterdir()) == []  # no temp files at all

    with database.reading() as db:
        evidence = list(db.scalars(select(EvidenceRow).order_by(EvidenceRow.id)))
        keys = ctx.protection.keys(db)
        opened = [open_evidence(db=db, keys=keys, evidence_id=row.id) for row in evidence]
        events = list(
            events_between(db=db, start=now - timedelta(hours=1), end=datetime.now(UTC) + timedelta(hours=1))
        )
    backup = [Sealed.from_token(bytes(row.token)) for row in evidence]  # as a database backup holds them
    frames = [data for info, data in opened if info.label == "frame"]
    for session_id in (session["id"], mine["id"]):
        labels = [row.label for row in evidence if row.session_id == session_id]
        expected = ["id_portrait", *["frame"] * labels.count("frame")] if retention_on else []
        assert labels == expected and labels.count("frame") <= FRAMES_KEPT
        assert (labels.count("frame") >= 1) is retention_on
    for info, data in opened:
        if info.label == "id_portrait":
            assert data == portrait
        else:
            assert data[:3] == b"\xff\xd8\xff"
            engine.find_portrait(data)  # a picture of a face (raises when there is none)

    rest = _dump(database) + b"".join(p.read_bytes() for p in data_dir.rglob("*") if p.is_file())
    plain = (portrait, video[1000:1600], base64.b64encode(portrait)[:200], NAME.encode(), doc.encode())
    for secret in (*plain, *(f[200:800] for f in frames)):
        assert secret not in rest
    sealed_events = [e for e in events if e.type is EventType.EVIDENCE_SEALED]
    assert sum(len(str(e.detail("artefacts")).split(",")) for e in sealed_events) == len(evidence)
    assert len(sealed_events) == (4 if retention_on else 0)  # per session: the portrait, the frames
    decided = [e.detail("evidence_kept") for e in events if e.type is EventType.SESSION_DECIDED]
    assert decided == [retention_on, retention_on]
    for e in events:  # nothing personal in the audit details, whatever was kept
        assert NAME not in json.dumps(e.to_json(), ensure_ascii=False) and doc not in str(e.to_json())

    # Retention end: the evidence and its key go, backups included; the audit chain is intact and signed.
    later = datetime.now(UTC) + timedelta(days=31)
    with database.transaction() as db:
        result = purge(db=db, protection=ctx.protection, retention=settings.retention, now=later)
    assert result.evidence_deleted == len(evidence)
    with database.reading() as db:
        assert list(db.scalars(select(EvidenceRow))) == []
        keys = ctx.protection.keys(db)
        for sealed in backup:
            with pytest.raises(KeyShredded):
                unseal(keys.for_opening(sealed.ref), sealed)
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
