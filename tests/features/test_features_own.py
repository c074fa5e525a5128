"""Generic activity over the customer's own events: with company-sent touchpoints declared,
activity volume, "time since the last event", sessions and journey position leave them out;
tenure and each touchpoint's own features still read every event. Logs without company-sent
touchpoints keep their features and spec bit for bit."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from journeyml.features import FeatureBuilder, FeatureSpec, build_features, journey_features
from journeyml.features import build as build_module

T0 = pd.Timestamp("2024-01-01", tz="UTC")


def _events() -> pd.DataFrame:
    """Customer ``a``: a campaign mail on day 0 (their first contact), logins on days 2 and 3
    (a session of two on day 3), a quote on day 4, then only mails (days 9, 18, 27).
    Customer ``b``: logins only. Mails are in the awareness stage, logins in consideration,
    the quote in conversion; the mail arrives by e-mail, the rest on the web."""
    h = pd.Timedelta(hours=1)
    d = pd.Timedelta(days=1)
    rows = [
        ("a", T0 + 9 * h, "mail", "email", "awareness"),
        ("a", T0 + 2 * d + 10 * h, "login", "web", "consideration"),
        ("a", T0 + 3 * d + 10 * h, "login", "web", "consideration"),
        ("a", T0 + 3 * d + 10 * h + pd.Timedelta(minutes=5), "login", "web", "consideration"),
        ("a", T0 + 4 * d + 10 * h, "quote", "web", "conversion"),
        ("a", T0 + 9 * d + 9 * h, "mail", "email", "awareness"),
        ("a", T0 + 18 * d + 9 * h, "mail", "email", "awareness"),
        ("a", T0 + 27 * d + 9 * h, "mail", "email", "awareness"),
    ]
    rows += [("b", T0 + k * d + 12 * h, "login", "web", "consideration") for k in range(0, 30, 3)]
    return pd.DataFrame(
        rows, columns=["customer_id", "timestamp", "touchpoint", "channel", "stage"]
    )


AS_OF = T0 + pd.Timedelta(days=28)


def _features(company_sent: tuple[str, ...]) -> tuple[FeatureSpec, pd.Series]:
    ev = _events()
    spec = FeatureBuilder(windows_days=(7, 30), company_sent=company_sent).fit(ev).spec_
    cut = pd.DataFrame({"customer_id": ["a"], "as_of": [AS_OF]})
    return spec, build_features(ev, cut, spec).iloc[0]


def test_generic_features_read_the_customers_own_events() -> None:
    spec, x = _features(("mail",))
    assert spec.company_sent == ("mail",)
    # activity: 4 own events (3 logins, 1 quote), none in the last 7 days (only a mail)
    assert x["count_events_all"] == 4 and x["count_events_7d"] == 0
    assert x["days_since_last_event"] == pytest.approx(24 - 10 / 24)  # the quote, day 4 10:00
    assert x["tenure_days"] == pytest.approx(28 - 9 / 24)  # first contact: the day-0 mail
    assert x["session_count_all"] == 3 and x["active_days"] == 3
    assert x["events_per_active_day"] == pytest.approx(4 / 3)
    assert x["events_trend_7d_vs_prev_7d"] == 1.0  # no own event in the last 14 days
    # journey position: the mails (awareness) are no regression after the quote (conversion)
    assert x["stage_regressions_all"] == 0 and x["channel_switches_all"] == 0
    assert x["days_in_current_stage"] == pytest.approx(24 - 10 / 24)
    # the mail keeps its own features, counted over every event
    assert x["count_touchpoint_mail_all"] == 4 and x["count_touchpoint_mail_7d"] == 1
    assert x["days_since_touchpoint_mail"] == pytest.approx(1 - 9 / 24)
    assert x["last_touchpoint_1"] == spec.vocabulary("touchpoint").index("mail")


def test_without_company_sent_every_event_is_activity() -> None:
    _, x = _features(())
    assert x["count_events_all"] == 8 and x["count_events_7d"] == 1
    assert x["days_since_last_event"] == pytest.approx(1 - 9 / 24)
    assert x["stage_regressions_all"] == 1 and x["channel_switches_all"] == 2


def test_declaring_company_sent_changes_only_the_generic_features() -> None:
    plain, x0 = _features(())
    sent, x1 = _features(("mail",))
    assert sent.names == plain.names and sent.fingerprint != plain.fingerprint
    generic = {f.name for f in plain.features if f.family in ("session",)} | {
        "count_events_7d",
        "count_events_30d",
        "count_events_all",
        "days_since_last_event",
        "furthest_stage_rank",
        "days_in_current_stage",
        "stage_regressions_all",
        "channel_switches_all",
        "events_trend_7d_vs_prev_7d",
    }
    same = [n for n in plain.names if n not in generic]
    pd.testing.assert_series_equal(x0[same], x1[same])
    # shares of the 14 own events; the mail's rate: 4 mails over the customer-days from each
    # first contact to the log's last event (b's login, day 27 12:00): a 27.125, b 27
    share = dict(zip(sent.vocabulary("touchpoint"), sent.touchpoint_share, strict=True))
    rate = dict(zip(sent.vocabulary("touchpoint"), sent.sent_rate, strict=True))
    assert share["mail"] == 0 and share["login"] == pytest.approx(13 / 14, abs=1e-6)
    assert rate["login"] == 0 and rate["mail"] == pytest.approx(4 / 54.125, abs=1e-6)
    again = FeatureSpec.from_json(sent.to_json())
    assert again == sent and again.fingerprint == sent.fingerprint


def test_serving_and_chunked_paths_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    ev = _events()
    spec = FeatureBuilder(windows_days=(7, 30), company_sent=("mail",)).fit(ev).spec_
    cut = pd.DataFrame(
        {"customer_id": ["a", "b", "a"], "as_of": [AS_OF, AS_OF, T0 + pd.Timedelta(days=3)]}
    )
    X = build_features(ev, cut, spec).to_numpy()
    for i, (cid, as_of) in enumerate(zip(cut["customer_id"], cut["as_of"], strict=True)):
        one = journey_features(cid, ev[ev.customer_id == cid].to_dict("records"), as_of, spec)
        np.testing.assert_array_equal(one[0], X[i])
    monkeypatch.setattr(build_module, "CHUNK_EVENTS", 3)  # one chunk per customer
    np.testing.assert_array_equal(build_features(ev, cut, spec).to_numpy(), X)


def test_a_log_without_company_sent_keeps_its_spec_and_features_bit_for_bit() -> None:
    """Measured on main before company-sent touchpoints were left out of activity (b08f81a):
    the retail world declares none, so its spec, fingerprint and matrix must not move."""
    from journeyml.sim import simulate_world
    from journeyml.tasks import every_n_days

    sim = simulate_world("retail", 300, seed=1, days=90)
    assert sim.company_sent == ()
    builder = FeatureBuilder(windows_days=(7, 30), attributes=("segment",))
    spec = builder.fit(sim.events).spec_
    cut = every_n_days(sim.events, 7, end=sim.end)
    X = np.ascontiguousarray(build_features(sim.events, cut, spec).to_numpy())
    assert spec.fingerprint == "c997dc8efb491d7b"
    assert hashlib.sha256(X.tobytes()).hexdigest()[:16] == "902b0980b85a3a2f"
    assert "company_sent" not in spec.to_dict() and "sent_rate" not in spec.to_dict()
    # declaring a touchpoint the log never has changes nothing either
    absent = FeatureBuilder(windows_days=(7, 30), attributes=("segment",), company_sent=("fax",))
    assert absent.fit(sim.events).spec_ == replace(spec)
