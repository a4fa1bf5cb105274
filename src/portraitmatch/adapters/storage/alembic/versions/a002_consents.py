"""recorded consent to a session's capture

Revision ID: a002
Revises: a001
Create Date: 2026-12-01 10:00:00

The ``consents`` table of ``adapters/storage/privacy_store.py``: the capture endpoints refuse a
session for which neither the customer nor the clerk recorded consent.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import portraitmatch.adapters.storage.tables

revision: str = "a002"
down_revision: str | None = "a001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UtcDateTime = portraitmatch.adapters.storage.tables.UtcDateTime


def upgrade() -> None:
    op.create_table(
        "consents",
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("given_by", sa.String(length=16), nullable=False),
        sa.Column("notice_version", sa.String(length=32), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("recorded_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("session_id", "given_by", name=op.f("pk_consents")),
    )


def downgrade() -> None:
    op.drop_table("consents")
