"""AES-256-GCM, the one primitive under the privacy recipes.

Hazardous on its own: nonce reuse under one key breaks confidentiality and integrity. Only the
recipes in this package import it; they pick a fresh random 96-bit nonce per message and bind the
context (subject, label, time) as associated data. Nothing outside ``portraitmatch.privacy`` may
import this module.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16


class AeadFailure(Exception):
    """Decryption failed: wrong key, altered ciphertext or altered associated data."""


def random_key() -> bytes:
    # Keys and nonces come from the OS CSPRNG, never from an injectable rng: a seeded generator
    # here would be a silent catastrophe in production.
    return os.urandom(KEY_BYTES)


def encrypt(key: bytes, plaintext: bytes, associated_data: bytes) -> bytes:
    """Return nonce ‖ ciphertext ‖ tag."""
    _check_key(key)
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, associated_data)


def decrypt(key: bytes, blob: bytes, associated_data: bytes) -> bytes:
    _check_key(key)
    if len(blob) < NONCE_BYTES + TAG_BYTES:
        raise AeadFailure("ciphertext too short")
    try:
        return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], associated_data)
    except InvalidTag as exc:
        raise AeadFailure("authentication failed") from exc


def _check_key(key: bytes) -> None:
    if len(key) != KEY_BYTES:
        raise AeadFailure(f"AES-256-GCM needs a {KEY_BYTES}-byte key")
