"""Validation rules for mapped events, the strict/lenient policies and the summary report.

Input is a *mapped* frame: canonical column names, raw values, index = input row numbers
(0-based data rows of the file). Every row gets at most one reject reason (the first rule it
breaks, in :data:`RULES` order), so ``accepted + rejected == input`` always holds.

>>> raw = pd.DataFrame({"customer_id": ["a", "", "a", "a"],
...     "timestamp": ["2024-01-01", "2024-01-02", "yesterday", "2024-01-01"],
...     "touchpoint": ["visit", "visit", "visit", "visit"]})
>>> checked = check_rows(raw, Rules())
>>> checked.reasons.fillna("ok").tolist()
['ok', 'missing_customer_id', 'unparseable_timestamp', 'duplicate_event']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import numpy as np
import pandas as pd

from journeyml.errors import ConfigError, MissingColumnError, ReaderError, ValidationFailedError
from journeyml.events.report import NO_STAGE, ValidationReport
from journeyml.events.schema import (
    CHANNEL,
    CUSTOMER_ID,
    DEFAULT_CHANNEL,
    REQUIRED_COLUMNS,
    STAGE,
    TIMESTAMP,
    TOUCHPOINT,
    VALUE,
)
from journeyml.events.strings import blank_mask, order_codes, sort_ranks
from journeyml.events.timestamps import parse_timestamps

Policy = Literal["strict", "lenient"]
POLICIES: Final = ("strict", "lenient")

#: Rule name → the canonical column it checks, in the order rules are applied.
RULES: Final[dict[str, str]] = {
    "missing_customer_id": CUSTOMER_ID,
    "missing_touchpoint": TOUCHPOINT,
    "missing_timestamp": TIMESTAMP,
    "unparseable_timestamp": TIMESTAMP,
    "invalid_value": VALUE,
    "unknown_touchpoint": TOUCHPOINT,
    "timestamp_before_floor": TIMESTAMP,
    "timestamp_in_future": TIMESTAMP,
    "duplicate_event": f"{CUSTOMER_ID}, {TIMESTAMP}, {TOUCHPOINT}, {CHANNEL}, {VALUE}",
}
DUPLICATE_KEY: Final = (CUSTOMER_ID, TIMESTAMP, TOUCHPOINT, CHANNEL, VALUE)
REJECT_REASON: Final = "reject_reason"
INPUT_ROW: Final = "input_row"
ROW_NOTE: Final = "row numbers are 0-based data rows of the input file, header excluded"
DUPLICATES_NOTE: Final = (
    "duplicate_event: the row repeats an earlier event (same customer, timestamp, touchpoint, "
    "channel and value). A log may legitimately repeat events (two identical orders on one "
    "day, two clicks within the same recorded second): to "
    "keep them as separate events, set `duplicates: keep` in the mapping (a canonical file "
    "gets one from `journeyml init FILE --mapping-out FILE.mapping.yaml`); to drop them, load "
    "with policy 'lenient'."
)


@dataclass(frozen=True)
class Rules:
    """What the rules need beyond the rows: formats, limits and the time it is now."""

    timestamp_format: str | None = None
    #: the zone of naive timestamps; None: not declared (UTC, and a mix of naive values and
    #: values with a UTC offset is refused)
    timezone: str | None = None
    floor: pd.Timestamp | None = None
    now: pd.Timestamp | None = None
    vocabulary: frozenset[str] | None = None
    reject_duplicates: bool = True


@dataclass(frozen=True)
class Checked:
    """Rows with parsed ``timestamp``/``value``, a reason per rejected row, and a row order.

    ``order`` lists the accepted rows' labels in a total order over their content, so that the
    canonical output does not depend on the order of the input rows.
    """

    frame: pd.DataFrame
    reasons: pd.Series
    order: pd.Index

    @property
    def rejected(self) -> pd.Series:
        return self.reasons.notna()


def _as_utc(ts: pd.Timestamp | None) -> pd.Timestamp | None:
    if ts is None:
        return None
    ts = pd.Timestamp(ts)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _sort_key(values: pd.Series, column: str) -> np.ndarray:
    """Integers that order ``values`` as the total order does: time and value by their own
    order (missing last), anything else as text (missing first)."""
    return sort_ranks(values) if column in (TIMESTAMP, VALUE) else order_codes(values)


def total_order(frame: pd.DataFrame) -> pd.Index:
    """Row labels of ``frame`` sorted by customer, time, touchpoint, then every other column."""
    if frame.empty:
        return frame.index
    first = [c for c in (CUSTOMER_ID, TIMESTAMP, TOUCHPOINT, CHANNEL, VALUE) if c in frame]
    rest = sorted(c for c in frame.columns if c not in first)
    keys = [_sort_key(frame[c], c) for c in reversed(first + rest)]  # least significant first
    return frame.index[np.lexsort(keys)]


def repeated_rows(key: pd.DataFrame) -> np.ndarray:
    """Rows whose values in every column of ``key`` equal an earlier row's (as
    ``key.duplicated(keep="first")``; a missing channel is the default channel), computed on
    one integer per row rather than a table of every column."""
    group = np.zeros(len(key), dtype=np.int64)
    for col in key.columns:
        codes, uniques = pd.factorize(key[col], use_na_sentinel=False)
        if col == CHANNEL:  # compared as text, missing = the default channel
            text = pd.Series(uniques).astype("str").fillna(DEFAULT_CHANNEL)
            merged, uniques = pd.factorize(text)
            codes = merged[codes]
        group, _ = pd.factorize(group * (len(uniques) + 1) + codes)
    order = np.argsort(group, kind="stable")
    ordered = group[order]
    later = np.empty(len(group), dtype=bool)
    later[order] = np.concatenate(([False], ordered[1:] == ordered[:-1]))
    return later


def check_rows(mapped: pd.DataFrame, rules: Rules) -> Checked:
    """Apply every rule to ``mapped``; never raises on bad rows (see :func:`enforce`)."""
    for col in REQUIRED_COLUMNS:
        if col not in mapped.columns:
            raise MissingColumnError(col, available=mapped.columns)
    frame = mapped.copy()
    reasons = pd.Series(None, index=frame.index, dtype=object)

    def flag(rule: str, mask: pd.Series) -> None:
        reasons[mask & reasons.isna()] = rule

    flag("missing_customer_id", blank_mask(frame[CUSTOMER_ID]))
    flag("missing_touchpoint", blank_mask(frame[TOUCHPOINT]))
    raw_ts = frame[TIMESTAMP]
    parsed = parse_timestamps(raw_ts, fmt=rules.timestamp_format, timezone=rules.timezone or "UTC")
    if rules.timezone is None:
        parsed.refuse_mixed_zones(raw_ts)
    flag("missing_timestamp", parsed.missing)
    flag("unparseable_timestamp", parsed.unparseable)
    frame[TIMESTAMP] = parsed.values
    if VALUE in frame.columns:
        raw_value = frame[VALUE]
        if pd.api.types.is_numeric_dtype(raw_value.dtype):
            number = raw_value.astype("float64")
        else:
            blank = blank_mask(raw_value)
            text = raw_value.astype("str").where(~blank).str.strip()
            number = pd.to_numeric(text, errors="coerce").astype("float64")
            flag("invalid_value", number.isna() & ~blank)
        frame[VALUE] = number
    if rules.vocabulary is not None:
        known = frame[TOUCHPOINT].astype("str").isin(sorted(rules.vocabulary))
        flag("unknown_touchpoint", ~known)
    ts = frame[TIMESTAMP]
    floor, now = _as_utc(rules.floor), _as_utc(rules.now)
    if floor is not None:
        flag("timestamp_before_floor", ts.notna() & (ts < floor))
    if now is not None:
        flag("timestamp_in_future", ts.notna() & (ts > now))
    order = total_order(frame[reasons.isna()])
    if rules.reject_duplicates and len(order):
        dup = repeated_rows(frame.loc[order, [c for c in DUPLICATE_KEY if c in frame]])
        flag("duplicate_event", pd.Series(dup, index=order).reindex(frame.index, fill_value=False))
        order = order[~dup]
    return Checked(frame=frame, reasons=reasons, order=order)


def rejects_by_reason(reasons: pd.Series) -> dict[str, int]:
    """Count of rejected rows per rule, in rule order."""
    counts = reasons.dropna().value_counts()
    return {rule: int(counts[rule]) for rule in RULES if rule in counts.index}


def first_rows(reasons: pd.Series, limit: int = 5) -> dict[str, list[int]]:
    """The first ``limit`` input row numbers per rule."""
    out: dict[str, list[int]] = {}
    for rule in rejects_by_reason(reasons):
        rows = np.sort(reasons.index[reasons.to_numpy() == rule].to_numpy())
        out[rule] = [int(r) for r in rows[:limit]]
    return out


def strict_message(
    reasons: pd.Series, *, source: str, columns: Mapping[str, str] | None = None
) -> str:
    """The message of a strict failure: per rule, the column, the count and the first rows."""
    counts = rejects_by_reason(reasons)
    rows = first_rows(reasons)
    total = sum(counts.values())
    lines = [
        f"strict validation of {source} failed: expected every row to pass the rules, got "
        f"{total} of {len(reasons)} rows that do not ({ROW_NOTE}):"
    ]
    for rule, n in counts.items():
        col = RULES[rule]
        where = f" (source {columns[col]!r})" if columns and col in columns else ""
        plural = "row" if n == 1 else "rows"
        lines.append(
            f"  - column {col!r}{where}: rule {rule}: {n} {plural}, first rows {rows[rule]}"
        )
    if "duplicate_event" in counts:
        lines.append(DUPLICATES_NOTE)
    lines.append(
        "Fix those rows or the mapping, or load with policy 'lenient' to reject them into a "
        "rejects file."
    )
    return "\n".join(lines)


def enforce(
    reasons: pd.Series,
    policy: str,
    *,
    source: str,
    columns: Mapping[str, str] | None = None,
) -> None:
    """Raise :class:`ValidationFailedError` under ``strict`` when any row was rejected."""
    if policy not in POLICIES:
        raise ConfigError(f"expected policy 'strict' or 'lenient', got {policy!r}.", field="policy")
    if policy == "strict" and reasons.notna().any():
        raise ValidationFailedError(
            strict_message(reasons, source=source, columns=columns),
            field=RULES[next(iter(rejects_by_reason(reasons)))],
            details={"rejects_by_reason": rejects_by_reason(reasons), "rows": first_rows(reasons)},
        )


def write_rejects(raw: pd.DataFrame, reasons: pd.Series, path: str | Path) -> int:
    """Write rejected raw rows with ``input_row`` and ``reject_reason`` to a csv; return count."""
    mask = reasons.notna()
    out = raw.loc[mask.to_numpy()].copy()
    out.insert(0, REJECT_REASON, reasons[mask].to_numpy())
    out.insert(0, INPUT_ROW, out.index.to_numpy())
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        out.sort_values(INPUT_ROW).to_csv(target, index=False)
    except OSError as exc:
        raise ReaderError(
            f"expected to write the rejects file {str(target)!r}, got {exc}. "
            "Choose a writable path.",
            field="rejects",
        ) from exc
    return int(mask.sum())


def summarize(
    events: pd.DataFrame,
    reasons: pd.Series,
    *,
    source: str,
    policy: str,
    stage_mapped: bool = False,
    customer_attributes: Sequence[str] = (),
    rejects_path: str | None = None,
) -> ValidationReport:
    """Build the report of a load from the canonical ``events`` and the per-row ``reasons``."""
    n_input = len(reasons)
    n_rejected = int(reasons.notna().sum())
    ts = events[TIMESTAMP]
    stage = events[STAGE].astype(object).where(events[STAGE].notna(), NO_STAGE)
    unmapped: dict[str, int] = {}
    if stage_mapped:
        counts = events.loc[events[STAGE].isna(), TOUCHPOINT].value_counts()
        unmapped = {str(k): int(v) for k, v in counts.items()}
    inconsistent: dict[str, int] = {}
    if len(events):
        grouped = events.groupby(CUSTOMER_ID, sort=False)
        for col in customer_attributes:
            varying = int((grouped[col].nunique(dropna=False) > 1).sum())
            if varying:
                inconsistent[col] = varying
    return ValidationReport(
        source=source,
        policy=policy,
        n_input=n_input,
        n_accepted=n_input - n_rejected,
        n_rejected=n_rejected,
        rejects_by_reason=rejects_by_reason(reasons),
        n_customers=int(events[CUSTOMER_ID].nunique()),
        n_events=len(events),
        n_touchpoints=int(events[TOUCHPOINT].nunique()),
        time_min=ts.min() if len(ts) else None,
        time_max=ts.max() if len(ts) else None,
        events_by_stage={str(k): int(v) for k, v in stage.value_counts().items()},
        events_by_channel={str(k): int(v) for k, v in events[CHANNEL].value_counts().items()},
        unmapped_touchpoints=unmapped,
        inconsistent_customer_attributes=inconsistent,
        first_rejected_rows=first_rows(reasons),
        rejects_path=rejects_path,
    )
