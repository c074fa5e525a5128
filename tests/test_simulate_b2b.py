"""The second world (B2B trials): canonical, seeded, different from retail, planted effects real."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from journeyml.errors import ConfigError
from journeyml.events.schema import to_canonical
from journeyml.sim import WORLDS, SimulationResult, b2b, retail, simulate_world

DAY = pd.Timedelta(days=1)
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def world() -> SimulationResult:
    return b2b.simulate(5000, seed=11, days=240)


def test_seeded_and_canonical() -> None:
    a = b2b.simulate(300, seed=2, days=60)
    pd.testing.assert_frame_equal(a.events, b2b.simulate(300, seed=2, days=60).events)
    assert not a.events.equals(b2b.simulate(300, seed=3, days=60).events)
    pd.testing.assert_frame_equal(to_canonical(a.events), a.events)
    assert (a.events["timestamp"] >= a.start).all() and (a.events["timestamp"] < a.end).all()
    assert set(a.events["touchpoint"]) <= set(b2b.TOUCHPOINTS)
    assert (a.events["stage"] == a.events["touchpoint"].map(b2b.TOUCHPOINT_STAGE)).all()
    with pytest.raises(ConfigError):
        b2b.simulate(0)
    with pytest.raises(ConfigError):
        simulate_world("utopia", 10)
    assert set(WORLDS) == {"retail", "b2b", "insurer"}


def test_built_to_differ_from_retail() -> None:
    shared = set(b2b.TOUCHPOINTS) & set(retail.TOUCHPOINTS)
    assert shared == {"ad_impression", "cancellation"}
    assert not {c.touchpoint for c in b2b.PLANTED_CAUSES} & {
        c.touchpoint for c in retail.PLANTED_CAUSES
    }
    assert any(c.delay_days > 0 for c in b2b.PLANTED_CAUSES if c.strong)
    assert b2b.NO_EFFECT_TOUCHPOINT in b2b.COMPANY_SENT
    assert "segment" not in b2b.simulate(50, seed=0, days=20).events.columns


def test_personas_differ_tenfold_in_activity(world: SimulationResult) -> None:
    ev, cu = world.events, world.customers
    own = ev[~ev["touchpoint"].isin(b2b.COMPANY_SENT)]
    per_day = own.groupby("company_size").size() / cu.groupby("company_size").size()
    assert per_day["startup"] > 4 * per_day["enterprise"]


def test_no_effect_touchpoint_is_frequent_and_mostly_first(world: SimulationResult) -> None:
    ev = world.events
    counts = ev["touchpoint"].value_counts()
    assert counts[b2b.NO_EFFECT_TOUCHPOINT] > 5 * max(
        counts[c.touchpoint] for c in b2b.PLANTED_CAUSES if c.strong
    )
    first = ev.groupby("customer_id")["touchpoint"].first()
    assert 0.6 <= (first == b2b.NO_EFFECT_TOUCHPOINT).mean() <= 0.8


def test_churn_only_after_a_contract(world: SimulationResult) -> None:
    cu = world.customers
    churned = cu[cu["churned_at"].notna()]
    assert len(churned) > 200
    assert (churned["converted_at"] < churned["churned_at"]).all()
    assert set(churned["churn_kind"]) == {"explicit", "inactivity"}
    ev = world.events.merge(cu[["customer_id", "churned_at", "churn_kind"]], on="customer_id")
    after = ev[ev["timestamp"] > ev["churned_at"]]
    # silent churners still get what the company sends, never anything of their own
    assert len(after) > 0 and set(after["touchpoint"]) <= set(b2b.COMPANY_SENT)
    assert (after["churn_kind"] == "inactivity").all()
    assert 0.2 <= cu["converted_at"].notna().mean() <= 0.45


def _ratio(
    res: SimulationResult,
    touchpoint: str,
    outcome: str,
    *,
    ago: tuple[float, float] = (0, 30),
    ahead: tuple[float, float] = (0, 30),
    active_only: bool = False,
    step: int = 10,
) -> float:
    """Outcome rate in [t0 + ahead) of accounts with ``touchpoint`` in [t0 - ago[1], t0 - ago[0])
    over the rate of those without, pooled over landmarks; among accounts at risk at t0 (and,
    with ``active_only``, with activity of their own in the 14 days before t0)."""
    ev, cu = res.events, res.customers
    num = np.zeros(2)
    den = np.zeros(2)
    for landmark in range(60, 230, step):
        t0 = res.start + landmark * DAY
        if outcome == "churn":
            risk = (cu["converted_at"] < t0) & ~(cu["churned_at"] < t0)
            y = (cu["churned_at"] >= t0 + ahead[0] * DAY) & (cu["churned_at"] < t0 + ahead[1] * DAY)
        else:
            risk = (cu["first_seen"] < t0) & ~(cu["converted_at"] < t0)
            y = (cu["converted_at"] >= t0 + ahead[0] * DAY) & (
                cu["converted_at"] < t0 + ahead[1] * DAY
            )
        if active_only:
            own = ev[~ev["touchpoint"].isin(b2b.COMPANY_SENT)]
            recent = own.loc[(own["timestamp"] >= t0 - 14 * DAY) & (own["timestamp"] < t0)]
            risk &= cu["customer_id"].isin(recent["customer_id"])
        lo, hi = t0 - ago[1] * DAY, t0 - ago[0] * DAY
        hit = ev.loc[
            (ev["touchpoint"] == touchpoint) & (ev["timestamp"] >= lo) & (ev["timestamp"] < hi),
            "customer_id",
        ]
        x = cu["customer_id"].isin(hit)
        for k, sel in enumerate((x & risk, ~x & risk)):
            num[k] += (y & sel).sum()
            den[k] += sel.sum()
    assert den.min() > 100, den
    return float((num[0] / den[0]) / (num[1] / den[1]))


@pytest.mark.parametrize(
    ("touchpoint", "outcome"),
    [("sales_call", "conversion"), ("billing_dispute", "churn"), ("ticket_opened", "churn")],
)
def test_strong_positive_causes_raise_their_outcome(
    world: SimulationResult, touchpoint: str, outcome: str
) -> None:
    assert _ratio(world, touchpoint, outcome) >= 1.8


def test_integration_error_lowers_conversion_among_active_trials(world: SimulationResult) -> None:
    assert _ratio(world, "integration_error", "conversion", active_only=True) <= 0.6


def test_ticket_effect_is_delayed(world: SimulationResult) -> None:
    """A ticket of the last 3 days does less in the next 3 days than from day 6 on (what is
    left in the first days comes from earlier tickets of the same accounts)."""
    soon = _ratio(world, "ticket_opened", "churn", ago=(0, 2), ahead=(0, 2), step=2)
    later = _ratio(world, "ticket_opened", "churn", ago=(0, 2), ahead=(6, 24), step=2)
    assert later >= 2.0 and later > 1.8 * soon


@pytest.mark.parametrize("outcome", ["conversion", "churn"])
def test_no_effect_touchpoint_has_no_effect_given_age(
    world: SimulationResult, outcome: str
) -> None:
    """The ads follow the trial's age, not the outcome: among accounts of similar age (a
    landmark cohort that arrived 30-60 days before), a recent ad changes little."""
    ev, cu = world.events, world.customers
    num = np.zeros(2)
    den = np.zeros(2)
    for landmark in range(90, 200, 10):
        t0 = world.start + landmark * DAY
        cohort = (cu["first_seen"] >= t0 - 60 * DAY) & (cu["first_seen"] < t0 - 30 * DAY)
        if outcome == "churn":
            risk = cohort & (cu["converted_at"] < t0) & ~(cu["churned_at"] < t0)
            t_out = cu["churned_at"]
        else:
            risk = cohort & ~(cu["converted_at"] < t0)
            t_out = cu["converted_at"]
        y = (t_out >= t0) & (t_out < t0 + 30 * DAY)
        recent = ev[(ev["timestamp"] >= t0 - 14 * DAY) & (ev["timestamp"] < t0)]
        x = cu["customer_id"].isin(
            recent.loc[recent["touchpoint"] == b2b.NO_EFFECT_TOUCHPOINT, "customer_id"]
        )
        for k, sel in enumerate((x & risk, ~x & risk)):
            num[k] += (y & sel).sum()
            den[k] += sel.sum()
    ratio = (num[0] / den[0]) / (num[1] / den[1])
    assert 0.7 <= ratio <= 1.4, (ratio, num, den)


def test_ground_truth_matches_events(world: SimulationResult) -> None:
    ev, cu = world.events, world.customers.set_index("customer_id")
    for cause in b2b.PLANTED_CAUSES:
        n = ev[ev["touchpoint"] == cause.touchpoint].groupby("customer_id").size()
        assert (cu[f"n_{cause.name}"] == n.reindex(cu.index, fill_value=0)).all()
    signed = ev[ev["touchpoint"] == "contract_signed"]
    assert signed["customer_id"].is_unique
    assert signed["value"].gt(0).all()
    assert ev.loc[ev["touchpoint"] != "contract_signed", "value"].isna().all()


def test_b2b_pipeline_config_reads_the_world() -> None:
    from journeyml.lifecycle import load_data, load_pipeline_config

    cfg = load_pipeline_config(ROOT / "pipelines" / "b2b.yaml")
    assert cfg.data.simulate is not None and cfg.data.simulate.world == "b2b"
    small = cfg.model_copy(
        update={
            "data": cfg.data.model_copy(
                update={
                    "simulate": cfg.data.simulate.model_copy(update={"customers": 200, "days": 60})
                }
            )
        }
    )
    data = load_data(small)
    assert data.defaults.company_sent == b2b.COMPANY_SENT
    tasks = small.task_configs(data.defaults)
    assert tasks["churn"].eligibility.has_done.touchpoints == ("contract_signed",)
    assert tasks["conversion"].outcome.touchpoints == b2b.CONVERSION_TOUCHPOINTS
    # the features read the customer's own events: the world's sends are in the spec
    from journeyml.lifecycle.pipeline import builder_from

    spec = builder_from(small, data.defaults.company_sent).fit(data.events).spec_
    assert set(spec.company_sent) == set(b2b.COMPANY_SENT)
    rates = dict(zip(spec.vocabulary("touchpoint"), spec.sent_rate, strict=True))
    assert all(rates[t] > 0 for t in b2b.COMPANY_SENT) and rates["product_login"] == 0


def test_cli_simulates_either_world(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from journeyml.cli import app

    out = tmp_path / "b2b.parquet"
    r = CliRunner().invoke(
        app, ["simulate", "--world", "b2b", "--customers", "50", "--days", "30", "--out", str(out)]
    )
    assert r.exit_code == 0, r.output
    assert set(pd.read_parquet(out)["touchpoint"]) <= set(b2b.TOUCHPOINTS)
