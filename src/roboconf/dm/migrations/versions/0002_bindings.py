"""Application bindings: which applications an external import prefix accepts.

Revision ID: 0002
Revises: 0001
Create Date: 2025-07-01

Written out, not derived from :mod:`roboconf.dm.sql_store` (see 0001).
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bindings",
        sa.Column("application", sa.String(), nullable=False),
        sa.Column("prefix", sa.String(), nullable=False),
        sa.Column("applications", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("application", "prefix", name="pk_bindings"),
        sa.ForeignKeyConstraint(
            ["application"],
            ["applications.name"],
            name="fk_bindings_applications",
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("bindings")
