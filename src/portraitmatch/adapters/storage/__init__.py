"""Storage: SQLAlchemy 2 tables, repositories and Alembic migrations (SQLite or PostgreSQL).

Repositories are keyword-only functions over a SQLAlchemy ``Session`` opened by
:class:`~portraitmatch.adapters.storage.database.Database`; they return the core's frozen
dataclasses (``registry.sessions.VerificationSession`` …), never ORM rows. Personal data is kept as
keyed hashes for look-ups and sealed values (``privacy`` recipes) for reading back.
"""
