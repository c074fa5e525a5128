"""Alembic environment of the event store.

Run programmatically by :mod:`journeyml.store.migrate`, which hands over an open connection
(``config.attributes["connection"]``) inside the transaction that holds the migration lock.
For writing a new revision by hand, ``sqlalchemy.url`` may be set in the config instead.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from journeyml.store.connect import make_engine
from journeyml.store.tables import METADATA, VERSION_TABLE


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=METADATA,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    if context.is_offline_mode():
        raise SystemExit("the journeyml store migrates online only (give it a connection)")
    given = context.config.attributes.get("connection")
    if given is not None:
        _run(given)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("set sqlalchemy.url or pass a connection in config.attributes")
    engine = make_engine(url)
    with engine.connect() as connection:
        _run(connection)
        connection.commit()


def _in_alembic() -> bool:
    """True when Alembic runs this file (not when a tool such as pytest merely imports it)."""
    try:
        _ = context.config
    except (NameError, AttributeError):
        return False
    return True


if _in_alembic():
    main()
