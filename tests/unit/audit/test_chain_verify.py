"""The chain and its verifier: intact chains pass; each of the four tamperings is detected and located.

Tampering is done the way someone with write access to the database would do it: change stored
fields, delete rows, add rows, swap sequence numbers; in the hardest variant the attacker also
recomputes every digest and hash after the change (only the signing key is out of reach).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from portraitmatch.audit.catalogue import EventType
from portraitmatch.audit.chain import (
    GENESIS,
    MemoryAuditLog,
    StoredEntry,
    event_digest,
    link_hash,
    next_entry,
)
from portraitmatch.audit.checkpoint import Checkpoint, is_signing_due, sign_checkpoint
from portraitmatch.audit.event import AuditEvent
from portraitmatch.audit.signing import Ed25519Signer, TrustedKeys
from portraitmatch.audit.verify import ChainStatus, FindingKind, verify_chain

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
SIGNER = Ed25519Signer.from_seed(bytes(range(32)))
TRUSTED = TrustedKeys([SIGNER.public_key])


def _event(i: int) -> AuditEvent:
    return AuditEvent.create(
        EventType.SESSION_DECIDED,
        at=T0 + timedelta(minutes=i),
        actor=f"key_{i % 3}",
        outlet=f"outlet-{i % 2}",
        objects={"session": f"sess{i:04d}"},
        details={"outcome": "pass" if i % 4 else "fail"},
    )


def _build(n: int, every: int) -> tuple[list[StoredEntry], list[Checkpoint]]:
    log = MemoryAuditLog()
    checkpoints: list[Checkpoint] = []
    for i in range(1, n + 1):
        log.append(_event(i))
        if i % every == 0:
            prev = checkpoints[-1] if checkpoints else None
            since = log.entries[(prev.to_seq if prev else 0) :]
            checkpoints.append(sign_checkpoint(SIGNER, since, prev, now=T0 + timedelta(minutes=i)))
    return [e.as_stored() for e in log.entries], checkpoints


def _verify(entries: list[StoredEntry], cps: list[Checkpoint], **kw) -> ChainStatus:  # type: ignore[no-untyped-def]
    kw.setdefault("now", T0 + timedelta(minutes=60))
    kw.setdefault("max_unsigned_events", 20)
    kw.setdefault("max_unsigned_age", timedelta(hours=1))
    return verify_chain(entries, cps, kw.pop("trusted", TRUSTED), **kw)


def _kinds(status: ChainStatus) -> list[tuple[FindingKind, int | None]]:
    return [(f.kind, f.seq) for f in status.findings]


def _edit(e: StoredEntry, i: int) -> StoredEntry:
    """What changing a stored column does: the content digest recomputed on read changes."""
    return replace(e, content_digest=event_digest(replace(_event(i), actor="key_forged")))


def _rehash(entries: list[StoredEntry]) -> list[StoredEntry]:
    """The attacker's clean-up: recompute every digest and link so the chain is self-consistent."""
    out: list[StoredEntry] = []
    prev = GENESIS
    for e in entries:
        digest = e.content_digest or ""
        h = link_hash(prev, digest)
        out.append(replace(e, digest=digest, prev_hash=prev, hash=h))
        prev = h
    return out


# ---------------------------------------------------------------- intact


def test_an_intact_chain_verifies() -> None:
    entries, cps = _build(45, every=10)
    status = _verify(entries, cps)
    assert status.is_intact, status.findings
    assert (status.entry_count, status.signed_through, status.checkpoint_count, status.unsigned_count) == (
        45,
        40,
        4,
        5,
    )
    assert status.key_ids == (SIGNER.key_id,)
    assert "intact" in status.summary()


def test_empty_log_is_intact() -> None:
    assert _verify([], []).is_intact


# ---------------------------------------------------------------- signed region, attacker rewrites hashes


@pytest.mark.parametrize("rehash", [False, True], ids=["naive", "rehashed"])
def test_edit_in_signed_region_is_located(rehash: bool) -> None:
    entries, cps = _build(40, every=10)
    entries[12] = _edit(entries[12], 13)
    if rehash:
        entries = _rehash(entries)
    status = _verify(entries, cps)
    assert not status.is_intact
    assert _kinds(status) == [(FindingKind.EDITED, 13)]


