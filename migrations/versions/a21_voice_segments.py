"""voice packs: recorded announcement segments per hall

Revision ID: a21_voice_segments
Revises: c8915fcd86de
Create Date: 2026-12-02 18:51:23.023530

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a21_voice_segments'
down_revision = 'c8915fcd86de'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('voice_segments',
    sa.Column('hall_id', sa.Uuid(), nullable=False),
    sa.Column('key', sa.String(length=20), nullable=False),
    sa.Column('mime', sa.String(length=40), nullable=False),
    sa.Column('audio', sa.LargeBinary(), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], name=op.f('fk_voice_segments_hall_id_halls')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voice_segments')),
    sa.UniqueConstraint('hall_id', 'key', name='uq_voice_segments_hall_key')
    )
    with op.batch_alter_table('voice_segments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_voice_segments_hall_id'), ['hall_id'], unique=False)



def downgrade():
    with op.batch_alter_table('voice_segments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_voice_segments_hall_id'))

    op.drop_table('voice_segments')
