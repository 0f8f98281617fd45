"""The whole schema of the DM's store.

Revision ID: 0001
Revises:
Create Date: 2025-06-01

Written out, not derived from :mod:`roboconf.dm.sql_store`: a migration is a record of what the
schema was, and must not change when the tables there do.
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "templates",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("archive", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name", "version", name="pk_templates"),
    )
    op.create_table(
        "applications",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("template_name", sa.String(), nullable=False),
        sa.Column("template_version", sa.String(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_applications"),
        sa.ForeignKeyConstraint(
            ["template_name", "template_version"],
            ["templates.name", "templates.version"],
            name="fk_applications_templates",
        ),
    )
    op.create_table(
        "instances",
        sa.Column("application", sa.String(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("component", sa.String(), nullable=False),
        sa.Column("parent", sa.Text(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("overrides", sa.Text(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("desired", sa.String(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("output_tail", sa.Text(), nullable=False),
        sa.Column("imports", sa.Text(), nullable=False),
        sa.Column("machine_id", sa.String(), nullable=True),
        # also the index of an application's instances
        sa.PrimaryKeyConstraint("application", "path", name="pk_instances"),
        sa.ForeignKeyConstraint(
            ["application"],
            ["applications.name"],
            name="fk_instances_applications",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "targets",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("handler", sa.String(), nullable=False),
        sa.Column("properties", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_targets"),
    )
    op.create_table(
        "associations",
        sa.Column("application", sa.String(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("target_id", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("application", "key", name="pk_associations"),
        sa.ForeignKeyConstraint(
            ["application"],
            ["applications.name"],
            name="fk_associations_applications",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "preferences",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_preferences"),
    )
    op.create_table(
        "events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("application", sa.String(), nullable=True),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("status", sa.String(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_events_application_id", "events", ["application", "id"])


def downgrade() -> None:
    tables = ("events", "preferences", "associations", "targets", "instances", "applications")
    for table in (*tables, "templates"):
        op.drop_table(table)
