"""Alembic environment: runs against the connection inbox-agent hands it, online only."""

from __future__ import annotations

from alembic import context

from inbox_agent.register.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # autogenerate from the command line: build an engine from the URL
    from inbox_agent.register.db import make_engine

    engine = config.attributes.get("engine") or make_engine(
        config.get_main_option("sqlalchemy.url") or ""
    )
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
