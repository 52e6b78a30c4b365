"""Drought alerts per admin unit, their monthly messages and the unit-month situation.

Revision ID: 0002_alerts
Revises: 0001_base
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_alerts"
down_revision = "0001_base"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "drought_alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("identifier", sa.String(200), nullable=False),
        sa.Column("unit_id", sa.String(64), nullable=False),
        sa.Column("unit_name", sa.String(200), nullable=False),
        sa.Column("is_forecast", sa.Boolean(), nullable=False),
        sa.Column("certainty", sa.String(16), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("level", sa.String(32), nullable=False),
        sa.Column("level_rank", sa.Integer(), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("peak_level", sa.String(32), nullable=False),
        sa.Column("peak_rank", sa.Integer(), nullable=False),
        sa.Column("start_month", sa.Date(), nullable=False),
        sa.Column("last_month", sa.Date(), nullable=False),
        sa.Column("end_month", sa.Date(), nullable=True),
        sa.Column("months_below", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('active', 'ended')", name=op.f("ck_drought_alerts_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drought_alerts")),
        sa.UniqueConstraint("identifier", name=op.f("uq_drought_alerts_identifier")),
    )
    op.create_index(
        "ix_drought_alerts_unit_stream",
        "drought_alerts",
        ["unit_id", "is_forecast", "status"],
        unique=False,
    )
    op.create_table(
        "drought_alert_updates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("msg_type", sa.String(8), nullable=False),
        sa.Column("identifier", sa.String(200), nullable=False),
        sa.Column("sent", sa.DateTime(timezone=True), nullable=False),
        sa.Column("level", sa.String(32), nullable=False),
        sa.Column("level_rank", sa.Integer(), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("certainty", sa.String(16), nullable=False),
        sa.Column("months_below", sa.Integer(), nullable=False),
        sa.Column("consecutive_months", sa.Integer(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('start', 'continue', 'escalate', 'deescalate', 'below', 'end')",
            name=op.f("ck_drought_alert_updates_kind"),
        ),
        sa.CheckConstraint(
            "msg_type IN ('Alert', 'Update', 'Cancel')",
            name=op.f("ck_drought_alert_updates_msg_type"),
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["drought_alerts.id"],
            name=op.f("fk_drought_alert_updates_alert_id_drought_alerts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drought_alert_updates")),
        sa.UniqueConstraint("alert_id", "month", name="uq_drought_alert_updates_alert_month"),
        sa.UniqueConstraint("identifier", name=op.f("uq_drought_alert_updates_identifier")),
    )
    op.create_index(
        op.f("ix_drought_alert_updates_alert_id"),
        "drought_alert_updates",
        ["alert_id"],
        unique=False,
    )
    op.create_table(
        "drought_unit_months",
        sa.Column("unit_id", sa.String(64), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("is_forecast", sa.Boolean(), nullable=False),
        sa.Column("unit_name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("level", sa.String(32), nullable=False),
        sa.Column("level_rank", sa.Integer(), nullable=False),
        sa.Column("consecutive_months", sa.Integer(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["drought_alerts.id"],
            name=op.f("fk_drought_unit_months_alert_id_drought_alerts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint(
            "unit_id", "month", "is_forecast", name=op.f("pk_drought_unit_months")
        ),
    )


def downgrade() -> None:
    op.drop_table("drought_unit_months")
    op.drop_index(op.f("ix_drought_alert_updates_alert_id"), table_name="drought_alert_updates")
    op.drop_table("drought_alert_updates")
    op.drop_index("ix_drought_alerts_unit_stream", table_name="drought_alerts")
    op.drop_table("drought_alerts")
