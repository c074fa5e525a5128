"""Identical to offline: 10,000 simulated journeys scored through the service code path
(JSON-like bodies → PredictRequest → handle_predict, one journey at a time) and through
offline batch scoring (Predictor.score_frame) give the same probabilities and root causes."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pytest

from journeyml.serving import PredictRequest, handle_predict, requests_from_frame

pytestmark = pytest.mark.integration

N = 10_000


def cutoffs_for(sim: Any, n: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ev = sim.events
    start, end = ev["timestamp"].min(), ev["timestamp"].max()
    ids = rng.choice(ev["customer_id"].unique(), n)
    frac = rng.uniform(0.05, 1.0, n)
    as_of = start + (end - start) * frac
    return pd.DataFrame({"customer_id": ids, "as_of": pd.to_datetime(as_of, utc=True)})


def same(online: dict[str, Any], offline: dict[str, Any]) -> list[str]:
    """Differences between a service answer and an offline one (empty when identical)."""
    bad = []
    for t in ("conversion", "churn"):
        if abs(online[t]["probability"] - offline[t]["probability"]) > 1e-9:
            bad.append(f"{t} probability")
        if online[t]["root_causes"] != offline[t]["root_causes"]:
            bad.append(f"{t} root causes")
    a, b = online["next_stage"], offline["next_stage"]
    if a["predicted"] != b["predicted"] or a["root_causes"] != b["root_causes"]:
        bad.append("next_stage")
    if any(abs(a["distribution"][k] - b["distribution"][k]) > 1e-9 for k in b["distribution"]):
        bad.append("next_stage distribution")
    if online["n_events_used"] != offline["n_events_used"]:
        bad.append("n_events_used")
    return bad


def test_service_path_equals_offline_scoring(predictor: Any, small_simulation: Any) -> None:
    cut = cutoffs_for(small_simulation, N)
    bodies = requests_from_frame(
        small_simulation.events, cut, attributes=list(predictor.spec.params.attributes)
    )
    offline = predictor.score_frame(small_simulation.events, cut)
    now = datetime(2030, 1, 1, tzinfo=UTC)
    t0 = time.perf_counter()
    online = [handle_predict(predictor, PredictRequest.model_validate(b), now=now) for b in bodies]
    per_journey_s = time.perf_counter() - t0
    diffs = {
        i: d for i, (a, b) in enumerate(zip(online, offline, strict=True)) if (d := same(a, b))
    }
    assert not diffs, f"{len(diffs)} journeys differ, e.g. {list(diffs.items())[:3]}"
    # a journey with no history before as_of is part of the sample (prior-based answers)
    assert any(o["n_events_used"] == 0 for o in online)
    print(f"\n{N} journeys through handle_predict: {per_journey_s:.1f}s")
