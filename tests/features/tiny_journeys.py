"""Tiny hand-built journeys whose every feature value can be checked by eye (a module of its
own so that tests import it by a unique name, not as "conftest")."""

from __future__ import annotations

import numpy as np
import pandas as pd

from journeyml.features import FeatureBuilder


def tiny_events() -> pd.DataFrame:
    """Three customers with 3 / 2 / 1 events.

    a: ad (display, awareness) 01-01 00:00 seg x · visit (web, consideration) 01-01 00:10 ·
       purchase (web, conversion, value 100) 01-05 00:00 seg y
    b: visit (web, consideration, value 5.5) 01-02 00:00 · ad (display, awareness) 01-03 12:00
    c: visit (app, consideration) 01-04 00:00 seg z
    """
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "b", "c"],
            "timestamp": pd.to_datetime(
                [
                    "2024-01-01 00:00",
                    "2024-01-01 00:10",
                    "2024-01-05 00:00",
                    "2024-01-02 00:00",
                    "2024-01-03 12:00",
                    "2024-01-04 00:00",
                ],
                utc=True,
            ),
            "touchpoint": ["ad", "visit", "purchase", "visit", "ad", "visit"],
            "channel": ["display", "web", "web", "web", "display", "app"],
            "stage": [
                "awareness",
                "consideration",
                "conversion",
                "consideration",
                "awareness",
                "consideration",
            ],
            "value": [np.nan, np.nan, 100.0, 5.5, np.nan, np.nan],
            "segment": ["x", None, "y", None, None, "z"],
        }
    )


def tiny_builder() -> FeatureBuilder:
    return FeatureBuilder(
        windows_days=(1, 3),
        last_k=2,
        session_gap_minutes=30,
        top_n_transitions=5,
        trend_days=2,
        attributes=("segment",),
    )
