"""Ed25519 signatures for the audit chain head and for inspection reports.

The private key never enters the database: it is loaded at the edge (a key file, an environment
variable, or an HSM behind :class:`Signer`). Verifiers trust public keys they were given out of band
(:class:`TrustedKeys`), never a key found next to the data it vouches for.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


def signing_key_id(public_key: bytes) -> str:
    """A short fingerprint of a raw 32-byte Ed25519 public key, printed wherever it signs."""
    return "ed25519:" + hashlib.sha256(public_key).hexdigest()[:16]


@runtime_checkable
class Signer(Protocol):
    """Signs messages with a key the caller cannot read (memory, or an HSM)."""

    @property
    def key_id(self) -> str: ...

    @property
    def public_key(self) -> bytes:
        """Raw 32-byte Ed25519 public key."""
        ...

    def sign(self, message: bytes) -> bytes: ...


class Ed25519Signer:
    """A :class:`Signer` over an Ed25519 private key held in memory."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self._public = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @classmethod
    def generate(cls) -> Ed25519Signer:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> Ed25519Signer:
        """From the raw 32-byte private key (the form a key file or environment variable holds)."""
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    def __repr__(self) -> str:
        return f"Ed25519Signer(key_id={self.key_id!r})"

    @property
    def key_id(self) -> str:
        return signing_key_id(self._public)

    @property
    def public_key(self) -> bytes:
        return self._public

    def private_pem(self) -> bytes:
        return self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)


def public_pem(public_key: bytes) -> bytes:
    return Ed25519PublicKey.from_public_bytes(public_key).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def public_key_from_pem(pem: bytes) -> bytes:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


class TrustedKeys:
    """The public keys a verifier accepts, by key id."""

    def __init__(self, public_keys: Iterable[bytes]) -> None:
        self._keys = {signing_key_id(k): bytes(k) for k in public_keys}

    def __repr__(self) -> str:
        return f"TrustedKeys({sorted(self._keys)!r})"

    def __bool__(self) -> bool:
        return bool(self._keys)

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(sorted(self._keys))

    def is_valid(self, key_id: str, message: bytes, signature: bytes) -> bool:
        """True only for a signature by a trusted key over exactly ``message``."""
        public = self._keys.get(key_id)
        if public is None:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)
