"""The loader's per-distinct-value conversions give what the row-by-row ones gave.

Each property compares against the pandas expression the function replaces, on small frames
mixing the values that make text conversion subtle: ``1``, ``1.0``, ``"1"``, ``True``,
missing values, whitespace, ``0.0`` and ``-0.0``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from journeyml.events.schema import CHANNEL, DEFAULT_CHANNEL, to_canonical
from journeyml.events.strings import blank_mask, order_codes, shared_strings, sort_ranks
from journeyml.events.validate import DUPLICATE_KEY, repeated_rows, total_order

MIXED = st.sampled_from(["a", "b", " ", "", "1", 1, 1.0, True, None, np.nan, "c10", "c9"])
TEXT = st.sampled_from(["a", "b", "c10", "c9", " x", None])


def _series(values: list[object], categorical: bool) -> pd.Series:
    s = pd.Series(values, dtype=object)
    if categorical:
        s = s.astype(str).where(s.notna()).astype("category")
    return s


@settings(max_examples=200, deadline=None)
@given(st.lists(MIXED, min_size=1, max_size=30), st.booleans())
def test_conversions_equal_the_row_by_row_expressions(values: list[object], cat: bool) -> None:
    s = _series(values, cat)
    shared = shared_strings(s)
    expected = s.astype(str).astype(object)
    assert shared.dtype == object and shared.index.equals(s.index)
    assert [repr(v) for v in shared] == [repr(v) for v in expected]
    text = s.astype("str").where(s.notna()).str.strip()
    assert blank_mask(s).tolist() == (text.isna() | (text == "")).tolist()
    key = s.astype("str").fillna("\x00")
    by_codes = np.argsort(order_codes(s), kind="stable")
    assert key.iloc[by_codes].tolist() == key.sort_values(kind="stable").tolist()


def test_equal_strings_share_one_object() -> None:
    s = pd.Series(["ab" + str(i % 3) for i in range(300)], dtype=object)
    shared = shared_strings(s)
    assert len({id(v) for v in shared}) == 3


@settings(max_examples=150, deadline=None)
@given(st.lists(TEXT, min_size=1, max_size=40))
def test_sort_ranks_sort_as_pandas_does(values: list[object]) -> None:
    s = pd.Series(values, dtype=object)
    by_ranks = s.iloc[np.argsort(sort_ranks(s), kind="stable")]
    assert by_ranks.index.tolist() == s.sort_values(kind="stable").index.tolist()


def _frames() -> st.SearchStrategy[pd.DataFrame]:
    row = st.tuples(
        st.sampled_from(["a", "b", 1, "1", 1.0]),
        st.integers(0, 3),
        st.sampled_from(["x", "y"]),
        st.sampled_from(["web", DEFAULT_CHANNEL, None, np.nan]),
        st.sampled_from([0.0, -0.0, np.nan, 2.5]),
        st.sampled_from(["p", None]),
    )
    return st.lists(row, min_size=1, max_size=40).map(
        lambda rows: pd.DataFrame(
            {
                "customer_id": pd.Series([r[0] for r in rows], dtype=object),
                "timestamp": pd.to_datetime([r[1] for r in rows], unit="h", utc=True),
                "touchpoint": [r[2] for r in rows],
                "channel": pd.Series([r[3] for r in rows], dtype=object),
                "value": [r[4] for r in rows],
                "attr": pd.Series([r[5] for r in rows], dtype=object),
            }
        )
    )


@settings(max_examples=200, deadline=None)
@given(_frames())
def test_total_order_and_repeats_equal_pandas(frame: pd.DataFrame) -> None:
    first = ["customer_id", "timestamp", "touchpoint", "channel", "value"]
    key = frame.copy()
    for col in ("customer_id", "touchpoint", "channel", "attr"):
        key[col] = key[col].astype("str").fillna("\x00")
    expected = key.sort_values([*first, "attr"], kind="stable", na_position="last").index
    assert total_order(frame).equals(expected)
    dup_key = frame[list(DUPLICATE_KEY)].copy()
    dup_key[CHANNEL] = dup_key[CHANNEL].astype("str").fillna(DEFAULT_CHANNEL)
    assert repeated_rows(frame[list(DUPLICATE_KEY)]).tolist() == dup_key.duplicated().tolist()


def test_canonical_frame_keeps_object_strings_sorted() -> None:
    raw = pd.DataFrame(
        {
            "customer_id": ["b", "a", "b", "a"],
            "timestamp": ["2024-01-02", "2024-01-03", "2024-01-01", "2024-01-03"],
            "touchpoint": ["visit", "ad", "buy", "ad"],
            "stage": ["s", None, "s", None],
        }
    )
    ev = to_canonical(raw)
    assert ev["customer_id"].tolist() == ["a", "a", "b", "b"]
    assert ev["touchpoint"].tolist() == ["ad", "ad", "buy", "visit"]
    assert all(ev[c].dtype == object for c in ("customer_id", "touchpoint", "stage"))
    assert ev["stage"].isna().tolist() == [True, True, False, False]
