"""baseline: jobs, hosts, telemetry, discovery

Revision ID: 0001
Revises:
Create Date: 2026-12-02 02:15:34.956208
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0001'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('device_tokens',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_table('devices',
    sa.Column('pk', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('hostname', sa.String(length=255), nullable=False),
    sa.Column('arch', sa.String(length=32), nullable=False),
    sa.Column('os', sa.String(length=128), nullable=False),
    sa.Column('agent_version', sa.String(length=32), nullable=False),
    sa.Column('boot_time', sa.Float(), nullable=True),
    sa.Column('address', sa.String(length=64), nullable=True),
    sa.Column('first_seen', sa.Float(), nullable=False),
    sa.Column('last_seen', sa.Float(), nullable=False),
    sa.Column('dropped_total', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('pk'),
    sa.UniqueConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('discovered_devices',
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('instance', sa.String(length=255), nullable=False),
    sa.Column('hostname', sa.String(length=255), nullable=False),
    sa.Column('arch', sa.String(length=16), nullable=False),
    sa.Column('agent_version', sa.String(length=32), nullable=False),
    sa.Column('metrics_port', sa.Integer(), nullable=False),
    sa.Column('addresses', sa.JSON(), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('claim_hash', sa.String(length=64), nullable=False),
    sa.Column('first_seen', sa.Float(), nullable=False),
    sa.Column('last_seen', sa.Float(), nullable=False),
    sa.Column('decided_at', sa.Float(), nullable=True),
    sa.Column('decided_by', sa.String(length=128), nullable=True),
    sa.Column('alias', sa.String(length=255), nullable=True),
    sa.Column('group', sa.String(length=64), nullable=True),
    sa.Column('token_delivered_at', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('device_id')
    )
    with op.batch_alter_table('discovered_devices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_discovered_devices_last_seen'), ['last_seen'], unique=False)
        batch_op.create_index(batch_op.f('ix_discovered_devices_status'), ['status'], unique=False)

    op.create_table('hosts',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('address', sa.String(length=255), nullable=True),
    sa.Column('groups', sa.JSON(), nullable=False),
    sa.Column('facts', sa.JSON(), nullable=False),
    sa.Column('results', sa.JSON(), nullable=False),
    sa.Column('last_status', sa.String(length=16), nullable=True),
    sa.Column('last_job_id', sa.String(length=32), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('jobs',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('playbook', sa.String(length=64), nullable=False),
    sa.Column('limit', sa.Text(), nullable=True),
    sa.Column('inventory', sa.Text(), nullable=False),
    sa.Column('extra_vars', sa.JSON(), nullable=False),
    sa.Column('targets', sa.JSON(), nullable=False),
    sa.Column('requested_by', sa.String(length=128), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('rc', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('timeout_s', sa.Integer(), nullable=False),
    sa.Column('relaunch_of', sa.String(length=32), nullable=True),
    sa.Column('owner_pid', sa.Integer(), nullable=True),
    sa.Column('owner_started', sa.Double(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_jobs_status'), ['status'], unique=False)

    op.create_table('telemetry_marks',
    sa.Column('at', sa.Float(), nullable=False),
    sa.Column('max_id', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('at')
    )
    op.create_table('telemetry_rollup_1h',
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('bucket', sa.BigInteger(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('sum', sa.Float(), nullable=False),
    sa.Column('min', sa.Float(), nullable=False),
    sa.Column('max', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('series_id', 'bucket')
    )
    with op.batch_alter_table('telemetry_rollup_1h', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_telemetry_rollup_1h_bucket'), ['bucket'], unique=False)

    op.create_table('telemetry_rollup_1m',
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('bucket', sa.BigInteger(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('sum', sa.Float(), nullable=False),
    sa.Column('min', sa.Float(), nullable=False),
    sa.Column('max', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('series_id', 'bucket')
    )
    with op.batch_alter_table('telemetry_rollup_1m', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_telemetry_rollup_1m_bucket'), ['bucket'], unique=False)

    op.create_table('telemetry_rollup_cursor',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('rolled_up_to', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('telemetry_samples',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('ts_ms', sa.BigInteger(), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('telemetry_samples', schema=None) as batch_op:
        batch_op.create_index('ix_telemetry_samples_series_ts', ['series_id', 'ts_ms'], unique=False)

    op.create_table('job_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('job_id', sa.String(length=32), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=64), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=True),
    sa.Column('task', sa.Text(), nullable=True),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('job_id', 'seq')
    )
    with op.batch_alter_table('job_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_job_events_job_id'), ['job_id'], unique=False)

    op.create_table('job_hosts',
    sa.Column('job_id', sa.String(length=32), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('ok', sa.Integer(), nullable=False),
    sa.Column('changed', sa.Integer(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('unreachable', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('msg', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('job_id', 'host')
    )
    op.create_table('telemetry_series',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('device_pk', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('labels', sa.Text(), nullable=False),
    sa.Column('unit', sa.String(length=32), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['device_pk'], ['devices.pk'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('device_pk', 'name', 'labels')
    )
    op.create_table('telemetry_streams',
    sa.Column('device_pk', sa.Integer(), nullable=False),
    sa.Column('stream', sa.String(length=32), nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['device_pk'], ['devices.pk'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('device_pk', 'stream')
    )


def downgrade() -> None:
    op.drop_table('telemetry_streams')
    op.drop_table('telemetry_series')
    op.drop_table('job_hosts')
    with op.batch_alter_table('job_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_job_events_job_id'))

    op.drop_table('job_events')
    with op.batch_alter_table('telemetry_samples', schema=None) as batch_op:
        batch_op.drop_index('ix_telemetry_samples_series_ts')

    op.drop_table('telemetry_samples')
    op.drop_table('telemetry_rollup_cursor')
    with op.batch_alter_table('telemetry_rollup_1m', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_telemetry_rollup_1m_bucket'))

    op.drop_table('telemetry_rollup_1m')
    with op.batch_alter_table('telemetry_rollup_1h', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_telemetry_rollup_1h_bucket'))

    op.drop_table('telemetry_rollup_1h')
    op.drop_table('telemetry_marks')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_jobs_status'))

    op.drop_table('jobs')
    op.drop_table('hosts')
    with op.batch_alter_table('discovered_devices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_discovered_devices_status'))
        batch_op.drop_index(batch_op.f('ix_discovered_devices_last_seen'))

    op.drop_table('discovered_devices')
    op.drop_table('devices')
    op.drop_table('device_tokens')
