"""Every feature family on three tiny journeys, checked by eye (see conftest.tiny_events)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from journeyml.features import FeatureSpec, build_features, journey_features

DAY_MIN = 1440.0


def cut(*rows: tuple[str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "as_of": pd.to_datetime([r[1] for r in rows], utc=True, format="ISO8601"),
        }
    )


@pytest.fixture(scope="module")
def X(tiny: pd.DataFrame, tiny_spec: FeatureSpec) -> pd.DataFrame:
    c = cut(
        ("a", "2024-01-06"),
        ("b", "2024-01-06"),
        ("c", "2024-01-06"),
        ("zz", "2024-01-06"),  # unknown customer
        ("a", "2024-01-01 00:10"),  # only the first event (the 00:10 one is not before)
    )
    return build_features(tiny, c, tiny_spec).set_axis(["a", "b", "c", "zz", "a_early"])


def code(spec: FeatureSpec, vocab: str, value: str) -> float:
    return float(spec.vocabulary(vocab).index(value))


def test_vocabularies(tiny_spec: FeatureSpec) -> None:
    # ranked by frequency, then name; "other" last
    assert tiny_spec.vocabulary("touchpoint") == ("visit", "ad", "purchase", "other")
    assert tiny_spec.vocabulary("channel") == ("web", "display", "app", "other")
    assert tiny_spec.vocabulary("stage") == ("awareness", "consideration", "conversion", "other")
    assert tiny_spec.vocabulary("attribute:segment") == ("x", "y", "z", "other")


def test_counts_by_window(X: pd.DataFrame) -> None:
    a = X.loc["a"]
    assert (a["count_events_1d"], a["count_events_3d"], a["count_events_all"]) == (1, 1, 3)
    assert a["count_touchpoint_visit_all"] == 1 and a["count_touchpoint_visit_3d"] == 0
    assert a["count_touchpoint_purchase_1d"] == 1
    assert a["count_channel_web_all"] == 2 and a["count_channel_display_all"] == 1
    assert a["count_stage_awareness_all"] == 1 and a["count_stage_conversion_1d"] == 1
    assert a["count_touchpoint_other_all"] == 0
    b = X.loc["b"]
    # b: visit 01-02 00:00 (outside 3d = [01-03, 01-06)), ad 01-03 12:00 (inside)
    assert (b["count_events_1d"], b["count_events_3d"], b["count_events_all"]) == (0, 1, 2)
    assert b["count_touchpoint_ad_3d"] == 1 and b["count_touchpoint_visit_3d"] == 0
    assert X.loc["c", "count_channel_app_3d"] == 1
    assert X.loc["a_early", "count_events_all"] == 1


def test_recency_and_tenure(X: pd.DataFrame) -> None:
    a = X.loc["a"]
    assert a["days_since_last_event"] == 1.0
    assert a["tenure_days"] == 5.0
    assert a["days_since_touchpoint_ad"] == 5.0
    assert a["days_since_touchpoint_visit"] == pytest.approx(5 - 10 / DAY_MIN)
    assert a["days_since_stage_conversion"] == 1.0
    assert math.isnan(a["days_since_touchpoint_other"])
    b = X.loc["b"]
    assert b["days_since_last_event"] == 2.5 and b["tenure_days"] == 4.0
    assert math.isnan(b["days_since_touchpoint_purchase"])
    assert X.loc["a_early", "days_since_last_event"] == pytest.approx(10 / DAY_MIN)


def test_sessions(X: pd.DataFrame) -> None:
    a = X.loc["a"]  # sessions: {00:00, 00:10} and {01-05}
    assert (a["session_count_1d"], a["session_count_3d"], a["session_count_all"]) == (1, 1, 2)
    assert a["session_mean_events"] == 1.5
    assert a["session_mean_minutes"] == 5.0  # (10 + 0) / 2
    assert a["active_days"] == 2 and a["events_per_active_day"] == 1.5
    b = X.loc["b"]
    assert (b["session_count_3d"], b["session_count_all"]) == (1, 2)
    assert b["session_mean_minutes"] == 0.0
    c = X.loc["c"]
    assert c["session_count_all"] == 1 and c["active_days"] == 1


def test_session_gap_is_a_parameter(tiny: pd.DataFrame) -> None:
    from tiny_journeys import tiny_builder

    b = tiny_builder()
    b.session_gap_minutes = 5  # the 10-minute gap now splits a's first session
    spec = b.fit(tiny).spec_
    x = build_features(tiny, cut(("a", "2024-01-06")), spec).iloc[0]
    assert x["session_count_all"] == 3 and x["session_mean_minutes"] == 0.0


def test_sequence(X: pd.DataFrame, tiny_spec: FeatureSpec) -> None:
    a = X.loc["a"]
    assert a["last_touchpoint_1"] == code(tiny_spec, "touchpoint", "purchase")
    assert a["last_touchpoint_2"] == code(tiny_spec, "touchpoint", "visit")
    assert a["last_stage_1"] == code(tiny_spec, "stage", "conversion")
    assert a["last_channel_1"] == code(tiny_spec, "channel", "web")
    assert a["current_stage"] == code(tiny_spec, "stage", "conversion")
    assert a["furthest_stage_rank"] == 2  # awareness 0, consideration 1, conversion 2
    assert a["days_in_current_stage"] == 1.0
    assert a["stage_regressions_all"] == 0
    assert a["channel_switches_all"] == 1  # display → web, web → web
    b = X.loc["b"]  # consideration → awareness: a regression
    assert b["current_stage"] == code(tiny_spec, "stage", "awareness")
    assert b["furthest_stage_rank"] == 1
    assert b["stage_regressions_all"] == 1
    assert b["days_in_current_stage"] == 2.5
    assert b["channel_switches_all"] == 1
    c = X.loc["c"]
    assert c["last_touchpoint_1"] == code(tiny_spec, "touchpoint", "visit")
    assert math.isnan(c["last_touchpoint_2"]) and math.isnan(c["last_stage_2"])
    assert c["days_in_current_stage"] == 2.0
    early = X.loc["a_early"]
    assert early["furthest_stage_rank"] == 0 and early["channel_switches_all"] == 0


def test_transitions(X: pd.DataFrame, tiny_spec: FeatureSpec) -> None:
    assert set(tiny_spec.transitions) == {
        ("touchpoint:ad", "touchpoint:visit"),
        ("touchpoint:visit", "touchpoint:purchase"),
        ("touchpoint:visit", "touchpoint:ad"),
        ("stage:awareness", "stage:consideration"),
        ("stage:consideration", "stage:conversion"),
        ("stage:consideration", "stage:awareness"),
    }
    a, b = X.loc["a"], X.loc["b"]
    assert a["transition_touchpoint_ad__visit_all"] == 1
    assert a["transition_touchpoint_visit__purchase_all"] == 1
    assert a["transition_touchpoint_visit__ad_all"] == 0
    assert b["transition_touchpoint_visit__ad_all"] == 1
    assert b["transition_stage_consideration__awareness_all"] == 1
    assert a["transition_stage_consideration__conversion_all"] == 1
    assert X.loc["a_early", "transition_touchpoint_ad__visit_all"] == 0


def test_top_n_transitions_is_a_cap(tiny: pd.DataFrame) -> None:
    from tiny_journeys import tiny_builder

    b = tiny_builder()
    b.top_n_transitions = 1
    spec = b.fit(tiny).spec_
    assert [t[0].split(":")[0] for t in spec.transitions] == ["touchpoint", "stage"]


def test_values_and_trends(X: pd.DataFrame) -> None:
    a = X.loc["a"]
    assert a["value_sum_all"] == 100 and a["value_mean_all"] == 100
    assert a["value_sum_1d"] == 100 and a["value_mean_3d"] == 100
    # 2-day trend: last 2 days [01-04, 01-06) hold 1 event, the 2 before none
    assert a["events_trend_2d_vs_prev_2d"] == 2.0
    assert a["value_trend_2d_vs_prev_2d"] == 101.0
    b = X.loc["b"]
    assert b["value_sum_all"] == 5.5 and b["value_mean_all"] == 5.5
    assert b["value_sum_3d"] == 0 and math.isnan(b["value_mean_3d"])
    # b: last 2 days [01-04, 01-06): 0 events; [01-02, 01-04): 2 events (visit has value 5.5)
    assert b["events_trend_2d_vs_prev_2d"] == pytest.approx(1 / 3)
    assert b["value_trend_2d_vs_prev_2d"] == pytest.approx(1 / 6.5)


def test_attributes_latest_known_before(X: pd.DataFrame, tiny_spec: FeatureSpec) -> None:
    assert X.loc["a", "attr_segment"] == code(tiny_spec, "attribute:segment", "y")
    assert X.loc["a_early", "attr_segment"] == code(tiny_spec, "attribute:segment", "x")
    assert math.isnan(X.loc["b", "attr_segment"])  # never known
    assert X.loc["c", "attr_segment"] == code(tiny_spec, "attribute:segment", "z")


def test_attribute_missing_keeps_the_last_known(tiny: pd.DataFrame, tiny_spec: FeatureSpec) -> None:
    x = build_features(tiny, cut(("a", "2024-01-02")), tiny_spec).iloc[0]
    # a's 00:10 visit has no segment: the latest *known* value is still x
    assert x["attr_segment"] == code(tiny_spec, "attribute:segment", "x")


def test_numeric_attribute(tiny: pd.DataFrame) -> None:
    from tiny_journeys import tiny_builder

    ev = tiny.assign(score=[1.0, np.nan, 3.0, 2.0, np.nan, np.nan])
    b = tiny_builder()
    b.attributes = ("score",)
    spec = b.fit(ev).spec_
    x = build_features(ev, cut(("a", "2024-01-02"), ("a", "2024-01-06"), ("c", "2024-01-06")), spec)
    assert x["attr_score"].tolist()[:2] == [1.0, 3.0] and math.isnan(x["attr_score"].iloc[2])


def test_unknown_customer_is_the_empty_history_row(X: pd.DataFrame, tiny_spec: FeatureSpec) -> None:
    z = X.loc["zz"]
    empty = journey_features("zz", [], "2024-01-06", tiny_spec)[0]
    np.testing.assert_array_equal(z.to_numpy(), empty)
    for name in ("count_events_all", "session_count_all", "value_sum_all", "active_days"):
        assert z[name] == 0
    for name in (
        "days_since_last_event",
        "tenure_days",
        "last_touchpoint_1",
        "current_stage",
        "furthest_stage_rank",
        "value_mean_all",
        "attr_segment",
        "session_mean_events",
    ):
        assert math.isnan(z[name]), name
    assert z["events_trend_2d_vs_prev_2d"] == 1.0


def test_unseen_categories_map_to_other(tiny: pd.DataFrame, tiny_spec: FeatureSpec) -> None:
    ev = pd.concat(
        [
            tiny,
            pd.DataFrame(
                {
                    "customer_id": ["c"],
                    "timestamp": [pd.Timestamp("2024-01-05", tz="UTC")],
                    "touchpoint": ["brand_new"],
                    "channel": ["fax"],
                    "stage": ["mystery"],
                    "segment": ["w"],
                }
            ),
        ]
    )
    x = build_features(ev, cut(("c", "2024-01-06")), tiny_spec).iloc[0]
    assert x["count_touchpoint_other_all"] == 1 and x["count_channel_other_all"] == 1
    assert x["last_touchpoint_1"] == code(tiny_spec, "touchpoint", "other")
    assert x["attr_segment"] == code(tiny_spec, "attribute:segment", "other")


def test_prefix_mode_caps_history(tiny: pd.DataFrame, tiny_spec: FeatureSpec) -> None:
    c = cut(("a", "2024-01-06"), ("a", "2024-01-06"))
    c["n_events"] = [1, 2]
    x = build_features(tiny, c, tiny_spec)
    assert x["count_events_all"].tolist() == [1, 2]
    assert x["last_touchpoint_1"].tolist() == [
        code(tiny_spec, "touchpoint", "ad"),
        code(tiny_spec, "touchpoint", "visit"),
    ]


def test_journey_path_equals_batch(tiny: pd.DataFrame, tiny_spec: FeatureSpec) -> None:
    recs = tiny[tiny.customer_id == "a"].drop(columns="customer_id").to_dict("records")
    single = journey_features("a", recs[::-1], "2024-01-06", tiny_spec)[0]
    batch = build_features(tiny, cut(("a", "2024-01-06")), tiny_spec).to_numpy()[0]
    np.testing.assert_array_equal(single, batch)
