"""Batch scoring per partition: each worker scores its partitions' customers as
``journeyml score`` does (:func:`journeyml.serving.score_chunks`: the API's answers, warnings
and metadata, in chunks of whole customers) into one file per partition."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from journeyml.errors import ConfigError
from journeyml.events import PartitionedEvents, read_partition
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
) -> Iterator[list[dict[str, Any]]]:
    """The API's answers for every customer of ``ds``, one partition read at a time (memory
    follows the partition, not the log), chunk by chunk."""
    t = None if as_of is None else pd.Timestamp(as_of)
    if t is not None and t.tzinfo is None:
        t = t.tz_localize("UTC")
    for i in partitions if partitions is not None else range(ds.n_partitions):
        part = read_partition(ds, i)
        if len(part):
            yield from score_chunks(
                predictor, part, default_cutoffs(part, t), request, request_id=request_id
            )


def _score_one(
    i: int,
    ds: PartitionedEvents,
    predictor: Predictor,
    out_dir: Path,
    suffix: str,
    request: ScoreRequest | None,
    as_of: Any,
) -> int:
    out = out_dir / f"part-{i:05d}{suffix}"
    chunks = partition_responses(ds, predictor, request, as_of=as_of, partitions=range(i, i + 1))
    return write_responses(chunks, out, predictor.tasks)


def score_partitions(
    client: Any,
    ds: PartitionedEvents,
    predictor: Predictor,
    out_dir: Path,
    request: ScoreRequest | None = None,
    *,
    as_of: Any = None,
    suffix: str = ".jsonl",
) -> int:
    """Score every customer of ``ds`` on the cluster of ``client``: ``out_dir/part-NNNNN``
    + ``suffix`` per partition (``.jsonl`` answers with root causes, ``.csv`` / ``.parquet``
    tables). Returns the number of customers scored."""
    if suffix not in FORMATS:
        raise ConfigError(
            f"expected an output suffix among {', '.join(FORMATS)}, got {suffix!r}.",
            field="suffix",
        )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    shared = client.scatter(predictor, broadcast=True)
    futures = client.map(
        _score_one,
        range(ds.n_partitions),
        ds=ds,
        predictor=shared,
        out_dir=out_dir,
        suffix=suffix,
        request=request,
        as_of=as_of,
        pure=False,
    )
    return int(sum(client.gather(futures)))
