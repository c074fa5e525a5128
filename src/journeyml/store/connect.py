"""Opening the store's database: a URI becomes a SQLAlchemy engine set up for several processes.

Two backends. **SQLite** (the default, ``sqlite:///store/journeyml.db``; a bare path means
SQLite too): WAL journal so readers never block the writer, ``synchronous=FULL`` so a committed
batch is on disk before it is acknowledged, a busy timeout so concurrent writers wait for each
other instead of failing, and write transactions that take the write lock when they begin
(``BEGIN IMMEDIATE``), so two processes never deadlock upgrading a read lock. **PostgreSQL**
(``postgresql://user@host:5432/db``; driven by psycopg 3): a pool that checks a connection
before lending it, so a restarted server is picked up again.

The environment is read by entry points only: they pass it to :func:`store_uri`.

>>> store_uri(None, {})
'sqlite:///store/journeyml.db'
>>> store_uri(None, {"JOURNEYML_STORE_URI": "postgresql://me@db:5432/journeys"})
'postgresql+psycopg://me@db:5432/journeys'
>>> store_uri("/var/lib/journeyml/events.db", {})
'sqlite:////var/lib/journeyml/events.db'
>>> redact("postgresql+psycopg://me:secret@db/journeys")
'postgresql+psycopg://me:***@db/journeys'
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from journeyml.errors import ConfigError, StoreUnavailableError

STORE_URI_ENV: Final = "JOURNEYML_STORE_URI"
DEFAULT_STORE_URI: Final = "sqlite:///store/journeyml.db"
#: execution option that marks a connection whose transactions write (SQLite: BEGIN IMMEDIATE)
WRITE: Final = "journeyml_write"

_SCHEMES = "sqlite:///PATH, a bare file path, or postgresql://USER@HOST:PORT/DATABASE"


def store_uri(uri: str | None, environ: Mapping[str, str]) -> str:
    """The store URI: ``uri`` if given, else ``$JOURNEYML_STORE_URI``, else the default
    embedded store; normalised (bare paths → SQLite, ``postgresql://`` → psycopg 3)."""
    chosen = uri or environ.get(STORE_URI_ENV) or DEFAULT_STORE_URI
    return normalize_uri(chosen)


def absolute_uri(uri: str, cwd: Path) -> str:
    """A SQLite URI whose relative path is made absolute against ``cwd`` (for a process that
    runs elsewhere); other URIs unchanged.

    >>> absolute_uri("sqlite:///store/journeyml.db", Path("/srv/app"))
    'sqlite:////srv/app/store/journeyml.db'
    >>> absolute_uri("sqlite:////data/j.db", Path("/srv/app"))
    'sqlite:////data/j.db'
    """
    url = make_url(normalize_uri(uri))
    if (
        url.drivername.startswith("sqlite")
        and url.database
        and not Path(url.database).is_absolute()
    ):
        return f"sqlite:///{(cwd / url.database).resolve()}"
    return normalize_uri(uri)


def redact_uri(uri: str) -> str:
    """``uri`` with its password hidden."""
    return redact(uri)


def normalize_uri(uri: str) -> str:
    """A URI SQLAlchemy can open with the drivers journeyml ships; ConfigError otherwise."""
    text = uri.strip()
    if "://" not in text:
        if not text:
            raise ConfigError(f"expected a store URI ({_SCHEMES}), got an empty string.")
        return f"sqlite:///{text}"
    try:
        url = make_url(text)
    except ArgumentError as exc:
        raise ConfigError(
            f"expected a store URI ({_SCHEMES}), got {text!r}: {exc}.", field="store_uri"
        ) from None
    backend, _, driver = url.drivername.partition("+")
    if backend in ("postgresql", "postgres"):
        if driver not in ("", "psycopg"):
            raise ConfigError(
                f"expected postgresql:// (journeyml drives PostgreSQL with psycopg 3), got the "
                f"driver {driver!r} in {redact(text)!r}. Drop '+{driver}' from the URI.",
                field="store_uri",
            )
        return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    if backend == "sqlite":
        if not url.database or url.database == ":memory:":
            raise ConfigError(
                f"expected a SQLite file (sqlite:///path/to/journeyml.db), got {text!r}: an "
                "in-memory database is private to one connection and loses everything on exit.",
                field="store_uri",
            )
        return text
    raise ConfigError(
        f"expected a store URI ({_SCHEMES}), got {redact(text)!r}.", field="store_uri"
    )


def redact(uri: str | URL) -> str:
    """The URI with its password hidden, for messages and logs."""
    try:
        return make_url(uri).render_as_string(hide_password=True)
    except ArgumentError:
        return str(uri)


def backend_of(engine: Engine) -> str:
    """``sqlite`` or ``postgresql``."""
    return engine.dialect.name


def make_engine(
    uri: str, *, busy_timeout_s: float = 30.0, connect_timeout_s: float = 5.0
) -> Engine:
    """An engine for ``uri`` (see :func:`normalize_uri`); nothing is connected yet.

    ``busy_timeout_s`` is how long a SQLite writer waits for another one; ``connect_timeout_s``
    how long PostgreSQL may take to accept a connection before the store counts as down.
    """
    url = make_url(normalize_uri(uri))
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url, busy_timeout_s)
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=4,
        max_overflow=4,
        pool_timeout=connect_timeout_s,
        connect_args={"connect_timeout": max(1, round(connect_timeout_s))},
    )


def _sqlite_engine(url: URL, busy_timeout_s: float) -> Engine:
    assert url.database is not None
    path = Path(url.database)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreUnavailableError(
            f"expected to create the folder of the embedded store {str(path)!r}, got {exc}. "
            f"Choose a writable place with ${STORE_URI_ENV}=sqlite:///PATH.",
            retry_after=30,
        ) from exc
    engine = create_engine(
        url,
        connect_args={"timeout": busy_timeout_s, "check_same_thread": False},
        pool_size=4,
        max_overflow=4,
    )
    busy_ms = int(busy_timeout_s * 1000)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # the driver's own transaction handling is off: the "begin" hook below starts them
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def dispose(engine: Engine) -> None:
    """Close every pooled connection (errors while closing are of no use to anyone)."""
    with suppress(Exception):
        engine.dispose()
