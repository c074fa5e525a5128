"""Properties: no row is ever lost, and the order of the input rows does not matter."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journeyml.errors import ValidationFailedError
from journeyml.events.mapping import map_events, parse_mapping

NOW = pd.Timestamp("2024-06-01", tz="UTC")
MAPPING = parse_mapping(
    {
        "columns": {
            "customer_id": "cid",
            "timestamp": "ts",
            "touchpoint": "tp",
            "channel": "ch",
            "value": "val",
        },
        "event_attributes": ["note"],
        "stage_map": {"visit": "consideration", "buy": "conversion"},
        "touchpoints": ["visit", "buy", "chat"],
        "timestamp_floor": "2000-01-01",
        # declared: TIMES mixes naive values with offsets, which an undeclared zone refuses
        "timezone": "UTC",
    }
)

CUSTOMERS = st.sampled_from(["a", "b", "c", "007", "", "  ", None])
TIMES = st.sampled_from(
    [
        "2024-01-01 10:00",
        "2024-01-01T10:00:00+02:00",
        "2024-01-02",
        "2024-03-31 02:30",
        "1999-12-31",
        "2030-01-01",
        "garbage",
        "",
        None,
    ]
)
TOUCHPOINTS = st.sampled_from(["visit", "buy", "chat", "teleport", "", None])
CHANNELS = st.sampled_from(["web", "email", None])
VALUES = st.sampled_from(["", "1", "2.5", "-3", "ten", None])
NOTES = st.sampled_from(["x", "y", None])

ROW = st.fixed_dictionaries(
    {"cid": CUSTOMERS, "ts": TIMES, "tp": TOUCHPOINTS, "ch": CHANNELS, "val": VALUES, "note": NOTES}
)


def frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["cid", "ts", "tp", "ch", "val", "note"]).astype("str")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(ROW, min_size=1, max_size=40))
def test_no_row_is_lost(rows: list[dict[str, Any]]) -> None:
    raw = frame(rows)
    result = map_events(raw, MAPPING, policy="lenient", now=NOW)
    rep = result.report
    assert rep.n_input == len(raw)
    assert rep.n_accepted + rep.n_rejected == rep.n_input
    assert sum(rep.rejects_by_reason.values()) == rep.n_rejected
    assert len(result.events) == rep.n_accepted == rep.n_events
    if rep.n_rejected:
        with pytest.raises(ValidationFailedError):
            map_events(raw, MAPPING, policy="strict", now=NOW)
    else:
        strict = map_events(raw, MAPPING, policy="strict", now=NOW)
        pd.testing.assert_frame_equal(strict.events, result.events)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(ROW, min_size=1, max_size=40), seed=st.integers(0, 2**32 - 1))
def test_row_order_does_not_matter(rows: list[dict[str, Any]], seed: int) -> None:
    raw = frame(rows)
    shuffled = raw.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    a = map_events(raw, MAPPING, policy="lenient", now=NOW)
    b = map_events(shuffled, MAPPING, policy="lenient", now=NOW)
    pd.testing.assert_frame_equal(a.events, b.events)
    assert a.report == b.report
