"""Batch scoring per partition: each worker scores its partitions' customers as
``journeyml score`` does (:func:`journeyml.serving.score_chunks`: the API's answers, warnings
and metadata, in chunks of whole customers) into one file per partition.

:func:`score_store_partitions` is ``journeyml score --store`` on a cluster: the store's active
customers are shared out by the same customer hash, each worker reads its customers' journeys
from the store and scores and logs them (:func:`journeyml.store.score_customers`), and the
driver puts the table together (percentiles are over every customer scored).

With a :class:`PartitionLog`, :func:`score_partitions` logs every prediction of a file run as
``journeyml score FILE`` does on one machine (:class:`journeyml.serving.BatchLog`): one request
id for the run, each worker writing its partitions' entries to the store, items numbered from
the customers counted in the partitions before it, so no two entries share an item."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from journeyml.errors import ConfigError
from journeyml.events import CUSTOMER_ID, PartitionedEvents, partition_of, read_partition
from journeyml.scoring import Predictor, ScoreRequest
from journeyml.serving import default_cutoffs, score_chunks, write_responses

FORMATS = (".jsonl", ".csv", ".parquet")


def partition_responses(
    ds: PartitionedEvents,
    predictor: Predictor,
    request: ScoreRequest | None = None,
    *,
    as_of: Any = None,
    partitions: range | None = None,
    request_id: str | None = None,
    on_chunk: Callable[[list[dict[str, Any]], pd.DataFrame], Any] | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """The API's answers for every customer of ``ds``, one partition read at a time (memory
    follows the partition, not the log), chunk by chunk (``on_chunk``: as
    :func:`~journeyml.serving.score_chunks`)."""
    t = None if as_of is None else pd.Timestamp(as_of)
    if t is not None and t.tzinfo is None:
        t = t.tz_localize("UTC")
    for i in partitions if partitions is not None else range(ds.n_partitions):
        part = read_partition(ds, i)
        if len(part):
            yield from score_chunks(
                predictor,
                part,
                default_cutoffs(part, t),
                request,
                request_id=request_id,
                on_chunk=on_chunk,
            )


@dataclass
class PartitionLog:
    """Where and as what a partitioned file run logs its predictions: the store at ``uri``
    (every worker must reach it), one ``request_id`` for the run, ``project`` and the run's
    ``created_at``. :func:`score_partitions` sets ``written`` to the entries logged."""

    uri: str
    request_id: str
    project: str
    created_at: Any
    written: int = 0


def _n_customers(i: int, ds: PartitionedEvents) -> int:
    ids = pd.read_parquet(ds.file(i), columns=[CUSTOMER_ID])[CUSTOMER_ID]
    return int(ids.astype(str).nunique())


def _score_one(
    i: int,
    first_item: int,
    ds: PartitionedEvents,
    predictor: Predictor,
    out_dir: Path,
    suffix: str,
    request: ScoreRequest | None,
    as_of: Any,
    request_id: str | None = None,
    log: PartitionLog | None = None,
) -> tuple[int, int]:
    out = out_dir / f"part-{i:05d}{suffix}"
    with ExitStack() as stack:
        sink = None
        if log is not None:
            from journeyml.serving import BatchLog
            from journeyml.store import EventStore

            store = stack.enter_context(EventStore.open(log.uri, create=False))
            sink = BatchLog(store, project=log.project, created_at=log.created_at)
            sink.written = first_item  # this partition's items follow the partitions before it
            request_id = log.request_id
        chunks = partition_responses(
            ds, predictor, request, as_of=as_of, partitions=range(i, i + 1),
            request_id=request_id, on_chunk=sink,
        )  # fmt: skip
        n = write_responses(chunks, out, predictor.tasks)
    return n, 0 if sink is None else sink.written - first_item


def score_partitions(
    client: Any,
    ds: PartitionedEvents,
    predictor: Predictor,
    out_dir: Path,
    request: ScoreRequest | None = None,
    *,
    as_of: Any = None,
    suffix: str = ".jsonl",
    request_id: str | None = None,
    log: PartitionLog | None = None,
) -> int:
    """Score every customer of ``ds`` on the cluster of ``client``: ``out_dir/part-NNNNN``
    + ``suffix`` per partition (``.jsonl`` answers with root causes, ``.csv`` / ``.parquet``
    tables). With ``log``, every prediction is logged to its store under its request id (which
    the answers then carry) and ``log.written`` says how many. Returns the number of customers
    scored."""
    if suffix not in FORMATS:
        raise ConfigError(
            f"expected an output suffix among {', '.join(FORMATS)}, got {suffix!r}.",
            field="suffix",
        )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    parts = range(ds.n_partitions)
    firsts = [0] * ds.n_partitions
    if log is not None:
        counts = client.gather(client.map(_n_customers, parts, ds=ds, pure=False))
        firsts = [int(x) for x in np.concatenate([[0], np.cumsum(counts)[:-1]])]
    shared = client.scatter(predictor, broadcast=True)
    futures = client.map(
        _score_one,
        parts,
        firsts,
        ds=ds,
        predictor=shared,
        out_dir=out_dir,
        suffix=suffix,
        request=request,
        as_of=as_of,
        request_id=request_id,
        log=log,
        pure=False,
    )
    done = client.gather(futures)
    if log is not None:
        log.written = int(sum(w for _, w in done))
    return int(sum(n for n, _ in done))


def _score_store_part(
    uri: str,
    predictor: Predictor,
    customers: list[str],
    t: pd.Timestamp,
    run_id: str,
    project: str,
    created_at: Any,
    top_k: int,
    first_item: int,
) -> tuple[list[dict[str, Any]], int]:
    from journeyml.store import EventStore, score_customers

    with EventStore.open(uri, create=False) as store:
        return score_customers(
            store, predictor, customers, t, run_id=run_id, project=project,
            created_at=created_at, top_k=top_k, first_item=first_item,
        )  # fmt: skip


def score_store_partitions(
    client: Any,
    uri: str,
    predictor: Predictor,
    *,
    as_of: Any,
    days: float,
    project: str,
    created_at: Any,
    top_k: int = 3,
    n_partitions: int = 8,
    run_id: str | None = None,
) -> Any:
    """:func:`journeyml.store.score_active` with the store's active customers scored per
    partition on the cluster of ``client`` (every worker must reach the store at ``uri``).
    The same rows, logged under one run id with distinct items; returns a
    :class:`journeyml.store.ScoringRun`."""
    import uuid

    from journeyml.features import to_ns
    from journeyml.store import EventStore, finish_run

    t = pd.Timestamp(to_ns(as_of), tz="UTC")
    rid = run_id or f"score-{uuid.uuid4().hex}"
    with EventStore.open(uri, create=False) as store:
        active = store.active_customers(t, days)
    part = partition_of(pd.Series(active, dtype=object), n_partitions)
    groups = [[active[k] for k in np.flatnonzero(part == i)] for i in range(n_partitions)]
    groups = [g for g in groups if g]
    firsts = np.concatenate([[0], np.cumsum([len(g) for g in groups])[:-1]]).astype(int)
    shared = client.scatter(predictor, broadcast=True)
    futures = [
        client.submit(
            _score_store_part,
            uri,
            shared,
            g,
            t,
            rid,
            project,
            created_at,
            top_k,
            int(first),
            pure=False,
        )
        for g, first in zip(groups, firsts, strict=True)
    ]
    rows: list[dict[str, Any]] = []
    logged = 0
    for part_rows, n in client.gather(futures):
        rows.extend(part_rows)
        logged += n
    with EventStore.open(uri, create=False) as store:
        return finish_run(
            store, predictor, rows, run_id=rid, as_of=t, logged=logged, project=project,
            created_at=created_at,
        )  # fmt: skip
