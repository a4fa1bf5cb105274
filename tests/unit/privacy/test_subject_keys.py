"""Subject keys through a key store: creation, expiry extension, shredding, purge, rotation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from portraitmatch.privacy import (
    KeyRef,
    KeyShredded,
    LocalMasterKeys,
    MemoryKeyStore,
    Purpose,
    ShredReason,
    SubjectKeys,
    seal,
    unseal,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
MASTER = bytes(range(32))


def _keys() -> SubjectKeys:
    return SubjectKeys(MemoryKeyStore(), LocalMasterKeys([MASTER]))


def test_same_key_until_shredded_then_unrecoverable() -> None:
    keys = _keys()
    k1 = keys.for_sealing("doc-1", Purpose.BIOMETRIC, now=T0, keep_until=T0 + 30 * DAY)
    k2 = keys.for_sealing("doc-1", Purpose.BIOMETRIC, now=T0 + DAY, keep_until=T0 + 31 * DAY)
    assert k1 == k2
    sealed = seal(k1, b"frame bytes", label="frame", now=T0)
    assert unseal(keys.for_opening(sealed.ref), sealed) == b"frame bytes"

    receipts = keys.shred("doc-1", reason=ShredReason.ERASURE_REQUEST, now=T0 + 2 * DAY)
    assert [r.ref for r in receipts] == [k1.ref]
    with pytest.raises(KeyShredded):
        keys.for_opening(sealed.ref)
    assert keys.shred("doc-1", reason=ShredReason.ERASURE_REQUEST, now=T0 + 3 * DAY) == []  # idempotent
    # New evidence after shredding gets a new generation, never the destroyed reference.
    k3 = keys.for_sealing("doc-1", Purpose.BIOMETRIC, now=T0 + 4 * DAY, keep_until=T0 + 34 * DAY)
    assert k3.ref.generation == 2 and k3.secret != k1.secret


def test_expiry_is_pushed_out_to_cover_new_evidence_and_purge_is_idempotent() -> None:
    keys = _keys()
    keys.for_sealing("doc-1", Purpose.BIOMETRIC, now=T0, keep_until=T0 + 30 * DAY)
    keys.for_sealing("doc-1", Purpose.BIOMETRIC, now=T0 + 10 * DAY, keep_until=T0 + 40 * DAY)
    keys.for_sealing("doc-2", Purpose.BIOMETRIC, now=T0, keep_until=T0 + 30 * DAY)
    keys.for_sealing("doc-2", Purpose.PERSONAL, now=T0)  # no scheduled end
    keys.index_key(now=T0)

    assert keys.shred_expired(now=T0 + 29 * DAY) == []
    due = keys.shred_expired(now=T0 + 30 * DAY)
    assert [(r.ref.subject_ref, r.ref.purpose, r.reason) for r in due] == [
        ("doc-2", Purpose.BIOMETRIC, ShredReason.RETENTION_EXPIRED)
    ]
    assert keys.shred_expired(now=T0 + 30 * DAY) == []
    assert [r.ref.subject_ref for r in keys.shred_expired(now=T0 + 40 * DAY)] == ["doc-1"]
    live = {(w.ref.subject_ref, w.ref.purpose) for w in keys.store.live()}
    assert live == {("doc-2", Purpose.PERSONAL), ("_service", Purpose.ID_INDEX)}


def test_an_expired_key_awaiting_purge_never_takes_new_data() -> None:
    keys = _keys()
    old = keys.for_sealing("doc-1", Purpose.BIOMETRIC, now=T0, keep_until=T0 + DAY)
    new = keys.for_sealing("doc-1", Purpose.BIOMETRIC, now=T0 + 2 * DAY, keep_until=T0 + 32 * DAY)
    assert new.ref.generation == old.ref.generation + 1
    keys.shred_expired(now=T0 + 2 * DAY)
    assert keys.for_opening(new.ref) == new
    with pytest.raises(KeyShredded):
        keys.for_opening(old.ref)


def test_schedule_after_last_cancellation_keeps_an_earlier_date() -> None:
    keys = _keys()
    keys.for_sealing("doc-1", Purpose.BIOMETRIC, now=T0, keep_until=T0 + 30 * DAY)
    keys.for_sealing("doc-1", Purpose.PERSONAL, now=T0)
    legal_end = T0 + 365 * DAY
    assert keys.schedule_shredding("doc-1", Purpose.PERSONAL, legal_end) == 1
    assert keys.schedule_shredding("doc-1", Purpose.BIOMETRIC, legal_end, only_earlier=True) == 0
    assert keys.store.latest("doc-1", Purpose.PERSONAL).expires_at == legal_end
    # A new registration before the end cancels the schedule.
    assert keys.schedule_shredding("doc-1", Purpose.PERSONAL, None) == 1
    assert keys.store.latest("doc-1", Purpose.PERSONAL).expires_at is None


def test_service_keys_are_never_shredded_by_subject() -> None:
    keys = _keys()
    index = keys.index_key(now=T0)
    assert keys.index_key(now=T0 + DAY) == index
    with pytest.raises(ValueError):
        keys.shred("_service", reason=ShredReason.ERASURE_REQUEST, now=T0)


def test_rotation_rewraps_every_live_key_and_old_master_can_go() -> None:
    store = MemoryKeyStore()
    old = SubjectKeys(store, LocalMasterKeys([MASTER]))
    k = old.for_sealing("doc-1", Purpose.PERSONAL, now=T0)
    sealed = seal(k, b"ZHANG San", label="name", now=T0)
    old.index_key(now=T0)

    new_master = bytes(range(100, 132))
    rotating = SubjectKeys(store, LocalMasterKeys([new_master, MASTER]))
    result = rotating.rotate_master()
    assert (result.rewrapped, result.already_current) == (2, 0)
    assert rotating.rotate_master().rewrapped == 0

    retired = SubjectKeys(store, LocalMasterKeys([new_master]))
    assert unseal(retired.for_opening(KeyRef("doc-1", Purpose.PERSONAL, 1)), sealed) == b"ZHANG San"


def test_subject_refs_must_be_opaque_ids() -> None:
    for bad in ("", "ZHANG San", "a" * 200, "_service2", "id/number"):
        with pytest.raises(ValueError):
            KeyRef(bad, Purpose.BIOMETRIC)
