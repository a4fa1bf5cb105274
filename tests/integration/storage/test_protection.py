"""Personal data at rest: what the tables hold is hashed or sealed, and templates are shredded."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from portraitmatch.adapters.storage import sessions as session_store
from portraitmatch.adapters.storage.database import Database
from portraitmatch.adapters.storage.documents import read_holder
from portraitmatch.adapters.storage.protection import Protection, session_subject
from portraitmatch.adapters.storage.tables import DataKeyRow, DocumentRow, SessionRow
from portraitmatch.privacy import KeyShredded, LocalMasterKeys, MasterKeyUnavailable, Purpose
from tests.integration.storage import seed

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def test_documents_hold_no_plaintext_number_or_name(database: Database, protection: Protection) -> None:
    operator_id, outlet_id = seed.outlet(database, now=NOW)
    doc = seed.document(name="王小明")
    _, document_id = seed.decided_session(
        database, protection, operator_id=operator_id, outlet_id=outlet_id, doc=doc, now=NOW
    )
    with database.reading() as db:
        row = db.get(DocumentRow, document_id)
        assert row is not None
        stored = b"".join(
            [row.lookup_key.encode(), row.number_sealed, row.name_sealed, row.subject_ref.encode()]
        )
        assert doc.number.encode() not in stored
        assert "王小明".encode() not in stored
        assert read_holder(db=db, protection=protection, document_id=document_id) == (doc.number, "王小明")


def test_the_same_document_is_found_again_by_its_keyed_hash(
    database: Database, protection: Protection
) -> None:
    operator_id, outlet_id = seed.outlet(database, now=NOW)
    doc = seed.document()
    _, first = seed.decided_session(
        database, protection, operator_id=operator_id, outlet_id=outlet_id, doc=doc, now=NOW
    )
    _, second = seed.decided_session(
        database,
        protection,
        operator_id=operator_id,
        outlet_id=outlet_id,
        doc=seed.document(doc.number),
        now=NOW,
    )
    assert first == second


def test_a_decided_session_keeps_no_template_and_its_key_is_shredded(
    database: Database, protection: Protection
) -> None:
    operator_id, outlet_id = seed.outlet(database, now=NOW)
    session, _ = seed.decided_session(
        database, protection, operator_id=operator_id, outlet_id=outlet_id, doc=seed.document(), now=NOW
    )
    with database.reading() as db:
        assert db.get(SessionRow, session.id).template_sealed is None  # type: ignore[union-attr]
        keys = db.scalars(
            select(DataKeyRow).where(DataKeyRow.subject_ref == session_subject(session.id))
        ).all()
        assert keys == []


def test_an_expired_template_is_erased_and_unrecoverable(database: Database, protection: Protection) -> None:
    import uuid
    from datetime import timedelta

    from portraitmatch.adapters.storage.documents import save_document
    from portraitmatch.registry.sessions import Channel
    from portraitmatch.registry.sessions import Purpose as SessionPurpose
    from portraitmatch.types import Action

    operator_id, outlet_id = seed.outlet(database, now=NOW)
    with database.transaction() as db:
        stored = save_document(db=db, protection=protection, document=seed.document(), now=NOW)
        session = session_store.insert_session(
            db=db,
            protection=protection,
            new=session_store.NewSession(
                id=uuid.uuid4().hex,
                outlet_id=outlet_id,
                operator_id=operator_id,
                api_key_id="k",
                channel=Channel.ONLINE,
                purpose=SessionPurpose.REGISTRATION,
                document_id=stored.id,
                device_key="d",
                actions=(Action.BLINK,),
                nonce="n",
                capture_token_sha256="0" * 64,
                issued_at=NOW,
                expires_at=NOW + timedelta(seconds=120),
            ),
            template=b"face template bytes",
            now=NOW,
        )
        token = db.get(SessionRow, session.id).template_sealed  # type: ignore[union-attr]
        assert token is not None and b"face template bytes" not in token
        assert protection.open(db, token) == b"face template bytes"
    with database.transaction() as db:
        assert session_store.erase_expired_templates(db=db, protection=protection, now=NOW) == []
    later = NOW + timedelta(seconds=121)
    with database.transaction() as db:
        erased = session_store.erase_expired_templates(db=db, protection=protection, now=later)
    assert session.id in erased
    with database.reading() as db:
        assert db.get(SessionRow, session.id).template_sealed is None  # type: ignore[union-attr]
        with pytest.raises(KeyShredded):  # a backup copy of the token is useless now
            protection.open(db, token)


def test_keys_are_wrapped_by_the_master_key(database: Database, protection: Protection) -> None:
    with database.reading() as db:
        index = protection.keys(db).store.latest("_service", Purpose.ID_INDEX)
    assert index is not None
    other = Protection(LocalMasterKeys([b"\x01" * 32]))
    with database.reading() as db, pytest.raises(MasterKeyUnavailable):  # another installation cannot unwrap
        other.keys(db).for_opening(index.ref)
