"""Subject keys: getting, scheduling and shredding data keys through a :class:`KeyStore`.

:class:`SubjectKeys` is the recipe the service uses. It never stores an unwrapped key: it unwraps
on demand through the :class:`~portraitmatch.privacy.master_keys.KeyProvider`. Shredding destroys
the wrapped key and keeps a :class:`ShredReceipt` (reference, time, reason; no key material), so a
later attempt to open that subject's data fails with :class:`KeyShredded` and purging twice is a
no-op.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from portraitmatch.errors import PortraitMatchError
from portraitmatch.privacy.data_keys import SERVICE_SUBJECT, DataKey, KeyRef, Purpose, WrappedKey
from portraitmatch.privacy.master_keys import KeyProvider, rewrap, unwrap, wrap


class KeyShredded(PortraitMatchError):
    """The data key was destroyed: what was sealed under it is gone for good."""

    code = "KEY_SHREDDED"


class ShredReason(StrEnum):
    RETENTION_EXPIRED = "retention_expired"
    LAST_NUMBER_CANCELLED = "last_number_cancelled"
    ERASURE_REQUEST = "erasure_request"


@dataclass(frozen=True, slots=True)
class ShredReceipt:
    ref: KeyRef
    shredded_at: datetime
    reason: ShredReason


@dataclass(frozen=True, slots=True)
class RotationResult:
    rewrapped: int
    already_current: int
    master_key_id: str


class KeyStore(Protocol):
    """Where wrapped keys live (a database table in production, a dict in tests)."""

    def latest(self, subject_ref: str, purpose: Purpose) -> WrappedKey | None:
        """The newest key of that subject and purpose that has not been shredded."""
        ...

    def get(self, ref: KeyRef) -> WrappedKey | None:
        """The key, or None when it was shredded or never existed."""
        ...

    def next_generation(self, subject_ref: str, purpose: Purpose) -> int:
        """One more than the highest generation ever issued, shredded ones included."""
        ...

    def save(self, wrapped: WrappedKey) -> None:
        """Insert, or replace the key with the same reference."""
        ...

    def destroy(self, receipt: ShredReceipt) -> bool:
        """Remove the key material of ``receipt.ref`` and record the receipt; False if already gone."""
        ...

    def live(self, subject_ref: str | None = None) -> Iterator[WrappedKey]:
        """Every key not shredded (of one subject, or of all)."""
        ...


class SubjectKeys:
    """Data keys per subject and purpose, wrapped by a key provider and kept in a key store."""

    def __init__(self, store: KeyStore, provider: KeyProvider) -> None:
        self.store = store
        self.provider = provider

    def for_sealing(
        self, subject_ref: str, purpose: Purpose, *, now: datetime, keep_until: datetime | None = None
    ) -> DataKey:
        """The key to seal new data with, created on first use.

        ``keep_until`` is when the new data may be shredded; the key's own expiry is pushed out to
        cover it (``None``: no scheduled end). A key already past its expiry is never reused: it is
        waiting for ``purge``, so a new generation starts.
        """
        wrapped = self.store.latest(subject_ref, purpose)
        if wrapped is None or (wrapped.expires_at is not None and wrapped.expires_at <= now):
            ref = KeyRef(subject_ref, purpose, self.store.next_generation(subject_ref, purpose))
            key = DataKey.generate(ref)
            self.store.save(wrap(self.provider, key, created_at=now, expires_at=keep_until))
            return key
        key = unwrap(self.provider, wrapped)
        expires_at = (
            None if wrapped.expires_at is None or keep_until is None else max(wrapped.expires_at, keep_until)
        )
        if expires_at != wrapped.expires_at:
            self.store.save(replace(wrapped, expires_at=expires_at))
        return key

    def for_opening(self, ref: KeyRef) -> DataKey:
        """The key a token was sealed under; raises KeyShredded when it was destroyed."""
        wrapped = self.store.get(ref)
        if wrapped is None:
            raise KeyShredded(f"the {ref.purpose.value} key of this subject has been shredded")
        return unwrap(self.provider, wrapped)

    def index_key(self, *, now: datetime) -> DataKey:
        """The installation's HMAC key for ID-number look-ups (created once, never shredded)."""
        return self.for_sealing(SERVICE_SUBJECT, Purpose.ID_INDEX, now=now)

    def schedule_shredding(
        self, subject_ref: str, purpose: Purpose, at: datetime | None, *, only_earlier: bool = False
    ) -> int:
        """Set when a subject's live keys are shredded (``None`` cancels a schedule).

        ``only_earlier`` keeps an existing earlier date (a retention period already running).
        Returns how many keys changed.
        """
        changed = 0
        for wrapped in list(self.store.live(subject_ref)):
            if wrapped.ref.purpose != purpose:
                continue
            target = at
            if only_earlier and wrapped.expires_at is not None and at is not None:
                target = min(wrapped.expires_at, at)
            if target != wrapped.expires_at:
                self.store.save(replace(wrapped, expires_at=target))
                changed += 1
        return changed

    def shred(
        self,
        subject_ref: str,
        *,
        reason: ShredReason,
        now: datetime,
        purposes: Iterable[Purpose] = (Purpose.BIOMETRIC, Purpose.PERSONAL),
    ) -> list[ShredReceipt]:
        """Destroy every live key of the subject for ``purposes``; idempotent."""
        if subject_ref == SERVICE_SUBJECT:
            raise ValueError("installation keys are not shredded per subject")
        wanted = set(purposes)
        receipts = []
        for wrapped in list(self.store.live(subject_ref)):
            if wrapped.ref.purpose in wanted:
                receipt = ShredReceipt(ref=wrapped.ref, shredded_at=now, reason=reason)
                if self.store.destroy(receipt):
                    receipts.append(receipt)
        return receipts

    def shred_expired(self, *, now: datetime) -> list[ShredReceipt]:
        """Destroy every key whose scheduled end has passed (what ``portraitmatch purge`` runs)."""
        receipts = []
        for wrapped in list(self.store.live()):
            if wrapped.ref.subject_ref == SERVICE_SUBJECT:
                continue
            if wrapped.expires_at is not None and wrapped.expires_at <= now:
                receipt = ShredReceipt(ref=wrapped.ref, shredded_at=now, reason=ShredReason.RETENTION_EXPIRED)
                if self.store.destroy(receipt):
                    receipts.append(receipt)
        return receipts

    def rotate_master(self) -> RotationResult:
        """Re-wrap every live key under the provider's current master key. Sealed data is untouched."""
        rewrapped = current = 0
        for wrapped in list(self.store.live()):
            fresh = rewrap(self.provider, wrapped)
            if fresh is wrapped:
                current += 1
            else:
                self.store.save(fresh)
                rewrapped += 1
        return RotationResult(
            rewrapped=rewrapped, already_current=current, master_key_id=self.provider.current_key_id
        )


