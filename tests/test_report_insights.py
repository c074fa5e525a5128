"""Population insights per task, on hand-built numbers and logs: an effect whose interval covers
zero is never a pain point, pain points are ranked within their task and the harmful way for
it, exposure windows come from the task, the journey metrics read the tasks' own definitions
(company-sent touchpoints are not activity; a log where every journey starts with a purchase
has no conversion to measure; value is the mapped column), segments come from any declared
attribute, and the report shows bin counts and the tasks it cannot read."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from journeyml.explain import insights
from journeyml.explain.journey_map import task_metrics
from journeyml.tasks import Eligibility, EventMatch, TaskConfig

CONV = TaskConfig("signs", "occurs", horizon_days=14, outcome=EventMatch(("contract",)))
LAPSE = TaskConfig(
    "churn",
    "lapses",
    horizon_days=30,
    churn=EventMatch(("cancel",)),
    company_sent=("newsletter",),
    eligibility=Eligibility(has_done=EventMatch(("contract",)), active_within_days=30),
)


def _effects(rows: list[tuple[str, float, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "touchpoint": tp,
                "label": tp,
                "exposed": 100,
                "share_exposed": 0.1,
                "effect": e,
                "ci_low": lo,
                "ci_high": hi,
                "measurable": insights.measurable(lo, hi),
            }
            for tp, e, lo, hi in rows
        ]
    )


def test_pain_points_are_measurable_harm_ranked_within_the_task() -> None:
    eff = _effects(
        [
            ("webinar", 4.0, 3.0, 5.0),  # raises
            ("ticket", -6.0, -7.5, -4.0),  # lowers, the most
            ("ad", -9.0, -20.0, 2.0),  # large but covers zero: no measurable effect
            ("docs", -1.0, -1.5, -0.5),
        ]
    )
    lowering = insights.pain_points(eff, -1)  # a conversion: lowering it is the harm
    assert list(lowering["touchpoint"]) == ["ticket", "docs"]
    assert lowering["harm"].tolist() == [6.0, 1.0]
    assert lowering[["ci_low", "ci_high"]].iloc[0].tolist() == [4.0, 7.5]
    raising = insights.pain_points(eff, 1)  # a lapse: raising it is the harm
    assert list(raising["touchpoint"]) == ["webinar"]
    assert list(insights.no_measurable_effect(eff)["touchpoint"]) == ["ad"]
    assert insights.harm_sign(CONV) == -1 and insights.harm_sign(LAPSE) == 1
    waits = TaskConfig("waits", "case_outcome", outcome=EventMatch(("Wait",)))
    assert insights.harm_sign(waits) is None  # the report lists both ways


def test_effects_with_intervals_from_a_cause_matrix() -> None:
    rng = np.random.default_rng(0)
    n = 400
    exposed = pd.DataFrame({"strong": np.arange(n) < 200, "noise": np.arange(n) % 2 == 0})
    pts = pd.DataFrame(
        {
            "touchpoint:strong": np.where(exposed["strong"], 5 + rng.normal(0, 1, n), 0),
            "touchpoint:noise": np.where(exposed["noise"], rng.normal(0, 1, n), 0),
        }
    )
    m = insights.CauseMatrix("churn", pts, np.zeros(n), np.zeros(n))
    eff = insights.touchpoint_effects(m, exposed).set_index("touchpoint")
    assert eff.loc["strong", "measurable"] and eff.loc["strong", "ci_low"] > 4.5
    assert not eff.loc["noise", "measurable"]
    assert eff.loc["strong", "exposed"] == 200
    moments = insights.moments_of_truth(m, eff.reset_index(), pd.DataFrame())
    assert list(moments["moment"]) == ["strong"]


def test_a_touchpoint_the_model_uses_without_evidence_is_no_measurable_effect() -> None:
    """Two touchpoints with the same sure contribution (+10 points among the exposed): one
    whose exposed customers do lapse more (evidence), one whose do not (the model leans on it,
    the outcomes do not follow). Only the first is measurable, and only once the outcomes are
    known."""
    rng = np.random.default_rng(1)
    n = 6000
    u = rng.random(n)
    real, marker = u < 0.3, u > 0.7
    pts = pd.DataFrame(
        {
            "touchpoint:real": np.where(real, 10 + rng.normal(0, 0.3, n), 0.0),
            "touchpoint:marker": np.where(marker, 10 + rng.normal(0, 0.3, n), 0.0),
        }
    )
    p = 0.10 + pts.sum(axis=1).to_numpy() / 100
    y = (rng.random(n) < np.where(real, 0.20, 0.10)).astype(float)  # the marker does nothing
    exposed = pd.DataFrame({"real": real, "marker": marker})
    m = insights.CauseMatrix("churn", pts, p, np.full(n, 0.1))
    blind = insights.touchpoint_effects(m, exposed).set_index("touchpoint")
    assert blind["measurable"].all()  # the intervals alone: both look sure
    assert blind["evidence"].isna().all()
    eff = insights.touchpoint_effects(replace(m, outcome=y), exposed).set_index("touchpoint")
    assert eff.loc["real", "measurable"] and eff.loc["real", "evidence_low"] > 0
    assert not eff.loc["marker", "measurable"] and eff.loc["marker", "evidence_low"] <= 0
    assert list(insights.pain_points(eff.reset_index(), 1)["touchpoint"]) == ["real"]
    assert list(insights.no_measurable_effect(eff.reset_index())["touchpoint"]) == ["marker"]


def test_evidence_comes_from_the_held_out_rows_when_given() -> None:
    """The effects are read on the report's rows (no outcomes known there); the evidence on
    other rows (earlier dates, outcomes known): there the real touchpoint's exposed rows lapse
    more and the marker's do not. A touchpoint the held-out rows never went through has no
    evidence, whatever its effect."""
    rng = np.random.default_rng(3)

    def rows(n: int) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
        u = rng.random(n)
        real, marker, rare = u < 0.3, u > 0.7, (u > 0.4) & (u < 0.45)
        pts = pd.DataFrame(
            {
                "touchpoint:real": np.where(real, 10 + rng.normal(0, 0.3, n), 0.0),
                "touchpoint:marker": np.where(marker, 10 + rng.normal(0, 0.3, n), 0.0),
                "touchpoint:rare": np.where(rare, 10 + rng.normal(0, 0.3, n), 0.0),
            }
        )
        exposed = pd.DataFrame({"real": real, "marker": marker, "rare": rare})
        return pts, 0.10 + pts.sum(axis=1).to_numpy() / 100, exposed

    pts, p, exposed = rows(3000)
    m = insights.CauseMatrix("churn", pts, p, np.full(3000, 0.1))
    h_pts, h_p, h_exposed = rows(6000)
    y = (rng.random(6000) < np.where(h_exposed["real"], 0.20, 0.10)).astype(float)
    customers = np.arange(6000) % 2000  # each customer at three dates
    held = insights.HeldOut(
        insights.CauseMatrix("churn", h_pts, h_p, np.full(6000, 0.1), y, customers),
        h_exposed.drop(columns="rare"),
    )
    eff = insights.touchpoint_effects(m, exposed, held_out=held).set_index("touchpoint")
    assert eff.loc["real", "measurable"] and eff.loc["real", "evidence_low"] > 0
    assert not eff.loc["marker", "measurable"]
    assert not eff.loc["rare", "measurable"] and np.isnan(eff.loc["rare", "evidence_low"])
    assert list(insights.pain_points(eff.reset_index(), 1)["touchpoint"]) == ["real"]


def test_rows_of_one_customer_are_resampled_together() -> None:
    """Ten customers seen 100 times each are ten customers' worth of evidence, not 1,000."""
    rng = np.random.default_rng(2)
    per_customer = rng.normal(1.0, 2.0, 10)
    values = np.repeat(per_customer, 100) + rng.normal(0, 0.01, 1000)
    groups = np.repeat(np.arange(10), 100)
    rows = insights._bootstrap(values, np.random.default_rng(0))
    customers = insights._bootstrap(values, np.random.default_rng(0), groups)
    assert customers[1] - customers[0] > 5 * (rows[1] - rows[0])


