"""Volume and tenure are causes of their own: a touchpoint keeps only what it adds beyond them
(journeyml.explain.allocation, "Volume is not a touchpoint's own signal")."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from journeyml.explain import allocate, root_causes
from journeyml.features import FeatureBuilder, FeatureSpec, build_features


def _events() -> pd.DataFrame:
    """A population where logins are most events and billing disputes are rare; customer ``a``
    was first touched by an ad 60 days ago and never again, logs in a lot, had one dispute."""
    rows = []
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    rows.append(("a", t0, "ad"))
    for d in range(30, 60):
        rows.append(("a", t0 + pd.Timedelta(days=d, hours=10), "login"))
    rows.append(("a", t0 + pd.Timedelta(days=58, hours=12), "billing_dispute"))
    for c in range(20):  # the population: logins, a few ads and docs visits
        for d in range(0, 60, 3):
            rows.append((f"p{c}", t0 + pd.Timedelta(days=d, hours=9), "login"))
        rows.append((f"p{c}", t0 + pd.Timedelta(days=c, hours=8), "ad"))
        rows.append((f"p{c}", t0 + pd.Timedelta(days=c + 1, hours=8), "docs_visit"))
    return pd.DataFrame(rows, columns=["customer_id", "timestamp", "touchpoint"])


@pytest.fixture(scope="module")
def case() -> tuple[FeatureSpec, np.ndarray]:
    ev = _events()
    spec = FeatureBuilder(windows_days=(7, 30), top_n_transitions=0).fit(ev).spec_
    cut = pd.DataFrame({"customer_id": ["a"], "as_of": [pd.Timestamp("2024-03-01", tz="UTC")]})
    x = build_features(ev, cut, spec).to_numpy()[0]
    return spec, x


def _psi(spec: FeatureSpec, names: list[str]) -> np.ndarray:
    return np.array([0.01 if f.name in names else 0.0 for f in spec.features])


def test_shares_are_learned_at_fit(case: tuple[FeatureSpec, np.ndarray]) -> None:
    spec, _ = case
    share = dict(zip(spec.vocabulary("touchpoint"), spec.touchpoint_share, strict=True))
    assert share["login"] > 0.8 and 0 < share["billing_dispute"] < 0.01
    assert sum(spec.touchpoint_share) == pytest.approx(1.0, abs=1e-4)
    assert FeatureSpec.from_json(spec.to_json()).touchpoint_share == spec.touchpoint_share


def test_first_touch_recency_is_tenure(case: tuple[FeatureSpec, np.ndarray]) -> None:
    spec, x = case
    psi = _psi(spec, ["days_since_touchpoint_ad"])
    totals = allocate(spec, x, psi).totals()
    assert totals == {("journey", "tenure"): pytest.approx(0.01)}
    cause = root_causes(spec, x, psi, task="churn", top_k=1)[0]
    assert cause.cause == "journey:tenure"
    assert cause.sentence.startswith("First contact 60 days ago raised churn risk")
    assert cause.to_dict()["label"] == "time since first contact"


def test_a_frequent_touchpoint_count_is_volume(case: tuple[FeatureSpec, np.ndarray]) -> None:
    spec, x = case
    psi = _psi(spec, ["count_touchpoint_login_30d"])
    totals = allocate(spec, x, psi).totals()
    assert totals[("journey", "activity")] > 0.8 * 0.01
    assert sum(totals.values()) == pytest.approx(0.01)
    cause = root_causes(spec, x, psi, task="churn", top_k=1)[0]
    assert cause.cause == "journey:activity"
    n = x[spec.names.index("count_events_30d")]
    assert cause.sentence.startswith(f"{n:g} events in the last 30 days")


def test_a_rare_touchpoint_keeps_its_own_signal(case: tuple[FeatureSpec, np.ndarray]) -> None:
    spec, x = case
    names = ["count_touchpoint_billing_dispute_7d", "days_since_touchpoint_billing_dispute"]
    psi = _psi(spec, names)
    totals = allocate(spec, x, psi).totals()
    assert totals[("touchpoint", "billing_dispute")] > 0.95 * 0.02
    assert sum(totals.values()) == pytest.approx(0.02)


def test_an_absence_in_an_empty_window_is_volume(case: tuple[FeatureSpec, np.ndarray]) -> None:
    spec, x = case
    assert x[spec.names.index("count_events_7d")] > 0
    psi = _psi(spec, ["count_touchpoint_docs_visit_7d"])  # 0 docs visits among 7 days' events
    assert allocate(spec, x, psi).totals() == {("touchpoint", "docs_visit"): pytest.approx(0.01)}


def test_additive_and_unchanged_without_shares(case: tuple[FeatureSpec, np.ndarray]) -> None:
    spec, x = case
    psi = np.random.default_rng(0).normal(0, 0.01, len(spec.features))
    assert sum(allocate(spec, x, psi).totals().values()) == pytest.approx(psi.sum())
    old = replace(spec, touchpoint_share=())  # a spec learned before shares existed
    assert sum(allocate(old, x, psi).totals().values()) == pytest.approx(psi.sum())
    first_touch = _psi(spec, ["days_since_touchpoint_ad"])
    assert allocate(old, x, first_touch).totals() == {("touchpoint", "ad"): pytest.approx(0.01)}


def test_an_absent_transition_is_the_touchpoints_only_where_their_counts_predict_one() -> None:
    """``a`` had one ad and no docs visit: "no ad → docs visit" is what its counts predict
    (volume); "no login → ad" among 30 logins and one ad is not (chance predicts ~0.94)."""
    ev = _events()
    spec = FeatureBuilder(windows_days=(7, 30), top_n_transitions=20).fit(ev).spec_
    cut = pd.DataFrame({"customer_id": ["a"], "as_of": [pd.Timestamp("2024-03-01", tz="UTC")]})
    x = build_features(ev, cut, spec).to_numpy()[0]
    ad_docs, login_ad = (
        "transition_touchpoint_ad__docs_visit_all",
        "transition_touchpoint_login__ad_all",
    )
    assert x[spec.names.index(ad_docs)] == 0 and x[spec.names.index(login_ad)] == 0
    totals = allocate(spec, x, _psi(spec, [ad_docs])).totals()
    assert totals == {("journey", "activity"): pytest.approx(0.01)}
    totals = allocate(spec, x, _psi(spec, [login_ad])).totals()
    own = totals[("touchpoint", "login")] + totals[("touchpoint", "ad")]
    assert 0.9 * 0.01 < own < 0.97 * 0.01
    assert sum(totals.values()) == pytest.approx(0.01)


def _mails(every_days: dict[str, int]) -> pd.DataFrame:
    """Logins every 3 days for the population and ``a``; campaign mails from day 0 (the first
    contact) every ``every_days[customer]`` days (the population: every 10)."""
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    rows = []
    for c in [f"p{i}" for i in range(20)] + list(every_days):
        for d in range(1, 60, 3):
            rows.append((c, t0 + pd.Timedelta(days=d, hours=10), "login"))
        for d in range(0, 60, every_days.get(c, 10)):
            rows.append((c, t0 + pd.Timedelta(days=d, hours=5), "mail"))
    return pd.DataFrame(rows, columns=["customer_id", "timestamp", "touchpoint"])


@pytest.mark.parametrize(("every", "kept"), [(10, (0.0, 0.1)), (2, (0.7, 0.85))])
def test_a_company_sent_count_is_tenure_up_to_what_the_schedule_delivers(
    every: int, kept: tuple[float, float]
) -> None:
    """A mail count is what the company's schedule delivers over the customer's time (its
    population rate × days since first contact): that part is tenure's. ``a`` got the usual
    mails (6 in 60 days: all tenure's) or five times as many (30: about 1/5 is tenure's)."""
    ev = _mails({"a": every})
    spec = FeatureBuilder(windows_days=(7, 30), company_sent=("mail",)).fit(ev).spec_
    cut = pd.DataFrame({"customer_id": ["a"], "as_of": [pd.Timestamp("2024-03-01", tz="UTC")]})
    x = build_features(ev, cut, spec).to_numpy()[0]
    totals = allocate(spec, x, _psi(spec, ["count_touchpoint_mail_all"])).totals()
    assert kept[0] <= totals.get(("touchpoint", "mail"), 0.0) / 0.01 <= kept[1]
    assert sum(totals.values()) == pytest.approx(0.01)
    assert set(totals) <= {("touchpoint", "mail"), ("journey", "tenure")}


def test_a_company_sent_count_without_declaration_is_activity_volume() -> None:
    """The same mails, not declared company-sent: their volume part is activity (their share
    of every event), as before."""
    ev = _mails({"a": 10})
    spec = FeatureBuilder(windows_days=(7, 30)).fit(ev).spec_
    cut = pd.DataFrame({"customer_id": ["a"], "as_of": [pd.Timestamp("2024-03-01", tz="UTC")]})
    x = build_features(ev, cut, spec).to_numpy()[0]
    totals = allocate(spec, x, _psi(spec, ["count_touchpoint_mail_all"])).totals()
    assert ("journey", "tenure") not in totals and totals[("journey", "activity")] > 0.009


def test_the_last_sessions_touchpoints_share_the_generic_recency_as_the_model_does(
    case: tuple[FeatureSpec, np.ndarray],
) -> None:
    """``a``'s last own session is one login (day 59): "time since the last event" and "time
    since the last login" describe that one moment, and the model split it 2:1 between them;
    the generic part is shared in the same proportion. The dispute (day 58) is an earlier
    session; a login recency pushing the other way is no shared moment."""
    spec, x = case
    names = spec.names
    psi = np.zeros(len(names))
    psi[names.index("days_since_last_event")] = 0.02
    psi[names.index("days_since_touchpoint_login")] = 0.01
    totals = allocate(spec, x, psi).totals()
    assert totals[("touchpoint", "login")] == pytest.approx(0.01 + 0.02 / 3)
    assert totals[("journey", "activity")] == pytest.approx(0.02 * 2 / 3)
    psi[names.index("days_since_touchpoint_login")] = -0.01
    assert allocate(spec, x, psi).totals()[("journey", "activity")] == pytest.approx(0.02)
    psi[names.index("days_since_touchpoint_login")] = 0.0
    psi[names.index("days_since_touchpoint_billing_dispute")] = 0.01
    totals = allocate(spec, x, psi).totals()
    assert totals == {
        ("journey", "activity"): pytest.approx(0.02),
        ("touchpoint", "billing_dispute"): pytest.approx(0.01),
    }


def test_two_sends_in_a_row_are_activity() -> None:
    """``mail → mail`` (two sends with nothing of the customer's own between them) says how
    little the customer did, not what the mail does: all of it is activity's."""
    ev = _mails({"a": 2})
    spec = FeatureBuilder(windows_days=(7, 30), company_sent=("mail",)).fit(ev).spec_
    cut = pd.DataFrame({"customer_id": ["a"], "as_of": [pd.Timestamp("2024-03-01", tz="UTC")]})
    x = build_features(ev, cut, spec).to_numpy()[0]
    name = "transition_touchpoint_mail__mail_all"
    assert x[spec.names.index(name)] > 0
    totals = allocate(spec, x, _psi(spec, [name])).totals()
    assert totals == {("journey", "activity"): pytest.approx(0.01)}


def test_a_last_send_with_nothing_of_the_customers_after_it_is_activity() -> None:
    """``q`` logs in every 3 days until day 40, then only the mail of day 50 arrives: "the last
    touchpoint was a mail" says that the customer did nothing of their own since the send, how
    little they did, not what the mail does (activity's). The login before it keeps its own
    sequence feature; undeclared, the mail keeps it too."""
    ev = _mails({"q": 10})
    ev = ev[~((ev["customer_id"] == "q") & (ev["touchpoint"] == "login"))]
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    logins = [("q", t0 + pd.Timedelta(days=d, hours=10), "login") for d in range(1, 41, 3)]
    ev = pd.concat([ev, pd.DataFrame(logins, columns=ev.columns)]).sort_values(
        ["customer_id", "timestamp"], ignore_index=True
    )
    cut = pd.DataFrame({"customer_id": ["q"], "as_of": [pd.Timestamp("2024-03-01", tz="UTC")]})
    for sent, first in ((("mail",), ("journey", "activity")), ((), ("touchpoint", "mail"))):
        spec = FeatureBuilder(windows_days=(7, 30), company_sent=sent).fit(ev).spec_
        x = build_features(ev, cut, spec).to_numpy()[0]
        tps = spec.vocabulary("touchpoint")
        last = [tps[int(x[spec.names.index(f"last_touchpoint_{j}")])] for j in (1, 2)]
        assert last == ["mail", "login"]
        totals = allocate(spec, x, _psi(spec, ["last_touchpoint_1"])).totals()
        assert totals == {first: pytest.approx(0.01)}
        totals = allocate(spec, x, _psi(spec, ["last_touchpoint_2"])).totals()
        assert totals == {("touchpoint", "login"): pytest.approx(0.01)}
        if sent:
            cause = root_causes(spec, x, _psi(spec, ["last_touchpoint_1"]), task="churn")[0]
            assert cause.cause == "journey:activity"
            assert cause.sentence.startswith("Last event 20 days ago")  # day 40, as of day 60
