"""Personal data at rest: keyed hashes to find records, sealed values to read them back.

Built on the ``privacy`` recipes. ID numbers and names are sealed under the document holder's
PERSONAL key; a session's face template under a key of its own (subject ``ses_<id>``), which is
shredded as soon as the session is decided or expires, so even a database backup taken while the
session ran cannot reveal the template afterwards.
"""

from __future__ import annotations

import threading
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portraitmatch.adapters.storage.database import Database
from portraitmatch.adapters.storage.key_store import SqlKeyStore
from portraitmatch.privacy.data_keys import DataKey, Purpose
from portraitmatch.privacy.id_numbers import index_id_number
from portraitmatch.privacy.master_keys import KeyProvider
from portraitmatch.privacy.sealing import Sealed, seal, unseal
from portraitmatch.privacy.subject_keys import ShredReason, SubjectKeys


def session_subject(session_id: str) -> str:
    return f"ses_{session_id}"


class Protection:
    """Keyed hashing and sealing for one installation. Thread-safe; caches only the index key."""

    def __init__(self, provider: KeyProvider) -> None:
        self.provider = provider
        self._index_key: DataKey | None = None
        self._lock = threading.Lock()

    def keys(self, db: Session) -> SubjectKeys:
        return SubjectKeys(SqlKeyStore(db), self.provider)

    def prepare(self, database: Database, *, now: datetime) -> None:
        """Create (or load) the installation's index key once, before serving.

        Two processes starting together may both try to create it; the loser's insert fails on the
        primary key and it reads the winner's key instead.
        """
        for _ in range(3):
            try:
                with database.transaction() as db:
                    key = self.keys(db).index_key(now=now)
                break
            except IntegrityError:
                continue
        else:  # pragma: no cover - three collisions in a row means something else is wrong
            raise RuntimeError("could not create the ID index key")
        with self._lock:
            self._index_key = key

    def index_key(self, db: Session, *, now: datetime) -> DataKey:
        """The installation's HMAC key for look-ups (cached once loaded)."""
        with self._lock:
            if self._index_key is None:
                self._index_key = self.keys(db).index_key(now=now)
            return self._index_key

    def lookup_key(self, db: Session, *, kind: str, value: str, now: datetime) -> str:
        """The keyed hash that finds a document (``kind`` = its type) or a device (``kind`` = device)."""
        return index_id_number(self.index_key(db, now=now), document_type=kind, number=value)

    def seal_personal(self, db: Session, *, subject_ref: str, label: str, value: str, now: datetime) -> bytes:
        key = self.keys(db).for_sealing(subject_ref, Purpose.PERSONAL, now=now)
        return seal(key, value.encode(), label=label, now=now).token

    def open_personal(self, db: Session, token: bytes) -> str:
        return self.open(db, token).decode()

    def seal_template(
        self, db: Session, *, session_id: str, template: bytes, keep_until: datetime, now: datetime
    ) -> bytes:
        key = self.keys(db).for_sealing(
            session_subject(session_id), Purpose.BIOMETRIC, now=now, keep_until=keep_until
        )
        return seal(key, template, label="face_template", now=now).token

    def open(self, db: Session, token: bytes) -> bytes:
        """Unseal any token; raises ``SealBroken`` or ``KeyShredded``."""
        sealed = Sealed.from_token(token)
        return unseal(self.keys(db).for_opening(sealed.ref), sealed)

    def shred_session(self, db: Session, *, session_id: str, now: datetime) -> None:
        self.keys(db).shred(
            session_subject(session_id),
            reason=ShredReason.RETENTION_EXPIRED,
            now=now,
            purposes=(Purpose.BIOMETRIC,),
        )
