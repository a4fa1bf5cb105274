"""Data keys: one random AES-256 key per (subject, purpose, generation), kept only wrapped.

A *subject* is whoever the data is about, named by an opaque reference (never an ID number or a
name). Each subject has separate keys per :class:`Purpose` so that biometric evidence can be
shredded on its own schedule while registration records are kept for their legal period. A key
is stored only as a :class:`WrappedKey`: encrypted by the current master key of a
:class:`~portraitmatch.privacy.master_keys.KeyProvider`, bound to its reference so that it cannot be
copied onto another subject's row. Destroying the wrapped key (crypto-shredding) makes everything
sealed under it unrecoverable, backups included.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from portraitmatch.privacy import _aead

_SUBJECT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
SERVICE_SUBJECT = "_service"  # keys that belong to the installation, not to a person


class Purpose(StrEnum):
    BIOMETRIC = "biometric"  # retained evidence: ID portrait, frames
    PERSONAL = "personal"  # names, ID numbers
    ID_INDEX = "id_index"  # the installation's HMAC key for ID-number look-ups


@dataclass(frozen=True, slots=True)
class KeyRef:
    subject_ref: str
    purpose: Purpose
    generation: int = 1

    def __post_init__(self) -> None:
        if self.subject_ref != SERVICE_SUBJECT and not _SUBJECT.match(self.subject_ref):
            raise ValueError(f"subject_ref must be an opaque id matching {_SUBJECT.pattern}")
        if not 1 <= self.generation < 2**32:
            raise ValueError("generation must be a positive 32-bit integer")
        object.__setattr__(self, "purpose", Purpose(self.purpose))

    @property
    def context(self) -> bytes:
        """Associated data that binds a wrapped key to this reference."""
        return f"pm-dk-v1|{self.subject_ref}|{self.purpose.value}|{self.generation}".encode()


@dataclass(frozen=True, slots=True)
class DataKey:
    """An unwrapped data key. Lives in memory only; its repr never shows the secret."""

    ref: KeyRef
    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.secret) != _aead.KEY_BYTES:
            raise ValueError("a data key is 32 bytes")

    @classmethod
    def generate(cls, ref: KeyRef) -> DataKey:
        return cls(ref=ref, secret=_aead.random_key())


@dataclass(frozen=True, slots=True)
class WrappedKey:
    """A data key as stored: encrypted under master key ``master_key_id``.

    ``expires_at`` is when the key is due for shredding (``None``: no scheduled end).
    """

    ref: KeyRef
    master_key_id: str
    blob: bytes = field(repr=False)
    created_at: datetime
    expires_at: datetime | None = None