def test_exposure_window_comes_from_the_task_and_the_data() -> None:
    assert insights.exposure_window(CONV, 365.0) == 14.0
    assert insights.exposure_window(LAPSE, 365.0) == 30.0
    assert insights.exposure_window(LAPSE, 12.0) == 12.0  # no more history than that
    waits = TaskConfig("waits", "case_outcome", outcome=EventMatch(("Wait",)))
    assert insights.exposure_window(waits, 365.0) is None  # the whole case so far
    t = pd.to_datetime(["2024-01-01", "2024-01-20", "2024-01-25", "2024-01-31"], utc=True)
    ev = pd.DataFrame(
        {"customer_id": ["a", "a", "b", "b"], "timestamp": t, "touchpoint": ["x", "y", "x", "z"]}
    )
    as_of = pd.Timestamp("2024-01-30", tz="UTC")
    got = insights.exposure_from_events(ev, np.array(["b", "a", "c"]), as_of, 14.0)
    assert got.to_dict("list") == {"x": [True, False, False], "y": [False, True, False]}
    whole = insights.exposure_from_events(ev, np.array(["a"]), as_of, None)
    assert whole.to_dict("list") == {"x": [True], "y": [True]}


def _log(rows: list[tuple[str, str, str, float | None]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "timestamp": pd.to_datetime([r[1] for r in rows], utc=True),
            "touchpoint": [r[2] for r in rows],
            "value": [r[3] for r in rows],
        }
    )


