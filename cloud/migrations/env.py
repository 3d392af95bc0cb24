"""Alembic environment of the hub database.

Run through :func:`cloud.db.migrate`, which hands over an open connection in
``config.attributes["connection"]``; no ``alembic.ini`` is needed at run time.
"""

from __future__ import annotations

from alembic import context

from cloud.schema import metadata


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run the hub migrations with cloud.db.migrate(engine)")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
