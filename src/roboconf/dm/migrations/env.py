"""Alembic's entry point for the store's migrations.

They run only on the connection :func:`roboconf.dm.sql_store.migration_config` hands over, inside
the transaction the store opened: the upgrade commits with the store's own rules (SQLite's write
lock, PostgreSQL's advisory lock), or not at all.
"""

from alembic import context

from roboconf.dm.sql_store import METADATA

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "the store's migrations run on a connection: open the store (roboconf.dm.store."
        "open_store) or pass one through roboconf.dm.sql_store.migration_config(connection)"
    )
# batch mode: SQLite alters a table by copying it, which later migrations will need
context.configure(connection=connection, target_metadata=METADATA, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
