"""Inspect a raw event log and propose how to map it: what ``journeyml init`` guesses, and why.

From the file alone (no mapping): how to read it (format, separator, header), which column is
the customer or case id, the timestamp, the touchpoint, the channel and the value (by names,
types, cardinalities and parse success), the timezone question, which touchpoints look like
conversions, cancellations or messages the company sends, and whether the log holds customer
journeys or the short cases of a process. Every guess carries its evidence, and the proposal
is an :class:`~journeyml.events.EventMapping` that has already loaded the file.

>>> import pandas as pd
>>> raw = pd.DataFrame({
...     "user": ["u1", "u1", "u2", "u2", "u2"],
...     "event_time": ["2024-01-01 10:00", "2024-01-03 11:00", "2024-01-02 09:00",
...                    "2024-01-05 12:00", "2024-01-09 08:00"],
...     "action": ["ad_impression", "purchase", "site_visit", "purchase", "cancel_plan"],
...     "amount": ["", "19.90", "", "5.00", ""]})
>>> found = inspect_frame(raw, source="demo.csv")
>>> {g.role: g.column for g in found.guesses if g.role in ROLES}
{'customer_id': 'user', 'timestamp': 'event_time', 'touchpoint': 'action', 'value': 'amount'}
>>> found.outcomes("conversion"), found.outcomes("cancellation"), found.outcomes("company_sent")
(['purchase'], ['cancel_plan'], ['ad_impression'])
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from journeyml.errors import DataError, ReaderError
from journeyml.events.ending import ending_touchpoints
from journeyml.events.lexicon import TouchpointRole, name_hint, stage_of, touchpoint_role, words
from journeyml.events.mapping import EventMapping, map_events, parse_mapping
from journeyml.events.profile import ColumnProfile, profile_column, varies_within
from journeyml.events.readers import Format, ReaderOptions, detect_format, read_raw
from journeyml.events.schema import CUSTOMER_ID, STAGE, TIMESTAMP, TOUCHPOINT
from journeyml.events.sent import sent_by_timing, timing_evidence
from journeyml.events.sniff import sniff_file
from journeyml.events.timestamps import EPOCH_FORMATS
from journeyml.events.validate import DUPLICATE_KEY
from journeyml.progress import NO_PROGRESS, Progress

#: the canonical roles a source column can take, in the order they are guessed
ROLES = ("customer_id", "timestamp", "touchpoint", "channel", "stage", "value")
LogKind = Literal["journeys", "cases"]

#: words in an id column's name that say its rows are cases of a process
CASE_WORDS = frozenset(
    {"case", "ticket", "incident", "application", "claim", "request", "trace", "process"}
)
#: words in a column name that say it was derived from the whole case (leaks the future)
LEAKY_WORDS = frozenset({"variant", "outcome", "label", "target", "churned", "converted"})
#: the most distinct values a touchpoint or channel column may have
MAX_TOUCHPOINTS = 1_000
MAX_CHANNELS = 100


@dataclass(frozen=True)
class Guess:
    """One row of the evidence table: a source column (or a constant), its role, and why."""

    column: str
    role: str
    evidence: str


@dataclass(frozen=True)
class TouchpointGuess:
    """A touchpoint whose name (or, for company-sent ones, timing) suggests a role, the
    evidence, and its event count."""

    touchpoint: str
    role: TouchpointRole
    word: str
    events: int
    #: what made the guess: its name ("name", ``word`` is the word), when its events arrive
    #: ("timing") or what follows them ("ending"; for both, ``word`` is the one-line evidence)
    signal: str = "name"


@dataclass(frozen=True)
class Returning:
    """Whether customers come back for activity of their own after converting: ``of`` the
    customers who converted (or, where no touchpoint looks like a conversion, who did
    anything of their own), ``back`` have an own event on a later day. ``own`` are the
    touchpoints customers start (the ``initiated`` activity of a lapses task);
    ``after_conversion`` says which anchor was used."""

    of: int
    back: int
    own: tuple[str, ...]
    after_conversion: bool

    @property
    def share(self) -> float:
        return self.back / self.of if self.of else 0.0


def returning_customers(events: pd.DataFrame, conversions: set[str], sent: set[str]) -> Returning:
    """How many customers come back after converting (see :class:`Returning`): own events are
    those whose touchpoint is not in ``sent``; a customer is back when one falls on a later
    UTC day than their first conversion (their first own event when ``conversions`` is empty).

    >>> ev = pd.DataFrame({"customer_id": ["a", "a", "a", "b", "b", "c"],
    ...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-05",
    ...                                  "2024-01-01", "2024-01-03", "2024-01-02"], utc=True),
    ...     "touchpoint": ["ad", "buy", "buy", "buy", "ad", "buy"]})
    >>> r = returning_customers(ev, {"buy"}, {"ad"})
    >>> r.of, r.back, r.own, r.after_conversion
    (3, 1, ('buy',), True)
    """
    own = events[~events[TOUCHPOINT].isin(sent)]
    if own.empty:  # every touchpoint is the company's
        return Returning(0, 0, (), False)
    names = tuple(str(t) for t in own[TOUCHPOINT].value_counts().index)
    after = bool(conversions.intersection(names))
    anchors = own[own[TOUCHPOINT].isin(conversions)] if after else own
    first = anchors.groupby(CUSTOMER_ID, sort=False)[TIMESTAMP].min().dt.floor("D")
    day = own[TIMESTAMP].dt.floor("D")
    later = day.to_numpy() > own[CUSTOMER_ID].map(first).to_numpy()
    back = int(own.loc[later, CUSTOMER_ID].nunique())
    return Returning(int(first.size), back, names, after)


def cancelling_after_conversion(
    events: pd.DataFrame, cancellations: set[str], conversions: set[str]
) -> tuple[int, int]:
    """``(cancelling, after)``: how many customers have a cancellation event, and how many of
    them had converted before their first one (a cancellation that needs a contract).

    >>> ev = pd.DataFrame({"customer_id": ["a", "a", "b", "b", "c"],
    ...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-01",
    ...                                  "2024-01-03", "2024-01-02"], utc=True),
    ...     "touchpoint": ["buy", "cancel", "cancel", "buy", "buy"]})
    >>> cancelling_after_conversion(ev, {"cancel"}, {"buy"})
    (2, 1)
    """
    if not cancellations:
        return 0, 0
    cancel = events[events[TOUCHPOINT].isin(cancellations)].groupby(CUSTOMER_ID)[TIMESTAMP].min()
    conv = events[events[TOUCHPOINT].isin(conversions)].groupby(CUSTOMER_ID)[TIMESTAMP].min()
    before = conv.reindex(cancel.index)
    return int(cancel.size), int((before.notna() & (before <= cancel)).sum())


@dataclass(frozen=True)
class LogShape:
    """The mapped log at a glance: size, span, journeys or cases, and why."""

    kind: LogKind
    kind_evidence: str
    n_events: int
    n_customers: int
    n_touchpoints: int
    start: pd.Timestamp
    end: pd.Timestamp
    median_events: float
    median_days: float
    p75_days: float
    duplicates: int
    first_is_conversion: float
    #: who can lapse: the customers with activity of their own (every touchpoint but those
    #: that look company-sent) from their first conversion on (their first own event where no
    #: touchpoint looks like a conversion), and what they start
    returning: Returning = field(default_factory=lambda: Returning(0, 0, (), False))
    #: customers with a cancellation event, and how many of them had converted before it
    cancelling: int = 0
    cancelling_after_conversion: int = 0

    @property
    def span_days(self) -> float:
        return max((self.end - self.start) / pd.Timedelta(days=1), 1e-9)


@dataclass(frozen=True)
class Inspection:
    """Everything ``journeyml init`` found: the proposed mapping, and why."""

    source: str
    format: Format
    reader_note: str
    n_rows: int
    guesses: list[Guess]
    mapping: EventMapping
    timezone_note: str
    touchpoints: list[TouchpointGuess]
    stages: dict[str, tuple[str, str]]
    shape: LogShape
    canonical: bool
    touchpoint_counts: dict[str, int] = field(default_factory=dict)
    rejects: dict[str, int] = field(default_factory=dict)
    #: the timestamps mix values with a UTC offset and values without: the zone of the
    #: latter is the user's to declare (the proposal leaves ``timezone`` as a question)
    mixed_zones: bool = False

    @property
    def stage_coverage(self) -> float:
        """Share of events that will have a stage (their own column, activities, or the
        guessed stage map)."""
        mode = self.mapping.resolved_stage_mode
        if mode in ("column", "activity"):
            return 1.0
        total = sum(self.touchpoint_counts.values())
        mapped = sum(n for tp, n in self.touchpoint_counts.items() if tp in self.stages)
        return mapped / total if total else 0.0

    def outcomes(self, role: TouchpointRole) -> list[str]:
        """The touchpoints guessed to play ``role``, most frequent first."""
        return [t.touchpoint for t in self.touchpoints if t.role == role]

    @property
    def needs_mapping(self) -> bool:
        """False when the file loads as well without a mapping (canonical columns with their
        own stages and no repeated events)."""
        has_stages = "stage" in {g.role for g in self.guesses}
        return not (self.canonical and has_stages and self.shape.duplicates == 0)


# --- reading ---------------------------------------------------------------------------------
def _reader_for(path: Path, fmt: Format) -> tuple[ReaderOptions, str]:
    if fmt != "csv":
        return ReaderOptions(), f"{fmt} file"
    sniffed = sniff_file(path)
    if sniffed is None:
        raise ReaderError(
            f"expected a delimited text file at {str(path)!r} (comma, tab, semicolon, pipe or "
            "whitespace between columns), got lines that no separator splits into the same "
            "number of columns. Check the file, or write the mapping's reader section by hand.",
            field="reader.separator",
        )
    names = None if sniffed.header else [f"column_{i + 1}" for i in range(sniffed.n_columns)]
    separator = "," if sniffed.separator == "comma" else sniffed.separator
    opts = ReaderOptions(separator=separator, header=sniffed.header, names=names)
    header = "a header line" if sniffed.header else "no header (the first line is data)"
    return opts, f"{sniffed.separator}-separated text with {header} (sniffed)"


# --- column roles ----------------------------------------------------------------------------
def plural(n: float, word: str) -> str:
    """``1 event``, ``2 events``; ``activity`` → ``activities``.

    >>> plural(1, "day"), plural(3, "day"), plural(2, "activity")
    ('1 day', '3 days', '2 activities')
    """
    if n != 1 and word.endswith("y") and word[-2:-1] not in tuple("aeiou"):
        return f"{n:,.0f} {word[:-1]}ies"
    return f"{n:,.0f} {word}{'' if n == 1 else 's'}"


def _pick_timestamp(profiles: list[ColumnProfile]) -> tuple[ColumnProfile, str]:
    timed = [p for p in profiles if p.looks_like_time]
    if not timed:
        seen = "; ".join(f"{p.name}: {p.kind}" for p in profiles)
        raise DataError(
            "expected a column of timestamps (dates or date-times between 1970 and 2100), got "
            f"none that parses ({seen}). Convert the times to ISO 8601 text "
            "(2024-01-31T10:00:00+01:00) or YYYYMMDD and run init again; Unix times (seconds or "
            "milliseconds since 1970) are read as they are, from 1980 on.",
            field="timestamp",
        )
    best = max(  # a number that could be Unix time (an order number) yields to written times
        timed,
        key=lambda p: (
            name_hint(p.name, "timestamp")[0],
            p.time_share,
            p.time_format not in EPOCH_FORMATS,
        ),
    )
    why = [f"{best.time_share:.0%} of values parse as times"]
    hint = name_hint(best.name, "timestamp")[1]
    if hint:
        why.insert(0, hint)
    if best.time_format:
        why.append(f"format {best.time_format}")
    if best.undecided_dates == "ambiguous":
        why.append(
            "no value tells day from month (e.g. 05/04/2024): read month first; if the days come "
            "first, set timestamp_format (e.g. '%d/%m/%Y %H:%M') in the mapping"
        )
    elif best.undecided_dates == "contradictory":
        why.append(
            "some dates can only be day first and others only month first: two layouts in one "
            "column; fix the file or set timestamp_format (rows it cannot read are rejected)"
        )
    return best, "; ".join(why)


def _pick_customer(profiles: list[ColumnProfile]) -> tuple[ColumnProfile, str]:
    def plausible(p: ColumnProfile) -> bool:
        return p.distinct >= 2 and p.rows_per_value >= 1.05 and not p.decimals

    candidates = [p for p in profiles if plausible(p) and p.kind not in ("datetime", "empty")]
    if not candidates:
        raise DataError(
            "expected a column naming whose journey each row belongs to (a customer, user or "
            "case id: repeated values), got none: every column is unique per row, constant, or "
            "numbers with decimals. A log needs an id; add one and run init again.",
            field="customer_id",
        )
    best = max(candidates, key=lambda p: (name_hint(p.name, "customer_id")[0], p.distinct))
    hint = name_hint(best.name, "customer_id")[1]
    counts = f"{best.distinct:,} distinct values, {best.rows_per_value:.1f} rows each"
    return best, f"{hint}; {counts}" if hint else f"{counts} (the most distinct repeated values)"


def _pick_touchpoint(
    profiles: list[ColumnProfile], variation: dict[str, float]
) -> tuple[ColumnProfile | None, str]:
    def could_be(p: ColumnProfile) -> bool:
        if not 1 <= p.distinct <= MAX_TOUCHPOINTS:
            return False
        # whole numbers are counts unless named so (ActivityID): codes and text are names
        return p.kind in ("text", "code") or (
            p.kind == "integer" and name_hint(p.name, "touchpoint")[0] >= 2
        )

    candidates = [p for p in profiles if could_be(p)]
    if not candidates:
        return None, ""

    def key(p: ColumnProfile) -> tuple[int, bool, int]:
        return name_hint(p.name, "touchpoint")[0], variation.get(p.name, 0.0) >= 0.2, p.distinct

    best = max(candidates, key=key)
    if name_hint(best.name, "touchpoint")[0] == 0 and variation.get(best.name, 0.0) < 0.2:
        return None, ""
    hint = name_hint(best.name, "touchpoint")[1]
    share = variation.get(best.name, 0.0)
    facts = f"{plural(best.distinct, 'distinct value')}, varies within {share:.0%} of journeys"
    return best, f"{hint}; {facts}" if hint else facts


def _pick_named(
    profiles: list[ColumnProfile], role: str, ok: Any
) -> tuple[ColumnProfile | None, str]:
    named = [p for p in profiles if name_hint(p.name, role)[0] >= 2 and ok(p)]
    if not named:
        return None, ""
    best = max(named, key=lambda p: name_hint(p.name, role)[0])
    return best, name_hint(best.name, role)[1]


def _attribute_name(column: str, taken: set[str]) -> str:
    parts = words(column)
    short = parts[1:] if len(parts) > 1 and parts[0] in ("case", "org") else parts
    for candidate in ("_".join(short), "_".join(parts), f"attr_{'_'.join(parts)}"):
        if candidate and candidate not in taken:
            return candidate
    return f"attr_{len(taken)}"


@dataclass
class _Plan:
    columns: dict[str, Any] = field(default_factory=dict)
    guesses: list[Guess] = field(default_factory=list)
    customer_attributes: dict[str, str] = field(default_factory=dict)
    event_attributes: dict[str, str] = field(default_factory=dict)
    timestamp_format: str | None = None


def _assign(raw: pd.DataFrame, profiles: list[ColumnProfile], fmt: Format) -> _Plan:
    plan = _Plan()
    left = list(profiles)

    def take(p: ColumnProfile, role: str, why: str) -> None:
        plan.columns[role] = p.name
        plan.guesses.append(Guess(p.name, role, why))
        left.remove(p)

    ts, why = _pick_timestamp(left)
    take(ts, "timestamp", why)
    plan.timestamp_format = ts.time_format
    cust, why = _pick_customer(left)
    take(cust, "customer_id", why)
    ids = raw[cust.name].astype(str)
    variation = {p.name: varies_within(raw[p.name], ids) for p in left if p.distinct <= 50_000}
    tp, why = _pick_touchpoint(left, variation)
    if tp is not None:
        take(tp, "touchpoint", why)
        transition = next((p for p in left if _is_lifecycle(p, variation)), None)
        if transition is not None:
            plan.columns["touchpoint"] = {"join": [tp.name, transition.name], "sep": "|"}
            left.remove(transition)
            plan.guesses.append(
                Guess(
                    transition.name,
                    "touchpoint",
                    f"joined to {tp.name} with '|': {transition.distinct} distinct transitions "
                    "(a lifecycle: start, complete, ...) tell events of one activity apart",
                )
            )
    ch, why = _pick_named(left, "channel", lambda p: 1 <= p.distinct <= MAX_CHANNELS)
    if ch is not None:
        take(ch, "channel", f"{why}; {plural(ch.distinct, 'distinct value')}")
    st, why = _pick_named(left, "stage", lambda p: p.kind == "text" and p.distinct <= 50)
    if st is not None:
        take(st, "stage", f"{why}; {plural(st.distinct, 'distinct value')}")
    val, why = _pick_named(left, "value", lambda p: p.kind in ("number", "integer"))
    if val is None:
        amounts = [p for p in left if p.kind == "number" and p.decimals and p.distinct >= 10]
        if amounts:
            val = max(amounts, key=lambda p: p.distinct)
            why = f"numbers with decimals (e.g. {', '.join(val.examples[:2])}): an amount"
    if val is not None and _per_journey(val, variation):
        val = None  # an amount of the case or customer (requested, limit): an attribute
    if val is not None:
        take(val, "value", f"{why}; {plural(val.n_values, 'number')}")
    if tp is None:
        constant = "purchase" if val is not None else "event"
        plan.columns["touchpoint"] = {"constant": constant}
        reason = (
            "a value column and no event type: each row is taken as a purchase"
            if val is not None
            else "no column names what happened: every row is one event"
        )
        plan.guesses.append(Guess(f"(constant {constant!r})", "touchpoint", reason))
    _attributes(raw, left, plan, ids)
    return plan


def _is_lifecycle(p: ColumnProfile, variation: dict[str, float]) -> bool:
    """A lifecycle column (XES ``lifecycle:transition``, a CSV's ``Lifecycle`` or
    ``transition``): a few text values (start, complete, ...; BPIC 2013 has 13) that vary
    within journeys.

    >>> col = ColumnProfile("Lifecycle", 6, 0, 2, "text", False, 0.0, None, (), False, ())
    >>> _is_lifecycle(col, {"Lifecycle": 0.9}), _is_lifecycle(col, {"Lifecycle": 0.0})
    (True, False)
    """
    named = "lifecycle" in words(p.name) or words(p.name) == ["transition"]
    return named and p.kind == "text" and 2 <= p.distinct <= 50 and variation.get(p.name, 0) > 0


def _per_journey(p: ColumnProfile, variation: dict[str, float]) -> bool:
    """A numeric column on (nearly) every row and constant within every journey: an amount of
    the case or customer (a requested amount, a credit limit), not the value of each event,
    which would count it once per event.

    >>> col = ColumnProfile("amount", 100, 0, 5, "integer", False, 0.0, None, (), False, ())
    >>> _per_journey(col, {"amount": 0.0}), _per_journey(col, {"amount": 0.2})
    (True, False)
    """
    present = p.n_values / max(p.n_values + p.n_missing, 1)
    return present >= 0.95 and variation.get(p.name, 1.0) == 0.0


def _attributes(raw: pd.DataFrame, left: list[ColumnProfile], plan: _Plan, ids: pd.Series) -> None:
    mapped = {str(c) for c in plan.columns.values() if isinstance(c, str)}
    taken = set(ROLES) | {CUSTOMER_ID, TIMESTAMP, TOUCHPOINT}
    tp_col = plan.columns.get("touchpoint")
    for p in left:
        col = raw[p.name]
        same = next((m for m in mapped if col.astype(str).equals(raw[m].astype(str))), None)
        if same is None:
            kept = [*plan.customer_attributes.values(), *plan.event_attributes.values()]
            same = next((m for m in kept if col.astype(str).equals(raw[m].astype(str))), None)
        leaky = LEAKY_WORDS.intersection(words(p.name))
        if p.distinct <= 1:
            plan.guesses.append(Guess(p.name, "ignored", "the same value on every row"))
        elif same is not None:
            plan.guesses.append(Guess(p.name, "ignored", f"same values as {same}"))
        elif leaky:
            plan.guesses.append(
                Guess(
                    p.name,
                    "ignored",
                    f"name says {sorted(leaky)[0]}: derived from the whole journey, it would "
                    "leak the future into features",
                )
            )
        elif (
            isinstance(tp_col, str)
            and p.distinct <= 10
            and (pd.DataFrame({"t": raw[tp_col], "v": col}).groupby("t")["v"].nunique() <= 1).all()
        ):
            plan.guesses.append(Guess(p.name, "ignored", f"follows from the touchpoint ({tp_col})"))
        else:
            name = _attribute_name(p.name, taken)
            taken.add(name)
            share = varies_within(col, ids) if p.distinct <= 50_000 else 1.0
            if share <= 0.01:
                plan.customer_attributes[name] = p.name
                why = "constant within each journey"
                role = "customer attribute"
            else:
                plan.event_attributes[name] = p.name
                why = f"varies within {share:.0%} of journeys"
                role = "event attribute"
            label = f" (as {name})" if name != p.name else ""
            plan.guesses.append(Guess(p.name, role, f"{why}{label}"))


# --- the log's shape ---------------------------------------------------------------------------
def _shape(
    events: pd.DataFrame,
    fmt: Format,
    id_column: str,
    sent: set[str],
    cancel: set[str] | None = None,
) -> LogShape:
    grouped = events.groupby(CUSTOMER_ID, sort=False)[TIMESTAMP]
    days = (grouped.max() - grouped.min()) / pd.Timedelta(days=1)
    sizes = grouped.size()
    start, end = events[TIMESTAMP].min(), events[TIMESTAMP].max()
    span = max((end - start) / pd.Timedelta(days=1), 1e-9)
    n_tp = int(events[TOUCHPOINT].nunique())
    conv = {
        t
        for t in events[TOUCHPOINT].unique()
        if (touchpoint_role(str(t)) or ("",))[0] == "conversion"
    }
    if cancel is None:
        cancel = {
            t
            for t in events[TOUCHPOINT].unique()
            if (touchpoint_role(str(t)) or ("",))[0] == "cancellation"
        }
    cancelling, after = cancelling_after_conversion(events, cancel, conv)
    first = events.drop_duplicates(CUSTOMER_ID)[TOUCHPOINT]
    median_days = float(days.median())
    short = float((days <= 0.1 * span).mean())
    kind: LogKind = "journeys"
    if fmt == "xes":
        kind, why = "cases", "an XES log: the traces of a process"
    elif CASE_WORDS.intersection(words(id_column)):
        word = sorted(CASE_WORDS.intersection(words(id_column)))[0]
        kind, why = "cases", f"the id column {id_column!r} names {word}s of a process"
    elif n_tp >= 3 and median_days <= 0.05 * span and short >= 0.8:
        kind = "cases"
        why = (
            f"many short cases: a median of {median_days:.1f} days within a {span:.0f}-day log, "
            f"{plural(n_tp, 'activity')}"
        )
    else:
        why = (
            f"customers stay a median of {median_days:.0f} days of a {span:.0f}-day log "
            f"({plural(n_tp, 'touchpoint')}, {plural(float(sizes.median()), 'event')} per "
            "customer)"
        )
    key = [c for c in DUPLICATE_KEY if c in events.columns]
    return LogShape(
        kind=kind,
        kind_evidence=why,
        n_events=len(events),
        n_customers=int(sizes.size),
        n_touchpoints=n_tp,
        start=start,
        end=end,
        median_events=float(sizes.median()),
        median_days=median_days,
        p75_days=float(days.quantile(0.75)),
        duplicates=int(events[key].astype(str).duplicated().sum()),
        first_is_conversion=float(first.isin(conv).mean()) if conv else 0.0,
        returning=returning_customers(events, conv, sent),
        cancelling=cancelling,
        cancelling_after_conversion=after,
    )


EPOCH_UNIT_WORDS = {
    "epoch_s": "seconds",
    "epoch_ms": "milliseconds",
    "epoch_us": "microseconds",
    "epoch_ns": "nanoseconds",
}


def _timezone_note(profile: ColumnProfile) -> str:
    if profile.kind == "datetime":
        if profile.offsets:
            return f"timestamps are typed datetimes in zone {profile.offsets[0]}: read exactly"
        return (
            "timestamps are typed datetimes without a zone: read as UTC (set timezone: "
            "<IANA zone> in the mapping if they are local times)"
        )
    if profile.time_format in EPOCH_FORMATS:
        return (
            f"timestamps are Unix times ({profile.time_format}: "
            f"{EPOCH_UNIT_WORDS[profile.time_format]} since 1970-01-01 UTC): read as UTC exactly"
        )
    if profile.time_format == "%Y%m%d" or (profile.date_only and not profile.offsets):
        return (
            "timestamps are dates without a time of day: each event is placed at midnight UTC "
            "of its day (set timezone if the days are local)"
        )
    if profile.offsets and profile.without_offset:
        return (
            f"timestamps mix values with a UTC offset ({', '.join(profile.offsets)}) and values "
            f"without one (e.g. {list(profile.without_offset)}): set timezone: <IANA zone> "
            "(e.g. Europe/Rome) for those without; validate refuses the mix until then"
        )
    if profile.offsets:
        seen = ", ".join(profile.offsets)
        extra = (
            "; several offsets: local times of a zone with daylight saving"
            if len(profile.offsets) > 1
            else ""
        )
        return (
            f"timestamps carry their UTC offset ({seen}): converted to UTC exactly{extra}; "
            "timezone only applies to values without an offset (left as UTC)"
        )
    return (
        "timestamps are naive (no offset, e.g. "
        f"{profile.examples[0] if profile.examples else '?'}): assumed UTC; if they are local "
        "times, set timezone: <IANA zone> (e.g. Europe/Rome) in the mapping"
    )


# --- the proposal --------------------------------------------------------------------------------
def _touchpoint_guesses(events: pd.DataFrame, *, journeys: bool) -> list[TouchpointGuess]:
    """Roles by name (:func:`touchpoint_role`), then, in the journeys of customers (not the
    cases of a process, where every activity is the organisation's and every case ends), for
    the touchpoints no name explains: company-sent by timing
    (:func:`journeyml.events.sent.sent_by_timing`: they arrive in bursts), and cancellations by
    what follows them (:func:`journeyml.events.ending.ending_touchpoints`: done once, then
    nothing of the customer's own). In cases no activity is company-sent, by name either
    (``Send offer`` is a step of the process: a next-step task must still predict it)."""
    counts = events[TOUCHPOINT].value_counts()
    bursts = sent_by_timing(events) if journeys else {}
    out = []
    for tp, n in counts.items():
        role = touchpoint_role(str(tp))
        if role is not None and (journeys or role[0] != "company_sent"):
            out.append(TouchpointGuess(str(tp), role[0], role[1], int(n)))
        elif str(tp) in bursts:
            evidence = timing_evidence(bursts[str(tp)])
            out.append(TouchpointGuess(str(tp), "company_sent", evidence, int(n), "timing"))
    if journeys:
        judged = {t.touchpoint for t in out}
        sent = {t.touchpoint for t in out if t.role == "company_sent"}
        for tp, ending in ending_touchpoints(events, sent).items():
            if tp not in judged:
                guess = TouchpointGuess(tp, "cancellation", ending.evidence(), int(counts[tp]))
                out.append(replace(guess, signal="ending"))
    return out


def inspect_frame(
    raw: pd.DataFrame,
    *,
    source: str = "<frame>",
    fmt: Format = "csv",
    reader: ReaderOptions | None = None,
    reader_note: str = "",
    progress: Progress = NO_PROGRESS,
) -> Inspection:
    """Guess the mapping of a raw frame (text columns as read) and try it on every row."""
    raw = raw.reset_index(drop=True)
    if raw.empty or len(raw.columns) < 2:
        raise DataError(
            f"expected a log with rows and at least two columns (an id and a time) in {source}, "
            f"got {len(raw):,} rows and columns {[str(c) for c in raw.columns]}. Check the "
            "file's separator and header.",
            field="reader",
        )
    with progress.stage("inspecting", total=len(raw.columns), unit="columns") as stage:
        profiles = []
        for col in raw.columns:
            profiles.append(profile_column(raw[col]))
            stage.advance()
    by_name = {p.name: p for p in profiles}
    plan = _assign(raw, profiles, fmt)
    base: dict[str, Any] = {
        "columns": plan.columns,
        "event_attributes": plan.event_attributes,
        "customer_attributes": plan.customer_attributes,
        "timestamp_format": plan.timestamp_format,
        "duplicates": "keep",
    }
    if reader is not None:
        base["reader"] = reader.model_dump(exclude_defaults=True)
    ts_profile = by_name[str(plan.columns["timestamp"])]
    mixed_zones = bool(ts_profile.offsets and ts_profile.without_offset)
    trial_mapping = parse_mapping({**base, "timezone": "UTC"} if mixed_zones else base)
    trial = map_events(raw, trial_mapping, policy="lenient", source=source, progress=progress)
    events = trial.events
    if events.empty:
        raise DataError(
            f"expected the proposed mapping to accept some rows of {source}, got none "
            f"({trial.report.rejects_by_reason}). Write the mapping by hand.",
        )
    named_sent = {
        str(t)
        for t in events[TOUCHPOINT].unique()
        if (touchpoint_role(str(t)) or ("",))[0] == "company_sent"
    }
    shape = _shape(events, fmt, str(plan.columns["customer_id"]), named_sent)
    # in the cases of a process every activity is the organisation's: timing only in journeys
    touchpoints = _touchpoint_guesses(events, journeys=shape.kind == "journeys")
    sent_set = {t.touchpoint for t in touchpoints if t.role == "company_sent"}
    cancel_set = {t.touchpoint for t in touchpoints if t.role == "cancellation"}
    if sent_set != named_sent or any(t.signal == "ending" for t in touchpoints):
        shape = _shape(events, fmt, str(plan.columns["customer_id"]), sent_set, cancel_set)
    stages: dict[str, tuple[str, str]] = {}
    extra: dict[str, Any] = {}
    if "stage" in plan.columns:
        pass  # the log's own stage column
    elif shape.kind == "cases":
        extra["stage_mode"] = "activity"
    else:
        for tp in events[TOUCHPOINT].unique():
            guess = stage_of(str(tp))
            if guess is not None:
                stages[str(tp)] = guess
        if stages:
            extra["stage_map"] = {tp: s for tp, (s, _) in stages.items()}
    conversions = [t.touchpoint for t in touchpoints if t.role == "conversion"]
    cancels = [t.touchpoint for t in touchpoints if t.role == "cancellation"]
    extra["outcomes"] = {"conversion_touchpoints": conversions, "churn_touchpoints": cancels}
    sent = [t.touchpoint for t in touchpoints if t.role == "company_sent"]
    if sent:  # not the customer's own activity (lapses tasks)
        extra["company_sent"] = sent
    extra["duplicates"] = "keep" if shape.duplicates else "reject"
    mapping = parse_mapping({**base, **extra}, source=f"proposal for {source}")
    canonical = all(c in raw.columns for c in (CUSTOMER_ID, TIMESTAMP, TOUCHPOINT)) and all(
        plan.columns.get(c) == c for c in (CUSTOMER_ID, TIMESTAMP, TOUCHPOINT)
    )
    if (STAGE in plan.columns and plan.columns[STAGE] != STAGE) or mixed_zones:
        canonical = False
    return Inspection(
        source=source,
        format=fmt,
        reader_note=reader_note,
        n_rows=len(raw),
        guesses=_ordered(plan.guesses, list(raw.columns)),
        mapping=mapping,
        timezone_note=_timezone_note(ts_profile),
        touchpoints=touchpoints,
        stages=stages,
        shape=shape,
        canonical=canonical,
        touchpoint_counts={str(k): int(v) for k, v in events[TOUCHPOINT].value_counts().items()},
        rejects=trial.report.rejects_by_reason,
        mixed_zones=mixed_zones,
    )


def _ordered(guesses: list[Guess], columns: list[str]) -> list[Guess]:
    """Mapped roles first (in canonical order), then the other columns in file order."""
    rank = {r: i for i, r in enumerate(ROLES)}
    position = {str(c): i for i, c in enumerate(columns)}

    def key(g: Guess) -> tuple[int, float]:
        if g.role in rank:
            return 0, rank[g.role] + position.get(g.column, math.inf) / 1e6
        return 1, float(position.get(g.column, np.inf))

    return sorted(guesses, key=key)


def inspect_log(path: str | Path, *, progress: Progress = NO_PROGRESS) -> Inspection:
    """Read the log at ``path`` (any supported format; a text file's separator and header are
    sniffed) and :func:`inspect_frame` it.

    >>> import pathlib, tempfile
    >>> from journeyml import inspect_log, toy
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "log.csv"
    >>> toy.journeys().to_csv(path, index=False)
    >>> found = inspect_log(path)             # what `journeyml init` prints
    >>> found.n_rows, found.canonical, found.outcomes("conversion")
    (8, True, ['purchase'])
    """
    p = Path(path)
    fmt = detect_format(p)
    if not p.is_file():
        raise ReaderError(
            f"expected an event log at {str(p)!r}, got nothing there. Check the path.", field="path"
        )
    reader, note = _reader_for(p, fmt)
    raw = read_raw(p, reader, progress=progress)
    return inspect_frame(
        raw, source=str(p), fmt=fmt, reader=reader, reader_note=note, progress=progress
    )
