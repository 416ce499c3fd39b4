"""ticket indexes: call-next order per class, partial indexes for appointments and transfers,
recent finished tickets for the wait estimate

Revision ID: f2c51965346d
Revises: 13945c063916
Create Date: 2026-11-27 09:21:35.952718

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f2c51965346d'
down_revision = '13945c063916'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_call_order',
                              ['hall_id', 'service_day', 'status', 'green_channel', 'queue_at',
                               'issued_at', 'id'], unique=False)
        batch_op.create_index('ix_tickets_appointments',
                              ['hall_id', 'service_day', 'status', 'queue_at'], unique=False,
                              postgresql_where=sa.text('appointment_at IS NOT NULL'),
                              sqlite_where=sa.text('appointment_at IS NOT NULL'))
        batch_op.create_index('ix_tickets_transfers',
                              ['hall_id', 'service_day', 'status', 'queue_at'], unique=False,
                              postgresql_where=sa.text('transferred_in = true'),
                              sqlite_where=sa.text('transferred_in = 1'))
        batch_op.create_index('ix_tickets_recent_done', ['hall_id', 'status', 'finished_at'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_recent_done')
        batch_op.drop_index('ix_tickets_transfers')
        batch_op.drop_index('ix_tickets_appointments')
        batch_op.drop_index('ix_tickets_call_order')
