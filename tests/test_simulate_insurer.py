"""The third world (an insurer): canonical, seeded, different from the first two, company-sent
touchpoints that arrive in batches and campaigns, planted effects real."""

from __future__ import annotations

import pandas as pd
import pytest

from journeyml.events.schema import to_canonical
from journeyml.sim import SimulationResult, b2b, insurer, retail


@pytest.fixture(scope="module")
def world() -> SimulationResult:
    return insurer.simulate(5000, seed=11, days=240)


def test_seeded_and_canonical() -> None:
    a = insurer.simulate(300, seed=2, days=60)
    pd.testing.assert_frame_equal(a.events, insurer.simulate(300, seed=2, days=60).events)
    assert not a.events.equals(insurer.simulate(300, seed=3, days=60).events)
    pd.testing.assert_frame_equal(to_canonical(a.events), a.events)
    assert (a.events["timestamp"] >= a.start).all() and (a.events["timestamp"] < a.end).all()
    assert (a.events["stage"] == a.events["touchpoint"].map(insurer.TOUCHPOINT_STAGE)).all()


def test_built_to_differ_from_the_other_worlds() -> None:
    assert set(insurer.TOUCHPOINTS) & set(b2b.TOUCHPOINTS) == set()
    assert set(insurer.TOUCHPOINTS) & set(retail.TOUCHPOINTS) == {"email_open"}
    planted = {c.touchpoint for c in insurer.PLANTED_CAUSES}
    assert not planted & {c.touchpoint for c in (*retail.PLANTED_CAUSES, *b2b.PLANTED_CAUSES)}
    assert insurer.NO_EFFECT_TOUCHPOINT in insurer.COMPANY_SENT


def test_churn_only_after_a_policy_and_sends_go_on(world: SimulationResult) -> None:
    cu = world.customers
    churned = cu[cu["churned_at"].notna()]
    assert len(churned) > 200
    assert (churned["converted_at"] < churned["churned_at"]).all()
    ev = world.events.merge(cu[["customer_id", "churned_at"]], on="customer_id")
    after = ev[ev["timestamp"] > ev["churned_at"]]
    # nothing of the customer's own after churn: campaign e-mails, and the insurer's answers
    # to a quote or a claim made before
    assert len(after) > 0
    answers = {"email_open", "document_request", "claim_paid", "claim_denied"}
    assert set(after["touchpoint"]) <= answers


def test_company_sends_arrive_in_batches_and_campaigns(world: SimulationResult) -> None:
    ev = world.events
    notices = ev[ev["touchpoint"] == "renewal_notice"]["timestamp"]
    assert (notices.dt.hour == 5).all() and (notices.dt.minute == 0).all()
    opens = ev[ev["touchpoint"] == "email_open"]["timestamp"]
    assert opens.dt.floor("D").nunique() <= 240 // 9 + 1  # campaign days only
    counts = ev["touchpoint"].value_counts()
    assert counts["email_open"] > 10 * counts["claim_denied"]


def test_planted_effects_are_real(world: SimulationResult) -> None:
    cu = world.customers
    holders = cu[cu["converted_at"].notna()]
    denied = holders["exposed_claim_denied"]
    rate = holders["churned_at"].notna().groupby(denied).mean()
    assert rate[True] > 1.5 * rate[False]
    calls = cu["exposed_call_center"]
    conv = cu["converted_at"].notna()
    assert conv[calls].mean() > conv[~calls].mean()
    assert cu["exposed_document_request"].mean() > 0.2  # a quarter of quotes get one
