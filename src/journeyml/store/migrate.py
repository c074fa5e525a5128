"""Schema migrations of the store, applied from code (Alembic, shipped inside the package).

:func:`upgrade_schema` brings a store to the newest revision this code knows, holding a lock so
that several processes opening a new store at once create it once (SQLite: the write lock of
``BEGIN IMMEDIATE``; PostgreSQL: a transaction-scoped advisory lock; both run the migrations
inside that transaction, so a failed migration leaves nothing half-done). :func:`check_schema`
is what opening a store does: create the schema when it is missing, refuse a store whose schema
is newer (written by a later journeyml) or older (run ``journeyml store upgrade``).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from journeyml.errors import StoreSchemaError
from journeyml.store.connect import WRITE, redact
from journeyml.store.tables import VERSION_TABLE

#: key of the PostgreSQL advisory lock held while migrating (any fixed 64-bit number)
_PG_LOCK: Final = 0x6A6D6C73746F7265  # "jmlstore"


@dataclass(frozen=True)
class SchemaState:
    """Where a store's schema stands against this code."""

    current: str | None  # None: no schema yet
    head: str
    known: bool  # the current revision is one this code has

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def _config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("journeyml.store") / "migrations"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest schema revision this code knows."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def _known_revisions() -> set[str]:
    return {s.revision for s in ScriptDirectory.from_config(_config()).walk_revisions()}


def current_revision(connection: Connection) -> str | None:
    """The revision a store is at (None when it has no schema)."""
    ctx = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return ctx.get_current_revision()


def schema_state(engine: Engine) -> SchemaState:
    with engine.connect() as conn:
        current = current_revision(conn)
    return SchemaState(current, head_revision(), current is None or current in _known_revisions())


def _newer(engine: Engine, state: SchemaState) -> StoreSchemaError:
    return StoreSchemaError(
        f"expected the store at {redact(engine.url)} to be at schema revision {state.head} or "
        f"older, got revision {state.current!r}, which this code does not know: a newer journeyml "
        "wrote it. Upgrade journeyml, or point JOURNEYML_STORE_URI at another store."
    )


def upgrade_schema(engine: Engine) -> tuple[str | None, str]:
    """Bring the store to the newest revision; returns ``(before, after)``.

    Safe to call from several processes at once: one migrates, the others find it done.
    """
    with engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
        before = current_revision(conn)
        if before is not None and before not in _known_revisions():
            raise _newer(engine, SchemaState(before, head_revision(), False))
        if before != head_revision():
            command.upgrade(_config(conn), "head")
        after = current_revision(conn)
    assert after is not None
    return before, after


def check_schema(engine: Engine, *, create: bool = True) -> str:
    """What opening a store does; returns the revision. Raises :class:`StoreSchemaError` when
    the schema is newer than this code, older (upgrade needed), or missing and ``create`` is
    false."""
    state = schema_state(engine)
    if state.up_to_date:
        return state.head
    if not state.known:
        raise _newer(engine, state)
    if state.current is None and create:
        return upgrade_schema(engine)[1]
    what = "no schema" if state.current is None else f"schema revision {state.current}"
    raise StoreSchemaError(
        f"expected the store at {redact(engine.url)} to be at schema revision {state.head}, got "
        f"{what}. Run `journeyml store upgrade` (with the same JOURNEYML_STORE_URI) to migrate "
        "it; back the store up first if it holds data you cannot re-ingest."
    )
