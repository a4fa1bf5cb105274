"""Key providers: master keys from a file, an environment variable or an external KMS/HSM, and
the audit signing key. The :class:`~portraitmatch.privacy.KeyProvider` protocol is the seam."""

from portraitmatch.adapters.keys.key_file import add_master_key, load_master_keys, parse_master_keys
from portraitmatch.adapters.keys.providers import (
    load_key_provider,
    load_signer,
    load_trusted_keys,
    master_key_file,
    signing_key_file,
)
from portraitmatch.adapters.keys.signing_key import (
    load_public_key,
    load_signing_key,
    public_key_path,
    write_signing_key,
)
from portraitmatch.privacy import KeyProvider

__all__ = [
    "KeyProvider",
    "add_master_key",
    "load_key_provider",
    "load_master_keys",
    "load_public_key",
    "load_signer",
    "load_signing_key",
    "load_trusted_keys",
    "master_key_file",
    "parse_master_keys",
    "public_key_path",
    "signing_key_file",
    "write_signing_key",
]
