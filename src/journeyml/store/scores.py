"""Scheduled scoring from the store: every customer active within D days, scored as of one
moment with root causes, logged, and laid out as a scores table; segments of it as audiences.

>>> [(c.column, c.op, c.threshold) for c in parse_segment("churn >= 0.6 and conversion < .1")]
[('churn', '>=', 0.6), ('conversion', '<', 0.1)]
"""

from __future__ import annotations

import json
import operator
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from journeyml.errors import ConfigError
from journeyml.features import to_ns
from journeyml.scoring import Predictor, ScoreRequest
from journeyml.store.entries import PredictionRecord
from journeyml.store.ids import journey_digest
from journeyml.store.store import EventStore

_OPS: Final[dict[str, Callable[[Any, Any], Any]]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
}
_CONDITION = re.compile(r"^\s*([A-Za-z_][\w:.\-]*)\s*(>=|<=|==|>|<)\s*([0-9]*\.?[0-9]+)\s*$")


#: a row's root causes per task as the API gives them (saved to the store, not exported)
CAUSES: Final = "_root_causes"


@dataclass(frozen=True)
class Condition:
    """``column op threshold`` on the scores table (a task's probability or percentile)."""

    column: str
    op: str
    threshold: float


def parse_segment(text: str) -> list[Condition]:
    """``"churn >= 0.6"``, several joined by ``and``; ConfigError naming the part it cannot read."""
    out = []
    for part in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        m = _CONDITION.match(part)
        if m is None:
            raise ConfigError(
                f"expected a segment like 'churn >= 0.6' (a task, one of >= > <= < ==, a "
                f"number; several joined by 'and'), got {part!r}.",
                field="segment",
            )
        out.append(Condition(m.group(1), m.group(2), float(m.group(3))))
    return out


def select_segment(scores: pd.DataFrame, conditions: list[Condition]) -> pd.DataFrame:
    """The rows of ``scores`` meeting every condition."""
    keep = np.ones(len(scores), dtype=bool)
    for c in conditions:
        if c.column not in scores.columns:
            numeric = [k for k in scores.columns if pd.api.types.is_float_dtype(scores[k])]
            raise ConfigError(
                f"expected a segment on one of the score columns {numeric}, got {c.column!r}.",
                field="segment",
            )
        keep &= _OPS[c.op](scores[c.column].to_numpy(dtype=float), c.threshold)
    return scores[keep].reset_index(drop=True)


@dataclass(frozen=True)
class ScoringRun:
    """What :func:`score_active` scored: the table, the run id (the request id of its log
    entries), how many entries it logged and how many rows it saved to the store's scores
    table (one per customer and task)."""

    run_id: str
    as_of: pd.Timestamp
    scores: pd.DataFrame
    logged: int
    saved: int = 0


def _cause_text(causes: list[dict[str, Any]]) -> str:
    return "; ".join(f"{c.get('label', c['cause'])} ({float(c['points']):+.1f})" for c in causes)


def _rows(
    predictor: Predictor, chunk: pd.DataFrame, as_of_ns: int, top_k: int
) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    ids = chunk["customer_id"].astype(str)
    customers = list(dict.fromkeys(ids))
    cut = pd.DataFrame({"customer_id": customers, "as_of": pd.Timestamp(as_of_ns, tz="UTC")})
    out = predictor.score_frame(chunk, cut, ScoreRequest(predictor.tasks, True, top_k))
    groups = dict(iter(chunk.groupby(ids, sort=False)))
    for cid, res in zip(customers, out, strict=True):
        yield res, groups[cid].to_dict("records")


def score_active(
    store: EventStore,
    predictor: Predictor,
    *,
    as_of: Any,
    days: float,
    project: str,
    created_at: Any,
    top_k: int = 3,
    log: bool = True,
    run_id: str | None = None,
    save: bool = True,
) -> ScoringRun:
    """Score every customer with an event in ``[as_of - days, as_of)`` as of ``as_of`` (their
    whole stored journey before it), log each prediction (``log``) under one run id, save the
    scores to the store's scores table (``save``, :func:`finish_run`), and return the table:
    per customer ``as_of``, ``n_events``, and per task its probability (a
    multiclass task: ``task`` the predicted class and ``task_probability``), ``task_percentile``
    (0–100 among the customers scored), ``task_causes``; ``model_versions`` (JSON)."""
    t = pd.Timestamp(to_ns(as_of), tz="UTC")
    rid = run_id or f"score-{uuid.uuid4().hex}"
    active = store.active_customers(t, days)
    rows, logged = score_customers(
        store, predictor, active, t, run_id=rid, project=project, created_at=created_at,
        top_k=top_k, log=log,
    )  # fmt: skip
    return finish_run(
        store, predictor, rows, run_id=rid, as_of=t, logged=logged, project=project,
        created_at=created_at, save=save,
    )  # fmt: skip


