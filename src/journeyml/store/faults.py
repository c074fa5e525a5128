"""A store that is down, unreachable or too busy becomes :class:`StoreUnavailableError` (HTTP
503 with ``Retry-After``); every other database error is a bug and propagates as it is.

>>> from sqlalchemy.exc import OperationalError
>>> try:
...     with guarded("sqlite:///x.db"):
...         raise OperationalError("BEGIN", {}, Exception("database is locked"))
... except StoreUnavailableError as err:
...     print(err.http_status, err.retry_after)
503 1
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc as sa_exc

from journeyml.errors import StoreUnavailableError

#: errors of the DBAPI that say the database cannot serve now (not that the request is wrong)
_UNAVAILABLE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.InternalError)


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return text[0] if text else type(orig).__name__


def unavailable(where: str, exc: BaseException) -> StoreUnavailableError:
    """The 503 error for a store at ``where`` that failed with ``exc``."""
    reason = _reason(exc)
    busy = "locked" in reason or "busy" in reason or isinstance(exc, sa_exc.TimeoutError)
    what = (
        "busy: other writers held it for longer than the busy timeout"
        if busy
        else "down or unreachable"
    )
    return StoreUnavailableError(
        f"expected the event store at {where} to answer, got {reason!r}: it is {what}. The "
        "request was not acknowledged: retry it (ingest is idempotent, a retry never stores an "
        "event twice). If it persists, check the PostgreSQL server, or the SQLite file, its "
        "folder and the disk.",
        retry_after=1 if busy else 5,
    )


@contextmanager
def guarded(where: str) -> Iterator[None]:
    """Turn "the database cannot serve" errors raised inside into StoreUnavailableError."""
    try:
        yield
    except (*_UNAVAILABLE, sa_exc.TimeoutError) as exc:
        raise unavailable(where, exc) from exc
    except sa_exc.DBAPIError as exc:
        # a plain DatabaseError is a file that is not a database (or is damaged); the
        # connection being invalidated means the server went away mid-statement
        if exc.connection_invalidated or type(exc) is sa_exc.DatabaseError:
            raise unavailable(where, exc) from exc
        raise
