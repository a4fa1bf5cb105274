"""The audit chain in SQLite and PostgreSQL: appends from many threads, signed checkpoints, and
tampering done with plain SQL (what anyone with write access to the database can do)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from portraitmatch.adapters.storage.audit_store import (
    SigningPolicy,
    SqlAuditSink,
    append_event,
    checkpoints,
    events_between,
    sign_pending,
    stored_entries,
    verify_database,
)
from portraitmatch.adapters.storage.database import Database
from portraitmatch.audit.catalogue import EventType
from portraitmatch.audit.event import AuditEvent
from portraitmatch.audit.signing import Ed25519Signer, TrustedKeys
from portraitmatch.audit.verify import FindingKind

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
SIGNER = Ed25519Signer.from_seed(bytes(range(32)))
TRUSTED = TrustedKeys([SIGNER.public_key])
POLICY = SigningPolicy(every_events=5, every_s=300)


def _event(i: int) -> AuditEvent:
    return AuditEvent.create(
        EventType.SESSION_CREATED,
        at=T0 + timedelta(seconds=i),
        actor=f"key:k{i % 3}",
        outlet=f"out-{i % 2}",
        objects={"session": f"s{i:05d}", "document": str(i % 7)},
        details={"channel": "counter", "purpose": "register"},
    )


def _fill(database: Database, n: int, anchor: Path | None = None) -> None:
    for i in range(1, n + 1):
        with database.transaction() as db:
            append_event(db=db, event=_event(i))
        sign_pending(
            database=database, signer=SIGNER, now=T0 + timedelta(seconds=i), policy=POLICY, anchor_file=anchor
        )


def _verify(database: Database, anchor: Path | None = None):  # type: ignore[no-untyped-def]
    return verify_database(
        database=database, trusted=TRUSTED, now=T0 + timedelta(minutes=5), policy=POLICY, anchor_file=anchor
    )


def _sql(database: Database, *statements: str) -> None:
    with database.engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))


def _kinds(status) -> list[tuple[FindingKind, int | None]]:  # type: ignore[no-untyped-def]
    return [(f.kind, f.seq) for f in status.findings]


def test_appends_sign_and_verify(database: Database) -> None:
    _fill(database, 23)
    with database.reading() as db:
        cps = checkpoints(db=db)
        events = list(events_between(db=db, start=T0, end=T0 + timedelta(seconds=10)))
    assert [(c.from_seq, c.to_seq) for c in cps] == [(1, 5), (6, 10), (11, 15), (16, 20)]
    assert [e.object_id("session") for e in events] == [f"s{i:05d}" for i in range(1, 10)]
    assert events[0] == _event(1)  # read back exactly as written
    status = _verify(database)
    assert status.is_intact, status.findings
    assert (status.entry_count, status.signed_through, status.unsigned_count) == (23, 20, 3)


def test_a_rolled_back_action_leaves_no_event(database: Database) -> None:
    _fill(database, 2)
    with pytest.raises(RuntimeError), database.transaction() as db:
        append_event(db=db, event=_event(3))
        raise RuntimeError("the action failed")
    with database.reading() as db:
        assert [e.seq for e in stored_entries(db=db)] == [1, 2]
    assert _verify(database).is_intact


def test_concurrent_appends_form_one_chain(database: Database) -> None:
    errors: list[BaseException] = []

    def worker(w: int) -> None:
        try:
            for i in range(15):
                with database.transaction() as db:
                    SqlAuditSink().record(_event(w * 100 + i), db=db)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    sign_pending(database=database, signer=SIGNER, now=T0, policy=None, anchor_file=None)
    with database.reading() as db:
        assert [e.seq for e in stored_entries(db=db)] == list(range(1, 61))
    assert _verify(database).is_intact


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        (["UPDATE audit_events SET actor = 'key:forged' WHERE seq = 7"], [(FindingKind.EDITED, 7)]),
        (
            ['UPDATE audit_events SET details = \'{"channel":"remote"}\' WHERE seq = 12'],
            [(FindingKind.EDITED, 12)],
        ),
        (["DELETE FROM audit_events WHERE seq = 8"], [(FindingKind.DELETED, 8)]),
        (
            [  # swap two rows' places (via a free sequence number)
                "UPDATE audit_events SET seq = 1000 WHERE seq = 3",
                "UPDATE audit_events SET seq = 3 WHERE seq = 4",
                "UPDATE audit_events SET seq = 4 WHERE seq = 1000",
            ],
            "reordered",
        ),
        (
            ["UPDATE audit_events SET actor = 'key:forged' WHERE seq = 22"],
            [(FindingKind.EDITED, 22)],
        ),  # unsigned
        (["DELETE FROM audit_events WHERE seq = 21"], [(FindingKind.DELETED, 21)]),  # unsigned
    ],
    ids=["edit-actor", "edit-details", "delete", "reorder", "edit-unsigned", "delete-unsigned"],
)
def test_sql_tampering_is_located(database: Database, tamper: list[str], expected: object) -> None:
    _fill(database, 23)
    _sql(database, *tamper)
    status = _verify(database)
    assert not status.is_intact
    if expected == "reordered":
        assert {k for k, _ in _kinds(status)} == {FindingKind.REORDERED}
        assert {s for _, s in _kinds(status)} <= {3, 4}
    else:
        assert _kinds(status) == expected


def test_sql_insertion_is_located(database: Database) -> None:
    _fill(database, 20)
    with database.reading() as db:
        prev = stored_entries(db=db)[4]  # seq 5
    # Make room at seq 6 (from the top down, so the primary key never collides) and insert a row
    # whose digest and link are computed correctly: only the signing key is missing.
    from portraitmatch.audit.chain import event_digest, link_hash
    from portraitmatch.audit.event import canonical_json

    forged = AuditEvent.create(
        EventType.NUMBER_CANCELLED, at=T0, actor="key:k0", objects={"subscription": "77"}, details={}
    )
    digest = event_digest(forged)
    doc = forged.to_json()
    with database.engine.begin() as conn:
        for s in range(20, 5, -1):
            conn.execute(text("UPDATE audit_events SET seq = seq + 1 WHERE seq = :s"), {"s": s})
        conn.execute(
            text(
                "INSERT INTO audit_events (seq, code, type, at, actor, outlet, objects, details, digest, "
                "prev_hash, hash) VALUES (6, :code, :type, :at, 'key:k0', NULL, :objects, '{}', :digest, "
                ":prev, :hash)"
            ),
            {
                "code": forged.code,
                "type": forged.type.value,
                "at": T0.replace(tzinfo=None) if database.dialect == "sqlite" else T0,
                "objects": canonical_json(doc["objects"]).decode(),
                "digest": digest,
                "prev": prev.hash,
                "hash": link_hash(prev.hash, digest),
            },
        )
    assert _kinds(_verify(database)) == [(FindingKind.INSERTED, 6)]


def test_deleting_checkpoints_and_truncating_is_caught_with_the_anchor_file(
    database: Database, tmp_path: Path
) -> None:
    anchor = tmp_path / "anchors.jsonl"
    _fill(database, 20, anchor)
    assert len(anchor.read_text().splitlines()) == 4
    assert _verify(database, anchor).is_intact
    _sql(database, "DELETE FROM audit_events WHERE seq > 15", "DELETE FROM audit_checkpoints WHERE idx = 4")
    assert _verify(database).is_intact  # the database alone cannot tell…
    status = _verify(database, anchor)  # …the anchor file outside it can
    assert (FindingKind.CHECKPOINT_MISSING, 16) in _kinds(status)
    assert {(FindingKind.DELETED, s) for s in range(16, 21)} <= set(_kinds(status))


def test_forged_checkpoint_signature_is_rejected(database: Database) -> None:
    _fill(database, 10)
    _sql(database, "UPDATE audit_events SET actor = 'key:forged' WHERE seq = 9")
    # Re-sign with a key the verifier does not trust.
    _sql(database, "DELETE FROM audit_checkpoints WHERE idx = 2")
    sign_pending(database=database, signer=Ed25519Signer.generate(), now=T0, policy=None, anchor_file=None)
    kinds = {k for k, _ in _kinds(_verify(database))}
    assert FindingKind.BAD_SIGNATURE in kinds


def test_the_signing_key_is_nowhere_in_the_database(database: Database) -> None:
    _fill(database, 12)
    dump = _dump(database)
    seed = bytes(range(32))
    assert seed not in dump and seed.hex().encode() not in dump
    assert SIGNER.private_pem() not in dump


def _dump(database: Database) -> bytes:
    from sqlalchemy import MetaData, select

    meta = MetaData()
    meta.reflect(database.engine)
    out = bytearray()
    with database.engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(select(table)):
                for value in row:
                    out += value if isinstance(value, bytes) else str(value).encode()
    return bytes(out)


def test_sink_signs_after_commit_when_due_and_never_for_a_rollback(
    database: Database, tmp_path: Path
) -> None:
    from portraitmatch.adapters.storage.audit_store import ChainSigning

    anchors = tmp_path / "anchors.jsonl"
    sink = SqlAuditSink(
        signing=ChainSigning(database, SIGNER, SigningPolicy(every_events=4, every_s=3600), anchors)
    )
    for i in range(1, 11):
        with database.transaction() as db:
            sink.record(_event(i), db=db)
    with pytest.raises(RuntimeError), database.transaction() as db:
        for i in range(11, 16):  # due inside this transaction, but it rolls back
            sink.record(_event(i), db=db)
        raise RuntimeError("the action failed")
    with database.reading() as db:
        assert [(c.from_seq, c.to_seq) for c in checkpoints(db=db)] == [(1, 4), (5, 8)]
    assert len(anchors.read_text().splitlines()) == 2
    status = verify_database(
        database=database, trusted=TRUSTED, now=T0 + timedelta(seconds=20), policy=POLICY, anchor_file=anchors
    )
    assert status.is_intact and status.unsigned_count == 2


def test_service_sink_redacts_instead_of_failing(database: Database) -> None:
    from dataclasses import dataclass, field

    @dataclass
    class ServiceEvent:  # the shape adapters.web.events.ServiceEvent has
        type: EventType
        actor: str
        at: datetime
        outlet_id: str | None = None
        objects: dict = field(default_factory=dict)
        details: dict = field(default_factory=dict)

    event = ServiceEvent(
        EventType.NUMBER_CANCELLED,
        "key:k1",
        T0,
        objects={"subscription": "5", "number": "13800138000"},
        details={"reason": "customer said ZHANG moved away", "last_number": True},
    )
    with pytest.raises(ValueError), database.transaction() as db:
        SqlAuditSink().record(event, db=db)  # strict: refused
    with database.transaction() as db:
        SqlAuditSink(strict=False).record(event, db=db)
    with database.reading() as db:
        stored = list(events_between(db=db, start=T0, end=T0 + timedelta(seconds=1)))
    assert stored[0].object_id("number") == "REDACTED" and stored[0].detail("reason") == "REDACTED"
    assert b"13800138000" not in _dump(database) and b"ZHANG" not in _dump(database)
