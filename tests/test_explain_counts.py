"""Counts in root-cause sentences read as English: none as absence ("never moved from
consideration to awareness", "no events"), one in the singular ("once", "1 event"), two as
"twice" — never "0 times consideration → awareness" or "1 times"."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from journeyml.explain import root_causes
from journeyml.features import FeatureBuilder, FeatureSpec, build_features


@pytest.fixture(scope="module")
def case() -> tuple[FeatureSpec, np.ndarray]:
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    steps = [
        ("ad", "awareness"),
        ("visit", "consideration"),
        ("ad", "awareness"),
        ("visit", "consideration"),
        ("buy", "conversion"),
    ]
    rows = [
        (f"c{c}", t0 + pd.Timedelta(days=3 * d + c, hours=1), tp, st)
        for c in range(10)
        for d, (tp, st) in enumerate(steps)
    ]
    ev = pd.DataFrame(rows, columns=["customer_id", "timestamp", "touchpoint", "stage"])
    spec = FeatureBuilder(windows_days=(7, 30), top_n_transitions=20).fit(ev).spec_
    cut = pd.DataFrame({"customer_id": ["c0"], "as_of": [pd.Timestamp("2024-03-01", tz="UTC")]})
    return spec, build_features(ev, cut, spec).to_numpy()[0]


def sentence(case: tuple[FeatureSpec, np.ndarray], feature: str, value: float) -> str:
    """The top cause's sentence when ``feature`` (worth ``value``) carries the whole score."""
    spec, x = case
    i = spec.names.index(feature)
    x = x.copy()
    x[i] = value
    psi = np.zeros(len(spec.features))
    psi[i] = 0.05
    (cause,) = root_causes(spec, x, psi, task="conversion", top_k=1)
    return cause.sentence.removesuffix(" raised the chance of converting by 5 points")


@pytest.mark.parametrize(
    ("feature", "words"),
    [
        (
            "transition_stage_consideration__awareness_all",
            [
                "Never moved from consideration to awareness",
                "Moved from consideration to awareness once",
                "Moved from consideration to awareness twice",
                "Moved from consideration to awareness 3 times",
            ],
        ),
        (
            "stage_regressions_all",
            ["Never fell back", "Fell back once", "Fell back twice", "Fell back 3 times"],
        ),
        (
            "channel_switches_all",
            ["No channel switches", "1 channel switch", "2 channel switches", "3 channel switches"],
        ),
        (
            "count_events_7d",
            [
                "No events in the last 7 days",
                "1 event in the last 7 days",
                "2 events in the last 7 days",
                "3 events in the last 7 days",
            ],
        ),
    ],
)
def test_zero_one_two_and_more(
    case: tuple[FeatureSpec, np.ndarray], feature: str, words: list[str]
) -> None:
    assert [sentence(case, feature, n) for n in (0, 1, 2, 3)] == words


@pytest.mark.parametrize(
    ("days", "words"),
    [(0.4, "Less than a day in current stage"), (1.2, "1 day in current stage"),
     (10.5, "11 days in current stage")],
)  # fmt: skip
def test_days_read_as_whole_days_elapsed_as_in_days_ago(
    case: tuple[FeatureSpec, np.ndarray], days: float, words: str
) -> None:
    """The same 10.5 days read "11 days" in every sentence, as in "first contact 11 days ago"
    (it read "10.5 days in current stage" beside "first contact 10 days ago")."""
    assert sentence(case, "days_in_current_stage", days) == words


def test_codes_missing_values_and_the_rare_bucket_read_as_words() -> None:
    """Process logs name activities by codes ("8"): "1 '8' event in the last 7 days", never
    "1 8 in the last 7 days"; a value a short journey does not have reads as such, never as
    a feature name ("Last_touchpoint_2 = nan", "Value_mean_7d: none")."""
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    ev = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "b"],
            "timestamp": [t0 + pd.Timedelta(days=d) for d in (0, 1, 2, 0, 20)],
            "touchpoint": ["13", "8", "13", "8", "13"],
        }
    )
    spec = FeatureBuilder(windows_days=(7,)).fit(ev).spec_
    cut = pd.DataFrame({"customer_id": ["a", "b"], "as_of": [t0 + pd.Timedelta(days=3)] * 2})
    X = build_features(ev, cut, spec).to_numpy()
    said = []
    cases = (
        (X[0], "last_touchpoint_2"),
        (X[1], "count_touchpoint_8_7d"),
        (X[1], "days_since_touchpoint_13"),
        (X[1], "last_touchpoint_2"),
        (X[1], "count_touchpoint_other_7d"),
        (X[1], "value_mean_7d"),
        (X[1], "furthest_stage_rank"),
    )
    for x, feature in cases:
        psi = np.zeros(len(spec.features))
        psi[spec.names.index(feature)] = 0.05
        (cause,) = root_causes(spec, x, psi, task="conversion", top_k=1)
        said.append(cause.sentence.split(" raised")[0])
    assert said == [
        "1 '8' event in the last 7 days",
        "1 '8' event in the last 7 days",
        "No '13' event so far",
        "Fewer than 2 events so far",
        "No other touchpoint so far",
        "No valued events in the last 7 days",
        "Furthest stage rank: not known yet",
    ]
