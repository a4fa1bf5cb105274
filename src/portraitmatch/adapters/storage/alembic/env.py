"""Alembic environment: runs on the connection PortraitMatch hands over, or on the configured URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from portraitmatch.adapters.storage.migrations import all_tables


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=all_tables(),
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    # Run from the alembic command line: same settings as the service (environment variables).
    from portraitmatch.adapters.storage.database import Database
    from portraitmatch.config import Settings

    database = Database(context.config.get_main_option("sqlalchemy.url") or Settings().resolved_database_url)
    try:
        with database.engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        database.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
_main()
