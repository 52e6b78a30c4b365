"""Community observations (field reports, local and indigenous knowledge).

Revision ID: 0003_observations
Revises: 0001_base
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_observations"
down_revision = "0001_base"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "observations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("area_wkt", sa.Text(), nullable=True),
        sa.Column("observed_on", sa.Date(), nullable=False),
        sa.Column("observer_role", sa.String(32), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("land_state", sa.String(16), nullable=True),
        sa.Column("impact_severity", sa.String(16), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("language", sa.String(35), nullable=False),
        sa.Column("photo_path", sa.String(255), nullable=True),
        sa.Column("photo_sha256", sa.String(64), nullable=True),
        sa.Column("photo_media_type", sa.String(32), nullable=True),
        sa.Column("photo_bytes", sa.Integer(), nullable=True),
        sa.Column("lik_indicator", sa.Boolean(), nullable=False),
        sa.Column("lik_indicator_name", sa.String(200), nullable=True),
        sa.Column("admin_id", sa.String(64), nullable=True),
        sa.Column("validation_status", sa.String(16), nullable=False),
        sa.Column("validated_by", sa.String(120), nullable=True),
        sa.Column("validated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("validation_note", sa.Text(), nullable=True),
        sa.Column("map_flag", sa.String(32), nullable=True),
        sa.Column("map_value", sa.Integer(), nullable=True),
        sa.Column("map_layer", sa.String(64), nullable=True),
        sa.Column("map_run", sa.String(1024), nullable=True),
        sa.Column("map_checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.CheckConstraint("lon >= -180 AND lon <= 180", name=op.f("ck_observations_lon_range")),
        sa.CheckConstraint("lat >= -90 AND lat <= 90", name=op.f("ck_observations_lat_range")),
        sa.CheckConstraint(
            "validation_status IN ('submitted', 'confirmed', 'rejected', 'needs_review')",
            name=op.f("ck_observations_validation_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_observations")),
        sa.UniqueConstraint("uuid", name=op.f("uq_observations_uuid")),
    )
    op.create_index(op.f("ix_observations_observed_on"), "observations", ["observed_on"])
    op.create_index(op.f("ix_observations_category"), "observations", ["category"])
    op.create_index(op.f("ix_observations_admin_id"), "observations", ["admin_id"])
    op.create_index(
        op.f("ix_observations_validation_status"), "observations", ["validation_status"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_observations_validation_status"), table_name="observations")
    op.drop_index(op.f("ix_observations_admin_id"), table_name="observations")
    op.drop_index(op.f("ix_observations_category"), table_name="observations")
    op.drop_index(op.f("ix_observations_observed_on"), table_name="observations")
    op.drop_table("observations")
