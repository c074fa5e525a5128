"""Each validation rule on a tiny hand-built log, under both policies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from journeyml.errors import MissingColumnError, ValidationFailedError
from journeyml.events.mapping import load_events, parse_mapping

NOW = pd.Timestamp("2024-06-01", tz="UTC")
HEADER = "cid,ts,tp,ch,val"


def mapping(**extra: Any) -> Any:
    data: dict[str, Any] = {
        "columns": {
            "customer_id": "cid",
            "timestamp": "ts",
            "touchpoint": "tp",
            "channel": "ch",
            "value": "val",
        },
        "stage_map": {"visit": "consideration", "buy": "conversion"},
    }
    data.update(extra)
    return parse_mapping(data, source="test-mapping")


def write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "log.csv"
    path.write_text("\n".join([HEADER, *lines]) + "\n")
    return path


GOOD = [
    "a,2024-01-01 10:00,visit,web,",
    "a,2024-01-02 10:00,buy,web,9.5",
    "b,2024-01-03 10:00,visit,email,",
]

# rule, the bad rows (inserted after GOOD, so their data-row numbers are 3, 4, ...),
# the column the strict message names, and mapping options.
CASES: list[tuple[str, list[str], str, dict[str, Any]]] = [
    (
        "missing_customer_id",
        [",2024-01-04,visit,web,", "  ,2024-01-04,visit,web,"],
        "customer_id",
        {},
    ),
    ("missing_touchpoint", ["c,2024-01-04,,web,"], "touchpoint", {}),
    ("missing_timestamp", ["c,,visit,web,"], "timestamp", {}),
    (
        "unparseable_timestamp",
        ["c,not a date,visit,web,", "c,2024-13-45,visit,web,"],
        "timestamp",
        {},
    ),
    ("invalid_value", ["c,2024-01-04,buy,web,ten dollars"], "value", {}),
    (
        "unknown_touchpoint",
        ["c,2024-01-04,teleport,web,"],
        "touchpoint",
        {"touchpoints": ["visit", "buy"]},
    ),
    (
        "timestamp_before_floor",
        ["c,1970-01-01,visit,web,"],
        "timestamp",
        {"timestamp_floor": "2000-01-01"},
    ),
    ("timestamp_in_future", ["c,2030-01-01,visit,web,"], "timestamp", {}),
    ("duplicate_event", ["a,2024-01-02 10:00,buy,web,9.5"], "customer_id, timestamp", {}),
]


@pytest.mark.parametrize(("rule", "bad", "column", "extra"), CASES, ids=[c[0] for c in CASES])
def test_rule_lenient_rejects_rows_with_reason(
    tmp_path: Path, rule: str, bad: list[str], column: str, extra: dict[str, Any]
) -> None:
    path = write(tmp_path, GOOD + bad)
    rejects = tmp_path / "rejects.csv"
    result = load_events(path, mapping(**extra), policy="lenient", now=NOW, rejects_path=rejects)
    report = result.report
    assert (report.n_input, report.n_accepted, report.n_rejected) == (
        len(GOOD) + len(bad),
        len(GOOD),
        len(bad),
    )
    assert report.rejects_by_reason == {rule: len(bad)}
    assert len(result.events) == len(GOOD)
    written = pd.read_csv(rejects, dtype=str, keep_default_na=False)
    assert written["reject_reason"].tolist() == [rule] * len(bad)
    assert written["input_row"].astype(int).tolist() == list(range(3, 3 + len(bad)))
    assert {"cid", "ts", "tp", "ch", "val"} <= set(written.columns)


@pytest.mark.parametrize(("rule", "bad", "column", "extra"), CASES, ids=[c[0] for c in CASES])
def test_rule_strict_raises_naming_column_rule_count_rows(
    tmp_path: Path, rule: str, bad: list[str], column: str, extra: dict[str, Any]
) -> None:
    path = write(tmp_path, GOOD + bad)
    with pytest.raises(ValidationFailedError) as info:
        load_events(path, mapping(**extra), policy="strict", now=NOW)
    msg = str(info.value)
    rows = list(range(3, 3 + len(bad)))
    n = len(bad)
    assert f"column '{column}" in msg
    assert f"rule {rule}: {n} row{'s' if n > 1 else ''}, first rows {rows}" in msg
    assert "0-based data rows of the input file" in msg
    assert info.value.details["rejects_by_reason"] == {rule: n}


def test_clean_log_passes_strict(tmp_path: Path) -> None:
    result = load_events(write(tmp_path, GOOD), mapping(), policy="strict", now=NOW)
    ev = result.events
    assert ev["customer_id"].tolist() == ["a", "a", "b"]
    assert ev["stage"].tolist() == ["consideration", "conversion", "consideration"]
    assert ev["value"].isna().tolist() == [True, False, True]
    assert result.report.events_by_channel == {"web": 2, "email": 1}
    assert result.report.ok


def test_missing_required_column_raises_in_both_policies(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("cid,when,tp\na,2024-01-01,visit\n")
    for policy in ("strict", "lenient"):
        with pytest.raises(MissingColumnError) as info:
            load_events(
                path,
                mapping(
                    columns={"customer_id": "cid", "timestamp": "ts", "touchpoint": "tp"},
                    stage_map={},
                ),
                policy=policy,
            )
        assert "'ts'" in str(info.value) and "columns.timestamp" in str(info.value)
        assert "cid, when, tp" in str(info.value)


def test_missing_optional_mapped_column_is_named(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("cid,ts,tp\na,2024-01-01,visit\n")
    with pytest.raises(MissingColumnError, match=r"columns\.channel"):
        load_events(path, mapping(), policy="lenient")


def test_first_failing_rule_wins_and_strict_lists_every_rule(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [*GOOD, ",garbage,visit,web,", "c,garbage,visit,web,x", "c,2024-01-05,visit,web,x"],
    )
    with pytest.raises(ValidationFailedError) as info:
        load_events(path, mapping(), policy="strict", now=NOW)
    msg = str(info.value)
    assert "rule missing_customer_id: 1 row, first rows [3]" in msg
    assert "rule unparseable_timestamp: 1 row, first rows [4]" in msg
    assert "rule invalid_value: 1 row, first rows [5]" in msg
    assert "(source 'ts')" in msg


def test_unmapped_touchpoints_are_listed_not_dropped(tmp_path: Path) -> None:
    path = write(tmp_path, [*GOOD, "c,2024-01-04,chat,web,", "c,2024-01-05,chat,web,"])
    result = load_events(path, mapping(), policy="strict", now=NOW)
    assert result.report.unmapped_touchpoints == {"chat": 2}
    assert result.report.events_by_stage["(none)"] == 2
    assert len(result.events) == 5


def test_duplicates_keep_option_and_channel_counts_in_key(tmp_path: Path) -> None:
    rows = [*GOOD, "a,2024-01-02 10:00,buy,web,9.5", "a,2024-01-02 10:00,buy,app,9.5"]
    kept = load_events(write(tmp_path, rows), mapping(duplicates="keep"), now=NOW)
    assert kept.report.n_accepted == 5
    lenient = load_events(write(tmp_path, rows), mapping(), policy="lenient", now=NOW)
    assert lenient.report.rejects_by_reason == {"duplicate_event": 1}


def test_naive_timestamps_use_the_mapping_timezone(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text(
        "cid,ts,tp\na,2024-01-15 12:00:00,visit\na,2024-07-15 12:00:00,visit\n"
        "a,2024-07-15T12:00:00+00:00,buy\n"
    )
    m = mapping(
        columns={"customer_id": "cid", "timestamp": "ts", "touchpoint": "tp"},
        stage_map={},
        timezone="Europe/Rome",
    )
    ev = load_events(path, m).events
    assert [str(t) for t in ev["timestamp"]] == [
        "2024-01-15 11:00:00+00:00",
        "2024-07-15 10:00:00+00:00",
        "2024-07-15 12:00:00+00:00",
    ]
    assert str(ev["timestamp"].dtype) == "datetime64[ns, UTC]"


def test_dst_ambiguous_local_time_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    # 02:30 happens twice in Melbourne on 2012-04-01 (end of daylight saving).
    path.write_text("cid,ts,tp\na,2012-04-01 02:30:00,visit\na,2012-10-07 02:30:00,visit\n")
    m = mapping(
        columns={"customer_id": "cid", "timestamp": "ts", "touchpoint": "tp"},
        stage_map={},
        timezone="Australia/Melbourne",
    )
    ev = load_events(path, m).events
    assert [str(t) for t in ev["timestamp"]] == [
        "2012-03-31 15:30:00+00:00",  # first occurrence, +11
        "2012-10-06 16:00:00+00:00",  # skipped hour, shifted forward to 03:00 +11
    ]


def test_timestamp_format_option(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("cid,ts,tp\na,19970101,buy\na,97/01/01,buy\n")
    m = mapping(
        columns={"customer_id": "cid", "timestamp": "ts", "touchpoint": "tp"},
        stage_map={},
        timestamp_format="%Y%m%d",
    )
    result = load_events(path, m, policy="lenient")
    assert result.report.rejects_by_reason == {"unparseable_timestamp": 1}
    assert str(result.events["timestamp"].iloc[0]) == "1997-01-01 00:00:00+00:00"


def test_report_text_and_now_none(tmp_path: Path) -> None:
    path = write(tmp_path, [*GOOD, "c,2030-01-01,visit,web,"])
    result = load_events(path, mapping())  # no `now`: the future rule is off
    text = result.report.to_text()
    assert "rows: 4 input = 4 accepted + 0 rejected" in text
    assert "customers: 3" in text and "events by stage:" in text
