"""track runs and lock hosts: jobs.run_pid/run_started, host_locks (issue 14)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 09:38:57.868325
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('host_locks',
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('job_id', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('host')
    )
    with op.batch_alter_table('host_locks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_host_locks_job_id'), ['job_id'], unique=False)

    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('run_pid', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('run_started', sa.Double(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_column('run_started')
        batch_op.drop_column('run_pid')

    with op.batch_alter_table('host_locks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_host_locks_job_id'))

    op.drop_table('host_locks')
