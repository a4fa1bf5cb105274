"""Registry test data written straight to storage: operators, outlets, and decided sessions.

Registry rules are tested apart from the verification engine, so a session's decision is stored
here as the service would store it after a real verification. The end-to-end API tests run real
verifications on real clips instead.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import date, datetime, timedelta

from portraitmatch.adapters.storage import sessions as session_store
from portraitmatch.adapters.storage.database import Database
from portraitmatch.adapters.storage.documents import save_document
from portraitmatch.adapters.storage.outlets import create_operator, create_outlet
from portraitmatch.adapters.storage.protection import Protection
from portraitmatch.registry.documents import DocumentType, IdDocument
from portraitmatch.registry.resident_id import check_character
from portraitmatch.registry.sessions import Channel, Purpose, Verdict, VerificationSession
from portraitmatch.types import Action, Outcome


def unique_resident_id() -> str:
    """A valid resident ID number no other test uses (random birth date and sequence)."""
    birth = date(1960, 1, 1) + timedelta(days=secrets.randbelow(15_000))
    first17 = f"110105{birth:%Y%m%d}{secrets.randbelow(1000):03d}"
    return first17 + check_character(first17)


def document(number: str | None = None, name: str = "张三") -> IdDocument:
    number = number or unique_resident_id()
    birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    return IdDocument(DocumentType.RESIDENT_ID, number, name, birth, date(2040, 1, 1))


def outlet(database: Database, *, now: datetime) -> tuple[str, str]:
    """A fresh operator and one of its outlets: (operator_id, outlet_id)."""
    suffix = secrets.token_hex(4)
    with database.transaction() as db:
        create_operator(db=db, operator_id=f"op-{suffix}", name="Test operator", now=now)
        create_outlet(
            db=db, outlet_id=f"shop-{suffix}", operator_id=f"op-{suffix}", name="Test shop", now=now
        )
    return f"op-{suffix}", f"shop-{suffix}"


def decided_session(
    database: Database,
    protection: Protection,
    *,
    operator_id: str,
    outlet_id: str,
    doc: IdDocument,
    now: datetime,
    outcome: Outcome = Outcome.PASS,
    purpose: Purpose = Purpose.REGISTRATION,
    use_window_s: float = 900,
) -> tuple[VerificationSession, int]:
    """A session for ``doc`` decided with ``outcome``; returns it and its document row id."""
    with database.transaction() as db:
        stored = save_document(db=db, protection=protection, document=doc, now=now)
        session = session_store.insert_session(
            db=db,
            protection=protection,
            new=session_store.NewSession(
                id=uuid.uuid4().hex,
                outlet_id=outlet_id,
                operator_id=operator_id,
                api_key_id="seed",
                channel=Channel.COUNTER,
                purpose=purpose,
                document_id=stored.id,
                device_key="seed-device",
                actions=(Action.BLINK, Action.TURN_LEFT),
                nonce=secrets.token_urlsafe(16),
                capture_token_sha256="0" * 64,
                issued_at=now,
                expires_at=now + timedelta(seconds=120),
            ),
            template=b"seeded template",
            now=now,
        )
        assert session_store.claim_capture(db=db, session_id=session.id, kind="video", now=now) is not None
        verdict = Verdict(
            outcome=outcome,
            reasons=("CHALLENGE_PASSED", "MATCH") if outcome is Outcome.PASS else ("NO_MATCH",),
            message="seeded for a registry test",
            decided_at=now,
            usable_until=now + timedelta(seconds=use_window_s) if outcome is Outcome.PASS else None,
            liveness_passed=True,
            match_score=0.9 if outcome is Outcome.PASS else 0.1,
            match_threshold=0.5,
        )
        assert session_store.record_decision(
            db=db, protection=protection, session_id=session.id, verdict=verdict, now=now
        )
        found = session_store.get_session(db=db, session_id=session.id)
    assert found is not None
    return found, stored.id
