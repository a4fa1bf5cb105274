"""Evidence retention: which artefacts of a verification are kept for disputes, sealed, and until when.

Off by default (``retention.enabled = False``): then nothing biometric is kept at all and
:func:`seal_evidence` returns an empty list. When an operator turns it on, only the artefacts named in
``retention.artefacts`` are kept (``id_portrait``, ``frames`` with at most ``frames_kept`` frames),
each sealed under the subject's biometric data key, whose expiry is pushed out to cover them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from portraitmatch.config import RetentionSettings
from portraitmatch.privacy.data_keys import Purpose
from portraitmatch.privacy.sealing import Sealed, seal
from portraitmatch.privacy.subject_keys import SubjectKeys

ID_PORTRAIT = "id_portrait"
FRAME = "frame"
_SETTING_OF_LABEL = {ID_PORTRAIT: "id_portrait", FRAME: "frames"}


@dataclass(frozen=True, slots=True)
class SealedEvidence:
    sealed: Sealed
    session_id: str
    expires_at: datetime


def evidence_expiry(retention: RetentionSettings, sealed_at: datetime) -> datetime:
    return sealed_at + timedelta(days=retention.days)


def after_cancellation_expiry(retention: RetentionSettings, cancelled_at: datetime) -> datetime:
    """When a holder's data is shredded after their last number was cancelled."""
    return cancelled_at + timedelta(days=retention.days_after_last_cancellation)


def select_artefacts(
    retention: RetentionSettings, *, id_portrait: bytes | None, frames: Sequence[bytes]
) -> list[tuple[str, bytes]]:
    """The (label, encoded image) pairs the settings allow to keep, in a stable order."""
    if not retention.enabled:
        return []
    kept: list[tuple[str, bytes]] = []
    if id_portrait is not None and _SETTING_OF_LABEL[ID_PORTRAIT] in retention.artefacts:
        kept.append((ID_PORTRAIT, id_portrait))
    if _SETTING_OF_LABEL[FRAME] in retention.artefacts and retention.frames_kept > 0 and frames:
        kept.extend((FRAME, frame) for frame in _spread(frames, retention.frames_kept))
    return kept


def seal_evidence(
    keys: SubjectKeys,
    retention: RetentionSettings,
    *,
    subject_ref: str,
    session_id: str,
    id_portrait: bytes | None,
    frames: Sequence[bytes],
    now: datetime,
) -> list[SealedEvidence]:
    """Seal what the settings allow to keep; nothing at all when retention is off."""
    artefacts = select_artefacts(retention, id_portrait=id_portrait, frames=frames)
    if not artefacts:
        return []
    expires_at = evidence_expiry(retention, now)
    key = keys.for_sealing(subject_ref, Purpose.BIOMETRIC, now=now, keep_until=expires_at)
    return [
        SealedEvidence(
            sealed=seal(key, data, label=label, now=now), session_id=session_id, expires_at=expires_at
        )
        for label, data in artefacts
    ]


def _spread(frames: Sequence[bytes], n: int) -> list[bytes]:
    # Evenly spaced frames show the whole challenge, not just its first second.
    if len(frames) <= n:
        return list(frames)
    if n == 1:
        return [frames[len(frames) // 2]]
    step = (len(frames) - 1) / (n - 1)
    return [frames[round(i * step)] for i in range(n)]
