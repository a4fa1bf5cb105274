"""Verifying the audit chain and saying where it breaks.

Two kinds of evidence are used:

- **Signed checkpoints** give, for every entry they cover, the digest it had when it was signed.
  The stored entries are aligned with those digests (a longest-common-subsequence alignment), so an
  entry that was *edited* (different content at the same place), *deleted* (a signed digest with no
  stored entry), *inserted* (a stored entry that was never signed) or *reordered* (a signed digest
  found at another place) is named by its sequence number, even when the attacker recomputed every
  hash after the change.
- **The hash links** cover the entries after the newest checkpoint: an entry whose content no longer
  matches its hash was edited; a gap in sequence numbers is a deletion; an entry that forks off the
  chain was inserted; entries whose links run against their sequence numbers were reordered. Only
  these few newest entries could be rewritten wholesale by someone without the signing key, and only
  until the next checkpoint: if none arrives in time, verification fails with ``signing_overdue``.
"""

from __future__ import annotations

import bisect
import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from portraitmatch.audit.chain import GENESIS, StoredEntry, link_hash
from portraitmatch.audit.checkpoint import Checkpoint
from portraitmatch.audit.signing import TrustedKeys


class FindingKind(StrEnum):
    EDITED = "edited"
    DELETED = "deleted"
    INSERTED = "inserted"
    REORDERED = "reordered"
    LINK_BROKEN = "link_broken"  # a deletion or a rewritten entry, with the rest renumbered
    BAD_SIGNATURE = "bad_signature"
    CHECKPOINT_MISSING = "checkpoint_missing"
    CHECKPOINT_ALTERED = "checkpoint_altered"
    SIGNING_OVERDUE = "signing_overdue"
    NO_TRUSTED_KEY = "no_trusted_key"


_ENTRY_KINDS = frozenset(
    {
        FindingKind.EDITED,
        FindingKind.DELETED,
        FindingKind.INSERTED,
        FindingKind.REORDERED,
        FindingKind.LINK_BROKEN,
    }
)


@dataclass(frozen=True, slots=True)
class Finding:
    kind: FindingKind
    seq: int | None  # where: the sequence number concerned (stored, or as signed for deletions)
    message: str


@dataclass(frozen=True, slots=True)
class ChainStatus:
    is_intact: bool
    entry_count: int
    head_seq: int
    head_hash: str
    signed_through: int
    checkpoint_count: int
    last_signed_at: datetime | None
    key_ids: tuple[str, ...]
    findings: tuple[Finding, ...]
    checked_at: datetime

    @property
    def unsigned_count(self) -> int:
        return max(0, self.head_seq - self.signed_through)

    def summary(self) -> str:
        if self.is_intact:
            return (
                f"intact: {self.entry_count} entries, signed through seq {self.signed_through} "
                f"by {self.checkpoint_count} checkpoints"
            )
        kinds = sorted({f.kind.value for f in self.findings})
        return f"BROKEN: {len(self.findings)} findings ({', '.join(kinds)})"


