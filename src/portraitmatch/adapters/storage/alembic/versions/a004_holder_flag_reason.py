"""holder flags keep a reason code, never a holder's free text

Revision ID: a004
Revises: a003
Create Date: 2026-11-22 20:00:00

``subscriptions.holder_flag_note`` held a free-text note a holder could type when flagging a
number as not theirs: personal data stored in clear. Flags now take a `HolderFlagReason` code
(``audit/reasons.py``), stored in the same column. Notes already stored become codes: an empty
note (all the web pages ever sent) is ``not_recognised``, any other text ``other``; the text
itself is not kept.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a004"
down_revision: str | None = "a003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of the codes at this revision (migrations never import the application).
_CODES = ("not_recognised", "document_lost", "document_stolen", "other")


def upgrade() -> None:
    codes = ", ".join(f"'{c}'" for c in _CODES)
    op.execute(
        sa.text(
            "UPDATE subscriptions SET holder_flag_note = CASE "
            "WHEN holder_flag_note = '' THEN 'not_recognised' "
            f"WHEN holder_flag_note IN ({codes}) THEN holder_flag_note "
            "ELSE 'other' END "
            "WHERE holder_flag_note IS NOT NULL"
        )
    )


def downgrade() -> None:
    pass  # the codes are valid notes; the erased text cannot come back
