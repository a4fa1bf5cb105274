"""Sealing: authenticated encryption of one value under a subject's data key.

``seal(key, data, label=…, now=…)`` returns a :class:`Sealed` whose ``token`` is self-describing:
a plaintext header (format, key reference, label, time) that is authenticated as associated data,
followed by AES-256-GCM output. A token cannot be moved to another subject, relabelled or
back-dated without ``unseal`` failing. Every failure raises the one exception :class:`SealBroken`,
which never says why (wrong key, altered header, altered ciphertext, truncated token).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from portraitmatch.errors import PortraitMatchError
from portraitmatch.privacy import _aead
from portraitmatch.privacy.data_keys import DataKey, KeyRef, Purpose

MAGIC = b"PMS1"
_LABEL = re.compile(r"^[a-z][a-z0-9_.]{0,63}$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class SealBroken(PortraitMatchError):
    """A sealed token could not be opened. Deliberately uninformative."""

    code = "SEAL_BROKEN"

    def __init__(self, message: str = "sealed data could not be opened") -> None:
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Sealed:
    """A sealed value: readable metadata plus the opaque token that stores everything."""

    ref: KeyRef
    label: str
    sealed_at: datetime
    token: bytes

    @classmethod
    def from_token(cls, token: bytes) -> Sealed:
        """Read the header of a stored token (no key needed); raises SealBroken if malformed."""
        ref, label, sealed_at, _ = _parse(token)
        return cls(ref=ref, label=label, sealed_at=sealed_at, token=bytes(token))


def is_sealed_token(data: bytes) -> bool:
    """True when ``data`` parses as a token of this format (used by the plaintext scanner)."""
    try:
        _parse(data)
    except SealBroken:
        return False
    return True


def seal(key: DataKey, data: bytes, *, label: str, now: datetime) -> Sealed:
    """Encrypt ``data`` under ``key``; ``label`` names what it is (``id_portrait``, ``name`` …)."""
    if not _LABEL.match(label):
        raise ValueError(f"label must match {_LABEL.pattern}")
    header = _header(key.ref, label, _to_us(now))
    token = header + _aead.encrypt(key.secret, bytes(data), header)
    return Sealed(ref=key.ref, label=label, sealed_at=_from_us(_to_us(now)), token=token)


def unseal(key: DataKey, sealed: Sealed | bytes) -> bytes:
    """Decrypt a token sealed under ``key``; raises :class:`SealBroken` on any failure."""
    token = sealed.token if isinstance(sealed, Sealed) else bytes(sealed)
    ref, _, _, body_at = _parse(token)
    if ref != key.ref:
        raise SealBroken()
    try:
        return _aead.decrypt(key.secret, token[body_at:], token[:body_at])
    except _aead.AeadFailure:
        raise SealBroken() from None


def _header(ref: KeyRef, label: str, at_us: int) -> bytes:
    subject = ref.subject_ref.encode()
    purpose = ref.purpose.value.encode()
    lab = label.encode()
    return b"".join(
        (
            MAGIC,
            struct.pack(">B", len(subject)),
            subject,
            struct.pack(">B", len(purpose)),
            purpose,
            struct.pack(">I", ref.generation),
            struct.pack(">B", len(lab)),
            lab,
            struct.pack(">q", at_us),
        )
    )


def _parse(token: bytes) -> tuple[KeyRef, str, datetime, int]:
    try:
        if token[:4] != MAGIC:
            raise ValueError("magic")
        pos = 4
        fields: list[bytes] = []
        for _ in range(2):
            n = token[pos]
            fields.append(bytes(token[pos + 1 : pos + 1 + n]))
            pos += 1 + n
        (generation,) = struct.unpack_from(">I", token, pos)
        pos += 4
        n = token[pos]
        label = bytes(token[pos + 1 : pos + 1 + n]).decode()
        pos += 1 + n
        (at_us,) = struct.unpack_from(">q", token, pos)
        pos += 8
        if len(token) < pos + _aead.NONCE_BYTES + _aead.TAG_BYTES:
            raise ValueError("short")
        ref = KeyRef(fields[0].decode(), Purpose(fields[1].decode()), generation)
        if not _LABEL.match(label):
            raise ValueError("label")
        return ref, label, _from_us(at_us), pos
    except (IndexError, ValueError, struct.error, UnicodeDecodeError, TypeError):
        raise SealBroken() from None


def _to_us(at: datetime) -> int:
    if at.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return (at - _EPOCH) // timedelta(microseconds=1)


def _from_us(at_us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=at_us)
