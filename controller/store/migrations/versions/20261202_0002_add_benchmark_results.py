"""add benchmark results

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 02:54:35.977358
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "benchmark_results",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("device", sa.String(length=255), nullable=False),
        sa.Column("job_id", sa.String(length=32), nullable=True),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("variant", sa.String(length=64), nullable=False),
        sa.Column("batch", sa.Integer(), nullable=False),
        sa.Column("threads", sa.Integer(), nullable=True),
        sa.Column("accelerator", sa.String(length=32), nullable=False),
        sa.Column("p50_ms", sa.Float(), nullable=False),
        sa.Column("p90_ms", sa.Float(), nullable=False),
        sa.Column("p99_ms", sa.Float(), nullable=True),
        sa.Column("accuracy_top1", sa.Float(), nullable=True),
        sa.Column("energy_j", sa.Float(), nullable=True),
        sa.Column("energy_estimated", sa.Boolean(), nullable=False),
        sa.Column("carbon_g", sa.Float(), nullable=True),
        sa.Column("carbon_zone", sa.String(length=64), nullable=True),
        sa.Column("carbon_source", sa.String(length=16), nullable=True),
        sa.Column("measured_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("benchmark_results", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_benchmark_results_device"), ["device"], unique=False)
        batch_op.create_index(batch_op.f("ix_benchmark_results_job_id"), ["job_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_benchmark_results_model"), ["model"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("benchmark_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_benchmark_results_model"))
        batch_op.drop_index(batch_op.f("ix_benchmark_results_job_id"))
        batch_op.drop_index(batch_op.f("ix_benchmark_results_device"))

    op.drop_table("benchmark_results")
