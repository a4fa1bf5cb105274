"""Signed checkpoints: the chain head, and the digests of the entries it adds, signed with Ed25519.

A checkpoint covers the entries ``from_seq … to_seq`` appended since the previous checkpoint. It
signs the head hash *and* the list of their event digests, so a verifier can say exactly which
entry was edited, deleted, inserted or moved even if an attacker recomputed every hash after it.
Checkpoints chain too (``prev_checkpoint``), so a deleted checkpoint leaves a gap. The signing key
lives outside the database; the same records can be appended to an anchor file outside the database
(:func:`checkpoint_to_json`), so deleting the newest checkpoints and entries is caught as well.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from portraitmatch.audit.chain import GENESIS
from portraitmatch.audit.event import canonical_json, format_time, parse_time
from portraitmatch.audit.signing import Signer, b64, unb64


@dataclass(frozen=True, slots=True)
class Checkpoint:
    index: int
    from_seq: int
    to_seq: int
    head_hash: str
    digests: tuple[str, ...]
    prev_checkpoint: str
    signed_at: datetime
    key_id: str
    signature: bytes

    def statement(self) -> dict[str, object]:
        """What is signed. The digest list enters through its hash, keeping the message small."""
        return {
            "kind": "portraitmatch.audit.checkpoint",
            "v": 1,
            "index": self.index,
            "from_seq": self.from_seq,
            "to_seq": self.to_seq,
            "count": len(self.digests),
            "head_hash": self.head_hash,
            "digests_sha256": digests_hash(self.digests),
            "prev_checkpoint": self.prev_checkpoint,
            "signed_at": format_time(self.signed_at),
            "key_id": self.key_id,
        }

    def message(self) -> bytes:
        return canonical_json(self.statement())

    @property
    def checkpoint_hash(self) -> str:
        return hashlib.sha256(self.message() + self.signature).hexdigest()


def digests_hash(digests: Sequence[str]) -> str:
    h = hashlib.sha256(b"pm-audit-digests-v1\x00")
    for d in digests:
        h.update(d.encode("ascii") + b"\n")
    return h.hexdigest()


class Signable(Protocol):
    """What a checkpoint needs of an entry (a ChainEntry, or a stored row)."""

    @property
    def seq(self) -> int: ...
    @property
    def digest(self) -> str: ...
    @property
    def hash(self) -> str: ...


def sign_checkpoint(
    signer: Signer, entries: Sequence[Signable], previous: Checkpoint | None, *, now: datetime
) -> Checkpoint:
    """Sign the entries appended since ``previous`` (they must follow it without a gap)."""
    if not entries:
        raise ValueError("nothing to sign: no entries since the last checkpoint")
    expected_from = previous.to_seq + 1 if previous else 1
    seqs = [e.seq for e in entries]
    if seqs != list(range(expected_from, expected_from + len(entries))):
        raise ValueError(f"entries must be seq {expected_from}… without gaps, got {seqs[0]}…{seqs[-1]}")
    unsigned = Checkpoint(
        index=previous.index + 1 if previous else 1,
        from_seq=expected_from,
        to_seq=seqs[-1],
        head_hash=entries[-1].hash,
        digests=tuple(e.digest for e in entries),
        prev_checkpoint=previous.checkpoint_hash if previous else GENESIS,
        signed_at=now,
        key_id=signer.key_id,
        signature=b"",
    )
    return replace(unsigned, signature=signer.sign(unsigned.message()))


def is_signing_due(
    *,
    unsigned_count: int,
    oldest_unsigned_at: datetime | None,
    now: datetime,
    every_events: int,
    every_s: float,
) -> bool:
    """Sign after ``every_events`` new entries, or when the oldest unsigned one is ``every_s`` old."""
    if unsigned_count <= 0:
        return False
    if unsigned_count >= every_events:
        return True
    return oldest_unsigned_at is not None and now - oldest_unsigned_at >= timedelta(seconds=every_s)


def checkpoint_to_json(cp: Checkpoint) -> dict[str, object]:
    return {**cp.statement(), "digests": list(cp.digests), "signature": b64(cp.signature)}


def checkpoint_from_json(data: dict[str, object]) -> Checkpoint:
    """Rebuild a checkpoint from :func:`checkpoint_to_json`; raises ValueError when malformed."""
    try:
        digests = tuple(str(d) for d in data["digests"])  # type: ignore[union-attr]
        return Checkpoint(
            index=int(data["index"]),  # type: ignore[arg-type]
            from_seq=int(data["from_seq"]),  # type: ignore[arg-type]
            to_seq=int(data["to_seq"]),  # type: ignore[arg-type]
            head_hash=str(data["head_hash"]),
            digests=digests,
            prev_checkpoint=str(data["prev_checkpoint"]),
            signed_at=parse_time(str(data["signed_at"])),
            key_id=str(data["key_id"]),
            signature=unb64(str(data["signature"])),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"malformed checkpoint record: {exc}") from None
