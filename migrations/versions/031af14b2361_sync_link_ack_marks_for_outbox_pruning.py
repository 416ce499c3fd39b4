"""sync link ack marks for outbox pruning

Each pruning pass notes on the link when the peer had confirmed which entries, so that
acknowledged outbox entries are deleted only some days after their acknowledgement.

Revision ID: 031af14b2361
Revises: 65230304df6e
Create Date: 2026-11-27 12:16:08.226250

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '031af14b2361'
down_revision = '65230304df6e'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('sync_links', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ack_marks', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('sync_links', schema=None) as batch_op:
        batch_op.drop_column('ack_marks')
