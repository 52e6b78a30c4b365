"""SLM practice records (knowledge base): records, their versions and events.

Revision ID: 0005_practices
Revises: 0001_base
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_practices"
down_revision = "0001_base"
branch_labels = None
depends_on = None

_STATUS_CHECK = "status IN ('draft', 'submitted', 'approved', 'rejected')"


def upgrade() -> None:
    op.create_table(
        "practices",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("approved_version", sa.Integer(), nullable=True),
        sa.Column("contributor", sa.String(200), nullable=False),
        sa.Column("language", sa.String(35), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_by", sa.String(120), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(_STATUS_CHECK, name=op.f("ck_practices_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practices")),
        sa.UniqueConstraint("uuid", name=op.f("uq_practices_uuid")),
    )
    op.create_index(op.f("ix_practices_name"), "practices", ["name"])
    op.create_index(op.f("ix_practices_status"), "practices", ["status"])
    op.create_index(op.f("ix_practices_contributor"), "practices", ["contributor"])
    op.create_index(op.f("ix_practices_language"), "practices", ["language"])
    op.create_table(
        "practice_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("author", sa.String(120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("change_note", sa.Text(), nullable=False),
        sa.CheckConstraint(_STATUS_CHECK, name=op.f("ck_practice_versions_status")),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practices.id"],
            name=op.f("fk_practice_versions_practice_id_practices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practice_versions")),
        sa.UniqueConstraint("practice_id", "version", name="uq_practice_versions_practice_version"),
    )
    op.create_index(op.f("ix_practice_versions_practice_id"), "practice_versions", ["practice_id"])
    op.create_table(
        "practice_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("from_status", sa.String(16), nullable=True),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practices.id"],
            name=op.f("fk_practice_events_practice_id_practices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practice_events")),
    )
    op.create_index(op.f("ix_practice_events_practice_id"), "practice_events", ["practice_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_practice_events_practice_id"), table_name="practice_events")
    op.drop_table("practice_events")
    op.drop_index(op.f("ix_practice_versions_practice_id"), table_name="practice_versions")
    op.drop_table("practice_versions")
    op.drop_index(op.f("ix_practices_language"), table_name="practices")
    op.drop_index(op.f("ix_practices_contributor"), table_name="practices")
    op.drop_index(op.f("ix_practices_status"), table_name="practices")
    op.drop_index(op.f("ix_practices_name"), table_name="practices")
    op.drop_table("practices")
