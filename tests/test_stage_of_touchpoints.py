"""Process logs have no stages of their own: their stages are their touchpoints
(``stage_mode: activity``). A journey sent without stages is encoded with them, as in training,
and gets no ``missing_stage`` warning; a funnel log's journey with no stage at all still does."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from journeyml.events.mapping import map_events, parse_mapping
from journeyml.features import FeatureBuilder, FeatureSpec, build_features, encode_records
from journeyml.serving import api, batch

T0 = pd.Timestamp("2024-01-01", tz="UTC")
FLOW = ["open", "assign", "wait", "assign", "resolve", "close"]


def raw_log() -> pd.DataFrame:
    rows = [
        (f"case{c}", (T0 + pd.Timedelta(days=c, hours=h)).isoformat(), tp)
        for c in range(30)
        for h, tp in enumerate(FLOW[: 3 + c % 4])
    ]
    return pd.DataFrame(rows, columns=["case", "time", "activity"])


COLUMNS = {"customer_id": "case", "timestamp": "time", "touchpoint": "activity"}


@pytest.fixture(scope="module")
def process() -> tuple[FeatureSpec, pd.DataFrame]:
    m = parse_mapping({"columns": COLUMNS, "stage_mode": "activity"})
    ev = map_events(raw_log(), m).events
    assert (ev["stage"] == ev["touchpoint"]).all()
    return FeatureBuilder(windows_days=(7,)).fit(ev).spec_, ev


@pytest.fixture(scope="module")
def funnel() -> tuple[FeatureSpec, pd.DataFrame]:
    stages = {"open": "awareness", "assign": "consideration", "resolve": "conversion"}
    m = parse_mapping({"columns": COLUMNS, "stage_map": stages})
    ev = map_events(raw_log(), m).events
    return FeatureBuilder(windows_days=(7,)).fit(ev).spec_, ev


def cutoffs(ev: pd.DataFrame) -> pd.DataFrame:
    ids = ev["customer_id"].drop_duplicates().to_numpy()
    return pd.DataFrame({"customer_id": ids, "as_of": T0 + pd.Timedelta(days=40)})


def records(ev: pd.DataFrame, cid: str, *, stages: bool) -> list[dict[str, Any]]:
    one = ev[ev["customer_id"] == cid]
    return [
        {
            "timestamp": r.timestamp,
            "touchpoint": r.touchpoint,
            "channel": r.channel,
            "stage": r.stage if stages and isinstance(r.stage, str) else None,
            "value": None,
        }
        for r in one.itertuples()
    ]


def like_predictor(spec: FeatureSpec) -> Any:
    return SimpleNamespace(
        spec=spec, touchpoint_set=set(spec.touchpoints), channel_set=set(spec.channels)
    )


def test_a_process_log_without_stages_gets_the_features_it_was_trained_on(
    process: tuple[FeatureSpec, pd.DataFrame],
) -> None:
    spec, ev = process
    assert spec.stages_are_touchpoints
    cut = cutoffs(ev)
    trained = build_features(ev, cut, spec).to_numpy()
    served = build_features(ev.assign(stage=None), cut, spec).to_numpy()
    np.testing.assert_array_equal(np.nan_to_num(served, nan=-9), np.nan_to_num(trained, nan=-9))
    given = encode_records("case5", records(ev, "case5", stages=True), spec)
    left_out = encode_records("case5", records(ev, "case5", stages=False), spec)
    np.testing.assert_array_equal(left_out.stage, given.stage)
    assert (given.stage >= 0).all()


def test_a_process_log_without_stages_gets_no_missing_stage_warning(
    process: tuple[FeatureSpec, pd.DataFrame],
) -> None:
    spec, ev = process
    pred = like_predictor(spec)
    codes = [w["code"] for w in api._event_warnings(pred, records(ev, "case5", stages=False))]
    assert "missing_stage" not in codes
    per_row = batch._event_warnings(pred, ev.assign(stage=None), cutoffs(ev))
    assert not any(w["code"] == "missing_stage" for row in per_row for w in row)


def test_a_funnel_log_warns_only_when_no_event_has_a_stage(
    funnel: tuple[FeatureSpec, pd.DataFrame],
) -> None:
    spec, ev = funnel
    assert spec.stages and not spec.stages_are_touchpoints
    pred = like_predictor(spec)
    partial = records(ev, "case5", stages=True)  # 'wait' and 'close' have no stage
    assert any(r["stage"] is None for r in partial) and any(r["stage"] for r in partial)
    assert "missing_stage" not in [w["code"] for w in api._event_warnings(pred, partial)]
    none = records(ev, "case5", stages=False)
    assert "missing_stage" in [w["code"] for w in api._event_warnings(pred, none)]
    per_row = batch._event_warnings(pred, ev.assign(stage=None), cutoffs(ev))
    assert all(any(w["code"] == "missing_stage" for w in row) for row in per_row)
    # a funnel journey's missing stages stay missing: nothing is invented from touchpoints
    left_out = encode_records("case5", none, spec)
    assert (left_out.stage == -1).all()
