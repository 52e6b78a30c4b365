"""Requests for information products (briefs) and their audit trail.

Revision ID: 0007_requests
Revises: 0001_base
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_requests"
down_revision = "0001_base"
branch_labels = None
depends_on = None

_STATUS_CHECK = (
    "status IN ('received', 'triaged', 'in_progress', 'delivered', 'closed', 'rejected')"
)


def upgrade() -> None:
    op.create_table(
        "info_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requester", sa.String(200), nullable=False),
        sa.Column("organization", sa.String(200), nullable=False),
        sa.Column("requester_type", sa.String(32), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("topic", sa.String(32), nullable=False),
        sa.Column("admin_id", sa.String(64), nullable=True),
        sa.Column("area", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("intended_use", sa.String(32), nullable=False),
        sa.Column("population", sa.Integer(), nullable=True),
        sa.Column("sdg_run", sa.String(1024), nullable=True),
        sa.Column("ldn_run", sa.String(1024), nullable=True),
        sa.Column("so3_run", sa.String(1024), nullable=True),
        sa.Column("warning_run", sa.String(1024), nullable=True),
        sa.Column("units", sa.JSON(), nullable=False),
        sa.Column("population_exposed", sa.Float(), nullable=True),
        sa.Column("population_source", sa.String(300), nullable=False),
        sa.Column("job_id", sa.String(36), nullable=True),
        sa.Column("links", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(_STATUS_CHECK, name=op.f("ck_info_requests_status")),
        sa.CheckConstraint(
            "(admin_id IS NULL) <> (area IS NULL)", name=op.f("ck_info_requests_one_area")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_info_requests")),
    )
    op.create_index(op.f("ix_info_requests_status"), "info_requests", ["status"])
    op.create_index(op.f("ix_info_requests_deadline"), "info_requests", ["deadline"])
    op.create_index(op.f("ix_info_requests_job_id"), "info_requests", ["job_id"])
    op.create_index(op.f("ix_info_requests_created_by"), "info_requests", ["created_by"])
    op.create_index(op.f("ix_info_requests_created_at"), "info_requests", ["created_at"])
    op.create_table(
        "info_request_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("from_status", sa.String(16), nullable=True),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["info_requests.id"],
            name=op.f("fk_info_request_events_request_id_info_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_info_request_events")),
    )
    op.create_index(
        op.f("ix_info_request_events_request_id"), "info_request_events", ["request_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_info_request_events_request_id"), table_name="info_request_events")
    op.drop_table("info_request_events")
    op.drop_index(op.f("ix_info_requests_created_at"), table_name="info_requests")
    op.drop_index(op.f("ix_info_requests_created_by"), table_name="info_requests")
    op.drop_index(op.f("ix_info_requests_job_id"), table_name="info_requests")
    op.drop_index(op.f("ix_info_requests_deadline"), table_name="info_requests")
    op.drop_index(op.f("ix_info_requests_status"), table_name="info_requests")
    op.drop_table("info_requests")
