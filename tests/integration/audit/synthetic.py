"""A month of synthetic registrations written through the real storage layer, for report tests and
the committed sample report. No real person: names are made-up test names, ID numbers are random
valid-format numbers, faces are never involved (decisions are stored as the service stores them).

Outlet behaviours are planted so the report has something to find: one outlet fails far more
customers than the others, one approves far more exceptions.
"""

from __future__ import annotations

import random
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from portraitmatch.adapters.storage import numbers as number_store
from portraitmatch.adapters.storage import sessions as session_store
from portraitmatch.adapters.storage.audit_store import SqlAuditSink
from portraitmatch.adapters.storage.database import Database
from portraitmatch.adapters.storage.documents import save_document
from portraitmatch.adapters.storage.outlets import create_operator, create_outlet
from portraitmatch.adapters.storage.protection import Protection
from portraitmatch.audit.catalogue import EventType
from portraitmatch.audit.event import AuditEvent
from portraitmatch.registry.documents import IdDocument
from portraitmatch.registry.sessions import Channel, Purpose, Verdict
from portraitmatch.types import Action, Outcome
from tests.integration.storage import seed

OUTLETS = {
    # id: (name, p_fail, p_retry, p_exception per registration)
    "out-riverside": ("Riverside Mall", 0.06, 0.10, 0.02),
    "out-station": ("Station Kiosk", 0.07, 0.12, 0.30),
    "out-harbour": ("Harbour Street", 0.30, 0.12, 0.02),
    "out-airport": ("Airport Hall B", 0.05, 0.08, 0.00),
}
FAIL_REASONS = (("NO_MATCH",), ("FLAT_SURFACE_MOTION", "PRESENTATION_ATTACK_SUSPECTED"), ("WRONG_ACTION",))
RETRY_REASONS = (("BLURRED",), ("FACE_TOO_SMALL",), ("TOO_DARK",), ("CHALLENGE_INCOMPLETE", "ACTION_TIMEOUT"))
SURNAMES = "测试样例模拟虚构"
GIVEN = "甲乙丙丁戊己庚辛壬癸"


@dataclass
class Populated:
    sessions: int = 0
    registrations: int = 0
    exceptions: int = 0
    cancellations: int = 0
    names: list[str] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)


