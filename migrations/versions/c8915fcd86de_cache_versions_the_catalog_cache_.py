"""cache versions: the catalog cache emptied when another process changes the catalog

Revision ID: c8915fcd86de
Revises: 031af14b2361
Create Date: 2026-11-27 16:09:51.167603

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c8915fcd86de'
down_revision = '031af14b2361'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('cache_versions',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_cache_versions'))
    )


def downgrade():
    op.drop_table('cache_versions')
