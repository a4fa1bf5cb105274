"""The tables. Times are UTC; ID numbers and names are stored only as keyed hashes and sealed bytes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# SQLite autoincrements only an INTEGER PRIMARY KEY; PostgreSQL gets 64-bit ids.
Id = BigInteger().with_variant(Integer(), "sqlite")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out. SQLite keeps naive UTC text, which still sorts correctly."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; pass aware UTC times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class OperatorRow(Base):
    __tablename__ = "operators"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class OutletRow(Base):
    __tablename__ = "outlets"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    operator_id: Mapped[str] = mapped_column(ForeignKey("operators.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ApiKeyRow(Base):
    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # the public part of the key
    secret_sha256: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    outlet_id: Mapped[str | None] = mapped_column(ForeignKey("outlets.id"), index=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class DocumentRow(Base):
    """One ID document (a holder). Its row is the lock that serialises the per-ID limit."""

    __tablename__ = "documents"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    lookup_key: Mapped[str] = mapped_column(String(64), unique=True)  # HMAC of type + number
    doc_type: Mapped[str] = mapped_column(String(16))
    subject_ref: Mapped[str] = mapped_column(String(64), unique=True)  # owner of the data keys
    number_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    name_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SessionRow(Base):
    __tablename__ = "sessions"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    outlet_id: Mapped[str] = mapped_column(ForeignKey("outlets.id"))
    operator_id: Mapped[str] = mapped_column(ForeignKey("operators.id"))
    api_key_id: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(16))
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    device_key: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    actions: Mapped[str] = mapped_column(String(200))  # comma-separated Action values, in order
    # The one capture endpoint the session accepts (registry.sessions.CaptureMode). Rows from before
    # the column existed are "video": their actions were already disclosed (migration a003).
    capture_mode: Mapped[str] = mapped_column(String(16), server_default="stream")
    nonce: Mapped[str] = mapped_column(String(64))
    capture_token_sha256: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # The ID portrait's face template, sealed under a per-session key; erased when decided or expired.
    template_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    capture_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    capture_kind: Mapped[str | None] = mapped_column(String(16))
    outcome: Mapped[str | None] = mapped_column(String(8))
    reasons: Mapped[str | None] = mapped_column(Text)  # JSON list of reason codes
    message: Mapped[str | None] = mapped_column(Text)
    liveness_passed: Mapped[bool | None] = mapped_column(Boolean)
    match_score: Mapped[float | None] = mapped_column(Float)
    match_threshold: Mapped[float | None] = mapped_column(Float)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    usable_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    used_for: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (
        Index("ix_sessions_document_issued", "document_id", "issued_at"),
        Index("ix_sessions_outlet_issued", "outlet_id", "issued_at"),
        Index("ix_sessions_state_expires", "state", "expires_at"),
    )


class NumberRow(Base):
    __tablename__ = "numbers"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    operator_id: Mapped[str] = mapped_column(ForeignKey("operators.id"))
    msisdn: Mapped[str] = mapped_column(String(11), unique=True)
    state: Mapped[str] = mapped_column(String(16))
    cooling_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    added_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_numbers_operator_state", "operator_id", "state"),)


class SubscriptionRow(Base):
    __tablename__ = "subscriptions"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    number_id: Mapped[int] = mapped_column(ForeignKey("numbers.id"))
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    operator_id: Mapped[str] = mapped_column(ForeignKey("operators.id"))
    outlet_id: Mapped[str] = mapped_column(ForeignKey("outlets.id"))
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    end_reason: Mapped[str | None] = mapped_column(String(16))
    suspended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    reverify_reason: Mapped[str | None] = mapped_column(Text)
    reverify_requested_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    reverify_deadline: Mapped[datetime | None] = mapped_column(UtcDateTime())
    reverified_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    holder_flagged_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    holder_flag_note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        # The database itself refuses a second live holder of one number, whatever the code does.
        Index(
            "uq_subscriptions_live_number",
            "number_id",
            unique=True,
            sqlite_where=text("status IN ('active', 'suspended')"),
            postgresql_where=text("status IN ('active', 'suspended')"),
        ),
        Index("ix_subscriptions_document_status", "document_id", "status"),
        Index("ix_subscriptions_status_deadline", "status", "reverify_deadline"),
        Index("ix_subscriptions_number", "number_id"),
    )


class AttemptFailureRow(Base):
    __tablename__ = "attempt_failures"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(String(16))  # document | device
    subject_key: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    session_id: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (Index("ix_attempt_failures_subject_at", "subject", "subject_key", "at"),)


class LimitHitRow(Base):
    """Every time a limit refused or locked something: failure lock-outs, the per-ID limit."""

    __tablename__ = "limit_hits"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str | None] = mapped_column(String(16))
    subject_key: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    outlet_id: Mapped[str | None] = mapped_column(String(64))
    api_key_id: Mapped[str | None] = mapped_column(String(32))
    session_id: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_limit_hits_at", "at"),)


class DataKeyRow(Base):
    """Wrapped data keys (``privacy.subject_keys.KeyStore``). Deleting a row shreds its data."""

    __tablename__ = "data_keys"
    subject_ref: Mapped[str] = mapped_column(String(128), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, primary_key=True)
    master_key_id: Mapped[str] = mapped_column(String(64))
    blob: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_data_keys_expires", "expires_at"),)


class ShredReceiptRow(Base):
    __tablename__ = "shred_receipts"
    subject_ref: Mapped[str] = mapped_column(String(128), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, primary_key=True)
    shredded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    reason: Mapped[str] = mapped_column(String(32))
