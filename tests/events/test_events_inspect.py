"""``journeyml init``'s guesses on tiny hand-built logs: roles, evidence, reading, timezone,
journeys or cases, touchpoint roles, and the proposals written from them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from journeyml.errors import DataError
from journeyml.events import inspect_frame, inspect_log, load_events, mapping_yaml
from journeyml.events.inspect import ROLES, Inspection
from journeyml.events.lexicon import stage_of, touchpoint_role
from journeyml.events.mapping import parse_mapping
from journeyml.lifecycle import PipelineConfig
from journeyml.lifecycle.proposal import pipeline_yaml


def roles(found: Inspection) -> dict[str, str]:
    return {g.column: g.role for g in found.guesses}


def journeys(n: int = 30, **extra: list[str]) -> pd.DataFrame:
    """n customers, 4 events each over 60 days: visits, a purchase for some, one cancels."""
    rows = []
    for i in range(n):
        for k, tp in enumerate(
            ["ad_impression", "site_visit", "purchase" if i % 3 else "site_visit", "login"]
        ):
            day = 1 + (i * 2 + k * 5) % 60
            rows.append((f"user{i:03d}", f"2024-03-{1 + day % 28:02d} {10 + k}:00:00", tp))
    frame = pd.DataFrame(rows, columns=["user_id", "event_time", "event_type"])
    for key, values in extra.items():
        frame[key] = (values * len(frame))[: len(frame)]
    return frame


def test_roles_come_from_names_types_and_cardinalities() -> None:
    raw = journeys(channel=["web", "app", "email"], revenue=["", "12.5", "", "7.25"])
    raw["segment"] = raw["user_id"].str[-1].map(lambda d: "a" if d in "01234" else "b")
    raw["source_system"] = "crm"
    raw["event_copy"] = raw["event_type"]
    raw["variant"] = "v" + raw["user_id"].str[-2:]
    found = inspect_frame(raw)
    assert {c: r for c, r in roles(found).items() if r in ROLES} == {
        "user_id": "customer_id",
        "event_time": "timestamp",
        "event_type": "touchpoint",
        "channel": "channel",
        "revenue": "value",
    }
    assert roles(found)["segment"] == "customer attribute"
    ignored = {g.column: g.evidence for g in found.guesses if g.role == "ignored"}
    assert "same value on every row" in ignored["source_system"]
    assert "same values as event_type" in ignored["event_copy"]
    assert "leak" in ignored["variant"]
    evidence = {g.column: g.evidence for g in found.guesses}
    assert (
        "name 'user_id' (user)" in evidence["user_id"] and "distinct values" in evidence["user_id"]
    )
    assert "100% of values parse as times" in evidence["event_time"]


def test_without_telling_names_the_values_decide(tmp_path: Path) -> None:
    """A headerless whitespace file of numbers (CDNOW's sample): id, YYYYMMDD date, amount."""
    lines = []
    for i in range(40):
        for k in range(3):
            day = f"1997{1 + k:02d}{10 + i % 18:02d}"
            lines.append(f" {i:05d} {i + 1:04d} {day}  {1 + k}  {10 + i + k / 4:.2f}")
    path = tmp_path / "sample.txt"
    path.write_text("\n".join(lines) + "\n")
    found = inspect_log(path)
    assert found.mapping.reader.header is False and found.mapping.reader.separator == "whitespace"
    cols = found.mapping.columns
    assert (cols.customer_id.column, cols.timestamp.column, cols.value.column) == (
        "column_1",
        "column_3",
        "column_5",
    )
    assert cols.touchpoint.constant == "purchase" and found.mapping.timestamp_format == "%Y%m%d"
    assert found.mapping.customer_attributes["column_2"].column == "column_2"
    assert found.shape.first_is_conversion == 1.0


def test_xes_lifecycle_transitions_are_joined_to_activities_and_cases_are_found() -> None:
    rows = []
    for case in range(20):
        for k, (act, tr) in enumerate(
            [("Accepted", "In Progress"), ("Accepted", "Wait"), ("Completed", "Resolved")]
        ):
            rows.append((f"1-{case}", act, tr, f"2010-04-{1 + case % 20:02d}T{9 + k}:00:00+02:00"))
    raw = pd.DataFrame(
        rows,
        columns=["case:concept:name", "concept:name", "lifecycle:transition", "time:timestamp"],
    )
    found = inspect_frame(raw)
    assert found.mapping.columns.touchpoint.join == ["concept:name", "lifecycle:transition"]
    assert found.shape.kind == "cases" and "case" in found.shape.kind_evidence
    assert found.mapping.resolved_stage_mode == "activity"
    assert found.outcomes("conversion") == ["Completed|Resolved"]
    assert "+02:00" in found.timezone_note and "exactly" in found.timezone_note


def test_many_short_cases_without_a_case_column_name() -> None:
    rows = []
    for i in range(50):  # each id lives 1-2 days within a 200-day log, 4 activities
        for k, act in enumerate(["open", "assign", "fix", "close"]):
            rows.append(
                (
                    f"x{i}",
                    str(pd.Timestamp("2024-01-01") + pd.Timedelta(days=i * 4, hours=k * 9)),
                    act,
                )
            )
    found = inspect_frame(pd.DataFrame(rows, columns=["ref", "when", "step"]))
    assert found.shape.kind == "cases" and "many short cases" in found.shape.kind_evidence
    assert inspect_frame(journeys()).shape.kind == "journeys"


@pytest.mark.parametrize(
    ("times", "says"),
    [
        (["2024-01-01 10:00:00", "2024-01-02 11:00:00"], "naive"),
        (["2024-01-01T10:00:00+01:00", "2024-07-02T11:00:00+02:00"], "daylight saving"),
        (["2024-01-01", "2024-01-02"], "midnight UTC"),
    ],
)
def test_the_timezone_question_is_answered(times: list[str], says: str) -> None:
    raw = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "b"],
            "timestamp": times * 2,
            "touchpoint": ["visit", "buy", "visit", "visit"],
        }
    )
    assert says in inspect_frame(raw).timezone_note


