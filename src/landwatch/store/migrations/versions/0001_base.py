"""Base revision: the schema-info table every later revision builds on.

Revision ID: 0001_base
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_base"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schema_info",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(255), nullable=False),
    )
    op.bulk_insert(
        sa.table("schema_info", sa.column("key", sa.String), sa.column("value", sa.String)),
        [{"key": "created_by", "value": "landwatch"}],
    )


def downgrade() -> None:
    op.drop_table("schema_info")