@pytest.mark.parametrize("renumber", [False, True], ids=["gap", "renumbered"])
def test_deletion_in_signed_region_is_located(renumber: bool) -> None:
    entries, cps = _build(40, every=10)
    del entries[21]  # seq 22
    if renumber:
        entries = _rehash([replace(e, seq=i + 1) for i, e in enumerate(entries)])
    status = _verify(entries, cps)
    assert _kinds(status) == [(FindingKind.DELETED, 22)]


def test_insertion_in_signed_region_is_located() -> None:
    entries, cps = _build(40, every=10)
    forged = next_entry(None, replace(_event(5), actor="key_forged")).as_stored()
    entries.insert(5, forged)  # becomes seq 6; later rows renumbered and the chain recomputed
    entries = _rehash([replace(e, seq=i + 1) for i, e in enumerate(entries)])
    status = _verify(entries, cps)
    assert (FindingKind.INSERTED, 6) in _kinds(status)
    assert {k for k, _ in _kinds(status)} == {FindingKind.INSERTED}


def test_reordering_in_signed_region_is_located() -> None:
    entries, cps = _build(40, every=10)
    a, b = entries[30], entries[31]  # seq 31 and 32 swap places
    entries[30], entries[31] = replace(b, seq=31), replace(a, seq=32)
    status = _verify(_rehash(entries), cps)
    assert _kinds(status) and {k for k, _ in _kinds(status)} == {FindingKind.REORDERED}
    assert {s for _, s in _kinds(status)} <= {31, 32}


# ---------------------------------------------------------------- unsigned tail, hash links only


def test_edit_in_tail_is_located() -> None:
    entries, cps = _build(47, every=10)
    entries[43] = _edit(entries[43], 44)
    assert _kinds(_verify(entries, cps)) == [(FindingKind.EDITED, 44)]


def test_deletion_in_tail_is_located() -> None:
    entries, cps = _build(47, every=10)
    del entries[44]  # seq 45
    assert _kinds(_verify(entries, cps)) == [(FindingKind.DELETED, 45)]


def test_deletion_in_tail_with_renumbering_breaks_the_link() -> None:
    entries, cps = _build(47, every=10)
    del entries[44]
    entries = entries[:44] + [replace(e, seq=e.seq - 1) for e in entries[44:]]
    status = _verify(entries, cps)
    assert (FindingKind.LINK_BROKEN, 45) in _kinds(status)


def test_insertion_in_tail_is_located() -> None:
    entries, cps = _build(47, every=10)
    # A forged entry that links correctly to seq 42 (the attacker can compute that), stored as 43;
    # the genuine 43… are shifted up by one.
    forged_digest = event_digest(replace(_event(42), actor="key_forged"))
    forged = StoredEntry(
        43, forged_digest, forged_digest, entries[41].hash, link_hash(entries[41].hash, forged_digest), T0
    )
    entries = entries[:42] + [forged] + [replace(e, seq=e.seq + 1) for e in entries[42:]]
    assert _kinds(_verify(entries, cps)) == [(FindingKind.INSERTED, 43)]


def test_reordering_in_tail_is_located() -> None:
    entries, cps = _build(47, every=10)
    a, b = entries[42], entries[43]
    entries[42], entries[43] = replace(b, seq=43), replace(a, seq=44)
    status = _verify(entries, cps)
    assert len(status.findings) == 1 and status.findings[0].kind is FindingKind.REORDERED
    assert status.findings[0].seq in (43, 44)


# ---------------------------------------------------------------- checkpoints and signatures


def test_full_rewrite_without_the_signing_key_is_caught() -> None:
    entries, cps = _build(40, every=10)
    entries = _rehash([_edit(e, e.seq) for e in entries])  # every entry rewritten
    status = _verify(entries, cps)
    assert len([f for f in status.findings if f.kind is FindingKind.EDITED]) == 40


def test_forged_checkpoint_with_another_key_is_rejected() -> None:
    entries, cps = _build(40, every=10)
    entries[35] = _edit(entries[35], 36)
    entries = _rehash(entries)
    mallory = Ed25519Signer.generate()
    log = MemoryAuditLog()
    # The attacker re-signs the last range with their own key: not trusted.
    forged = sign_checkpoint(mallory, [_as_chain(e) for e in entries[30:40]], cps[2], now=T0)
    kinds = {k for k, _ in _kinds(_verify(entries, [*cps[:3], forged]))}
    assert FindingKind.BAD_SIGNATURE in kinds
    del log


