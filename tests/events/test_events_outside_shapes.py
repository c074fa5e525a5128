"""Export shapes the outside worlds (benchmarks/outside_worlds.py) brought: Unix times, a CSV
process log's lifecycle column, a case's amount on every row, a process step named like a send."""

from __future__ import annotations

import pandas as pd
import pytest

from journeyml.events import inspect_frame
from journeyml.events.lexicon import touchpoint_role
from journeyml.events.mapping import map_events, parse_mapping
from journeyml.events.timestamps import parse_timestamps

BASE_S = 1_746_060_000  # 2025-05-01 00:40 UTC


@pytest.mark.parametrize(
    ("fmt", "scale"), [("epoch_s", 1), ("epoch_ms", 1_000), ("epoch_us", 1_000_000)]
)
def test_unix_times_parse_in_their_unit(fmt: str, scale: int) -> None:
    values = pd.Series([str(BASE_S * scale), str((BASE_S + 90) * scale), "soon", None])
    parsed = parse_timestamps(values, fmt=fmt)
    assert [str(t) for t in parsed.values[:2]] == [
        "2025-05-01 00:40:00+00:00",
        "2025-05-01 00:41:30+00:00",
    ]
    assert parsed.unparseable.tolist() == [False, False, True, False]
    assert parsed.missing.tolist() == [False, False, False, True]


def game(n: int = 12) -> pd.DataFrame:
    """n players, 4 events each, times in epoch milliseconds (a game's analytics export)."""
    rows = []
    for i in range(n):
        for k, ev in enumerate(["first_open", "level_start", "ad_watched", "level_complete"]):
            ms = (BASE_S + i * 86_400 + k * 600 + i) * 1000 + 123
            rows.append((10_000_000 + i * 37, ms, ev))
    return pd.DataFrame(rows, columns=["player_id", "client_ts", "event_name"])


def test_init_reads_epoch_milliseconds_and_the_mapping_parses_them() -> None:
    raw = game()
    found = inspect_frame(raw)
    assert found.mapping.columns.timestamp.column == "client_ts"
    assert found.mapping.timestamp_format == "epoch_ms"
    assert "Unix times" in found.timezone_note and "milliseconds" in found.timezone_note
    events = map_events(raw.astype(str), found.mapping).events
    first = events.loc[events["customer_id"] == "10000000", "timestamp"].min()
    assert str(first) == "2025-05-01 00:40:00.123000+00:00"
    assert found.outcomes("company_sent") == []  # ad_watched: the player's own act


def test_ids_in_the_range_of_unix_seconds_are_not_times() -> None:
    raw = game()
    raw["client_ts"] = pd.to_datetime(raw["client_ts"], unit="ms").astype(str)
    raw["account"] = [1_746_060_000 + i // 4 for i in range(len(raw))]  # repeats: an id
    found = inspect_frame(raw)
    assert found.mapping.columns.timestamp.column == "client_ts"
    assert found.mapping.timestamp_format is None


def test_a_csv_process_log_joins_its_lifecycle_and_keeps_the_case_amount_an_attribute() -> None:
    rows = []
    steps = [("Submit", "complete"), ("Check", "start"), ("Check", "complete"),
             ("Send offer", "complete"), ("Approved", "complete")]  # fmt: skip
    for case in range(20):
        for k, (act, tr) in enumerate(steps[: 3 + case % 3]):
            ts = f"2025-03-{1 + case % 20:02d}T{9 + k}:00:00+01:00"
            rows.append((f"APP{case}", act, tr, ts, 5_000 + 100 * case))
    raw = pd.DataFrame(rows, columns=["Case ID", "Activity", "Lifecycle", "Time", "Amount"])
    found = inspect_frame(raw)
    assert found.mapping.columns.touchpoint.join == ["Activity", "Lifecycle"]
    assert found.mapping.columns.value is None
    assert "amount" in found.mapping.customer_attributes
    assert found.shape.kind == "cases"
    assert found.outcomes("company_sent") == []  # a step of the process, predicted as one


@pytest.mark.parametrize(
    ("touchpoint", "role"),
    [("ad_watched", None), ("video_watch", None), ("ad_served", "company_sent")],
)
def test_watching_is_the_customers_own_act(touchpoint: str, role: str | None) -> None:
    found = touchpoint_role(touchpoint)
    assert (found[0] if found else None) == role


def test_a_mapping_with_epoch_seconds_validates() -> None:
    mapping = parse_mapping(
        {
            "columns": {"customer_id": "u", "timestamp": "t", "touchpoint": "e"},
            "timestamp_format": "epoch_s",
        }
    )
    raw = pd.DataFrame({"u": ["1", "1"], "t": [str(BASE_S), str(BASE_S + 60)], "e": ["a", "b"]})
    events = map_events(raw, mapping).events
    assert events["timestamp"].dt.strftime("%H:%M").tolist() == ["00:40", "00:41"]


def test_an_outcome_named_by_its_lifecycle_steps_is_said_once() -> None:
    from journeyml.explain import humanize
    from journeyml.tasks import EventMatch, TaskConfig

    outcome = EventMatch(("Application approved|start", "Application approved|complete"))
    task = TaskConfig("approved", "case_outcome", outcome=outcome)
    assert task.phrase(words=humanize) == (
        "the chance that the case reaches application approved (start or complete)"
    )
    single = TaskConfig("resolved", "case_outcome", outcome=EventMatch(("Completed|Resolved",)))
    assert task.phrase(words=humanize) != single.phrase(words=humanize)
    assert "completed / resolved" in single.phrase(words=humanize)


def test_a_unique_order_number_in_the_range_of_unix_seconds_yields_to_written_times() -> None:
    raw = game()
    raw["col3"] = pd.to_datetime(raw.pop("client_ts"), unit="ms").astype(str)
    raw.insert(1, "order_no", [1_500_000_000 + 7 * i for i in range(len(raw))])  # unique
    found = inspect_frame(raw)
    assert found.mapping.columns.timestamp.column == "col3"
    assert found.mapping.timestamp_format is None
