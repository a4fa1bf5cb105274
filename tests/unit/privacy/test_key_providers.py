"""Key providers at the edge: key file (format, permissions, rotation), environment, external."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from portraitmatch.adapters.keys import (
    add_master_key,
    load_key_provider,
    load_signer,
    load_trusted_keys,
    parse_master_keys,
    write_signing_key,
)
from portraitmatch.config import KeySettings, Settings
from portraitmatch.errors import ConfigurationError
from portraitmatch.privacy import KeyProvider, LocalMasterKeys, master_key_id


def test_key_file_rotation_prepends_a_current_key(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "master.keys"
    first = add_master_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    second = add_master_key(path)
    settings = Settings(data_dir=tmp_path, keys=KeySettings(master_key_file=path))
    provider = load_key_provider(settings)
    assert isinstance(provider, KeyProvider)
    assert provider.current_key_id == second and provider.holds(first)


def test_loose_permissions_refused_outside_development(tmp_path: Path) -> None:
    path = tmp_path / "master.keys"
    add_master_key(path)
    os.chmod(path, 0o644)
    dev = Settings(data_dir=tmp_path, keys=KeySettings(master_key_file=path))
    assert load_key_provider(dev)
    prod = Settings(environment="production", data_dir=tmp_path, keys=KeySettings(master_key_file=path))
    with pytest.raises(ConfigurationError, match="chmod 600"):
        load_key_provider(prod)


def test_production_needs_explicit_key_paths(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="master_key_file"):
        load_key_provider(Settings(environment="production", data_dir=tmp_path))


def test_env_provider_accepts_standard_and_urlsafe_base64() -> None:
    k1, k2 = bytes(range(32)), bytes(range(200, 232))
    value = base64.urlsafe_b64encode(k2).decode().rstrip("=") + "," + base64.b64encode(k1).decode()
    settings = Settings(keys=KeySettings(provider="env"))
    provider = load_key_provider(settings, environ={"PORTRAITMATCH_MASTER_KEY": value})
    assert provider.current_key_id == master_key_id(k2) and provider.holds(master_key_id(k1))
    with pytest.raises(ConfigurationError):
        load_key_provider(settings, environ={})


@pytest.mark.parametrize("text", ["", "# only a comment", "not base64!", base64.b64encode(b"short").decode()])
def test_bad_key_text_is_a_configuration_error(text: str) -> None:
    with pytest.raises(ConfigurationError):
        parse_master_keys(text, source="test")


def make_hsm(keys: KeySettings) -> KeyProvider:
    """An 'external' provider factory, as an operator's KMS plug-in would be."""
    return LocalMasterKeys([bytes(range(32))])


def test_external_provider_is_loaded_by_module_and_factory() -> None:
    settings = Settings(keys=KeySettings(provider=f"external:{__name__}:make_hsm"))
    assert load_key_provider(settings).current_key_id == master_key_id(bytes(range(32)))
    with pytest.raises(ConfigurationError):
        load_key_provider(Settings(keys=KeySettings(provider="external:no.such.module:f")))
    with pytest.raises(ConfigurationError):
        load_key_provider(Settings(keys=KeySettings(provider="vault")))


def test_signing_key_from_file_or_env_and_trusted_keys(tmp_path: Path) -> None:
    path = tmp_path / "audit-signing.pem"
    signer = write_signing_key(path)
    assert (tmp_path / "audit-signing.pub.pem").read_bytes().startswith(b"-----BEGIN PUBLIC KEY")
    settings = Settings(data_dir=tmp_path, keys=KeySettings(signing_key_file=path))
    loaded = load_signer(settings, environ={})
    assert loaded is not None and loaded.key_id == signer.key_id
    trusted = load_trusted_keys(settings, loaded)
    assert trusted.key_ids == (signer.key_id,)
    with pytest.raises(ConfigurationError):
        write_signing_key(path)  # never overwritten
    seed = base64.b64encode(bytes(range(32))).decode()
    from_env = load_signer(Settings(data_dir=tmp_path / "none"), environ={"PORTRAITMATCH_SIGNING_KEY": seed})
    assert from_env is not None and from_env.key_id != signer.key_id
    assert load_signer(Settings(data_dir=tmp_path / "none"), environ={}) is None
    pinned = Settings(
        data_dir=tmp_path, keys=KeySettings(audit_public_key_files=(tmp_path / "audit-signing.pub.pem",))
    )
    assert load_trusted_keys(pinned, from_env).key_ids == (signer.key_id,)


def test_development_signing_key_is_created_once(tmp_path: Path) -> None:
    from portraitmatch.adapters.keys.providers import ensure_development_signing_key

    dev = Settings(data_dir=tmp_path)
    path = ensure_development_signing_key(dev)
    assert path is not None and path.stat().st_mode & 0o777 == 0o600
    assert ensure_development_signing_key(dev) is None
    assert ensure_development_signing_key(Settings(environment="production", data_dir=tmp_path / "p")) is None
    assert not (tmp_path / "p").exists()
