"""Outcomes known outside the event stream (a CRM's cancellations, a shop's purchases), read
from a file through the event readers (csv[.gz], parquet, jsonl) for
:meth:`EventStore.record_outcomes`.

A row is ``customer_id, task, outcome, time`` (and optionally ``source``): the customer, the
task it answers (its name in the project, e.g. ``churn``), what happened (free text, e.g.
``cancellation``) and when (ISO 8601; without a zone read as UTC). A row records that the
outcome *happened*; one that says it did not (``0``, ``false``, ``no``) is refused, since a
missing outcome already means "what the events say". Every row is checked before anything is
stored: one bad row refuses the file, naming the first rows and what is wrong with them.

>>> rows = pd.DataFrame({"customer_id": ["c1"], "task": ["churn"], "outcome": ["cancellation"],
...                      "time": ["2024-06-02T10:00:00+02:00"]})
>>> outcomes_from_frame(rows, source="crm.csv")[0].time
Timestamp('2024-06-02 08:00:00+0000', tz='UTC')
>>> outcomes_from_frame(rows.assign(outcome="0"), source="x")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
journeyml.errors.ValidationFailedError: expected every outcome row to hold a customer_id, ...
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from journeyml.errors import ValidationFailedError
from journeyml.events import read_raw
from journeyml.store.entries import Outcome

COLUMNS = ("customer_id", "task", "outcome", "time")
#: outcome values that say the outcome did not happen (refused: record what happened)
NEGATIVE = frozenset({"0", "false", "no", "none", "negative", "n", "f"})
#: bad rows named in the error
SHOWN = 5


def read_outcomes(path: str | Path) -> list[Outcome]:
    """The outcomes of a file (module docstring); ``source`` defaults to the file's name."""
    p = Path(path)
    return outcomes_from_frame(read_raw(p), source=p.name)


def outcomes_from_frame(frame: pd.DataFrame, *, source: str) -> list[Outcome]:
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValidationFailedError(
            f"expected outcome columns {', '.join(COLUMNS)} (and optionally source), got "
            f"{', '.join(map(str, frame.columns)) or 'no columns'}; missing {', '.join(missing)}. "
            "Rename the file's columns.",
            field=missing[0],
            details={"missing": missing},
        )
    has_source = "source" in frame.columns
    out: list[Outcome] = []
    bad: list[str] = []
    n_bad = 0
    for i, row in enumerate(frame.to_dict("records")):
        problem = row_problem(row)
        if problem is not None:
            n_bad += 1
            if len(bad) < SHOWN:
                bad.append(f"row {i + 1}: {problem[1]}")
            continue
        out.append(to_outcome(row if has_source else {**row, "source": None}, source))
    if n_bad:
        raise ValidationFailedError(
            "expected every outcome row to hold a customer_id, a task, an outcome that "
            f"happened and an ISO 8601 time, got {n_bad:,} of {len(frame):,} rows that do not "
            f"({'; '.join(bad)}). Fix those rows and run again; nothing was recorded.",
            field="outcome rows",
            details={"bad_rows": n_bad, "rows": len(frame), "first": bad},
        )
    return out


def _text(v: Any) -> bool:
    return isinstance(v, str) and v.strip() != ""


def row_problem(row: dict[str, Any]) -> tuple[str, str] | None:
    """(the column, what is wrong with it) for a row that is not an outcome, else None."""
    for col in ("customer_id", "task", "outcome"):
        if not _text(row.get(col)):
            return col, f"{col} is {_shown(row.get(col))}, expected text"
    if str(row["outcome"]).strip().lower() in NEGATIVE:
        return "outcome", (
            f"outcome {row['outcome']!r} says it did not happen; record only outcomes that "
            "happened (leave the others out)"
        )
    t = row.get("time")
    if not _text(t):
        return "time", f"time is {_shown(t)}, expected an ISO 8601 text (numbers are ambiguous)"
    if _iso(str(t)) is None:
        return "time", f"time {t!r} is not an ISO 8601 timestamp"
    src = row.get("source")
    if src is not None and not isinstance(src, str) and src == src:  # NaN: no source
        return "source", f"source is {_shown(src)}, expected text"
    return None


def to_outcome(row: dict[str, Any], source: str) -> Outcome:
    """The outcome of a row :func:`row_problem` passed (``source`` unless it names one)."""
    src = row.get("source")
    return Outcome(
        str(row["customer_id"]).strip(),
        str(row["task"]).strip(),
        str(row["outcome"]).strip(),
        _iso(str(row["time"])) or pd.Timestamp(0, tz="UTC"),  # checked by row_problem
        str(src).strip() if _text(src) else source,
    )


def _iso(text: str) -> pd.Timestamp | None:
    """The UTC time of ISO 8601 text (no zone: UTC), or None ("now", "NaT" and other words
    pandas would read are not ISO 8601)."""
    text = text.strip()
    if not text[:1].isdigit():
        return None
    try:
        t = pd.to_datetime(text, format="ISO8601", utc=True)
    except (ValueError, OverflowError):
        return None
    return None if pd.isna(t) else pd.Timestamp(t)


def _shown(v: Any) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "empty"
    return f"{v!r} ({type(v).__name__})" if not isinstance(v, str) else repr(v)
