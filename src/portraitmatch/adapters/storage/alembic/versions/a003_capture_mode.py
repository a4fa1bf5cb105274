"""the capture mode a session was issued for

Revision ID: a003
Revises: a002
Create Date: 2026-11-22 19:40:00

``sessions.capture_mode`` (``registry/sessions.py`` ``CaptureMode``): a ``stream`` session takes
only the WebSocket and never discloses its actions in advance; a ``video`` session takes only the
recorded upload. Sessions created before this revision disclosed their actions to any client, so
they become ``video`` sessions (an in-flight upload still works); new rows default to ``stream``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a003"
down_revision: str | None = "a002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Added with the new rows' default (no ALTER COLUMN, which SQLite lacks), then the rows already
    # there are set to what they were issued as in effect.
    op.add_column(
        "sessions",
        sa.Column("capture_mode", sa.String(length=16), server_default="stream", nullable=False),
    )
    op.execute(sa.text("UPDATE sessions SET capture_mode = 'video'"))


def downgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_column("capture_mode")
