"""Sealing: round trip, binding to subject/label/time, one uninformative error, master-key rotation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from portraitmatch.privacy import (
    DataKey,
    KeyRef,
    LocalMasterKeys,
    MasterKeyUnavailable,
    Purpose,
    SealBroken,
    Sealed,
    is_sealed_token,
    rewrap,
    seal,
    unseal,
    unwrap,
    wrap,
)

NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
PORTRAIT = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8


def _key(subject: str = "doc-1", generation: int = 1) -> DataKey:
    return DataKey.generate(KeyRef(subject, Purpose.BIOMETRIC, generation))


def test_seal_round_trip_and_header_is_readable_without_key() -> None:
    key = _key()
    sealed = seal(key, PORTRAIT, label="id_portrait", now=NOW)
    assert PORTRAIT not in sealed.token and b"JFIF" not in sealed.token
    assert unseal(key, sealed) == PORTRAIT
    assert unseal(key, sealed.token) == PORTRAIT
    header = Sealed.from_token(sealed.token)
    assert (header.ref, header.label, header.sealed_at) == (key.ref, "id_portrait", NOW)
    assert is_sealed_token(sealed.token)


def test_two_seals_of_the_same_data_differ() -> None:
    key = _key()
    assert (
        seal(key, b"x" * 64, label="frame", now=NOW).token
        != seal(key, b"x" * 64, label="frame", now=NOW).token
    )


def test_wrong_key_fails_with_the_one_error() -> None:
    sealed = seal(_key(), PORTRAIT, label="frame", now=NOW)
    other = DataKey.generate(sealed.ref)  # same reference, different secret
    with pytest.raises(SealBroken) as info:
        unseal(other, sealed)
    assert str(info.value) == "sealed data could not be opened"


@pytest.mark.parametrize("where", ["subject", "label", "time", "ciphertext", "tag", "truncated"])
def test_any_alteration_fails_the_same_way(where: str) -> None:
    key = _key("doc-42")
    token = bytearray(seal(key, PORTRAIT, label="frame", now=NOW).token)
    if where == "subject":
        token[token.index(b"doc-42") + 5] = ord("3")  # doc-43: moved to another subject
    elif where == "label":
        token[token.index(b"frame")] = ord("g")
    elif where == "time":
        at = token.index(b"frame") + len(b"frame")
        token[at + 7] ^= 1
    elif where == "ciphertext":
        token[len(token) // 2] ^= 0x80
    elif where == "tag":
        token[-1] ^= 1
    else:
        token = token[:40]
    with pytest.raises(SealBroken):
        unseal(key, bytes(token))


def test_a_token_moved_to_another_subject_key_is_refused() -> None:
    sealed = seal(_key("doc-1"), PORTRAIT, label="frame", now=NOW)
    with pytest.raises(SealBroken):
        unseal(_key("doc-2"), sealed)


def test_malformed_tokens_are_not_sealed_tokens() -> None:
    for junk in (b"", b"PMS1", b"PMS1\xff" + b"a" * 10, PORTRAIT, bytes(100)):
        assert not is_sealed_token(junk)
        with pytest.raises(SealBroken):
            Sealed.from_token(junk)


def test_naive_time_and_bad_label_are_refused() -> None:
    with pytest.raises(ValueError):
        seal(_key(), b"x", label="frame", now=datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        seal(_key(), b"x", label="Not A Label", now=NOW)


def test_data_key_repr_hides_the_secret() -> None:
    key = _key()
    assert key.secret.hex() not in repr(key)
    assert repr(key.secret) not in repr(key)


def test_wrapped_key_is_bound_to_its_reference() -> None:
    provider = LocalMasterKeys([bytes(range(32))])
    key = _key("doc-1")
    wrapped = wrap(provider, key, created_at=NOW)
    assert key.secret not in wrapped.blob
    assert unwrap(provider, wrapped).secret == key.secret
    from dataclasses import replace

    moved = replace(wrapped, ref=KeyRef("doc-2", Purpose.BIOMETRIC, 1))
    with pytest.raises(SealBroken):
        unwrap(provider, moved)


def test_rotation_rewraps_without_touching_sealed_data() -> None:
    old_secret, new_secret = bytes(range(32)), bytes(range(1, 33))
    old = LocalMasterKeys([old_secret])
    key = _key()
    sealed = seal(key, PORTRAIT, label="frame", now=NOW)
    wrapped = wrap(old, key, created_at=NOW)

    rotated = LocalMasterKeys([new_secret, old_secret])  # new key first: current
    fresh = rewrap(rotated, wrapped)
    assert fresh.master_key_id == rotated.current_key_id != wrapped.master_key_id
    assert rewrap(rotated, fresh) is fresh  # already current: untouched
    new_only = LocalMasterKeys([new_secret])
    assert unseal(unwrap(new_only, fresh), sealed) == PORTRAIT  # the old master key can be retired
    with pytest.raises(MasterKeyUnavailable):
        unwrap(new_only, wrapped)


def test_master_keys_must_be_32_bytes() -> None:
    from portraitmatch.errors import ConfigurationError

    with pytest.raises(ConfigurationError):
        LocalMasterKeys([b"short"])
    with pytest.raises(ConfigurationError):
        LocalMasterKeys([])
    assert bytes(range(32)).hex() not in repr(LocalMasterKeys([bytes(range(32))]))
