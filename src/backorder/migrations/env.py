"""Alembic environment: the engine is handed in by backorder.adapters.db.migrate."""

from alembic import context
from sqlalchemy import create_engine

from backorder.adapters.db.tables import metadata

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # plain `alembic` command line: BACKORDER_DATABASE_URL
    from backorder.config import Settings

    engine = create_engine(Settings().database_url)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    if connection.in_transaction():
        connection.commit()
