"""The Ed25519 key that signs the audit chain and reports: a PEM file or an environment variable.

It is never stored in the database, so someone who can write to the database cannot re-sign a
rewritten history. ``portraitmatch keys init`` writes ``audit-signing.pem`` (private, mode 0600) and
``audit-signing.pub.pem`` (public: give it to inspectors; ``audit verify`` trusts it).
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from portraitmatch.adapters.keys.key_file import check_private_file, write_private_file
from portraitmatch.audit.signing import Ed25519Signer, public_key_from_pem, public_pem
from portraitmatch.errors import ConfigurationError


def parse_signing_key(data: bytes, *, source: str) -> Ed25519Signer:
    """A PKCS#8 PEM private key, or the base64 of the raw 32-byte seed."""
    text = data.strip()
    if text.startswith(b"-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(text, password=None)
        except (ValueError, TypeError):
            raise ConfigurationError(f"{source}: not a readable unencrypted PEM private key") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigurationError(f"{source}: the audit signing key must be Ed25519")
        return Ed25519Signer(key)
    try:
        seed = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError(f"{source}: neither PEM nor base64") from None
    if len(seed) != 32:
        raise ConfigurationError(f"{source}: a raw Ed25519 key is 32 bytes, got {len(seed)}")
    return Ed25519Signer.from_seed(seed)


def load_signing_key(path: Path, *, strict: bool) -> Ed25519Signer:
    if not path.is_file():
        raise ConfigurationError(
            f"signing key file {path} does not exist (create one: portraitmatch keys init)"
        )
    check_private_file(path, strict=strict)
    return parse_signing_key(path.read_bytes(), source=str(path))


def public_key_path(private_path: Path) -> Path:
    name = private_path.name.removesuffix(".pem")
    return private_path.with_name(name + ".pub.pem")


def write_signing_key(path: Path) -> Ed25519Signer:
    """Create a new key pair: the private PEM at ``path`` (0600), the public PEM beside it."""
    if path.exists():
        raise ConfigurationError(f"{path} already exists; refusing to overwrite a signing key")
    signer = Ed25519Signer.generate()
    write_private_file(path, signer.private_pem())
    public_key_path(path).write_bytes(public_pem(signer.public_key))
    return signer


def load_public_key(path: Path) -> bytes:
    try:
        return public_key_from_pem(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"{path}: not a readable Ed25519 public key ({exc})") from None