def test_typed_datetimes_with_a_zone() -> None:
    raw = journeys()
    raw["event_time"] = pd.to_datetime(raw["event_time"]).dt.tz_localize("UTC")
    assert "typed datetimes in zone UTC" in inspect_frame(raw).timezone_note


@pytest.mark.parametrize(
    ("touchpoint", "role"),
    [
        ("purchase", "conversion"), ("Order placed", "conversion"), ("signup", "conversion"),
        ("sign_up", "conversion"), ("subscribe", "conversion"), ("Resolve ticket", "conversion"),
        ("loan approved", "conversion"), ("payment_error", None), ("cart_abandonment", None),
        ("failed order", None), ("cancellation", "cancellation"), ("unsubscribe", "cancellation"),
        ("churned", "cancellation"), ("close account", "cancellation"), ("opt out", "cancellation"),
        ("newsletter", "company_sent"), ("email_sent", "company_sent"),
        ("ad_impression", "company_sent"), ("push notification", "company_sent"),
        ("campaign", "company_sent"), ("email_open", None), ("ad_click", None),
        ("site_visit", None), ("cart_add", None), ("Closed", None),
        ("account_opened", "conversion"), ("Open account", "conversion"),
        ("create_account", "conversion"), ("standing_order_setup", None),
        ("recurring order created", None), ("account_closed", "cancellation"),
    ],
)  # fmt: skip
def test_touchpoint_roles_by_their_words(touchpoint: str, role: str | None) -> None:
    found = touchpoint_role(touchpoint)
    assert (found[0] if found else None) == role


def test_stages_guessed_from_touchpoint_words() -> None:
    assert stage_of("review_written")[0] == "advocacy"  # type: ignore[index]
    assert stage_of("review_read")[0] == "consideration"  # type: ignore[index]
    assert stage_of("cart_add")[0] == "consideration"  # type: ignore[index]  # 'ad' ≠ 'add'
    assert stage_of("brand_survey") is None


@pytest.mark.parametrize(
    ("frame", "says"),
    [
        (pd.DataFrame({"a": ["x", "y"], "b": ["1", "2"]}), "expected a column of timestamps"),
        (
            pd.DataFrame({"id": ["a", "b", "c"], "t": ["2024-01-01", "2024-01-02", "2024-01-03"]}),
            "expected a column naming whose journey",
        ),
        (pd.DataFrame({"only": ["2024-01-01"]}), "at least two columns"),
    ],
)
def test_what_is_not_an_event_log_is_said(frame: pd.DataFrame, says: str) -> None:
    with pytest.raises(DataError, match=says):
        inspect_frame(frame)


def _round_trip(found: Inspection, tmp_path: Path, raw: pd.DataFrame) -> PipelineConfig:
    text = mapping_yaml(found, name="t")
    path = tmp_path / "m.yaml"
    path.write_text(text)
    log = tmp_path / "log.csv"
    raw.to_csv(log, index=False)
    loaded = load_events(log, path, policy="strict")
    assert loaded.report.n_rejected == 0
    back = parse_mapping(yaml.safe_load(text))
    assert back.model_dump(exclude={"name", "description", "reader"}) == found.mapping.model_dump(
        exclude={"name", "description", "reader"}
    )
    config = yaml.safe_load(pipeline_yaml(found, name="t", data_path="log.csv", mapping="m.yaml"))
    return PipelineConfig.model_validate(config)


def test_the_proposals_load_as_written(tmp_path: Path) -> None:
    raw = journeys(channel=["web", "app"])
    raw.loc[len(raw)] = raw.iloc[0]  # a repeated event: duplicates keep, said why
    found = inspect_frame(raw)
    assert found.shape.duplicates == 1 and found.mapping.duplicates == "keep"
    assert found.outcomes("company_sent") == ["ad_impression"]
    text = mapping_yaml(found, name="t")
    assert "\ncompany_sent: [ad_impression]  # sent by the company" in text
    config = _round_trip(found, tmp_path, raw)
    assert config.tasks["conversion"].eligibility == {"not_yet": ["purchase"]}
    assert config.tasks["churn"].kind == "lapses" and config.tasks["churn"].churn is None
    assert config.snapshots.mode == "every_n_days"


def test_repeat_buyers_are_asked_again_and_cases_get_prefixes(tmp_path: Path) -> None:
    rows = [
        (f"c{i}", f"2024-{1 + k * 3:02d}-{1 + i % 27:02d}", "purchase", f"{5 + i}.5")
        for i in range(30)
        for k in range(3)
    ]
    raw = pd.DataFrame(rows, columns=["customer", "date", "action", "amount"])
    config = _round_trip(inspect_frame(raw), tmp_path, raw)
    assert config.tasks["conversion"].eligibility == "any"  # everyone starts with a purchase
    assert "next_stage" not in config.tasks  # one touchpoint: nothing to predict
    cases = pd.DataFrame(
        [
            (f"case{c}", f"2024-01-{1 + c % 28:02d} {9 + k}:00", a)
            for c in range(25)
            for k, a in enumerate(["open", "work", "resolved"])
        ],
        columns=["CaseID", "ts", "activity"],
    )
    config = _round_trip(inspect_frame(cases), tmp_path, cases)
    assert config.snapshots.mode == "at_each_event" and list(config.tasks) == ["next_stage"]
    assert config.tasks["next_stage"].end_of_case is True
