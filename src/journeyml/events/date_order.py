"""Day first or month first: what numeric dates such as ``05/04/2024`` mean, told by the data.

A value like ``27/04/2024`` can only be day first, ``04/27/2024`` only month first, and
``05/04/2024`` either. Read one value at a time, a column of day-first dates came out mixed:
the unambiguous ones day first, the others month first (pandas' default), so 12 October became
10 December without an error. The order is decided once for the whole column instead, from the
values that can only be read one way; :func:`numeric_date_format` gives the ``strftime`` format
that reads them all (``journeyml init`` writes it into the mapping as ``timestamp_format``).

>>> s = pd.Series(["27/04/2024 23:49", "05/04/2024 10:00"])
>>> date_order(s)
'day_first'
>>> numeric_date_format(s)
'%d/%m/%Y %H:%M'
>>> date_order(pd.Series(["05/04/2024"])), date_order(pd.Series(["2024-04-05"]))
('ambiguous', None)
"""

from __future__ import annotations

from typing import Literal

import pandas as pd

DateOrder = Literal["day_first", "month_first", "ambiguous", "contradictory"]

#: a date of three numeric fields, the year last: ``dd/mm/yyyy``, ``mm.dd.yy``, ``d-m-yyyy``
_NUMERIC_DATE = r"^\s*(\d{1,2})([/.\-])(\d{1,2})\2(\d{4}|\d{2})(?!\d)"
#: time-of-day layouts tried after the date, longest first
_TIMES = (" %H:%M:%S.%f", " %H:%M:%S", " %H:%M", "T%H:%M:%S", "T%H:%M", "")


def _fields(text: pd.Series) -> pd.DataFrame:
    return text.astype("str").str.extract(_NUMERIC_DATE)


def date_order(text: pd.Series) -> DateOrder | None:
    """How the numeric dates of ``text`` must be read (``None``: it holds none).

    ``contradictory``: some values can only be day first and others only month first.
    """
    fields = _fields(text.dropna()).dropna()
    if fields.empty:
        return None
    first, second = pd.to_numeric(fields[0]), pd.to_numeric(fields[2])
    day_first, month_first = bool((first > 12).any()), bool((second > 12).any())
    if day_first and month_first:
        return "contradictory"
    if day_first:
        return "day_first"
    return "month_first" if month_first else "ambiguous"


def numeric_date_format(text: pd.Series, order: DateOrder | None = None) -> str | None:
    """The ``strftime`` format reading every numeric date of ``text`` in the order the data
    demands (day first where some value can only be day first), or ``None`` when the dates are
    not numeric, can be read either way, or follow no single layout. ``order``: ``text``'s
    :func:`date_order`, when the caller has it."""
    order = order or date_order(text)
    if order not in ("day_first", "month_first"):
        return None
    values = text.dropna().astype("str").str.strip()
    fields = _fields(values).dropna()
    sep = str(fields[1].iloc[0])
    year = "%Y" if len(str(fields[3].iloc[0])) == 4 else "%y"
    date = f"%d{sep}%m{sep}{year}" if order == "day_first" else f"%m{sep}%d{sep}{year}"
    for time in _TIMES:
        fmt = date + time
        parsed = pd.to_datetime(values, format=fmt, errors="coerce")
        if parsed.notna().all():
            return fmt
    return None
