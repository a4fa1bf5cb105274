"""Evidence retention: nothing when off; only the allowed artefacts, sealed, when on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from portraitmatch.config import RetentionSettings
from portraitmatch.privacy import (
    LocalMasterKeys,
    MemoryKeyStore,
    Purpose,
    SubjectKeys,
    seal_evidence,
    select_artefacts,
    unseal,
)

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
PORTRAIT = b"\x89PNG\r\n\x1a\n" + b"p" * 100
FRAMES = [bytes([i]) * 50 for i in range(10)]


def _keys() -> SubjectKeys:
    return SubjectKeys(MemoryKeyStore(), LocalMasterKeys([bytes(range(32))]))


def test_retention_off_keeps_nothing_and_creates_no_key() -> None:
    keys = _keys()
    off = RetentionSettings()
    assert off.enabled is False
    assert (
        seal_evidence(
            keys, off, subject_ref="doc-1", session_id="s1", id_portrait=PORTRAIT, frames=FRAMES, now=NOW
        )
        == []
    )
    assert list(keys.store.live()) == []


def test_retention_on_keeps_portrait_and_evenly_spread_frames_sealed() -> None:
    keys = _keys()
    on = RetentionSettings(enabled=True, frames_kept=3, days=30)
    kept = seal_evidence(
        keys, on, subject_ref="doc-1", session_id="s1", id_portrait=PORTRAIT, frames=FRAMES, now=NOW
    )
    assert [e.sealed.label for e in kept] == ["id_portrait", "frame", "frame", "frame"]
    assert all(e.expires_at == NOW + timedelta(days=30) for e in kept)
    assert all(PORTRAIT not in e.sealed.token and b"PNG" not in e.sealed.token for e in kept)
    key = keys.for_opening(kept[0].sealed.ref)
    assert key.ref.purpose is Purpose.BIOMETRIC
    assert [unseal(key, e.sealed) for e in kept] == [PORTRAIT, FRAMES[0], FRAMES[4], FRAMES[9]] or [
        unseal(key, e.sealed) for e in kept
    ] == [PORTRAIT, FRAMES[0], FRAMES[5], FRAMES[9]]
    assert keys.store.latest("doc-1", Purpose.BIOMETRIC).expires_at == NOW + timedelta(days=30)


def test_only_the_named_artefacts_are_kept() -> None:
    frames_only = RetentionSettings(enabled=True, artefacts=("frames",), frames_kept=1)
    kept = select_artefacts(frames_only, id_portrait=PORTRAIT, frames=FRAMES)
    assert [label for label, _ in kept] == ["frame"] and kept[0][1] == FRAMES[5]
    portrait_only = RetentionSettings(enabled=True, artefacts=("id_portrait",))
    assert [label for label, _ in select_artefacts(portrait_only, id_portrait=PORTRAIT, frames=FRAMES)] == [
        "id_portrait"
    ]
    assert select_artefacts(portrait_only, id_portrait=None, frames=FRAMES) == []
