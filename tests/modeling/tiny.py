"""A feature spec fitted on three events: the columns of synthetic model tests (the values are
drawn by each test, not built from events)."""

from __future__ import annotations

import pandas as pd

from journeyml.features import FeatureBuilder, FeatureSpec


def tiny_spec() -> FeatureSpec:
    ev = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"], utc=True),
            "touchpoint": ["visit", "purchase", "visit"],
            "channel": "web",
            "stage": "s",
        }
    )
    return FeatureBuilder(windows_days=(7,)).fit(ev).spec_
