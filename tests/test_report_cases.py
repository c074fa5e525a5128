"""The report on a process log (a case outcome, split by case start): its held-out evidence is
read on the cases the model was never trained on, not on the cases in progress at the report's
moment of prediction (which may be training cases); its reliability diagram lists every group's
count."""

from __future__ import annotations

import logging
import os
import re
from typing import Any

import numpy as np
import pandas as pd
import pytest

from journeyml.events import CUSTOMER_ID, TIMESTAMP, to_canonical
from journeyml.features import encode_frame
from journeyml.report.evidence import pooled_evidence

CASES_PIPELINE: dict[str, Any] = {
    "name": "cases",
    "data": {"simulate": {"customers": 400, "seed": 5, "days": 120}},
    "features": {"windows_days": [7, 30]},
    "snapshots": {"mode": "at_each_event", "max_prefix": 25},
    "tasks": {
        "reaches_purchase": {
            "kind": "case_outcome",
            "outcome": ["purchase"],
            "cut_before_outcome": True,
            "description": "the chance of a first purchase",
        },
    },
    "num_boost_round": 25,
    "early_stopping_rounds": 5,
    "lightgbm": {"num_threads": 1},
    "seed": 0,
}


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A case-outcome model on 400 simulated journeys read as cases, and those events."""
    from journeyml.lifecycle import PipelineConfig, run_training
    from journeyml.scoring import Predictor
    from journeyml.sim import simulate

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    uri = f"sqlite:///{tmp_path_factory.mktemp('cases') / 'mlflow.db'}"
    run_training(PipelineConfig.model_validate(CASES_PIPELINE), tracking_uri=uri)
    predictor = Predictor.from_registry(uri, alias="challenger")
    return predictor, simulate(400, seed=5, days=120).events


def test_case_evidence_reads_only_cases_the_model_never_trained_on(cases) -> None:  # type: ignore[no-untyped-def]
    predictor, events = cases
    bundle = predictor.bundles["reaches_purchase"]
    boundary = pd.Timestamp(bundle.info["held_out_cases_from"])
    ev = to_canonical(events)
    got = pooled_evidence(
        predictor, "reaches_purchase", ev, encode_frame(ev, predictor.spec), ev[TIMESTAMP].max()
    )
    assert got is not None and got.cases_after == boundary
    m = got.held_out.matrix
    assert m.outcome is not None and m.groups is not None
    # every row is a prefix of a case that started after the boundary: validation and test
    # cases only (the training cases all started at or before it)
    first = ev.groupby(CUSTOMER_ID)[TIMESTAMP].min()
    assert (first.reindex(pd.Index(m.groups)) > boundary).all()
    trained = set(first.index[first <= boundary].astype(str))
    assert not trained & set(m.groups) and len(trained) > 0
    # several prefixes per case, resampled together; outcomes of both kinds
    assert got.customers == len(np.unique(m.groups)) < len(m.groups) == got.rows
    assert 0 < got.outcomes < got.rows
    assert len(got.held_out.exposed) == got.rows
    assert f"{got.customers:,} cases the model was not trained on" in got.sentence()


def test_report_on_cases_says_where_its_evidence_comes_from(cases, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from journeyml.progress import Progress
    from journeyml.report import render_report

    predictor, events = cases
    heard: list = []  # type: ignore[type-arg]
    html = render_report(
        predictor, events, tmp_path / "r.html", progress=Progress(heard.append)
    ).read_text()
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert re.search(r"Held-out evidence from [\d,]+ cases the model was not trained on", text)
    assert "after the moment of prediction" not in text
    # the evidence stage knows its total once its rows are chosen (progress with an ETA)
    rows = int(re.search(r"; ([\d,]+) prefixes", text).group(1).replace(",", ""))  # type: ignore[union-attr]
    evidence = [u for u in heard if u.stage == "evidence reaches_purchase"]
    assert evidence[-1].finished and evidence[-1].total == evidence[-1].done == rows
    # the reliability table: one row per group, the counts adding up to the eligible cases
    eligible = int(re.search(r"of ([\d,]+) eligible customers", text).group(1).replace(",", ""))  # type: ignore[union-attr]
    part = html.split("Are the probabilities right?")[1].split("</table>")[0]
    counts = [
        int(c.replace(",", ""))
        for c in re.findall(r'<td class="n">([\d,]+)</td><td class="n">[\d.]+ %', part)
    ]
    assert len(counts) >= 2 and sum(counts) == eligible
