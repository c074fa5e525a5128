"""What the values of one raw column look like: numbers, dates, codes or text, how many distinct
values, how many rows each. The facts ``journeyml init`` guesses column roles from.

>>> raw = pd.DataFrame({"who": ["a", "a", "b"], "when": ["2024-01-01", "2024-01-02 10:00", "x"],
...                     "amount": ["1.5", "2.25", ""]})
>>> p = profile_column(raw["when"])
>>> p.kind, round(p.time_share, 2)
('text', 0.67)
>>> profile_column(raw["amount"]).kind, profile_column(raw["amount"]).decimals
('number', True)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from journeyml.events.date_order import DateOrder, date_order, numeric_date_format
from journeyml.events.lexicon import name_hint
from journeyml.events.timestamps import epoch_format, parse_timestamps

Kind = Literal["datetime", "number", "integer", "code", "text", "empty"]

#: values looked at per column for parsing (spread over the whole file)
SAMPLE: int = 5_000
_INTEGER = re.compile(r"^[+-]?\d+$")
_OFFSET = r"([zZ]|[+-]\d\d:?\d\d)$"
_TIME_OF_DAY = re.compile(r"\d:\d\d")
_YYYYMMDD = re.compile(r"^(19|20|21)\d\d(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$")
_EARLIEST, _LATEST = pd.Timestamp("1970-01-01", tz="UTC"), pd.Timestamp("2100-01-01", tz="UTC")


@dataclass(frozen=True)
class ColumnProfile:
    """Facts about one column. ``kind``: ``datetime`` (typed), ``number`` (parses as numbers),
    ``integer`` (whole numbers without leading zeros), ``code`` (digits with leading zeros,
    such as ``00042``), ``text``, ``empty``."""

    name: str
    n_values: int
    n_missing: int
    distinct: int
    kind: Kind
    decimals: bool
    time_share: float
    time_format: str | None
    offsets: tuple[str, ...]
    date_only: bool
    examples: tuple[str, ...]
    #: sampled time values without a UTC offset, in a column where others have one
    without_offset: tuple[str, ...] = ()
    #: numeric dates (05/04/2024) whose day and month no value tells apart, or that need both
    #: orders (:func:`~journeyml.events.date_order.date_order`): read as pandas does, month
    #: first, unless the mapping sets ``timestamp_format``
    undecided_dates: str | None = None

    @property
    def looks_like_time(self) -> bool:
        """Nearly every value parses as a time between 1970 and 2100."""
        return self.time_share >= 0.95

    @property
    def rows_per_value(self) -> float:
        return self.n_values / max(self.distinct, 1)


def _sample(values: pd.Series) -> pd.Series:
    present = values.dropna()
    if len(present) > SAMPLE:
        step = len(present) // SAMPLE
        present = present.iloc[::step].iloc[:SAMPLE]
    return present


def _kind(text: pd.Series) -> tuple[Kind, bool]:
    if text.empty:
        return "empty", False
    stripped = text.str.strip()
    integer = stripped.str.match(_INTEGER)
    if integer.all():
        leading_zero = stripped.str.match(r"^[+-]?0\d")
        return ("code" if leading_zero.any() else "integer"), False
    number = pd.to_numeric(stripped, errors="coerce").notna()
    if number.mean() >= 0.98:
        return "number", bool(stripped.str.contains(".", regex=False).mean() >= 0.5)
    return "text", False


def _time_share(text: pd.Series, kind: Kind) -> tuple[float, str | None, bool, DateOrder | None]:
    """Share of values parsing as plausible times, the strftime format needed, date-only, and
    the order of their numeric dates' day and month (:func:`date_order`)."""
    if text.empty:
        return 0.0, None, False, None
    if kind in ("integer", "code", "number"):
        if text.str.match(_YYYYMMDD).mean() >= 0.95:
            return float(text.str.match(_YYYYMMDD).mean()), "%Y%m%d", True, None
        return 0.0, None, False, None
    distinct = pd.Series(text.unique()[:SAMPLE])
    order = date_order(distinct)
    fmt = numeric_date_format(distinct, order)  # 27/04/2024: day first, for every value
    parsed = parse_timestamps(distinct, fmt=fmt).values
    ok = parsed.notna() & (parsed >= _EARLIEST) & (parsed < _LATEST)
    date_only = not bool(distinct.str.contains(_TIME_OF_DAY, regex=True).any())
    return float(ok.mean()), fmt, date_only, order


