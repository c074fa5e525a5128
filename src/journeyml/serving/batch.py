"""Batch scoring that answers as the API does: for every customer of an event frame, the
``/predict`` response — probabilities, root causes, ``model_versions``, ``feature_fingerprint``,
``request_id`` and the same ``warnings`` (``not_eligible`` included), worded by the same
functions of :mod:`journeyml.serving.api` and decided by the same eligibility rules.

Customers are scored in chunks (whole customers), so a progress listener hears an ETA and a
caller can write each chunk as it comes (:func:`write_responses`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from journeyml.errors import ConfigError
from journeyml.events import (
    CHANNEL,
    CUSTOMER_ID,
    STAGE,
    TIMESTAMP,
    TOUCHPOINT,
    VALUE,
    is_canonical,
    to_canonical,
)
from journeyml.explain import humanize
from journeyml.progress import NO_PROGRESS, Progress
from journeyml.scoring import Predictor, ScoreRequest
from journeyml.serving.api import (
    JUST_AFTER,
    Warning_,
    duplicates_warning,
    events_after_warning,
    missing_stage_warning,
    no_events_warning,
    not_eligible_warning,
    respond,
    unknown_warning,
)
from journeyml.tasks import reasons_by_cutoff

AS_OF = "as_of"
#: output suffixes: API answers with root causes (JSON lines) or tables
FORMATS = (".jsonl", ".csv", ".parquet")
#: customers per chunk: small enough for a lively ETA and bounded memory
CHUNK_CUSTOMERS = 2_000


def default_cutoffs(events: pd.DataFrame, as_of: pd.Timestamp | None = None) -> pd.DataFrame:
    """One cutoff per customer: at ``as_of``, or just after the customer's last event (the
    API's default, :data:`~journeyml.serving.api.JUST_AFTER`).

    >>> from journeyml import default_cutoffs, toy
    >>> default_cutoffs(toy.journeys())
      customer_id                            as_of
    0         ann 2024-01-10 11:00:00.000001+00:00
    1         bob 2024-01-20 18:00:00.000001+00:00
    2         cat 2024-01-06 12:00:00.000001+00:00
    """
    last = events.groupby(CUSTOMER_ID, sort=False)[TIMESTAMP].max()
    ids = pd.Series(last.index.astype(str), dtype=object)
    if as_of is not None:
        return pd.DataFrame({CUSTOMER_ID: ids, AS_OF: pd.Timestamp(as_of)})
    return pd.DataFrame({CUSTOMER_ID: ids, AS_OF: (last + JUST_AFTER).to_numpy()})


def batch_results(
    predictor: Predictor,
    events: pd.DataFrame,
    cutoffs: pd.DataFrame,
    request: ScoreRequest | None = None,
    *,
    request_id: str | None = None,
) -> list[dict[str, Any]]:
    """The ``/predict`` response of every cutoff row ``(customer_id, as_of)``, each customer's
    journey being its events in ``events`` (all of them: the ones at or after ``as_of`` are
    ignored and counted, as the API does).

    >>> from journeyml import ScoreRequest, batch_results, default_cutoffs, toy
    >>> events = toy.journeys()
    >>> rows = batch_results(toy.predictor(), events, default_cutoffs(events))
    >>> [(r["customer_id"], [w["field"] for w in r["warnings"]]) for r in rows]
    [('ann', ['conversion']), ('bob', ['churn']), ('cat', [])]
    >>> sorted(rows[0])  # the API's answer, per customer  # doctest: +NORMALIZE_WHITESPACE
    ['as_of', 'churn', 'conversion', 'customer_id', 'feature_fingerprint', 'model_versions',
     'n_events_used', 'request_id', 'warnings']
    >>> only = batch_results(toy.predictor(), events, default_cutoffs(events),
    ...                      ScoreRequest(tasks=("churn",), explain=False))
    >>> sorted(only[0]["churn"])              # no root causes asked for
    ['probability']
    """
    req = request or ScoreRequest(predictor.tasks)
    tasks = predictor.check_tasks(req.tasks)
    predictor.check_classes(req.explain_classes)
    ev = events if is_canonical(events) else to_canonical(events)
    rows = predictor.score_frame(ev, cutoffs, req)
    warnings = _event_warnings(predictor, ev, cutoffs)
    configs = [predictor.bundles[t].task for t in tasks]
    reasons = reasons_by_cutoff(configs, ev, cutoffs, humanize)
    rid = request_id or uuid.uuid4().hex
    for i, row in enumerate(rows):
        w = warnings[i]
        for t, why in zip(tasks, reasons, strict=True):
            reason = why[i]
            if reason:
                w.append(not_eligible_warning(predictor, t, reason))
        respond(predictor, row, tasks, rid, w)
    return rows


def score_chunks(
    predictor: Predictor,
    events: pd.DataFrame,
    cutoffs: pd.DataFrame | None = None,
    request: ScoreRequest | None = None,
    *,
    request_id: str | None = None,
    chunk_customers: int = CHUNK_CUSTOMERS,
    progress: Progress = NO_PROGRESS,
    on_chunk: Callable[[list[dict[str, Any]], pd.DataFrame], Any] | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """:func:`batch_results` chunk by chunk of whole customers (``cutoffs`` default: one per
    customer, just after its last event); ``progress`` hears the ``scoring`` stage;
    ``on_chunk(rows, events)`` sees each chunk's answers and events before they are yielded
    (the prediction log: :class:`journeyml.serving.batch_log.BatchLog`).

    >>> from journeyml import score_chunks, toy
    >>> chunks = list(score_chunks(toy.predictor(), toy.journeys(), chunk_customers=2))
    >>> [[r["customer_id"] for r in chunk] for chunk in chunks]
    [['ann', 'bob'], ['cat']]
    """
    ev = events if is_canonical(events) else to_canonical(events)
    cut = default_cutoffs(ev) if cutoffs is None else cutoffs.reset_index(drop=True)
    rid = request_id or uuid.uuid4().hex
    codes, uniques = pd.factorize(ev[CUSTOMER_ID].astype(str), sort=False)
    if len(codes) and (np.diff(codes) < 0).any():  # a customer's events are not together
        order = np.argsort(codes, kind="stable")
        ev, codes = ev.iloc[order], codes[order]
    bounds = np.searchsorted(codes, np.arange(len(uniques) + 1))
    cut_codes = pd.Index(uniques).get_indexer(cut[CUSTOMER_ID].astype(str))
    n_customers = int(pd.Series(cut[CUSTOMER_ID]).nunique())
    step = max(1, chunk_customers)
    with progress.stage("scoring", total=n_customers, unit="customers") as stage:
        # customers with events, in chunks of their events; then the ones without any
        for lo in range(0, len(uniques), step):
            hi = min(lo + step, len(uniques))
            sel = (cut_codes >= lo) & (cut_codes < hi)
            if sel.any():
                part = ev.iloc[bounds[lo] : bounds[hi]]
                c = cut[sel]
                rows = batch_results(predictor, part, c, request, request_id=rid)
                if on_chunk is not None:
                    on_chunk(rows, part)
                yield rows
                stage.advance(int(c[CUSTOMER_ID].nunique()))
        unknown = cut[cut_codes < 0]
        if len(unknown):
            rows = batch_results(predictor, ev.iloc[:0], unknown, request, request_id=rid)
            if on_chunk is not None:
                on_chunk(rows, ev.iloc[:0])
            yield rows
            stage.advance(int(unknown[CUSTOMER_ID].nunique()))


def flat_row(row: dict[str, Any], tasks: Sequence[str]) -> dict[str, Any]:
    """One response as a table row (csv, parquet): probabilities per task (and per class),
    eligibility, model versions, the fingerprint, the request id and the warnings (JSON)."""
    out: dict[str, Any] = {
        CUSTOMER_ID: row[CUSTOMER_ID],
        AS_OF: row[AS_OF],
        "n_events_used": row["n_events_used"],
    }
    flagged = {w["field"] for w in row["warnings"] if w["code"] == "not_eligible"}
    for t in tasks:
        r = row[t]
        if "distribution" in r:
            out.update({f"{t}:{c}": p for c, p in r["distribution"].items()})
            out[f"{t}_predicted"] = r["predicted"]
        else:
            out[t] = r["probability"]
        out[f"{t}_eligible"] = t not in flagged
    for t, v in row["model_versions"].items():
        out[f"{t}_model_version"] = v
    out["feature_fingerprint"] = row["feature_fingerprint"]
    out["request_id"] = row["request_id"]
    out["warnings"] = json.dumps(row["warnings"])
    return out


def write_responses(chunks: Iterator[list[dict[str, Any]]], out: Path, tasks: Sequence[str]) -> int:
    """Write responses as they come: ``.jsonl`` one response per line (root causes
    included), ``.csv`` / ``.parquet`` one :func:`flat_row` per customer. Returns the rows."""
    if out.suffix not in FORMATS:
        raise ConfigError(
            f"expected an output file ending in {', '.join(FORMATS)}, got {out.name!r}. "
            "Use .jsonl for explanations, .csv or .parquet for probabilities.",
            field="out",
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    if out.suffix == ".jsonl":
        with out.open("w") as fh:
            for rows in chunks:
                fh.writelines(json.dumps(r) + "\n" for r in rows)
                n += len(rows)
        return n
    writer: Any = None
    try:
        for i, rows in enumerate(chunks):
            frame = pd.DataFrame([flat_row(r, tasks) for r in rows])
            n += len(frame)
            if out.suffix == ".parquet":
                import pyarrow as pa
                import pyarrow.parquet as pq

                table = pa.Table.from_pandas(frame, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(out, table.schema)
                writer.write_table(table.cast(writer.schema))
            else:
                frame.to_csv(out, mode="w" if i == 0 else "a", header=i == 0, index=False)
    finally:
        if writer is not None:
            writer.close()
    return n


# --- the API's event warnings, many journeys at once ------------------------------------------
def _event_warnings(
    predictor: Predictor, ev: pd.DataFrame, cutoffs: pd.DataFrame
) -> list[list[Warning_]]:
    """Per cutoff row, the warnings :func:`journeyml.serving.api.handle_predict` gives the
    same journey (events after as_of, no events, duplicates, unknown touchpoints and
    channels, no stage), in the same order."""
    n = len(cutoffs)
    ids = cutoffs[CUSTOMER_ID].astype(str).to_numpy()
    as_of = pd.to_datetime(cutoffs[AS_OF], utc=True)
    rows = pd.DataFrame({CUSTOMER_ID: ids, "_row": np.arange(n), "_as_of": as_of.to_numpy()})
    cols = [CUSTOMER_ID, TIMESTAMP, TOUCHPOINT, CHANNEL, STAGE, VALUE]
    present = [c for c in cols if c in ev.columns]
    j = ev[present].assign(**{CUSTOMER_ID: ev[CUSTOMER_ID].astype(str)}).merge(rows, on=CUSTOMER_ID)
    before = j[TIMESTAMP] < j["_as_of"]
    n_after = np.bincount(j.loc[~before, "_row"], minlength=n)
    h = j[before]
    n_hist = np.bincount(h["_row"], minlength=n)
    keys = ["_row", *(c for c in (TIMESTAMP, TOUCHPOINT, CHANNEL, STAGE, VALUE) if c in h)]
    dups = np.bincount(h.loc[h.duplicated(keys), "_row"], minlength=n)
    unknown: dict[str, dict[int, list[str]]] = {}
    for field, vocab in (
        (TOUCHPOINT, predictor.touchpoint_set),
        (CHANNEL, predictor.channel_set),
    ):
        if field not in h:
            continue
        v = h[field]
        odd = v.notna() & ~v.astype(str).isin(vocab)
        if field == CHANNEL:
            odd &= v.astype(str) != "unknown"
        found = h.loc[odd, ["_row"]].assign(v=v[odd].astype(str)).drop_duplicates()
        unknown[field] = {int(r): sorted(g) for r, g in found.groupby("_row")["v"] if len(g)}
    no_stage = np.zeros(n, dtype=bool)
    if predictor.spec.stages and not predictor.spec.stages_are_touchpoints:
        has_stage = (
            np.bincount(h.loc[h[STAGE].notna(), "_row"], minlength=n)
            if STAGE in h
            else np.zeros(n, dtype=np.int64)
        )
        no_stage = has_stage == 0
    out: list[list[Warning_]] = []
    for i in range(n):
        w: list[Warning_] = []
        if n_after[i]:
            w.append(events_after_warning(int(n_after[i])))
        if n_hist[i] == 0:
            w.append(no_events_warning())
            out.append(w)
            continue
        if dups[i]:
            w.append(duplicates_warning(int(dups[i])))
        for field in (TOUCHPOINT, CHANNEL):
            found_i = unknown.get(field, {}).get(i)
            if found_i:
                w.append(unknown_warning(field, found_i))
        if no_stage[i]:
            w.append(missing_stage_warning())
        out.append(w)
    return out
