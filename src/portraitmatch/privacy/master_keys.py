"""Master keys: what wraps the data keys, behind one small interface.

:class:`KeyProvider` is the seam for an external KMS or HSM: it is asked to wrap and unwrap 32-byte
data keys and never has to reveal a master key. :class:`LocalMasterKeys` implements it with keys held
in process memory (loaded from a key file or an environment variable by ``adapters/keys``).

Rotation follows ``MultiFernet``: a provider holds several master keys, the first is current and
wraps new data keys, the others can still unwrap. :func:`rewrap` moves one wrapped key to the current
master key without touching any data sealed under it; once every key is re-wrapped, the old master
key can be retired.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Protocol, runtime_checkable

from portraitmatch.errors import ConfigurationError
from portraitmatch.privacy import _aead
from portraitmatch.privacy.data_keys import DataKey, WrappedKey
from portraitmatch.privacy.sealing import SealBroken


class MasterKeyUnavailable(ConfigurationError):
    """A wrapped key names a master key this provider does not hold (retired too early?)."""

    code = "MASTER_KEY_UNAVAILABLE"


@runtime_checkable
class KeyProvider(Protocol):
    """Wraps and unwraps data keys with master keys it holds (in memory, a KMS or an HSM)."""

    @property
    def current_key_id(self) -> str:
        """The master key that wraps new data keys."""
        ...

    def holds(self, key_id: str) -> bool: ...

    def wrap(self, plaintext_key: bytes, context: bytes) -> tuple[str, bytes]:
        """Encrypt a data key under the current master key; returns (master key id, blob)."""
        ...

    def unwrap(self, key_id: str, blob: bytes, context: bytes) -> bytes:
        """Decrypt a blob made by ``wrap``. Raises MasterKeyUnavailable or SealBroken."""
        ...


def master_key_id(secret: bytes) -> str:
    """A stable, non-secret name for a master key: a truncated hash of it (like a fingerprint)."""
    return "mk_" + hashlib.sha256(b"portraitmatch master key id\x00" + secret).hexdigest()[:16]


class LocalMasterKeys:
    """Master keys held in memory. ``secrets[0]`` is current; the rest only unwrap."""

    def __init__(self, secrets: Sequence[bytes]) -> None:
        if not secrets:
            raise ConfigurationError("at least one master key is required")
        keys: dict[str, bytes] = {}
        for secret in secrets:
            if len(secret) != _aead.KEY_BYTES:
                raise ConfigurationError(f"a master key must be {_aead.KEY_BYTES} bytes, got {len(secret)}")
            keys.setdefault(master_key_id(secret), bytes(secret))
        self._keys = keys
        self._current = master_key_id(secrets[0])

    def __repr__(self) -> str:
        return f"LocalMasterKeys(current={self._current!r}, held={list(self._keys)!r})"

    @property
    def current_key_id(self) -> str:
        return self._current

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._keys)

    def holds(self, key_id: str) -> bool:
        return key_id in self._keys

    def wrap(self, plaintext_key: bytes, context: bytes) -> tuple[str, bytes]:
        return self._current, _aead.encrypt(self._keys[self._current], plaintext_key, context)

    def unwrap(self, key_id: str, blob: bytes, context: bytes) -> bytes:
        secret = self._keys.get(key_id)
        if secret is None:
            raise MasterKeyUnavailable(f"master key {key_id} is not held by this provider")
        try:
            return _aead.decrypt(secret, blob, context)
        except _aead.AeadFailure:
            raise SealBroken() from None


def wrap(
    provider: KeyProvider, key: DataKey, *, created_at: datetime, expires_at: datetime | None = None
) -> WrappedKey:
    """Wrap a data key under the provider's current master key."""
    key_id, blob = provider.wrap(key.secret, key.ref.context)
    return WrappedKey(
        ref=key.ref, master_key_id=key_id, blob=blob, created_at=created_at, expires_at=expires_at
    )


def unwrap(provider: KeyProvider, wrapped: WrappedKey) -> DataKey:
    """Recover a data key; raises SealBroken when the blob or its binding was altered."""
    secret = provider.unwrap(wrapped.master_key_id, wrapped.blob, wrapped.ref.context)
    try:
        return DataKey(ref=wrapped.ref, secret=secret)
    except ValueError:
        raise SealBroken() from None


def rewrap(provider: KeyProvider, wrapped: WrappedKey) -> WrappedKey:
    """Re-wrap under the current master key (identity when already current). Data is untouched."""
    if wrapped.master_key_id == provider.current_key_id:
        return wrapped
    key = unwrap(provider, wrapped)
    key_id, blob = provider.wrap(key.secret, key.ref.context)
    return replace(wrapped, master_key_id=key_id, blob=blob)
