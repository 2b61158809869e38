"""Alembic environment: the engine comes from the caller (core.db.migrate), never from a file.

Each migration runs in its own transaction, so one may build a PostgreSQL index CONCURRENTLY (outside any
transaction: `autocommit_block`) without the migrations before it being half-applied."""
from alembic import context

from core.db.models import Base

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=connection.dialect.name == "sqlite", transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()
