"""Batch scoring per partition: each worker scores its partitions' customers in chunks
(:func:`journeyml.batch.write_scores`, the API's code path) into one file per partition."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from journeyml.batch import FORMATS, write_scores
from journeyml.errors import ConfigError
from journeyml.events import PartitionedEvents, read_partition
from journeyml.scoring import Predictor, ScoreRequest


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
    return write_scores(predictor, read_partition(ds, i), out, request, as_of=as_of)


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
    + ``suffix`` per partition (``.jsonl`` with root causes, ``.csv`` / ``.parquet``
    probabilities). Returns the number of customers scored."""
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
