"""ID documents (holders): one row per document, found by keyed hash, number and name sealed."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from portraitmatch.adapters.storage.protection import Protection
from portraitmatch.adapters.storage.tables import DocumentRow
from portraitmatch.registry.documents import DocumentType, IdDocument


@dataclass(frozen=True, slots=True)
class StoredDocument:
    id: int
    lookup_key: str
    type: DocumentType
    subject_ref: str


def document_lookup_key(
    *,
    db: Session,
    protection: Protection,
    document_type: DocumentType,
    number: str,
    issuing_state: str,
    now: datetime,
) -> str:
    """The keyed hash of a normalised document number (passport numbers are unique per issuing state)."""
    value = f"{issuing_state}:{number}" if document_type is DocumentType.PASSPORT else number
    return protection.lookup_key(db, kind=document_type.value, value=value, now=now)


def _stored(row: DocumentRow) -> StoredDocument:
    return StoredDocument(row.id, row.lookup_key, DocumentType(row.doc_type), row.subject_ref)


def save_document(
    *, db: Session, protection: Protection, document: IdDocument, now: datetime
) -> StoredDocument:
    """Find the document's row or create it; the holder's name is updated to the latest one given."""
    lookup_key = document_lookup_key(
        db=db,
        protection=protection,
        document_type=document.type,
        number=document.number,
        issuing_state=document.issuing_state,
        now=now,
    )
    row = db.scalars(select(DocumentRow).where(DocumentRow.lookup_key == lookup_key)).first()
    if row is not None:
        row.name_sealed = protection.seal_personal(
            db, subject_ref=row.subject_ref, label="holder_name", value=document.holder_name, now=now
        )
        row.updated_at = now
        db.flush()
        return _stored(row)
    subject_ref = f"doc_{secrets.token_hex(12)}"
    values = {
        "lookup_key": lookup_key,
        "doc_type": document.type.value,
        "subject_ref": subject_ref,
        "number_sealed": protection.seal_personal(
            db, subject_ref=subject_ref, label="id_number", value=document.number, now=now
        ),
        "name_sealed": protection.seal_personal(
            db, subject_ref=subject_ref, label="holder_name", value=document.holder_name, now=now
        ),
        "created_at": now,
        "updated_at": now,
    }
    # Two sessions for a new document may race; the loser keeps the winner's row.
    insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    db.execute(insert(DocumentRow).values(**values).on_conflict_do_nothing(index_elements=["lookup_key"]))
    row = db.scalars(select(DocumentRow).where(DocumentRow.lookup_key == lookup_key)).one()
    return _stored(row)


def find_document(*, db: Session, lookup_key: str) -> StoredDocument | None:
    row = db.scalars(select(DocumentRow).where(DocumentRow.lookup_key == lookup_key)).first()
    return _stored(row) if row else None


def read_holder(*, db: Session, protection: Protection, document_id: int) -> tuple[str, str]:
    """(ID number, holder name), unsealed. Only for a holder looking at their own record."""
    row = db.get(DocumentRow, document_id)
    if row is None:
        raise LookupError(document_id)
    return protection.open_personal(db, row.number_sealed), protection.open_personal(db, row.name_sealed)
