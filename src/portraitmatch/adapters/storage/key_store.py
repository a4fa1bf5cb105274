"""``privacy.subject_keys.KeyStore`` on the ``data_keys`` and ``shred_receipts`` tables.

Bound to one SQLAlchemy session, so a key created while sealing a record commits (or rolls back)
with that record. Destroying a key deletes its row: on PostgreSQL the space is reclaimed by VACUUM,
on SQLite by ``secure_delete`` pages; what remains in old backups is useless without the key.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from portraitmatch.adapters.storage.tables import DataKeyRow, ShredReceiptRow
from portraitmatch.privacy.data_keys import KeyRef, Purpose, WrappedKey
from portraitmatch.privacy.subject_keys import ShredReceipt


def _wrapped(row: DataKeyRow) -> WrappedKey:
    return WrappedKey(
        ref=KeyRef(row.subject_ref, Purpose(row.purpose), row.generation),
        master_key_id=row.master_key_id,
        blob=row.blob,
        created_at=row.created_at,
        expires_at=row.expires_at,
    )


class SqlKeyStore:
    def __init__(self, db: Session) -> None:
        self.db = db

    def latest(self, subject_ref: str, purpose: Purpose) -> WrappedKey | None:
        row = self.db.scalars(
            select(DataKeyRow)
            .where(DataKeyRow.subject_ref == subject_ref, DataKeyRow.purpose == purpose.value)
            .order_by(DataKeyRow.generation.desc())
            .limit(1)
        ).first()
        return _wrapped(row) if row else None

    def get(self, ref: KeyRef) -> WrappedKey | None:
        row = self.db.get(DataKeyRow, (ref.subject_ref, ref.purpose.value, ref.generation))
        return _wrapped(row) if row else None

    def next_generation(self, subject_ref: str, purpose: Purpose) -> int:
        highest = 0
        for table in (DataKeyRow, ShredReceiptRow):
            value = self.db.scalar(
                select(func.max(table.generation)).where(
                    table.subject_ref == subject_ref, table.purpose == purpose.value
                )
            )
            highest = max(highest, value or 0)
        return highest + 1

    def save(self, wrapped: WrappedKey) -> None:
        ref = wrapped.ref
        if self.db.get(ShredReceiptRow, (ref.subject_ref, ref.purpose.value, ref.generation)) is not None:
            raise ValueError("a shredded key reference cannot be reused")
        row = self.db.get(DataKeyRow, (ref.subject_ref, ref.purpose.value, ref.generation))
        if row is None:
            self.db.add(
                DataKeyRow(
                    subject_ref=ref.subject_ref,
                    purpose=ref.purpose.value,
                    generation=ref.generation,
                    master_key_id=wrapped.master_key_id,
                    blob=wrapped.blob,
                    created_at=wrapped.created_at,
                    expires_at=wrapped.expires_at,
                )
            )
        else:
            row.master_key_id = wrapped.master_key_id
            row.blob = wrapped.blob
            row.expires_at = wrapped.expires_at
        self.db.flush()

    def destroy(self, receipt: ShredReceipt) -> bool:
        ref = receipt.ref
        deleted = self.db.execute(
            delete(DataKeyRow).where(
                DataKeyRow.subject_ref == ref.subject_ref,
                DataKeyRow.purpose == ref.purpose.value,
                DataKeyRow.generation == ref.generation,
            )
        ).rowcount
        if not deleted:
            return False
        self.db.add(
            ShredReceiptRow(
                subject_ref=ref.subject_ref,
                purpose=ref.purpose.value,
                generation=ref.generation,
                shredded_at=receipt.shredded_at,
                reason=receipt.reason.value,
            )
        )
        self.db.flush()
        return True

    def live(self, subject_ref: str | None = None) -> Iterator[WrappedKey]:
        query = select(DataKeyRow).order_by(DataKeyRow.subject_ref, DataKeyRow.purpose, DataKeyRow.generation)
        if subject_ref is not None:
            query = query.where(DataKeyRow.subject_ref == subject_ref)
        for row in self.db.scalars(query):
            yield _wrapped(row)
