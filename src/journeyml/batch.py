"""Batch scoring to a file in bounded memory: every customer, chunk by chunk.

:func:`write_scores` encodes the events once (a few numeric arrays), then scores whole
customers a chunk at a time through :meth:`Predictor.score_chunks` (the API's code path) and
appends each chunk to the output: JSON lines with root causes, or CSV / parquet
probabilities. What a chunk needs — its feature rows, SHAP values and prediction dicts — is
freed before the next one, so peak memory follows the chunk size, not the number of customers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from journeyml.errors import ConfigError
from journeyml.events import is_canonical, to_canonical
from journeyml.features import EventArrays, encode_frame, to_ns
from journeyml.progress import NO_PROGRESS, Progress
from journeyml.scoring import SCORE_CHUNK_EVENTS, Predictor, ScoreRequest, iso_utc

#: output suffixes: explanations (JSON lines) or probabilities (tables)
FORMATS = (".jsonl", ".csv", ".parquet")
ONE_SECOND_NS = 1_000_000_000


def every_customer(arr: EventArrays, as_of: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """One cutoff per customer of ``arr``: its codes and times (ns) — ``as_of`` when given,
    else one second after the customer's last event (nothing of the log left out)."""
    q = np.arange(len(arr.customer_ids), dtype=np.int64)
    if as_of is not None:
        return q, np.full(q.shape[0], to_ns(as_of), dtype=np.int64)
    last = arr.ts[arr.offsets[1:] - 1] if q.size else np.zeros(0, np.int64)
    return q, last + ONE_SECOND_NS


def write_scores(
    predictor: Predictor,
    events: pd.DataFrame | EventArrays,
    out: Path,
    request: ScoreRequest | None = None,
    *,
    as_of: Any = None,
    chunk_events: int = SCORE_CHUNK_EVENTS,
    progress: Progress = NO_PROGRESS,
) -> int:
    """Score every customer of ``events`` (as of ``as_of``, else right after their last
    event) into ``out``; returns the number of customers written.

    ``.jsonl``: one prediction per line, as the API answers (root causes unless
    ``request.explain`` is false); ``.csv`` / ``.parquet``: ``customer_id``, ``as_of`` and
    one probability column per task (per class for multiclass tasks).
    """
    if out.suffix not in FORMATS:
        raise ConfigError(
            f"expected an output file ending in {', '.join(FORMATS)}, got {out.name!r}. "
            "Use .jsonl for explanations, .csv or .parquet for probabilities.",
            field="out",
        )
    if isinstance(events, EventArrays):
        arr = events
    else:
        ev = events if is_canonical(events) else to_canonical(events)
        arr = encode_frame(ev, predictor.spec)
    q, t = every_customer(arr, as_of)
    req = request or ScoreRequest(predictor.tasks)
    n = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    with progress.stage("scoring", total=len(q), unit="customers") as stage:
        if out.suffix == ".jsonl":
            with out.open("w") as fh:
                for _, rows in predictor.score_chunks(arr, q, t, req, chunk_events=chunk_events):
                    fh.writelines(json.dumps(r) + "\n" for r in rows)
                    n += len(rows)
                    stage.advance(len(rows))
            return n
        writer: Any = None
        try:
            for idx, probs in predictor.probability_chunks(arr, q, t, chunk_events=chunk_events):
                probs.insert(0, "customer_id", arr.customer_ids[q[idx]].astype(str))
                probs.insert(1, "as_of", pd.to_datetime(iso_utc(t[idx]), utc=True))
                if out.suffix == ".csv":
                    probs.to_csv(out, index=False, mode="w" if n == 0 else "a", header=n == 0)
                else:
                    import pyarrow as pa
                    import pyarrow.parquet as pq

                    table = pa.Table.from_pandas(probs, preserve_index=False)
                    if writer is None:
                        writer = pq.ParquetWriter(out, table.schema)
                    writer.write_table(table)
                n += len(probs)
                stage.advance(len(probs))
        finally:
            if writer is not None:
                writer.close()
        if n == 0:  # no customers: an empty file with the header
            empty = predictor.probability_frame(
                np.zeros((0, len(predictor.spec.names))), pd.RangeIndex(0)
            )
            empty.insert(0, "customer_id", pd.Series([], dtype=object))
            empty.insert(1, "as_of", pd.Series([], dtype="datetime64[ns, UTC]"))
            empty.to_csv(out, index=False) if out.suffix == ".csv" else empty.to_parquet(out)
    return n
