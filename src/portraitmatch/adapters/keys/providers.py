"""Building the key provider and the audit signer from settings, at the edge.

``keys.provider`` selects where master keys come from:

- ``file`` (default): ``keys.master_key_file``; in development it defaults to
  ``<data_dir>/keys/master.keys``. Outside development the path must be set explicitly and the file
  must be mode 0600.
- ``env``: the variable named by ``keys.master_key_env`` (base64 keys, comma separated, first current).
- ``external:package.module:factory``: an external KMS or HSM. ``factory(keys_settings)`` must return an
  object satisfying :class:`portraitmatch.privacy.KeyProvider` (wrap/unwrap 32-byte data keys; the
  master key never has to leave the device).
"""

from __future__ import annotations

import fcntl
import importlib
import os
from collections.abc import Mapping
from pathlib import Path

from portraitmatch.adapters.keys.key_file import load_master_keys, parse_master_keys
from portraitmatch.adapters.keys.signing_key import load_public_key, load_signing_key, parse_signing_key
from portraitmatch.audit.signing import Signer, TrustedKeys
from portraitmatch.config import Settings
from portraitmatch.errors import ConfigurationError
from portraitmatch.privacy import KeyProvider, LocalMasterKeys

DEV_MASTER_KEY_FILE = Path("keys") / "master.keys"
DEV_SIGNING_KEY_FILE = Path("keys") / "audit-signing.pem"


def _is_strict(settings: Settings) -> bool:
    return settings.environment != "development"


def master_key_file(settings: Settings) -> Path:
    if settings.keys.master_key_file is not None:
        return settings.keys.master_key_file
    if _is_strict(settings):
        raise ConfigurationError("keys.master_key_file must be set outside development")
    return settings.data_dir / DEV_MASTER_KEY_FILE


def signing_key_file(settings: Settings) -> Path:
    if settings.keys.signing_key_file is not None:
        return settings.keys.signing_key_file
    if _is_strict(settings):
        raise ConfigurationError("keys.signing_key_file must be set outside development")
    return settings.data_dir / DEV_SIGNING_KEY_FILE


def load_key_provider(settings: Settings, *, environ: Mapping[str, str] | None = None) -> KeyProvider:
    environ = os.environ if environ is None else environ
    kind = settings.keys.provider
    if kind == "file":
        return load_master_keys(master_key_file(settings), strict=_is_strict(settings))
    if kind == "env":
        name = settings.keys.master_key_env
        value = environ.get(name)
        if not value:
            raise ConfigurationError(f"keys.provider is env but ${name} is empty")
        return LocalMasterKeys(parse_master_keys(value, source=f"${name}"))
    if kind.startswith("external:"):
        return _external(kind.removeprefix("external:"), settings)
    raise ConfigurationError(f"unknown keys.provider {kind!r} (file | env | external:module:factory)")


def _external(target: str, settings: Settings) -> KeyProvider:
    module_name, _, factory_name = target.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), factory_name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigurationError(f"cannot load key provider {target!r}: {exc}") from None
    provider = factory(settings.keys)
    if not isinstance(provider, KeyProvider):
        raise ConfigurationError(f"{target} did not return a KeyProvider")
    return provider


def load_signer(settings: Settings, *, environ: Mapping[str, str] | None = None) -> Signer | None:
    """The audit signing key from ``$PORTRAITMATCH_SIGNING_KEY`` or the key file; None if neither."""
    environ = os.environ if environ is None else environ
    value = environ.get(settings.keys.signing_key_env)
    if value:
        return parse_signing_key(value.encode(), source=f"${settings.keys.signing_key_env}")
    try:
        path = signing_key_file(settings)
    except ConfigurationError:
        return None
    if not path.is_file():
        return None
    return load_signing_key(path, strict=_is_strict(settings))


def load_trusted_keys(settings: Settings, signer: Signer | None) -> TrustedKeys:
    """Configured public keys; without any, the signer's own public key (same-host verification)."""
    files = settings.keys.audit_public_key_files
    if files:
        return TrustedKeys(load_public_key(p) for p in files)
    return TrustedKeys([signer.public_key] if signer is not None else [])


def ensure_development_signing_key(settings: Settings) -> Path | None:
    """In development, create the audit signing key on first start so the chain is signed from the
    first event. Returns the path when it created one. Outside development keys are provisioned."""
    if settings.environment != "development" or settings.keys.signing_key_file is not None:
        return None
    from portraitmatch.adapters.keys.signing_key import write_signing_key

    path = settings.data_dir / DEV_SIGNING_KEY_FILE
    if path.exists():
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.parent / ".create-signing.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two processes starting at once must not make two keys
        if path.exists():
            return None
        write_signing_key(path)
    return path
