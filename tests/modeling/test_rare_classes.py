"""Rare classes of a next task grouped into one, ``other`` (journeyml.modeling.rare): decided
from the training rows only, served as a proper distribution, worded plainly, and answered the
same by the API and by batch scoring.

The hand-built log (checkable by eye): 120 cases ``start → X → done``, one a day. X is ``a``
or ``b`` (most cases), or one of the rare ``r1``, ``r2``, ``r3``; the first 80 cases train,
the next 20 validate, the last 20 test.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from journeyml.errors import ConfigError
from journeyml.events import to_canonical
from journeyml.features import FeatureBuilder, FeatureSpec, build_features
from journeyml.modeling import (
    PROBABILITY_FLOOR,
    ClassGrouping,
    ModelBundle,
    TaskResult,
    train_task,
)
from journeyml.scoring import Predictor, ScoreRequest
from journeyml.serving import PredictRequest, batch_results, handle_predict, requests_from_frame
from journeyml.tasks import (
    RARE_CLASS,
    EventMatch,
    TaskConfig,
    TemporalSplit,
    at_each_event,
    make_labels,
    task_from_block,
)

TASK = TaskConfig("next_step", "next", target="touchpoint", end_of_case=True, cutoffs="prefix")
#: the middle activity of each case: by case number
RARE = {5: "r1", 17: "r1", 33: "r2", 47: "r2", 61: "r3", 95: "r1", 103: "r3", 110: "r2"}


def _middle(i: int) -> str:
    return RARE.get(i, "a" if i % 3 else "b")


def _log(middle: Any = _middle) -> pd.DataFrame:
    rows = []
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    for i in range(120):
        t = t0 + pd.Timedelta(days=i)
        for k, tp in enumerate(("start", middle(i), "done")):
            rows.append(
                {
                    "customer_id": f"c{i:03d}",
                    "timestamp": t + pd.Timedelta(hours=k + (i % 5)),
                    "touchpoint": tp,
                    "channel": "web" if i % 2 else "phone",
                }
            )
    return pd.DataFrame(rows)


def _train(
    events: pd.DataFrame, task: TaskConfig = TASK
) -> tuple[TaskResult, FeatureSpec, pd.DataFrame]:
    spec = FeatureBuilder(windows_days=(7,)).fit(events).spec_
    cut = at_each_event(events)
    labels = make_labels(events, cut, task, observation_end=pd.Timestamp("2025-01-01", tz="UTC"))
    X = build_features(events, cut, spec).to_numpy()
    case = cut["customer_id"].str[1:].astype(int).to_numpy()
    t = pd.Timestamp("2024-03-21", tz="UTC")
    split = TemporalSplit(case < 80, (case >= 80) & (case < 100), case >= 100, t, t, "case_start")
    res = train_task(
        task,
        spec,
        X,
        labels,
        split,
        num_boost_round=30,
        lgb_params={"min_data_in_leaf": 5, "num_leaves": 4},
    )
    return res, spec, cut


@pytest.fixture(scope="module")
def trained() -> tuple[TaskResult, FeatureSpec, pd.DataFrame]:
    return _train(_log(), TaskConfig.from_dict({**TASK.to_dict(), "min_class_examples": 3}))


def test_the_rare_activities_of_the_training_cases_are_grouped(
    trained: tuple[TaskResult, FeatureSpec, pd.DataFrame], tmp_path: Path
) -> None:
    res, _, _ = trained
    # training cases 0-79 hold r1 twice, r2 twice, r3 once: all below 3 examples
    assert res.bundle.classes == ("a", "b", "done", "end", "none", "other")
    assert res.bundle.info["rare_classes"] == {
        "min_examples": 3,
        "members": ["r1", "r2", "r3"],
        "shares": [0.4, 0.4, 0.2],
    }
    # the test metrics and predictions cover every training class, the rare ones spread out
    assert res.classes == ("a", "b", "done", "end", "none", "r1", "r2", "r3")
    assert res.test_predictions is not None
    assert res.test_predictions.shape[1] == 8
    np.testing.assert_allclose(res.test_predictions.sum(axis=1), 1.0, atol=1e-12)
    assert set(res.baselines) == {"prior", "logistic", "markov"}
    # a saved model knows its group (the champion is re-scored from it)
    again = ModelBundle.load(res.bundle.save(tmp_path / "m"))
    assert ClassGrouping.from_info(again.classes, again.info).all_classes == res.classes


def test_the_grouping_is_decided_from_the_training_rows_only(
    trained: tuple[TaskResult, FeatureSpec, pd.DataFrame],
) -> None:
    """Validation and test cases (80-119) made all r3: r3 is frequent in the log, yet rare
    (once) in the training cases, so it is grouped exactly as before."""
    task = TaskConfig.from_dict({**TASK.to_dict(), "min_class_examples": 3})
    changed, _, _ = _train(_log(lambda i: "r3" if i >= 80 else _middle(i)), task)
    assert changed.bundle.classes == trained[0].bundle.classes
    assert changed.bundle.info["rare_classes"] == trained[0].bundle.info["rare_classes"]


def test_served_distributions_sum_to_one_above_the_floor(
    trained: tuple[TaskResult, FeatureSpec, pd.DataFrame],
) -> None:
    res, spec, cut = trained
    X = build_features(_log(), cut, spec).to_numpy()
    p = res.bundle.predict_proba(X)
    assert p.shape == (len(cut), 6)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
    assert p.min() >= PROBABILITY_FLOOR * (1 - 1e-9)
    # after "start" the rare group is a real possibility (8 of 120 cases)
    after_start = (cut["n_events"] == 1).to_numpy()
    assert p[after_start, -1].mean() > 0.02


def test_api_and_batch_give_identical_answers_for_the_grouped_class(
    trained: tuple[TaskResult, FeatureSpec, pd.DataFrame],
) -> None:
    res, _, _ = trained
    predictor = Predictor({"next_step": res.bundle})
    events = _log()
    starts = to_canonical(events.groupby("customer_id").head(1))  # one event each
    cut = pd.DataFrame(
        {
            "customer_id": starts["customer_id"],
            "as_of": starts["timestamp"] + pd.Timedelta(minutes=30),
        }
    )
    req = ScoreRequest(("next_step",), explain_classes=(RARE_CLASS,))
    batch = batch_results(predictor, starts, cut, req, request_id="r")
    now = datetime(2030, 1, 1, tzinfo=UTC)
    api = []
    for body in requests_from_frame(starts, cut, attributes=[]):
        body["explain_classes"] = [RARE_CLASS]
        req_api = PredictRequest.model_validate(body)
        api.append(handle_predict(predictor, req_api, request_id="r", now=now))
    assert len(batch) == len(api) == 120
    for b, a in zip(batch, api, strict=True):
        assert b == a, b["customer_id"]
        answer = b["next_step"]
        assert answer["distribution"][RARE_CLASS] > 100 * PROBABILITY_FLOOR
        assert abs(sum(answer["distribution"].values()) - 1.0) < 1e-12
        causes = answer["root_causes_by_class"][RARE_CLASS]
        assert causes and all("a rare touchpoint" in c["sentence"] for c in causes)


def test_the_default_groups_only_when_there_are_many_classes() -> None:
    few = ["a"] * 100 + ["b"] * 50 + ["c"] * 2 + ["d"]  # a Helpdesk: rare classes kept
    assert ClassGrouping.decide(few, default_min=40).classes == ("a", "b", "c", "d", "none")
    many = [f"x{i:02d}" for i in range(40) for _ in range(i + 1)]  # 40 classes, 1 … 40 rows
    g = ClassGrouping.decide(many, default_min=40)
    assert g.min_examples == 40 and len(g.members) == 39 and g.classes == ("none", "x39", "other")
    assert ClassGrouping.decide(many, min_examples=0).classes == tuple(sorted({*many, "none"}))
    # a real label spelled "other" joins the group rather than colliding with it
    odd = ClassGrouping.decide(["other"] * 100 + ["a"] * 100 + ["r", "s"], min_examples=3)
    assert odd.classes == ("a", "none", "other") and odd.members == ("other", "r", "s")


def test_min_class_examples_is_a_next_task_option() -> None:
    t = task_from_block("step", {"kind": "next", "target": "touchpoint", "min_class_examples": 5})
    assert t.min_class_examples == 5 and TaskConfig.from_dict(t.to_dict()) == t
    assert t.phrase(RARE_CLASS) == "the chance that the next touchpoint is a rare touchpoint"
    with pytest.raises(ConfigError, match="min_class_examples"):
        task_from_block("step", {"kind": "next", "min_class_examples": -1})
    with pytest.raises(ConfigError, match="min_class_examples"):
        TaskConfig(
            "buys", "occurs", horizon_days=7, outcome=EventMatch(("x",)), min_class_examples=5
        )


def test_the_report_names_the_grouped_class_in_words() -> None:
    from journeyml.report.build import ReportData
    from journeyml.report.render import _example

    data = ReportData(
        as_of=pd.Timestamp("2024-06-01", tz="UTC"),
        n_customers=1,
        n_events=3,
        versions={"next_step": "1"},
        metrics={},
        definitions={"next_step": TASK},
    )
    answer = {"distribution": {"a": 0.3, RARE_CLASS: 0.7}, "predicted": RARE_CLASS}
    (block,) = _example({"next_step": {**answer, "probability": 0.7}}, data)["tasks"]
    assert block["headline"] == "most likely next: a rare touchpoint (70 %)"
