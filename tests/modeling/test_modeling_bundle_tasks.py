"""Bundles save the task as JSON and load it back exactly; bundles saved before task kinds
(task name conversion / churn / next_stage with the old fields) still load, onto the kinds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from journeyml.modeling import ModelBundle
from journeyml.tasks import TaskConfig

pytestmark = pytest.mark.integration  # uses the session's trained models

#: what bundle.json held under "task" before task kinds (TaskConfig.__dict__)
OLD_TASKS = {
    "conversion": {"horizon_days": 14.0, "eligibility": "not_converted"},
    "churn": {"horizon_days": 30.0, "eligibility": "active"},
    "next_stage": {"horizon_days": 14.0, "eligibility": "not_converted"},
}


@pytest.mark.parametrize("name", list(OLD_TASKS))
def test_bundles_round_trip_and_old_bundles_load(
    trained_store: Any, tmp_path: Path, name: str
) -> None:
    _, result = trained_store
    bundle = result.results[name].bundle
    saved = bundle.save(tmp_path / "new")
    again = ModelBundle.load(saved)
    assert again.task == bundle.task and isinstance(again.task, TaskConfig)
    meta = json.loads((saved / "bundle.json").read_text())
    old = {
        "name": name,
        "conversion_touchpoints": ["purchase"],
        "churn_touchpoints": ["cancellation"],
        "inactivity": True,
        "target": "stage",
        "end_of_case": False,
        **OLD_TASKS[name],
    }
    meta["task"] = old
    legacy = tmp_path / "old"
    legacy.mkdir()
    (legacy / "bundle.json").write_text(json.dumps(meta))
    (legacy / "model.txt").write_text((saved / "model.txt").read_text())
    loaded = ModelBundle.load(legacy)
    assert (
        loaded.task.kind == {"conversion": "occurs", "churn": "lapses", "next_stage": "next"}[name]
    )
    assert loaded.kind == bundle.kind
    # the same model, the same task as the conftest trained it (legacy config blocks)
    assert loaded.task == bundle.task
    X = np.zeros((2, len(bundle.spec.features)))
    assert np.array_equal(loaded.predict_proba(X), bundle.predict_proba(X))
