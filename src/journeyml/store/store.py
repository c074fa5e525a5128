"""The event store: journeys remembered as they happen, the prediction log and outcomes.

One small interface over SQLite (embedded, the default) and PostgreSQL, in SQLAlchemy Core::

    store = EventStore.open("sqlite:///store/journeyml.db")          # creates the schema if new
    store.ingest(events, source="crm", now=now)                      # idempotent, one transaction
    store.journey("c-1042", before=as_of)                            # canonical frame, ns UTC
    store.journey_records("c-1042", before=as_of)                    # the API's event dicts
    for chunk in store.journeys(before=as_of): ...                   # whole customers per chunk
    store.log_prediction(PredictionRecord.from_response(...))
    store.erase_customer("c-1042")                                   # right to erasure

Every write is one transaction: what it returns has been committed (and on SQLite, synced to
disk). A store that cannot answer raises :class:`~journeyml.errors.StoreUnavailableError`
(503); nothing here reads the environment or the clock (``now`` is passed in).

>>> import pandas as pd, tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> store = EventStore.open(f"sqlite:///{folder / 'demo.db'}")
>>> ev = pd.DataFrame({"customer_id": ["c1", "c1"], "touchpoint": ["visit", "purchase"],
...     "timestamp": pd.to_datetime(["2024-05-01 10:00", "2024-05-03 12:00"], utc=True)})
>>> store.ingest(ev, source="doc", now="2024-06-01")
IngestResult(accepted=2, duplicates=0)
>>> store.ingest(ev, source="doc", now="2024-06-01")
IngestResult(accepted=0, duplicates=2)
>>> store.journey("c1", before="2024-05-02")["touchpoint"].tolist()
['visit']
>>> store.erase_customer("c1").events
2
>>> store.close()
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Final

import pandas as pd
from sqlalchemy import Connection, Engine, Select, bindparam, delete, func, select

from journeyml.events import CUSTOMER_ID
from journeyml.features import NS_PER_DAY, to_ns
from journeyml.store.connect import WRITE, backend_of, dispose, make_engine, redact
from journeyml.store.driver import DriverStatement
from journeyml.store.entries import Erasure, IngestResult, Outcome, PredictionRecord, StoreSummary
from journeyml.store.faults import guarded
from journeyml.store.ids import EVENT_ID
from journeyml.store.migrate import check_schema, upgrade_schema
from journeyml.store.rows import (
    RECORD_COLUMNS,
    SELECTED,
    frame_from_rows,
    records_from_rows,
    rows_from_frame,
    rows_from_records,
)
from journeyml.store.tables import events, outcomes, prediction_log
from journeyml.store.tables import scores as scores_rows
from journeyml.store.writes import insert_new

#: customers per frame when streaming journeys
CHUNK_CUSTOMERS: Final = 5_000
_EV = events.c
_PL = prediction_log.c


def _json(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, default=str)


def upgrade_store(uri: str, *, connect_timeout_s: float = 5.0) -> tuple[str | None, str]:
    """Create or migrate the schema of the store at ``uri`` to the newest revision (what
    ``journeyml store upgrade`` runs); returns ``(revision before, revision after)``."""
    engine = make_engine(uri, connect_timeout_s=connect_timeout_s)
    try:
        with guarded(redact(engine.url)):
            return upgrade_schema(engine)
    finally:
        dispose(engine)


def _utc_series(ns: Sequence[int]) -> pd.Series:
    """Nanoseconds since the epoch as a ``datetime64[ns, UTC]`` series."""
    return pd.to_datetime(pd.Series(ns, dtype="int64"), utc=True)


def _events_select(before_ns: Any = None) -> Select[Any]:
    """Events in journey order: customer, time, touchpoint, channel, value (missing last)."""
    stmt = select(*(_EV[c] for c in SELECTED))
    if before_ns is not None:
        stmt = stmt.where(_EV.ts_ns < before_ns)
    return stmt.order_by(
        _EV.customer_id, _EV.ts_ns, _EV.touchpoint, _EV.channel, _EV.value.nulls_last(), _EV.seq
    )


#: one customer's journey as a frame
_JOURNEY = _events_select().where(_EV.customer_id == bindparam("customer_id"))
_JOURNEY_BEFORE = _events_select(bindparam("before")).where(
    _EV.customer_id == bindparam("customer_id")
)


def _records_select(before: bool) -> Select[Any]:
    """One customer's events as records (no customer column), in journey order, through the
    index on (customer_id, ts_ns)."""
    stmt = select(*(_EV[c] for c in RECORD_COLUMNS)).where(
        _EV.customer_id == bindparam("customer_id")
    )
    if before:
        stmt = stmt.where(_EV.ts_ns < bindparam("before"))
    return stmt.order_by(_EV.ts_ns, _EV.touchpoint, _EV.channel, _EV.value.nulls_last(), _EV.seq)


class EventStore:
    """Events, the prediction log and outcomes of one store (see the module docstring)."""

    def __init__(self, engine: Engine, revision: str) -> None:
        self._engine = engine
        self.revision = revision
        self.uri = redact(engine.url)
        self.backend = backend_of(engine)
        # PostgreSQL reads are single statements: autocommit spares a BEGIN and a ROLLBACK
        # round trip each (a 200-event journey: 2.6 → 0.7 ms measured here)
        self._reader = (
            engine.execution_options(isolation_level="AUTOCOMMIT")
            if self.backend == "postgresql"
            else engine
        )
        self._records_all = DriverStatement.compile(_records_select(False), engine.dialect)
        self._records_before = DriverStatement.compile(_records_select(True), engine.dialect)
        self._known = DriverStatement.compile(
            select(1).where(_EV.customer_id == bindparam("customer_id")).limit(1), engine.dialect
        )

    # --- opening and closing --------------------------------------------------------------
    @classmethod
    def open(
        cls,
        uri: str,
        *,
        create: bool = True,
        busy_timeout_s: float = 30.0,
        connect_timeout_s: float = 5.0,
    ) -> EventStore:
        """Connect to the store at ``uri`` and check its schema (created when missing and
        ``create``; a newer or older schema raises :class:`~journeyml.errors.StoreSchemaError`)."""
        engine = make_engine(
            uri, busy_timeout_s=busy_timeout_s, connect_timeout_s=connect_timeout_s
        )
        try:
            with guarded(redact(engine.url)):
                revision = check_schema(engine, create=create)
        except BaseException:
            dispose(engine)
            raise
        return cls(engine, revision)

    def close(self) -> None:
        dispose(self._engine)

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"EventStore({self.uri!r}, revision={self.revision!r})"

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with guarded(self.uri), self._reader.connect() as conn:
            yield conn

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with (
            guarded(self.uri),
            self._engine.connect().execution_options(**{WRITE: True}) as conn,
            conn.begin(),
        ):
            yield conn

    def ping(self) -> None:
        """Raise StoreUnavailableError unless the store answers now (a readiness check)."""
        with self._read() as conn:
            conn.execute(select(1)).one()

    # --- events in --------------------------------------------------------------------------
    def ingest(
        self, events: pd.DataFrame, *, source: str, now: Any, keep_repeats: bool = False
    ) -> IngestResult:
        """Store a frame of events (canonical columns; an ``event_id`` column is optional;
        other columns are attributes) in one transaction.

        Events the store already has (same id) are counted as duplicates and left as they are;
        ``keep_repeats`` tells identical rows of this frame apart instead of dropping the
        repeats (for logs whose mapping says ``duplicates: keep``).
        """
        rows = rows_from_frame(
            events, source=source, ingested_at_ns=to_ns(now), keep_repeats=keep_repeats
        )
        return self._insert_events(rows)

    def ingest_records(
        self,
        records: Sequence[Mapping[str, Any]],
        *,
        source: str,
        now: Any,
        customer_id: str | None = None,
        keep_repeats: bool = False,
    ) -> IngestResult:
        """Store event dicts (the API's shape, each with its ``customer_id`` unless one is given
        for all) in one transaction; see :meth:`ingest`."""
        rows = rows_from_records(
            records,
            source=source,
            ingested_at_ns=to_ns(now),
            customer_id=customer_id,
            keep_repeats=keep_repeats,
        )
        return self._insert_events(rows)

    def _insert_events(self, rows: list[dict[str, Any]]) -> IngestResult:
        first: dict[tuple[str, str], dict[str, Any]] = {}
        for r in rows:  # the first of the same event in one batch is the one stored
            first.setdefault((r[CUSTOMER_ID], r[EVENT_ID]), r)
        unique = list(first.values())
        if not unique:
            return IngestResult(0, len(rows))
        with self._write() as conn:
            stored = insert_new(conn, events, unique, (_EV.customer_id, _EV.event_id))
        return IngestResult(stored, len(rows) - stored)

    # --- journeys out -----------------------------------------------------------------------
    def _journey_rows(self, customer_id: str, before: Any) -> list[Any]:
        params: dict[str, Any] = {"customer_id": str(customer_id)}
        stmt = _JOURNEY
        if before is not None:
            stmt, params["before"] = _JOURNEY_BEFORE, to_ns(before)
        with self._read() as conn:
            return list(conn.execute(stmt, params).tuples().all())

    def journey(
        self, customer_id: str, *, before: Any = None, attributes: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """A customer's events strictly before ``before`` (all if None) as a canonical frame in
        journey order (time, touchpoint, channel, value); empty if the store has none.

        ``attributes``: exactly these attribute columns (default: every one the events have).
        """
        return frame_from_rows(self._journey_rows(customer_id, before), attributes)

    def journey_records(self, customer_id: str, *, before: Any = None) -> list[dict[str, Any]]:
        """The same events as :meth:`journey`, as the event dicts ``Predictor.predict_journey``
        and the API take (``timestamp`` an aware UTC ``datetime``, a nanosecond
        ``pd.Timestamp`` where it has nanoseconds; attributes as keys). One indexed query."""
        with self._read() as conn:
            if before is None:
                rows = self._records_all.rows(conn, customer_id=str(customer_id))
            else:
                rows = self._records_before.rows(
                    conn, customer_id=str(customer_id), before=to_ns(before)
                )
        return records_from_rows(rows)

    def has_customer(self, customer_id: str) -> bool:
        """Whether the store holds any event of the customer (one index probe)."""
        with self._read() as conn:
            return bool(self._known.rows(conn, customer_id=str(customer_id)))

    def provenance(self, customer_id: str) -> pd.DataFrame:
        """Where a customer's events came from: ``event_id``, ``timestamp``, ``touchpoint``,
        ``source`` and ``ingested_at`` per event, in journey order (for audits and replays)."""
        stmt = (
            select(_EV.event_id, _EV.ts_ns, _EV.touchpoint, _EV.source, _EV.ingested_at_ns)
            .where(_EV.customer_id == str(customer_id))
            .order_by(_EV.ts_ns, _EV.touchpoint, _EV.channel, _EV.value.nulls_last(), _EV.seq)
        )
        with self._read() as conn:
            rows = conn.execute(stmt).tuples().all()
        ids, ts, touchpoints, sources, ingested = list(zip(*rows, strict=True)) or [()] * 5
        return pd.DataFrame(
            {
                EVENT_ID: pd.Series(ids, dtype=object),
                "timestamp": _utc_series(ts),
                "touchpoint": pd.Series(touchpoints, dtype=object),
                "source": pd.Series(sources, dtype=object),
                "ingested_at": _utc_series(ingested),
            }
        )

    def customers(self, *, before: Any = None) -> list[str]:
        """Every customer with an event before ``before`` (all if None), sorted."""
        stmt = select(_EV.customer_id).distinct().order_by(_EV.customer_id)
        if before is not None:
            stmt = stmt.where(_EV.ts_ns < to_ns(before))
        with self._read() as conn:
            return list(conn.execute(stmt).scalars())

    def active_customers(self, at: Any, days: float) -> list[str]:
        """Customers with at least one event in the ``days`` before ``at`` ([at - D, at))."""
        end = to_ns(at)
        start = end - round(days * NS_PER_DAY)
        stmt = (
            select(_EV.customer_id)
            .where(_EV.ts_ns >= start, _EV.ts_ns < end)
            .distinct()
            .order_by(_EV.customer_id)
        )
        with self._read() as conn:
            return list(conn.execute(stmt).scalars())

    def journeys(
        self,
        customer_ids: Iterable[str] | None = None,
        *,
        before: Any = None,
        chunk_customers: int = CHUNK_CUSTOMERS,
        attributes: Sequence[str] | None = None,
    ) -> Iterator[pd.DataFrame]:
        """Canonical frames of many customers, ``chunk_customers`` whole customers at a time
        (customers in sorted order; a customer is never split across frames). Each chunk is its
        own short read, so a long batch never holds the store.

        ``customer_ids``: these customers (those without events are left out), else every
        customer with events before ``before``. Pass the model's attributes as ``attributes``
        so that every chunk has the same columns.
        """
        if chunk_customers < 1:
            raise ValueError(f"expected chunk_customers >= 1, got {chunk_customers}")
        listed = customer_ids is not None
        ids = sorted({str(c) for c in customer_ids}) if customer_ids is not None else None
        if ids is None:
            ids = self.customers(before=before)
        for lo in range(0, len(ids), chunk_customers):
            part = ids[lo : lo + chunk_customers]
            stmt = _events_select(None if before is None else to_ns(before))
            if listed:
                stmt = stmt.where(_EV.customer_id.in_(part))
            else:
                stmt = stmt.where(_EV.customer_id >= part[0], _EV.customer_id <= part[-1])
            with self._read() as conn:
                rows = list(conn.execute(stmt).tuples().all())
            if rows:
                yield frame_from_rows(rows, attributes)

    def count_events(self, customer_id: str | None = None) -> int:
        stmt = select(func.count()).select_from(events)
        if customer_id is not None:
            stmt = stmt.where(_EV.customer_id == str(customer_id))
        with self._read() as conn:
            return int(conn.execute(stmt).scalar_one())

    # --- the prediction log -----------------------------------------------------------------
    def log_predictions(self, records: Iterable[PredictionRecord]) -> int:
        """Append predictions to the log in one transaction; returns how many were new (a
        record whose request id and item are already logged is left as it is)."""
        rows = [
            {
                "request_id": r.request_id,
                "item": r.item,
                "project": r.project,
                CUSTOMER_ID: r.customer_id,
                "as_of_ns": to_ns(r.as_of),
                "model_versions": _json(r.model_versions),
                "feature_fingerprint": r.feature_fingerprint,
                "probabilities": _json(r.probabilities),
                "top_causes": _json(r.top_causes),
                "events_hash": r.events_hash,
                "n_events": r.n_events,
                "created_at_ns": to_ns(r.created_at),
            }
            for r in records
        ]
        if not rows:
            return 0
        with self._write() as conn:
            return insert_new(conn, prediction_log, rows, (_PL.request_id, _PL.item))

    def log_prediction(self, record: PredictionRecord) -> bool:
        """Append one prediction; False when it was logged already."""
        return self.log_predictions([record]) == 1

    def _read_predictions(self, stmt: Select[Any]) -> list[PredictionRecord]:
        with self._read() as conn:
            rows = conn.execute(stmt).mappings().all()
        return [
            PredictionRecord(
                request_id=r["request_id"],
                item=int(r["item"]),
                project=r["project"],
                customer_id=r[CUSTOMER_ID],
                as_of=pd.Timestamp(r["as_of_ns"], tz="UTC"),
                model_versions=json.loads(r["model_versions"]),
                feature_fingerprint=r["feature_fingerprint"],
                probabilities=json.loads(r["probabilities"]),
                top_causes=json.loads(r["top_causes"]),
                events_hash=r["events_hash"],
                n_events=int(r["n_events"]),
                created_at=pd.Timestamp(r["created_at_ns"], tz="UTC"),
            )
            for r in rows
        ]

    def _predictions_query(self) -> Select[Any]:
        return select(*(c for c in prediction_log.c if c.name != "seq"))

    def predictions_for_request(self, request_id: str) -> list[PredictionRecord]:
        """Every prediction of one request (one for ``/predict``, one per journey of a batch),
        in request order."""
        stmt = self._predictions_query().where(_PL.request_id == str(request_id)).order_by(_PL.item)
        return self._read_predictions(stmt)

    def prediction(self, request_id: str, item: int = 0) -> PredictionRecord | None:
        """One logged prediction, or None."""
        stmt = self._predictions_query().where(_PL.request_id == str(request_id), _PL.item == item)
        found = self._read_predictions(stmt)
        return found[0] if found else None

    def predictions(
        self,
        customer_id: str | None = None,
        *,
        project: str | None = None,
        since: Any = None,
        until: Any = None,
        limit: int | None = None,
    ) -> list[PredictionRecord]:
        """Logged predictions (of a customer, a project, created in [since, until)), oldest
        first."""
        stmt = self._predictions_query()
        if customer_id is not None:
            stmt = stmt.where(_PL.customer_id == str(customer_id))
        if project is not None:
            stmt = stmt.where(_PL.project == project)
        if since is not None:
            stmt = stmt.where(_PL.created_at_ns >= to_ns(since))
        if until is not None:
            stmt = stmt.where(_PL.created_at_ns < to_ns(until))
        stmt = stmt.order_by(_PL.created_at_ns, _PL.seq)
        if limit is not None:
            stmt = stmt.limit(limit)
        return self._read_predictions(stmt)

    def prediction_log_frames(
        self,
        *,
        project: str | None = None,
        since: Any = None,
        until: Any = None,
        chunk_rows: int = 200_000,
    ) -> Iterator[pd.DataFrame]:
        """The log as frames of at most ``chunk_rows`` entries whose ``as_of`` is in
        [since, until) (monitoring reads millions): ``customer_id``, ``as_of_ns``,
        ``model_versions``, ``probabilities`` and ``top_causes`` (JSON texts, unparsed),
        ``project``, ``request_id``, ``item``, in ``seq`` order; one short read per frame."""
        cols = ("seq", "request_id", "item", "project", CUSTOMER_ID, "as_of_ns",
                "model_versions", "probabilities", "top_causes")  # fmt: skip
        last = -1
        while True:
            stmt = select(*(_PL[c] for c in cols)).where(_PL.seq > last)
            if project is not None:
                stmt = stmt.where(_PL.project == project)
            if since is not None:
                stmt = stmt.where(_PL.as_of_ns >= to_ns(since))
            if until is not None:
                stmt = stmt.where(_PL.as_of_ns < to_ns(until))
            stmt = stmt.order_by(_PL.seq).limit(chunk_rows)
            with self._read() as conn:
                rows = conn.execute(stmt).tuples().all()
            if not rows:
                return
            frame = pd.DataFrame(list(rows), columns=list(cols))
            last = int(frame["seq"].iloc[-1])
            yield frame.drop(columns="seq")
            if len(rows) < chunk_rows:
                return

    # --- outcomes ----------------------------------------------------------------------------
    def record_outcomes(self, items: Iterable[Outcome]) -> IngestResult:
        """Store outcomes in one transaction (the same customer, task, outcome and time twice is
        stored once)."""
        rows = [
            {
                CUSTOMER_ID: o.customer_id,
                "task": o.task,
                "outcome": o.outcome,
                "ts_ns": to_ns(o.time),
                "source": o.source,
            }
            for o in items
        ]
        if not rows:
            return IngestResult(0, 0)
        c = outcomes.c
        with self._write() as conn:
            stored = insert_new(conn, outcomes, rows, (c.customer_id, c.task, c.outcome, c.ts_ns))
        return IngestResult(stored, len(rows) - stored)

    def outcomes(
        self,
        *,
        task: str | None = None,
        customer_id: str | None = None,
        since: Any = None,
        until: Any = None,
    ) -> pd.DataFrame:
        """Outcomes (of a task, a customer, at times in [since, until)) as a frame with
        ``customer_id, task, outcome, time, source``, by time."""
        c = outcomes.c
        stmt = select(c.customer_id, c.task, c.outcome, c.ts_ns, c.source)
        if task is not None:
            stmt = stmt.where(c.task == task)
        if customer_id is not None:
            stmt = stmt.where(c.customer_id == str(customer_id))
        if since is not None:
            stmt = stmt.where(c.ts_ns >= to_ns(since))
        if until is not None:
            stmt = stmt.where(c.ts_ns < to_ns(until))
        stmt = stmt.order_by(c.ts_ns, c.customer_id, c.task, c.outcome)
        with self._read() as conn:
            rows = list(conn.execute(stmt).tuples().all())
        cols = list(zip(*rows, strict=True)) or [()] * 5
        return pd.DataFrame(
            {
                CUSTOMER_ID: pd.Series(cols[0], dtype=object),
                "task": pd.Series(cols[1], dtype=object),
                "outcome": pd.Series(cols[2], dtype=object),
                "time": _utc_series(cols[3]),
                "source": pd.Series(cols[4], dtype=object),
            }
        )

    # --- erasure and summary -----------------------------------------------------------------
    def erase_customer(self, customer_id: str) -> Erasure:
        """Delete every event, logged prediction, outcome and score of a customer, in one
        transaction (right to erasure); returns what was removed (all zero for an unknown
        customer)."""
        cid = str(customer_id)
        with self._write() as conn:
            counts = [
                conn.execute(delete(t).where(t.c.customer_id == cid)).rowcount
                for t in (events, prediction_log, outcomes, scores_rows)
            ]
        return Erasure(
            cid, events=counts[0], predictions=counts[1], outcomes=counts[2], scores=counts[3]
        )

    # --- scores of scheduled scoring runs ----------------------------------------------------
    def save_scores(self, rows: Sequence[Mapping[str, Any]]) -> int:
        """Append a scoring run's rows to the scores table in one transaction (one row per run,
        customer and task: ``run_id, project, customer_id, task, as_of_ns, probability,
        predicted, percentile, top_causes, model_version, created_at_ns``); returns how many
        were new (rows of a run already saved are left as they are)."""
        if not rows:
            return 0
        c = scores_rows.c
        with self._write() as conn:
            return insert_new(
                conn, scores_rows, [dict(r) for r in rows], (c.run_id, c.customer_id, c.task)
            )

    def scores(self, project: str, *, run_id: str | None = None) -> pd.DataFrame:
        """The scores of one run of ``project`` (default: its latest), one row per customer and
        task, ordered by customer and task; empty when the project has no run."""
        c = scores_rows.c
        with self._read() as conn:
            if run_id is None:
                run_id = conn.execute(
                    select(c.run_id)
                    .where(c.project == project)
                    .order_by(c.created_at_ns.desc(), c.seq.desc())
                    .limit(1)
                ).scalar_one_or_none()
            cols = [
                c.run_id, c.customer_id, c.task, c.as_of_ns, c.probability, c.predicted,
                c.percentile, c.top_causes, c.model_version, c.created_at_ns,
            ]  # fmt: skip
            stmt = (
                select(*cols)
                .where(c.project == project, c.run_id == (run_id or ""))
                .order_by(c.customer_id, c.task)
            )
            rows = list(conn.execute(stmt).tuples().all())
        names = [col.name for col in cols]
        frame = pd.DataFrame(rows, columns=names)
        for col in ("as_of_ns", "created_at_ns"):
            frame[col.removesuffix("_ns")] = _utc_series(tuple(frame.pop(col)))
        frame["top_causes"] = [json.loads(t) for t in frame["top_causes"]]
        return frame

    def summary(self) -> StoreSummary:
        """How much the store holds (counts every row: seconds on tens of millions)."""
        with self._read() as conn:
            n_events, n_customers, first, last = conn.execute(
                select(
                    func.count(),
                    func.count(_EV.customer_id.distinct()),
                    func.min(_EV.ts_ns),
                    func.max(_EV.ts_ns),
                )
            ).one()
            n_pred = conn.execute(select(func.count()).select_from(prediction_log)).scalar_one()
            n_out = conn.execute(select(func.count()).select_from(outcomes)).scalar_one()
        return StoreSummary(
            uri=self.uri,
            backend=self.backend,
            revision=self.revision,
            events=int(n_events),
            customers=int(n_customers),
            predictions=int(n_pred),
            outcomes=int(n_out),
            first_event=None if first is None else pd.Timestamp(first, tz="UTC"),
            last_event=None if last is None else pd.Timestamp(last, tz="UTC"),
        )