def _as_chain(e: StoredEntry):  # type: ignore[no-untyped-def]
    from portraitmatch.audit.chain import ChainEntry

    return ChainEntry(seq=e.seq, event=_event(e.seq), digest=e.digest, prev_hash=e.prev_hash, hash=e.hash)


def test_altered_checkpoint_digests_break_its_signature() -> None:
    entries, cps = _build(20, every=10)
    bad = replace(cps[0], digests=(cps[0].digests[1], cps[0].digests[0], *cps[0].digests[2:]))
    status = _verify(entries, [bad, cps[1]])
    assert (FindingKind.BAD_SIGNATURE, 1) in _kinds(status)


def test_deleted_checkpoint_leaves_a_gap_and_deleted_tail_checkpoint_is_overdue() -> None:
    entries, cps = _build(60, every=10)
    status = _verify(entries, [cps[0], *cps[2:]])
    assert (FindingKind.CHECKPOINT_MISSING, 11) in _kinds(status)
    # Deleting the newest checkpoints leaves too many unsigned entries.
    status = _verify(entries, cps[:2])
    assert (FindingKind.SIGNING_OVERDUE, 21) in _kinds(status)


def test_truncation_is_caught_by_the_anchor_file() -> None:
    entries, cps = _build(60, every=10)
    status = _verify(entries[:50], cps[:5], anchors=cps)
    assert FindingKind.CHECKPOINT_MISSING in {k for k, _ in _kinds(status)}
    assert _verify(entries, cps, anchors=cps).is_intact


def test_stale_unsigned_tail_is_overdue() -> None:
    entries, cps = _build(43, every=10)
    status = _verify(entries, cps, now=T0 + timedelta(hours=3))
    assert _kinds(status) == [(FindingKind.SIGNING_OVERDUE, 41)]


def test_no_trusted_key_is_not_intact() -> None:
    entries, cps = _build(10, every=10)
    assert (FindingKind.NO_TRUSTED_KEY, None) in _kinds(_verify(entries, cps, trusted=TrustedKeys([])))


def test_signing_is_due_by_count_or_age() -> None:
    due = {"now": T0, "every_events": 10, "every_s": 300.0}
    assert not is_signing_due(unsigned_count=0, oldest_unsigned_at=None, **due)
    assert is_signing_due(unsigned_count=10, oldest_unsigned_at=T0, **due)
    assert not is_signing_due(unsigned_count=3, oldest_unsigned_at=T0 - timedelta(seconds=299), **due)
    assert is_signing_due(unsigned_count=3, oldest_unsigned_at=T0 - timedelta(seconds=300), **due)


def test_checkpoint_must_follow_the_previous_one() -> None:
    log = MemoryAuditLog()
    for i in range(1, 6):
        log.append(_event(i))
    first = sign_checkpoint(SIGNER, log.entries[:3], None, now=T0)
    with pytest.raises(ValueError):
        sign_checkpoint(SIGNER, log.entries[4:], first, now=T0)
    with pytest.raises(ValueError):
        sign_checkpoint(SIGNER, [], first, now=T0)


# ---------------------------------------------------------------- boundary between signed and unsigned


@pytest.mark.parametrize("seq", [22, 40])
def test_renumbered_deletion_near_the_signed_boundary_is_one_finding(seq: int) -> None:
    entries, cps = _build(47, every=10)
    del entries[seq - 1]
    entries = _rehash([replace(e, seq=i + 1) for i, e in enumerate(entries)])
    kinds = _kinds(_verify(entries, cps))
    assert len(kinds) == 1 and kinds[0][1] == seq
    assert kinds[0][0] is (FindingKind.DELETED if seq < 40 else FindingKind.EDITED)


def test_rehashed_edit_of_the_last_signed_entry_is_located() -> None:
    entries, cps = _build(47, every=10)
    entries[39] = _edit(entries[39], 40)
    assert _kinds(_verify(_rehash(entries), cps)) == [(FindingKind.EDITED, 40)]


def test_the_limit_a_consistent_rewrite_of_the_unsigned_tail_needs_no_key() -> None:
    """Documented limit: entries newer than the last checkpoint are protected by links only. A
    rewrite from the signed head onwards is consistent; signing often (and anchors) bounds it."""
    entries, cps = _build(47, every=10)
    entries[43] = _edit(entries[43], 44)
    assert _kinds(_verify(entries, cps)) == [(FindingKind.EDITED, 44)]
    assert _verify(_rehash(entries), cps).is_intact