def verify_chain(
    entries: Sequence[StoredEntry],
    checkpoints: Sequence[Checkpoint],
    trusted: TrustedKeys,
    *,
    now: datetime,
    max_unsigned_events: int,
    max_unsigned_age: timedelta,
    anchors: Sequence[Checkpoint] = (),
) -> ChainStatus:
    """Check every entry and checkpoint; ``anchors`` are checkpoints kept outside the database."""
    findings: list[Finding] = []
    stored = sorted(entries, key=lambda e: e.seq)
    if not trusted and (checkpoints or anchors or stored):
        findings.append(
            Finding(
                FindingKind.NO_TRUSTED_KEY,
                None,
                "no trusted public key: signed checkpoints cannot be checked",
            )
        )
    signed, gaps = _signed_checkpoints(checkpoints, anchors, trusted, findings)
    last = signed[-1] if signed else None
    truth = [(cp.from_seq + i, d) for cp in signed for i, d in enumerate(cp.digests)]
    tail = _align(stored, truth, gaps, findings)
    start_hash = last.head_hash if last else GENESIS
    boundary = len(stored) - len(tail)
    if last is not None and boundary > 0 and stored[boundary - 1].hash != start_hash:
        before = stored[boundary - 1]
        if not any(f.kind in _ENTRY_KINDS for f in findings):  # else a reported rewrite explains it
            findings.append(
                Finding(
                    FindingKind.EDITED,
                    before.seq,
                    f"the stored hash of seq {before.seq} differs from the signed head",
                )
            )
        start_hash = before.hash  # report the rewrite once, not again on every link after it
    _check_tail(tail, start_hash, (last.to_seq + 1) if last else 1, findings)
    if tail:
        oldest = min((e.at for e in tail if e.at is not None), default=None)
        too_many = len(tail) > max_unsigned_events
        too_old = oldest is not None and now - oldest > max_unsigned_age
        if too_many or too_old:
            findings.append(
                Finding(
                    FindingKind.SIGNING_OVERDUE,
                    tail[0].seq,
                    f"{len(tail)} entries from seq {tail[0].seq} are not covered by a signed checkpoint"
                    + (f" (oldest {oldest:%Y-%m-%d %H:%M} UTC)" if oldest else "")
                    + ": a checkpoint was deleted or signing is not running (portraitmatch audit sign)",
                )
            )
    head = stored[-1] if stored else None
    findings.sort(key=lambda f: (f.seq if f.seq is not None else -1, f.kind.value))
    return ChainStatus(
        is_intact=not findings,
        entry_count=len(stored),
        head_seq=head.seq if head else 0,
        head_hash=head.hash if head else GENESIS,
        signed_through=last.to_seq if last else 0,
        checkpoint_count=len(signed),
        last_signed_at=last.signed_at if last else None,
        key_ids=tuple(sorted({cp.key_id for cp in signed})),
        findings=tuple(findings),
        checked_at=now,
    )


def _signed_checkpoints(
    checkpoints: Sequence[Checkpoint],
    anchors: Sequence[Checkpoint],
    trusted: TrustedKeys,
    findings: list[Finding],
) -> tuple[list[Checkpoint], list[tuple[int, int]]]:
    """Checkpoints with a valid signature, in order, and the seq ranges no checkpoint covers."""
    good: dict[int, Checkpoint] = {}
    for cp in sorted(checkpoints, key=lambda c: c.index):
        if not trusted.is_valid(cp.key_id, cp.message(), cp.signature):
            findings.append(
                Finding(
                    FindingKind.BAD_SIGNATURE,
                    cp.from_seq,
                    f"checkpoint {cp.index} (seq {cp.from_seq}–{cp.to_seq}) has no valid signature "
                    "by a trusted key: it was forged or altered",
                )
            )
        elif cp.index in good:
            findings.append(
                Finding(FindingKind.CHECKPOINT_ALTERED, cp.from_seq, f"checkpoint {cp.index} twice")
            )
        else:
            good[cp.index] = cp
    for anchor in anchors:
        if not trusted.is_valid(anchor.key_id, anchor.message(), anchor.signature):
            findings.append(
                Finding(
                    FindingKind.BAD_SIGNATURE,
                    anchor.from_seq,
                    f"anchor record {anchor.index} is not validly signed",
                )
            )
            continue
        kept = good.get(anchor.index)
        if kept is None:
            findings.append(
                Finding(
                    FindingKind.CHECKPOINT_MISSING,
                    anchor.from_seq,
                    f"checkpoint {anchor.index} (seq {anchor.from_seq}–{anchor.to_seq}) is in the anchor "
                    "file but missing from the database: checkpoints were deleted or the log truncated",
                )
            )
        elif kept.checkpoint_hash != anchor.checkpoint_hash:
            findings.append(
                Finding(
                    FindingKind.CHECKPOINT_ALTERED,
                    anchor.from_seq,
                    f"checkpoint {anchor.index} differs from the anchor file's copy",
                )
            )
        good[anchor.index] = anchor  # the copy outside the database is the one to trust
    ordered = sorted(good.values(), key=lambda c: c.index)
    gaps: list[tuple[int, int]] = []
    expected_index, expected_from, prev = 1, 1, GENESIS
    for cp in ordered:
        if cp.index != expected_index:
            findings.append(
                Finding(
                    FindingKind.CHECKPOINT_MISSING,
                    expected_from,
                    f"checkpoint(s) {expected_index}–{cp.index - 1} are missing: "
                    f"seq {expected_from}–{cp.from_seq - 1} cannot be checked against a signature",
                )
            )
            gaps.append((expected_from, cp.from_seq - 1))
        elif cp.prev_checkpoint != prev or cp.from_seq != expected_from:
            findings.append(
                Finding(
                    FindingKind.CHECKPOINT_ALTERED,
                    cp.from_seq,
                    f"checkpoint {cp.index} does not follow checkpoint {cp.index - 1}",
                )
            )
        if len(cp.digests) != cp.to_seq - cp.from_seq + 1:
            findings.append(
                Finding(
                    FindingKind.CHECKPOINT_ALTERED,
                    cp.from_seq,
                    f"checkpoint {cp.index} digest count is wrong",
                )
            )
        expected_index, expected_from, prev = cp.index + 1, cp.to_seq + 1, cp.checkpoint_hash
    return ordered, gaps


