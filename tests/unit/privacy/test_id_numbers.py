from __future__ import annotations

from datetime import UTC, datetime

import pytest

from portraitmatch.privacy import (
    DataKey,
    KeyRef,
    LocalMasterKeys,
    MemoryKeyStore,
    Purpose,
    SubjectKeys,
    index_id_number,
)

NOW = datetime(2026, 3, 1, tzinfo=UTC)
NUMBER = "11010519491231002X"


def test_keyed_hash_is_stable_normalised_and_depends_on_the_key() -> None:
    keys = SubjectKeys(MemoryKeyStore(), LocalMasterKeys([bytes(range(32))]))
    k = keys.index_key(now=NOW)
    h = index_id_number(k, document_type="resident_id", number=NUMBER)
    assert len(h) == 64 and NUMBER not in h
    assert index_id_number(k, document_type="resident_id", number=" 110105 19491231 002x ") == h
    assert index_id_number(k, document_type="passport", number=NUMBER) != h
    other = DataKey.generate(KeyRef("_service", Purpose.ID_INDEX))
    assert index_id_number(other, document_type="resident_id", number=NUMBER) != h


def test_only_the_index_key_hashes_ids() -> None:
    with pytest.raises(ValueError):
        index_id_number(
            DataKey.generate(KeyRef("doc-1", Purpose.PERSONAL)), document_type="resident_id", number="1"
        )
    k = DataKey.generate(KeyRef("_service", Purpose.ID_INDEX))
    with pytest.raises(ValueError):
        index_id_number(k, document_type="resident_id", number="   ")
