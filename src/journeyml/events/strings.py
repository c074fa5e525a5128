"""String conversions of event columns computed once per distinct value.

A log of millions of events has a few thousand customers' ids per chunk and a few dozen
touchpoints, channels and stages. Converting every row (``astype(str).astype(object)``) made
one new Python string per row: about 60 bytes each, so ≈ 110 MB per column at 1.76 M events,
most of the loaded log's memory. Here the conversion runs on the distinct values only and the
rows point at the shared result: the same values (the conversion is elementwise), 8 bytes per
row.

>>> s = pd.Series(["b", 1, None, "b", "1"], dtype=object)
>>> shared_strings(s).tolist()
['b', '1', nan, 'b', '1']
>>> blank_mask(pd.Series([" ", "x", None, ""])).tolist()
[True, False, True, True]
>>> order_codes(pd.Series(["b", None, "a", "b"])).tolist()
[2, 0, 1, 2]
>>> sort_ranks(pd.Series(["b", None, "a", "b"])).tolist()
[1, 2, 0, 1]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: what a missing value sorts as in :func:`order_codes` (before any printable string)
MISSING_SORTS_AS = "\x00"


#: kinds of values (:func:`pandas.api.types.infer_dtype`) whose equal values print alike; for
#: others (``1`` and ``1.0``, ``0.0`` and ``-0.0`` hash alike, print differently) every row is
#: converted on its own
_EXACT_KINDS = frozenset({"string", "integer", "empty", "boolean"})


def _distinct(values: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Each row's code and the distinct values (a missing value is one of them)."""
    sample = values.cat.categories if isinstance(values.dtype, pd.CategoricalDtype) else values
    if pd.api.types.infer_dtype(sample, skipna=True) not in _EXACT_KINDS:
        return np.arange(len(values)), values.reset_index(drop=True)
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return codes, pd.Series(uniques)


def shared_strings(values: pd.Series) -> pd.Series:
    """``values.astype(str).astype(object)`` (same index, object dtype) whose equal strings
    are one object."""
    codes, uniques = _distinct(values)
    converted = uniques.astype(str).astype(object).to_numpy()
    rows = converted[codes] if len(codes) else np.empty(0, dtype=object)
    return pd.Series(rows, index=values.index, dtype=object, copy=False)


def blank_mask(values: pd.Series) -> pd.Series:
    """Rows that are missing, empty or only whitespace once read as text."""
    codes, uniques = _distinct(values)
    text = uniques.astype("str").where(uniques.notna())
    stripped = text.str.strip()
    blank = (stripped.isna() | (stripped == "")).to_numpy(dtype=bool)
    return pd.Series(blank[codes] if len(codes) else blank[:0], index=values.index)


def order_codes(values: pd.Series) -> np.ndarray:
    """Integers that sort the rows as their text does (missing values first, as
    :data:`MISSING_SORTS_AS`): ``values.astype("str").fillna("\\x00")`` ranked."""
    codes, uniques = _distinct(values)
    text = uniques.astype("str").fillna(MISSING_SORTS_AS).to_numpy(dtype=object)
    _, rank = np.unique(text, return_inverse=True)
    return rank.reshape(-1)[codes] if len(codes) else np.empty(0, dtype=np.int64)


def sort_ranks(values: pd.Series) -> np.ndarray:
    """Integers that sort the rows as ``values.sort_values()`` does (missing last)."""
    codes, uniques = pd.factorize(values, sort=True)
    codes[codes < 0] = len(uniques)  # missing: after every value
    return codes