def _epoch_share(text: pd.Series, name: str) -> tuple[float, str | None]:
    """Numbers that are Unix times (``epoch_s``, ``epoch_ms``, ...: their size tells the unit)
    when the column is named like a time or its values are mostly distinct (a time, unlike an
    id or a count, rarely repeats); else ``(0.0, None)``.

    >>> _epoch_share(pd.Series(["1746060732403", "1746062065069"]), "client_ts")
    (1.0, 'epoch_ms')
    >>> _epoch_share(pd.Series(["1746060732", "1746060732", "1746060732"]), "account")
    (0.0, None)
    """
    fmt = epoch_format(text)
    if fmt is None:
        return 0.0, None
    if name_hint(name, "timestamp")[0] == 0 and text.nunique() < 0.5 * len(text):
        return 0.0, None
    return 1.0, fmt


def profile_column(values: pd.Series) -> ColumnProfile:
    """The :class:`ColumnProfile` of ``values`` (parsing looks at a spread sample)."""
    present = values.dropna()
    sample = _sample(values)
    kind: Kind
    offsets: tuple[str, ...] = ()
    without_offset: tuple[str, ...] = ()
    fmt: str | None = None
    undecided: str | None = None
    if isinstance(values.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(
        values.dtype
    ):
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            offsets = (str(values.dtype.tz),)
        kind, decimals, share = "datetime", False, 1.0
        date_only = bool((sample == sample.dt.normalize()).all()) if len(sample) else False
        examples = tuple(str(v) for v in sample.head(3))
    else:
        if pd.api.types.is_bool_dtype(values.dtype):
            text = sample.astype(str)
        elif pd.api.types.is_numeric_dtype(values.dtype):
            numbers = sample.astype("float64")
            whole = bool(np.all(np.mod(numbers.to_numpy(), 1) == 0))
            text = numbers.map(lambda v: str(int(v)) if whole else repr(float(v)))
        else:
            text = sample.astype(str).str.strip()
            text = text[text != ""]
        kind, decimals = _kind(text)
        share, fmt, date_only, order = _time_share(text, kind)
        if not share and kind in ("integer", "number"):
            share, fmt = _epoch_share(text, str(values.name))
        undecided = order if share and order in ("ambiguous", "contradictory") else None
        if share and fmt is None:
            found = text.str.extract(_OFFSET)[0]
            offsets = tuple(sorted(found.dropna().str.upper().unique().tolist()))[:6]
            if offsets:
                without_offset = tuple(text[found.isna()].drop_duplicates().head(3).tolist())
        examples = tuple(text.drop_duplicates().head(3).tolist())
    return ColumnProfile(
        name=str(values.name),
        n_values=len(present),
        n_missing=int(values.isna().sum()),
        distinct=int(present.nunique()),
        kind=kind,
        decimals=decimals,
        time_share=share,
        time_format=fmt,
        offsets=offsets,
        date_only=date_only,
        examples=examples,
        without_offset=without_offset,
        undecided_dates=undecided,
    )


def varies_within(values: pd.Series, groups: pd.Series) -> float:
    """Share of groups (with 2+ rows) in which ``values`` takes more than one value.

    >>> varies_within(pd.Series([1, 2, 3, 3]), pd.Series(["a", "a", "b", "b"]))
    0.5
    """
    frame = pd.DataFrame({"g": groups.to_numpy(), "v": values.astype(str).to_numpy()})
    sizes = frame.groupby("g", sort=False)["v"].size()
    counts = frame.groupby("g", sort=False)["v"].nunique()
    multi = sizes >= 2
    if not multi.any():
        return 0.0
    return float((counts[multi] > 1).mean())