def populate(
    database: Database,
    protection: Protection,
    sink: SqlAuditSink,
    *,
    start: datetime,
    days: int = 30,
    per_outlet_channel: int = 45,
    rng_seed: int = 2026,
) -> Populated:
    rng = random.Random(rng_seed)
    out = Populated()
    operator_id = "op-north"
    with database.transaction() as db:
        create_operator(db=db, operator_id=operator_id, name="North Mobile (synthetic)", now=start)
        for outlet_id, (name, *_rest) in OUTLETS.items():
            create_outlet(db=db, outlet_id=outlet_id, operator_id=operator_id, name=name, now=start)
        inventory = [str(13_900_000_000 + i) for i in range(1, 1200)]
        number_store.add_numbers(db=db, operator_id=operator_id, msisdns=inventory, now=start)
    free = list(reversed(inventory))
    holders: list[IdDocument] = []
    plan = [
        (start + timedelta(seconds=rng.randrange(days * 86_400)), outlet_id, channel)
        for outlet_id in OUTLETS
        for channel in (Channel.COUNTER, Channel.ONLINE)
        for _ in range(per_outlet_channel)
    ]
    live: list[tuple[str, str]] = []  # (msisdn, subject_ref)
    for at, outlet_id, channel in sorted(plan):
        _name, p_fail, p_retry, p_exception = OUTLETS[outlet_id]
        if holders and rng.random() < 0.18:
            doc = rng.choice(holders)  # a returning holder: a second or third number
        else:
            name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
            doc = seed.document(seed.unique_resident_id(), name=name)
            holders.append(doc)
            out.names.append(name)
            out.numbers.append(doc.number)
        u = rng.random()
        outcome = Outcome.FAIL if u < p_fail else Outcome.RETRY if u < p_fail + p_retry else Outcome.PASS
        if rng.random() < 0.03:
            outcome = None  # the customer walked away: the session expires undecided
        actor = f"key:clerk-{outlet_id.removeprefix('out-')}"
        with database.transaction() as db:
            stored = save_document(db=db, protection=protection, document=doc, now=at)
            session = session_store.insert_session(
                db=db,
                protection=protection,
                new=session_store.NewSession(
                    id=uuid.uuid4().hex,
                    outlet_id=outlet_id,
                    operator_id=operator_id,
                    api_key_id=actor.removeprefix("key:"),
                    channel=channel,
                    purpose=Purpose.REGISTRATION,
                    document_id=stored.id,
                    device_key=f"dev-{outlet_id}",
                    actions=(Action.BLINK, Action.TURN_LEFT),
                    nonce=secrets.token_urlsafe(16),
                    capture_token_sha256="0" * 64,
                    issued_at=at,
                    expires_at=at + timedelta(seconds=120),
                ),
                template=b"synthetic template",
                now=at,
            )
            objects = {"session": session.id, "document": stored.subject_ref}
            sink.record(
                AuditEvent.create(
                    EventType.SESSION_CREATED,
                    at=at,
                    actor=actor,
                    outlet=outlet_id,
                    objects=objects,
                    details={
                        "channel": channel.value,
                        "purpose": "registration",
                        "actions": "blink,turn_left",
                    },
                ),
                db=db,
            )
        out.sessions += 1
        decided = at + timedelta(seconds=rng.randrange(25, 90))
        if outcome is None:
            with database.transaction() as db:
                session_store.erase_expired_templates(
                    db=db, protection=protection, now=at + timedelta(minutes=5)
                )
                sink.record(
                    AuditEvent.create(
                        EventType.SESSION_EXPIRED,
                        at=at + timedelta(minutes=5),
                        actor="system",
                        objects={"session": session.id},
                        details={"channel": channel.value},
                    ),
                    db=db,
                )
            continue
        reasons = (
            ("CHALLENGE_PASSED", "MATCH")
            if outcome is Outcome.PASS
            else rng.choice(FAIL_REASONS if outcome is Outcome.FAIL else RETRY_REASONS)
        )
        verdict = Verdict(
            outcome=outcome,
            reasons=reasons,
            message="synthetic decision",
            decided_at=decided,
            usable_until=decided + timedelta(minutes=15) if outcome is Outcome.PASS else None,
            liveness_passed=outcome is not Outcome.FAIL or reasons[0] == "NO_MATCH",
            match_score=round(
                rng.uniform(0.55, 0.9) if outcome is Outcome.PASS else rng.uniform(0.1, 0.5), 3
            ),
            match_threshold=0.5,
        )
        with database.transaction() as db:
            session_store.claim_capture(db=db, session_id=session.id, kind="video", now=at)
            session_store.record_decision(
                db=db, protection=protection, session_id=session.id, verdict=verdict, now=decided
            )
            sink.record(
                AuditEvent.create(
                    EventType.SESSION_DECIDED,
                    at=decided,
                    actor=actor,
                    outlet=outlet_id,
                    objects=objects,
                    details={
                        "channel": channel.value,
                        "outcome": outcome.value,
                        "reasons": ",".join(reasons),
                        "match_score": verdict.match_score,
                        "match_threshold": 0.5,
                        "evidence_kept": False,
                    },
                ),
                db=db,
            )
        if outcome is not Outcome.PASS or rng.random() > 0.8:
            continue
        registered = decided + timedelta(seconds=rng.randrange(30, 300))
        with database.transaction() as db:
            current = session_store.get_session(db=db, session_id=session.id)
            assert current is not None
            try:
                sub = number_store.register_number(
                    db=db,
                    session=current,
                    document_id=stored.id,
                    msisdn=free.pop(),
                    operator_id=operator_id,
                    limit=5,
                    now=registered,
                )
            except Exception:  # the holder is at the per-ID limit: no registration
                continue
            excepted = rng.random() < p_exception
            sink.record(
                AuditEvent.create(
                    EventType.NUMBER_REGISTERED,
                    at=registered,
                    actor=actor,
                    outlet=outlet_id,
                    objects={"subscription": sub.id, "session": session.id, "document": stored.subject_ref},
                    details={"channel": channel.value, "exception": excepted},
                ),
                db=db,
            )
            if excepted:
                sink.record(
                    AuditEvent.create(
                        EventType.EXCEPTION_APPROVED,
                        at=registered,
                        actor=f"key:supervisor-{outlet_id.removeprefix('out-')}",
                        outlet=outlet_id,
                        objects={"session": session.id, "subscription": sub.id},
                        details={
                            "kind": "manual_document_check",
                            "reason": "other",
                            "channel": channel.value,
                        },
                    ),
                    db=db,
                )
                out.exceptions += 1
        out.registrations += 1
        live.append((sub.msisdn, stored.subject_ref))
    # Some holders give numbers back; a few are asked to verify again.
    end = start + timedelta(days=days)
    for msisdn, subject_ref in rng.sample(live, k=len(live) // 10):
        at = end - timedelta(hours=rng.randrange(1, 48))
        with database.transaction() as db:
            sub = number_store.cancel_number(db=db, msisdn=msisdn, operator_id=None, cooling_days=90, now=at)
            sink.record(
                AuditEvent.create(
                    EventType.NUMBER_CANCELLED,
                    at=at,
                    actor="key:clerk-riverside",
                    objects={"subscription": sub.id, "document": subject_ref},
                    details={"reason": "holder_request"},
                ),
                db=db,
            )
        out.cancellations += 1
    for msisdn, subject_ref in live[:6]:
        at = end - timedelta(days=3)
        with database.transaction() as db:
            if number_store.live_subscription(db=db, msisdn=msisdn) is None:
                continue
            sub = number_store.request_reverification(
                db=db,
                msisdn=msisdn,
                operator_id=None,
                reason="periodic_review",
                deadline=at + timedelta(days=14),
                now=at,
            )
            sink.record(
                AuditEvent.create(
                    EventType.REVERIFICATION_REQUESTED,
                    at=at,
                    actor="key:admin",
                    objects={"subscription": sub.id, "document": subject_ref},
                    details={"reason": "periodic_review"},
                ),
                db=db,
            )
    return out
