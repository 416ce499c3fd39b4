"""supervision letters and letter counters; index of cases by hall and due date

Revision ID: 13945c063916
Revises: 64ba255bd8eb
Create Date: 2026-11-27 09:56:26.622359

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '13945c063916'
down_revision = '64ba255bd8eb'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('letter_counters',
    sa.Column('county_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('county_id', 'kind', 'year', name=op.f('pk_letter_counters'))
    )
    op.create_table('letters',
    sa.Column('county_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('serial', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=60), nullable=False),
    sa.Column('subject_key', sa.String(length=60), nullable=False),
    sa.Column('department_id', sa.Uuid(), nullable=True),
    sa.Column('subject_hall_id', sa.Uuid(), nullable=True),
    sa.Column('subject_name', sa.String(length=100), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_user_id', sa.Uuid(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['county_id'], ['halls.id'], name=op.f('fk_letters_county_id_halls')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_letters_department_id_departments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_letters')),
    sa.UniqueConstraint('county_id', 'kind', 'year', 'serial', name='uq_letters_number'),
    sa.UniqueConstraint('kind', 'month', 'subject_key', name='uq_letters_kind_month_subject')
    )
    with op.batch_alter_table('letters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_letters_county_id'), ['county_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_letters_month'), ['month'], unique=False)
    # The month's due cases of a hall, for the reminder letters.
    op.create_index('ix_cases_hall_due', 'cases', ['hall_id', 'due_on'], unique=False)



def downgrade():
    op.drop_index('ix_cases_hall_due', table_name='cases')
    with op.batch_alter_table('letters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_letters_month'))
        batch_op.drop_index(batch_op.f('ix_letters_county_id'))

    op.drop_table('letters')
    op.drop_table('letter_counters')