def _align(
    stored: list[StoredEntry],
    truth: list[tuple[int, str]],
    gaps: list[tuple[int, int]],
    findings: list[Finding],
) -> list[StoredEntry]:
    """Compare stored entries with the signed digests; return the unsigned tail.

    The tail is what follows the last stored entry that matches a signed digest (so renumbering
    before it does not shift the boundary), less entries that take the place of a signed one.
    """
    a = [d for _, d in truth]
    b = [e.content_digest or f"unreadable:{e.seq}" for e in stored]
    lo = 0
    while lo < min(len(a), len(b)) and a[lo] == b[lo]:
        lo += 1
    matched_upto = lo  # number of stored entries up to and including the last match
    missing: list[tuple[int, str]] = []
    extra: list[int] = []  # indices into stored
    if lo < len(a):
        matcher = difflib.SequenceMatcher(None, a[lo:], b[lo:], autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                matched_upto = lo + j2
            else:
                missing.extend(truth[lo + i1 : lo + i2])
                extra.extend(range(lo + j1, lo + j2))
    # Moved: a signed digest that reappears elsewhere.
    extra_by_digest: dict[str, list[int]] = {}
    for k in extra:
        extra_by_digest.setdefault(b[k], []).append(k)
    consumed: set[int] = set()
    still_missing: list[int] = []
    for seq, digest in missing:
        moved = [k for k in extra_by_digest.get(digest, []) if k not in consumed]
        if moved:
            consumed.add(moved[0])
            e = stored[moved[0]]
            findings.append(
                Finding(
                    FindingKind.REORDERED,
                    e.seq,
                    f"entry signed at seq {seq} is stored at seq {e.seq}: reordered",
                )
            )
        else:
            still_missing.append(seq)
    free_by_seq = {stored[k].seq: k for k in extra if k not in consumed}
    for seq in still_missing:
        k = free_by_seq.pop(seq, None)
        if k is not None:
            consumed.add(k)
            findings.append(
                Finding(FindingKind.EDITED, seq, f"entry at seq {seq} differs from the signed record: edited")
            )
        else:
            findings.append(
                Finding(
                    FindingKind.DELETED, seq, f"entry signed at seq {seq} is missing from the log: deleted"
                )
            )
    boundary = max([matched_upto, *(k + 1 for k in consumed)])
    for k in extra:
        if k in consumed or k >= boundary:
            continue
        e = stored[k]
        if any(lo_ <= e.seq <= hi_ for lo_, hi_ in gaps):
            continue  # already reported as a range no checkpoint covers
        findings.append(
            Finding(FindingKind.INSERTED, e.seq, f"entry at seq {e.seq} was never signed: inserted")
        )
    flagged = {f.seq for f in findings}
    for e in stored[:boundary]:
        if e.content_digest is not None and e.digest != e.content_digest and e.seq not in flagged:
            findings.append(
                Finding(FindingKind.EDITED, e.seq, f"the stored digest of seq {e.seq} was altered")
            )
    return [e for k, e in enumerate(stored) if k >= boundary and k not in consumed]


def _link_ok(e: StoredEntry) -> bool:
    try:
        return (
            e.content_digest is not None
            and e.content_digest == e.digest
            and link_hash(e.prev_hash, e.digest) == e.hash
        )
    except ValueError:  # a stored hash that is no longer hex
        return False


def _check_tail(tail: list[StoredEntry], start_hash: str, first_seq: int, findings: list[Finding]) -> None:
    if not tail:
        return
    edited = set()
    for i, e in enumerate(tail):
        if not _link_ok(e):
            edited.add(i)
            findings.append(
                Finding(
                    FindingKind.EDITED,
                    e.seq,
                    f"entry at seq {e.seq} no longer matches its hash: edited after it was written",
                )
            )
    gap_before: set[int] = set()
    expected = first_seq
    for i, e in enumerate(tail):
        if e.seq > expected:
            span = f"seq {expected}" if e.seq == expected + 1 else f"seq {expected}–{e.seq - 1}"
            findings.append(Finding(FindingKind.DELETED, expected, f"{span} missing from the log: deleted"))
            gap_before.add(i)
        expected = max(expected, e.seq + 1)

    successors: dict[str, list[int]] = {}
    for i, e in enumerate(tail):
        successors.setdefault(e.prev_hash, []).append(i)
    referenced = {e.prev_hash for e in tail}
    visited: set[int] = set()
    walk: list[int] = []
    cur = start_hash
    while len(visited) < len(tail):
        candidates = [i for i in successors.get(cur, []) if i not in visited]
        if not candidates:
            i = min(j for j in range(len(tail)) if j not in visited)
            if i not in gap_before and i not in edited:
                findings.append(
                    Finding(
                        FindingKind.LINK_BROKEN,
                        tail[i].seq,
                        f"the chain breaks before seq {tail[i].seq}: the entry it links to is gone "
                        "(deleted, or the entry before it rewritten)",
                    )
                )
        else:
            candidates.sort(key=lambda j: (tail[j].hash not in referenced, tail[j].seq))
            i = candidates[0]
            for j in candidates[1:]:
                visited.add(j)
                findings.append(
                    Finding(
                        FindingKind.INSERTED,
                        tail[j].seq,
                        f"entry at seq {tail[j].seq} forks off the chain beside seq {tail[i].seq}: inserted",
                    )
                )
        visited.add(i)
        walk.append(i)
        cur = tail[i].hash
    # Along the links, sequence numbers must rise; entries off the longest rising run were moved.
    for i in set(walk) - set(_longest_rising(walk, tail)):
        findings.append(
            Finding(
                FindingKind.REORDERED,
                tail[i].seq,
                f"entry at seq {tail[i].seq} is out of chain order: reordered",
            )
        )


def _longest_rising(walk: list[int], tail: list[StoredEntry]) -> list[int]:
    """Indices (into ``tail``) on a longest run of the walk whose seqs increase (patience sorting)."""
    seqs = [tail[i].seq for i in walk]
    piles: list[int] = []
    pile_idx: list[int] = []
    parent = [-1] * len(walk)
    for k, s in enumerate(seqs):
        p = bisect.bisect_left(piles, s)
        if p == len(piles):
            piles.append(s)
            pile_idx.append(k)
        else:
            piles[p] = s
            pile_idx[p] = k
        parent[k] = pile_idx[p - 1] if p > 0 else -1
    out: list[int] = []
    k = pile_idx[-1] if pile_idx else -1
    while k != -1:
        out.append(walk[k])
        k = parent[k]
    return out
