"""Registry test data written straight to storage: operators, outlets, and decided sessions.

Registry rules are tested apart from the verification engine, so a session's decision is stored
as the service stores it after a real verification (``bench.load.store_decided_session``, which
the registry benchmark uses too). The end-to-end API tests run real verifications on real clips.
"""

from __future__ import annotations

import random
import secrets
from datetime import datetime

from portraitmatch.adapters.storage.database import Database
from portraitmatch.adapters.storage.outlets import create_operator, create_outlet
from portraitmatch.adapters.storage.protection import Protection
from portraitmatch.bench.load import random_resident_id, resident_document, store_decided_session
from portraitmatch.registry.documents import IdDocument
from portraitmatch.registry.sessions import Purpose, VerificationSession
from portraitmatch.types import Outcome

_RNG = random.SystemRandom()


def unique_resident_id() -> str:
    """A valid resident ID number, random enough that tests sharing a database do not collide."""
    return random_resident_id(_RNG)


def document(number: str | None = None, name: str = "张三") -> IdDocument:
    return resident_document(number or unique_resident_id(), name)


def outlet(database: Database, *, now: datetime) -> tuple[str, str]:
    """A fresh operator and one of its outlets: (operator_id, outlet_id)."""
    suffix = secrets.token_hex(4)
    operator_id, outlet_id = f"op-{suffix}", f"shop-{suffix}"
    with database.transaction() as db:
        create_operator(db=db, operator_id=operator_id, name="Test operator", now=now)
        create_outlet(db=db, outlet_id=outlet_id, operator_id=operator_id, name="Test shop", now=now)
    return operator_id, outlet_id


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
    return store_decided_session(
        database,
        protection,
        operator_id=operator_id,
        outlet_id=outlet_id,
        document=doc,
        now=now,
        outcome=outcome,
        purpose=purpose,
        use_window_s=use_window_s,
    )
