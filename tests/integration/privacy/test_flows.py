"""Registration flows against real storage, with evidence retention off (the default) and on.

Checked the way a data-protection officer would: nothing biometric at rest by default; with
retention on only ciphertext; after shredding nothing recoverable, backups included; holders past
their legal period forgotten; ``privacy-check`` clean throughout, and not clean when plaintext is
planted (so the check can fail).
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import select, text

from portraitmatch.adapters.storage import numbers as number_store
from portraitmatch.adapters.storage.audit_store import (
    ChainSigning,
    SigningPolicy,
    SqlAuditSink,
    verify_database,
)
from portraitmatch.adapters.storage.database import Database
from portraitmatch.adapters.storage.privacy_store import (
    ErasureRefused,
    EvidenceRow,
    erase_document,
    is_forgotten,
    keep_evidence,
    known_personal_values,
    open_evidence,
    purge,
    scan_database,
    scan_directory,
)
from portraitmatch.adapters.storage.protection import Protection
from portraitmatch.adapters.storage.tables import DataKeyRow, DocumentRow
from portraitmatch.audit.catalogue import EventType
from portraitmatch.audit.event import AuditEvent
from portraitmatch.audit.signing import Ed25519Signer, TrustedKeys
from portraitmatch.config import RetentionSettings
from portraitmatch.privacy import KeyShredded, LocalMasterKeys, Purpose, Sealed, unseal
from tests.integration.storage import seed

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
SIGNER = Ed25519Signer.generate()
NAME = "王小明"


def _jpeg(seed_value: int) -> bytes:
    """A real JPEG (a synthetic gradient, no person in it) standing in for a portrait or a frame."""
    rng = np.random.default_rng(seed_value)
    y, x = np.mgrid[0:240, 0:200]
    img = np.stack([(x + y) % 256, (x * 2) % 256, (y * 3) % 256], axis=-1).astype(np.uint8)
    img = np.clip(img.astype(int) + rng.integers(0, 20, img.shape), 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", img)
    assert ok
    return buf.tobytes()


@dataclass
class Flow:
    database: Database
    protection: Protection
    data_dir: Path
    sink: SqlAuditSink
    retention: RetentionSettings
    document_id: int = 0
    subject_ref: str = ""
    number: str = ""
    msisdn: str = ""
    portrait: bytes = b""
    frames: tuple[bytes, ...] = ()


def _register(flow: Flow, now: datetime) -> None:
    """What the service does: verify (a passed session), keep evidence if configured, register, audit."""
    operator_id, outlet_id = seed.outlet(flow.database, now=now)
    flow.msisdn = str(13_800_000_000 + int.from_bytes(os.urandom(3), "big"))
    with flow.database.transaction() as db:
        number_store.add_numbers(db=db, operator_id=operator_id, msisdns=[flow.msisdn], now=now)
    flow.number = seed.unique_resident_id()
    session, flow.document_id = seed.decided_session(
        flow.database,
        flow.protection,
        operator_id=operator_id,
        outlet_id=outlet_id,
        doc=seed.document(flow.number, name=NAME),
        now=now,
    )
    flow.portrait, flow.frames = _jpeg(1), tuple(_jpeg(i) for i in range(2, 8))
    with flow.database.transaction() as db:
        flow.subject_ref = db.get(DocumentRow, flow.document_id).subject_ref
        kept = keep_evidence(
            db=db,
            protection=flow.protection,
            retention=flow.retention,
            subject_ref=flow.subject_ref,
            session_id=session.id,
            id_portrait=flow.portrait,
            frames=flow.frames,
            now=now,
        )
        flow.sink.record(
            AuditEvent.create(
                EventType.SESSION_DECIDED,
                at=now,
                actor="key:clerk1",
                outlet=outlet_id,
                objects={"session": session.id, "document": flow.subject_ref},
                details={"outcome": "pass", "reasons": "CHALLENGE_PASSED,MATCH", "evidence_kept": bool(kept)},
            ),
            db=db,
        )
        sub = number_store.register_number(
            db=db,
            session=session,
            document_id=flow.document_id,
            msisdn=flow.msisdn,
            operator_id=operator_id,
            limit=5,
            now=now,
        )
        flow.sink.record(
            AuditEvent.create(
                EventType.NUMBER_REGISTERED,
                at=now,
                actor="key:clerk1",
                outlet=outlet_id,
                objects={"subscription": sub.id, "session": session.id, "document": flow.subject_ref},
                details={"channel": "counter", "numbers_held": 1},
            ),
            db=db,
        )


def _check(flow: Flow, *extra: Path) -> list:  # type: ignore[type-arg]
    with flow.database.reading() as db:
        needles = known_personal_values(db=db, protection=flow.protection)
    findings = scan_database(database=flow.database, needles=needles)
    for root in (flow.data_dir, *extra):
        findings += scan_directory(root, needles=needles)
    return findings


def _dump(database: Database) -> bytes:
    from sqlalchemy import MetaData

    meta = MetaData()
    meta.reflect(database.engine)
    out = bytearray()
    with database.engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(select(table)):
                for value in row:
                    out += bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()
    return bytes(out)


def _everything_at_rest(flow: Flow) -> bytes:
    files = b"".join(p.read_bytes() for p in sorted(flow.data_dir.rglob("*")) if p.is_file())
    return _dump(flow.database) + files


@pytest.fixture
def flow_of(database: Database, data_dir: Path):  # type: ignore[no-untyped-def]
    def make(retention: RetentionSettings) -> Flow:
        protection = Protection(LocalMasterKeys([os.urandom(32)]))
        protection.prepare(database, now=T0)
        signing = ChainSigning(
            database, SIGNER, SigningPolicy(every_events=3, every_s=3600), data_dir / "anchors"
        )
        return Flow(database, protection, data_dir, SqlAuditSink(signing=signing), retention)

    return make


def test_default_keeps_nothing_biometric(flow_of, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    flow = flow_of(RetentionSettings())
    _register(flow, T0)
    with flow.database.reading() as db:
        assert db.scalar(select(EvidenceRow.id)) is None
        assert not [
            k
            for k in db.scalars(select(DataKeyRow))
            if k.subject_ref == flow.subject_ref and k.purpose == Purpose.BIOMETRIC.value
        ]
    rest = _everything_at_rest(flow)
    assert flow.portrait not in rest and not any(f in rest for f in flow.frames)
    assert NAME.encode() not in rest and flow.number.encode() not in rest
    assert _check(flow) == []


def test_retention_on_keeps_only_ciphertext_then_shreds_it(flow_of) -> None:  # type: ignore[no-untyped-def]
    flow = flow_of(RetentionSettings(enabled=True, frames_kept=3, days=30))
    _register(flow, T0)
    with flow.database.reading() as db:
        rows = list(db.scalars(select(EvidenceRow).order_by(EvidenceRow.id)))
        backup = [bytes(r.token) for r in rows]  # what a backup taken now would hold
        assert [r.label for r in rows] == ["id_portrait", "frame", "frame", "frame"]
        info, portrait = open_evidence(db=db, keys=flow.protection.keys(db), evidence_id=rows[0].id)
        assert portrait == flow.portrait and info.expires_at == T0 + 30 * DAY
    rest = _everything_at_rest(flow)
    assert flow.portrait not in rest and not any(f in rest for f in flow.frames)
    assert b"JFIF" not in _dump(flow.database)
    assert _check(flow) == []

    with flow.database.transaction() as db:
        assert purge(db=db, protection=flow.protection, retention=flow.retention, now=T0 + 29 * DAY).is_noop
    with flow.database.transaction() as db:
        result = purge(db=db, protection=flow.protection, retention=flow.retention, now=T0 + 30 * DAY)
    assert result.evidence_deleted == 4
    assert {(r.ref.subject_ref, r.ref.purpose) for r in result.receipts} >= {
        (flow.subject_ref, Purpose.BIOMETRIC)
    }
    with flow.database.transaction() as db:
        assert purge(db=db, protection=flow.protection, retention=flow.retention, now=T0 + 30 * DAY).is_noop
    with flow.database.reading() as db:
        keys = flow.protection.keys(db)
        for token in backup:  # restored from a backup: still unreadable, the key is gone
            with pytest.raises(KeyShredded):
                unseal(keys.for_opening(Sealed.from_token(token).ref), token)
        assert db.scalar(select(EvidenceRow.id)) is None
    assert _check(flow) == []


def test_holder_forgotten_after_last_number_and_legal_period(flow_of) -> None:  # type: ignore[no-untyped-def]
    retention = RetentionSettings(enabled=True, days=30, days_after_last_cancellation=365)
    flow = flow_of(retention)
    _register(flow, T0)
    with flow.database.transaction() as db, pytest.raises(ErasureRefused):
        erase_document(db=db, protection=flow.protection, document_id=flow.document_id, now=T0)
    cancelled = T0 + 10 * DAY
    with flow.database.transaction() as db:
        number_store.cancel_number(
            db=db, msisdn=flow.msisdn, operator_id=None, cooling_days=90, now=cancelled
        )
    with flow.database.transaction() as db:
        early = purge(db=db, protection=flow.protection, retention=retention, now=cancelled + 364 * DAY)
        assert flow.document_id not in early.documents_forgotten  # evidence expired, the record stays
    with flow.database.reading() as db:
        assert not is_forgotten(db=db, protection=flow.protection, document_id=flow.document_id)
    with flow.database.transaction() as db:
        late = purge(db=db, protection=flow.protection, retention=retention, now=cancelled + 365 * DAY)
    assert late.documents_forgotten == (flow.document_id,)
    with flow.database.reading() as db:
        assert is_forgotten(db=db, protection=flow.protection, document_id=flow.document_id)
        row = db.get(DocumentRow, flow.document_id)
        assert row.lookup_key.startswith("erased_")  # the ID number can no longer be matched either
        assert known_personal_values(db=db, protection=flow.protection) == []
    status = verify_database(
        database=flow.database,
        trusted=TrustedKeys([SIGNER.public_key]),
        now=cancelled + 365 * DAY,
        policy=SigningPolicy(every_events=3, every_s=3600),
        anchor_file=flow.data_dir / "anchors",
    )
    assert status.findings == () or {f.kind.value for f in status.findings} == {"signing_overdue"}


def test_lawful_erasure_after_cancellation(flow_of) -> None:  # type: ignore[no-untyped-def]
    flow = flow_of(RetentionSettings())
    _register(flow, T0)
    with flow.database.transaction() as db:
        number_store.cancel_number(db=db, msisdn=flow.msisdn, operator_id=None, cooling_days=90, now=T0 + DAY)
        receipts = erase_document(
            db=db, protection=flow.protection, document_id=flow.document_id, now=T0 + DAY
        )
    assert {r.ref.purpose for r in receipts} == {Purpose.PERSONAL}
    with flow.database.reading() as db:
        assert is_forgotten(db=db, protection=flow.protection, document_id=flow.document_id)


def test_privacy_check_finds_planted_plaintext(flow_of, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    flow = flow_of(RetentionSettings())
    _register(flow, T0)
    assert _check(flow) == []
    # A careless log line and a debug dump of a frame in the data directory, a name in a table.
    (flow.data_dir / "logs").mkdir(parents=True, exist_ok=True)
    (flow.data_dir / "logs" / "service.log").write_text(f"registered holder {NAME}\n", encoding="utf-8")
    (flow.data_dir / "debug-frame.bin").write_bytes(b"\x00" * 10 + flow.frames[0])
    temp = tmp_path / "tmpdir"
    temp.mkdir()
    (temp / "upload").write_bytes(base64.b64encode(flow.portrait))
    with flow.database.transaction() as db:
        db.execute(text("UPDATE outlets SET name = :n"), {"n": f"shop of {flow.number}"})
    found = {(f.kind, f.what, f.location.split(" ")[0].split("@")[0]) for f in _check(flow, temp)}
    assert ("personal_text", "name", f"file:{flow.data_dir / 'logs' / 'service.log'}") in found
    assert ("image", "jpeg", f"file:{flow.data_dir / 'debug-frame.bin'}") in found
    assert ("image", "base64_jpeg", f"file:{temp / 'upload'}") in found
    assert ("personal_text", "id_number", "db:outlets.name") in found