def test_metrics_read_the_tasks_definitions() -> None:
    """Retention through the churn task: newsletters (company-sent) keep nobody active; value
    from the mapped column, whatever touchpoint carries it."""
    ev = _log(
        [
            ("a", "2024-01-01", "trial", None),
            ("a", "2024-01-05", "contract", None),
            ("a", "2024-03-20", "newsletter", None),  # only company-sent lately: lapsed
            ("b", "2024-01-01", "trial", None),
            ("b", "2024-01-10", "contract", None),
            ("b", "2024-03-25", "invoice_paid", 900.0),  # its own activity: retained
            ("c", "2024-01-02", "trial", None),
            ("c", "2024-03-30", "webinar", 100.0),
        ]
    )
    m, notes = task_metrics(ev, [CONV, LAPSE])
    assert m["conversion_rate"] == pytest.approx(2 / 3)
    assert m["retention"] == 0.5
    assert "newsletter" in notes["retention"]
    assert m["value_per_customer"] == pytest.approx(1000 / 3)
    assert "cart_abandonment_rate" not in m  # no cart touchpoint in this log


def test_a_log_where_every_journey_starts_converted() -> None:
    """CDNOW: the first event of every journey is a purchase — no conversion rate to show."""
    rows = [(c, f"2024-01-0{k + 1}", "purchase", 10.0) for k, c in enumerate("abcd")]
    rows.append(("a", "2024-02-01", "purchase", 5.0))
    buy = TaskConfig("buys", "occurs", horizon_days=60, outcome=EventMatch(("purchase",)))
    m, notes = task_metrics(_log(rows), [buy])
    assert np.isnan(m["conversion_rate"])
    assert "start with purchase" in notes["conversion_rate"]
    assert m["repeat_purchase_rate"] == 0.25


def test_segments_from_any_declared_attribute() -> None:
    from journeyml.report.build import _customer_attributes

    ev = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c"],
            "timestamp": pd.to_datetime(
                ["2024-01-01", "2024-02-01", "2024-01-01", "2024-01-01"], utc=True
            ),
            "company_size": ["small", "large", "mid", None],
        }
    )
    got = _customer_attributes(
        ev, np.array(["a", "b", "c"]), pd.Timestamp("2024-03-01", tz="UTC"), ("company_size",)
    )
    seg = got["company_size"]  # the latest value before as_of; c has none
    assert seg.iloc[:2].tolist() == ["large", "mid"] and pd.isna(seg.iloc[2])


def test_a_numeric_attribute_segments_by_its_quartile_bands() -> None:
    from journeyml.report.build import _customer_attributes

    ids = [f"c{i}" for i in range(20)]
    ev = pd.DataFrame(
        {
            "customer_id": ids,
            "timestamp": pd.to_datetime(["2024-01-01"] * 20, utc=True),
            "requested_amount": [1000 * (i + 1) for i in range(20)],  # 20 distinct amounts
        }
    )
    seg = _customer_attributes(
        ev, np.array(ids), pd.Timestamp("2024-03-01", tz="UTC"), ("requested_amount",)
    )["requested_amount"]
    assert seg.value_counts().sort_index().to_dict() == {
        "1,000 to 5,750": 5,
        "10,500 to 15,250": 5,
        "15,250 to 20,000": 5,
        "5,750 to 10,500": 5,
    }
    assert seg["c0"] == "1,000 to 5,750" and seg["c19"] == "15,250 to 20,000"


def test_segments_come_in_the_order_of_their_numbers() -> None:
    from journeyml.explain.insights import CauseMatrix, drivers_by_segment

    bands = ["8,000 to 13,200", "1,200 to 8,000", "13,200 to 22,600", "other"]
    labels = [bands[i % 4] for i in range(8)]
    idx = pd.Index([f"c{i}" for i in range(8)])
    m = CauseMatrix("t", pd.DataFrame({"touchpoint:a": np.arange(8.0)}, index=idx),
                    np.full(8, 0.5), 0.5)  # fmt: skip
    got = drivers_by_segment(m, pd.Series(labels, index=idx), top=1)
    assert got["segment"].tolist() == [
        "1,200 to 8,000",
        "8,000 to 13,200",
        "13,200 to 22,600",
        "other",
    ]
