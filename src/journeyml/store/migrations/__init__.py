"""Alembic migrations of the event store (applied by :func:`journeyml.store.upgrade_schema`)."""
