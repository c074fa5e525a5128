"""Issue 2, end to end: train into a temporary MLflow store, load every model back by its
``@champion`` alias, and answer ``POST /predict`` from the real BentoML server."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import numpy as np
import pytest

from journeyml.lifecycle import registry
from journeyml.tasks import TASKS

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("bento")]

#: the project of conftest.SMALL_PIPELINE (its name test-small, with "-" read as "_")
PROJECT = "test_small"
EXAMPLE = Path(__file__).resolve().parents[2] / "service" / "example_request.json"


def test_each_task_loads_back_by_champion_alias(trained_store) -> None:  # type: ignore[no-untyped-def]
    import mlflow

    uri, result = trained_store
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    for task in TASKS:
        assert registry.champion_version(PROJECT, task) == result.versions[task]
        bundle = registry.load_bundle(PROJECT, task)
        assert bundle.task.name == task
        assert bundle.info["registry_version"] == result.versions[task]
        assert bundle.spec.fingerprint == result.spec.fingerprint
        # the loaded model predicts exactly what the trained one does
        X = np.zeros((3, len(bundle.spec.names)))
        np.testing.assert_allclose(
            bundle.predict_proba(X), result.results[task].bundle.predict_proba(X)
        )


def test_predict_over_http(bento_server) -> None:  # type: ignore[no-untyped-def]
    body = json.loads(EXAMPLE.read_text())
    r = httpx.post(f"{bento_server.url}/predict", json=body, timeout=30)
    assert r.status_code == 200, r.text
    out = r.json()
    for task in ("conversion", "churn"):
        assert 0.0 <= out[task]["probability"] <= 1.0
        causes = out[task]["root_causes"]
        assert 1 <= len(causes) <= 3
        assert all(c["sentence"] and c["cause"] for c in causes)
    dist = out["next_stage"]["distribution"]
    assert sum(dist.values()) == pytest.approx(1.0, abs=1e-9)
    assert all(0.0 <= v <= 1.0 for v in dist.values())
    assert out["next_stage"]["predicted"] in dist
    assert set(out["model_versions"]) == set(TASKS)
    assert out["n_events_used"] == len(body["events"])


def test_bad_input_is_a_4xx_naming_the_field(bento_server) -> None:  # type: ignore[no-untyped-def]
    r = httpx.post(
        f"{bento_server.url}/predict",
        timeout=30,
        json={"customer_id": "x", "events": [{"timestamp": "nope", "touchpoint": "a"}]},
    )
    assert r.status_code == 400
    assert "timestamp" in json.dumps(r.json())
    r = httpx.post(
        f"{bento_server.url}/predict",
        timeout=30,
        json={
            "customer_id": "x",
            "events": [],
            "as_of": "2024-03-01T00:00:00Z",
            "tasks": ["bogus"],
        },
    )
    assert r.status_code == 422
    assert r.json()["field"] == "tasks"