class MemoryKeyStore:
    """A :class:`KeyStore` in a dict: for tests and for tools that hold keys only while they run."""

    def __init__(self) -> None:
        self._keys: dict[KeyRef, WrappedKey] = {}
        self._generations: dict[tuple[str, Purpose], int] = {}
        self.receipts: list[ShredReceipt] = []

    def latest(self, subject_ref: str, purpose: Purpose) -> WrappedKey | None:
        live = [
            w for w in self._keys.values() if w.ref.subject_ref == subject_ref and w.ref.purpose == purpose
        ]
        return max(live, key=lambda w: w.ref.generation, default=None)

    def get(self, ref: KeyRef) -> WrappedKey | None:
        return self._keys.get(ref)

    def next_generation(self, subject_ref: str, purpose: Purpose) -> int:
        return self._generations.get((subject_ref, purpose), 0) + 1

    def save(self, wrapped: WrappedKey) -> None:
        ref = wrapped.ref
        if any(r.ref == ref for r in self.receipts):
            raise ValueError("a shredded key reference cannot be reused")
        self._keys[ref] = wrapped
        slot = (ref.subject_ref, ref.purpose)
        self._generations[slot] = max(self._generations.get(slot, 0), ref.generation)

    def destroy(self, receipt: ShredReceipt) -> bool:
        if self._keys.pop(receipt.ref, None) is None:
            return False
        self.receipts.append(receipt)
        return True

    def live(self, subject_ref: str | None = None) -> Iterator[WrappedKey]:
        for wrapped in list(self._keys.values()):
            if subject_ref is None or wrapped.ref.subject_ref == subject_ref:
                yield wrapped