def finish_run(
    store: EventStore,
    predictor: Predictor,
    rows: list[dict[str, Any]],
    *,
    run_id: str,
    as_of: pd.Timestamp,
    logged: int,
    project: str,
    created_at: Any,
    save: bool = True,
) -> ScoringRun:
    """The run's table (with percentiles) and, with ``save``, its rows in the store's scores
    table: one per customer and task with the probability (a multiclass task: of its
    predicted class), the percentile, the top causes (as the API gives them) and the model
    version."""
    table = scores_table(rows, predictor)
    saved = 0
    if save and rows:
        created = to_ns(created_at)
        versions = predictor.versions()
        kinds = {t: predictor.bundles[t].kind for t in predictor.tasks}
        records = []
        for row, rec in zip(rows, table.to_dict("records"), strict=True):
            for task, kind in kinds.items():
                binary = kind == "binary"
                records.append(
                    {
                        "run_id": run_id,
                        "project": project,
                        "customer_id": str(rec["customer_id"]),
                        "task": task,
                        "as_of_ns": as_of.value,
                        "probability": float(rec[task] if binary else rec[f"{task}_probability"]),
                        "predicted": None if binary else str(rec[task]),
                        "percentile": float(rec[f"{task}_percentile"]),
                        "top_causes": json.dumps(
                            row[CAUSES][task], sort_keys=True, default=str, allow_nan=False
                        ),
                        "model_version": str(versions.get(task, "")),
                        "created_at_ns": created,
                    }
                )
        saved = store.save_scores(records)
    return ScoringRun(run_id, as_of, table, logged, saved)


def score_customers(
    store: EventStore,
    predictor: Predictor,
    customers: list[str],
    t: pd.Timestamp,
    *,
    run_id: str,
    project: str,
    created_at: Any,
    top_k: int = 3,
    log: bool = True,
    first_item: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """The scores table's rows of ``customers`` as of ``t`` and how many predictions were
    logged (items numbered from ``first_item``: the Dask engine scores partitions of one run
    at once, each with its own range). :func:`scores_table` adds the percentiles."""

    versions = predictor.versions()
    attrs = list(predictor.spec.params.attributes)
    rows: list[dict[str, Any]] = []
    entries: list[PredictionRecord] = []
    logged = 0
    # every stored attribute is read (the log's digest covers them all, as the API's does);
    # the models' own are added where a chunk has none
    for chunk in store.journeys(customer_ids=customers, before=t):
        for a in attrs:
            if a not in chunk.columns:
                chunk[a] = pd.Series([None] * len(chunk), dtype=object)
        for res, used in _rows(predictor, chunk, t.value, top_k):
            res["model_versions"] = versions
            res["feature_fingerprint"] = predictor.fingerprint
            res["request_id"] = run_id
            row: dict[str, Any] = {
                "customer_id": res["customer_id"],
                "as_of": t,
                "n_events": res.get("n_events_used", len(used)),
            }
            for task in predictor.tasks:
                block = res[task]
                if "distribution" in block:
                    row[task] = block["predicted"]
                    row[f"{task}_probability"] = float(block["probability"])
                else:
                    row[task] = float(block["probability"])
                row[f"{task}_causes"] = _cause_text(block.get("root_causes", []))
                row.setdefault(CAUSES, {})[task] = block.get("root_causes", [])
            row["model_versions"] = json.dumps(versions, sort_keys=True)
            if log:
                entries.append(
                    PredictionRecord.from_response(
                        res,
                        project=project,
                        events_hash=journey_digest(used),
                        created_at=created_at,
                        item=first_item + len(rows),
                    )
                )
            rows.append(row)
        if entries:
            logged += store.log_predictions(entries)
            entries = []
    return rows, logged


def scores_table(rows: list[dict[str, Any]], predictor: Predictor) -> pd.DataFrame:
    """The rows of :func:`score_customers` as a table, with each task's percentile (0–100
    among the customers scored)."""
    scores = pd.DataFrame([{k: v for k, v in r.items() if k != CAUSES} for r in rows])
    for task in predictor.tasks:
        col = task if predictor.bundles[task].kind == "binary" else f"{task}_probability"
        if len(scores):
            scores[f"{task}_percentile"] = (scores[col].rank(pct=True) * 100).round(2)
    return scores
