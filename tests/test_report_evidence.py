"""The report's held-out evidence, pooled over earlier dates (journeyml.report.evidence): dates
whose outcomes were observed before the report's moment of prediction and that the model was
not fitted to; point in time (nothing at or after that moment changes it); customers
resampled across dates."""

from __future__ import annotations

import numpy as np
import pandas as pd

from journeyml.events import CUSTOMER_ID, TIMESTAMP, TOUCHPOINT, to_canonical
from journeyml.features import encode_frame
from journeyml.report.build import report_cutoffs, report_horizon
from journeyml.report.evidence import PooledEvidence, pooled_evidence


def _evidence(predictor, events: pd.DataFrame, as_of: pd.Timestamp) -> PooledEvidence:  # type: ignore[no-untyped-def]
    ev = to_canonical(events)
    got = pooled_evidence(predictor, "churn", ev, encode_frame(ev, predictor.spec), as_of)
    assert got is not None
    return got


def _as_of(predictor, events: pd.DataFrame) -> pd.Timestamp:  # type: ignore[no-untyped-def]
    cut = report_cutoffs(events, report_horizon(predictor, events))
    return pd.Timestamp(cut["as_of"].iloc[0])


def test_evidence_reads_held_out_dates_observed_before_as_of(predictor, small_simulation) -> None:  # type: ignore[no-untyped-def]
    ev = small_simulation.events
    as_of = _as_of(predictor, ev)
    bundle = predictor.bundles["churn"]
    got = _evidence(predictor, ev, as_of)
    horizon = pd.Timedelta(days=bundle.task.horizon_days)
    held_out_from = pd.Timestamp(bundle.info["held_out_from"])
    assert len(got.dates) >= 2  # more than the one moment of prediction
    assert all(held_out_from <= d and d + horizon <= as_of for d in got.dates)
    assert got.dates[0] == as_of - horizon  # the most recent date whose outcomes are all in
    m = got.held_out.matrix
    assert m.outcome is not None and m.groups is not None
    assert len(m.outcome) == len(got.held_out.exposed) == len(m.probability)
    # one customer at several dates: the groups repeat customers, and say how many there are
    assert got.customers == len(np.unique(m.groups)) < len(m.groups)
    assert got.outcomes == int(m.outcome.sum()) > 0
    assert "over" in got.sentence() and f"{got.customers:,} customers" in got.sentence()


def test_no_event_at_or_after_as_of_changes_the_evidence(predictor, small_simulation) -> None:  # type: ignore[no-untyped-def]
    """Cancellations, purchases and support calls for every customer at the moment of
    prediction and after it leave the evidence exactly as it was; the same events a day before
    it change the outcomes (so the comparison can fail)."""
    ev = small_simulation.events
    as_of = _as_of(predictor, ev)
    before = _evidence(predictor, ev, as_of)
    ids = ev[CUSTOMER_ID].unique()

    def plus(at: pd.Timestamp) -> pd.DataFrame:
        extra = pd.concat(
            [
                pd.DataFrame({CUSTOMER_ID: ids, TIMESTAMP: at, TOUCHPOINT: tp})
                for tp in ("cancellation", "purchase", "support_call")
            ]
        )
        return pd.concat([ev, extra], ignore_index=True)

    after = _evidence(
        predictor,
        pd.concat([plus(as_of), plus(as_of + pd.Timedelta(days=3))[len(ev) :]]),
        as_of,
    )
    a, b = before.held_out.matrix, after.held_out.matrix
    assert before.dates == after.dates
    np.testing.assert_array_equal(a.groups, b.groups)
    np.testing.assert_array_equal(a.outcome, b.outcome)
    np.testing.assert_array_equal(a.probability, b.probability)
    pd.testing.assert_frame_equal(a.points, b.points)
    pd.testing.assert_frame_equal(before.held_out.exposed, after.held_out.exposed)

    earlier = _evidence(predictor, plus(as_of - pd.Timedelta(days=1)), as_of)
    assert earlier.outcomes != before.outcomes
