"""Tiny hand-built journeys whose every feature value can be checked by eye."""

from __future__ import annotations

import pandas as pd
import pytest
from tiny_journeys import tiny_builder, tiny_events

from journeyml.features import FeatureSpec

T = pd.Timestamp


@pytest.fixture(scope="module")
def tiny() -> pd.DataFrame:
    return tiny_events()


@pytest.fixture(scope="module")
def tiny_spec(tiny: pd.DataFrame) -> FeatureSpec:
    return tiny_builder().fit(tiny).spec_
