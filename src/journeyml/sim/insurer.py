"""A third world: an insurer, written to differ from :mod:`journeyml.sim.retail` and
:mod:`journeyml.sim.b2b` (a world the explanation code was not tuned on).

* **People** arrive over the window with a ``household`` (single, family, senior, business: the
  persona), which sets how often they act on their own, their base hazards and their premium.
  Everyone starts with a ``get_quote``.
* **States**: prospect → policyholder (``policy_purchase``, the conversion, with the yearly
  premium as value) → cancelled (``cancel_policy``, explicit churn) or lapsed (silent: no
  activity of their own any more). Churn needs a policy. A prospect can drift away (stop
  showing up): not churn.
* **Own activity**: on an active day a session of ``1 + Poisson(0.6)`` touchpoints: prospects
  ``get_quote``, ``compare_plans``, ``call_center``; policyholders ``app_login`` (the bulk),
  ``update_details``, ``call_center``, ``claim_filed``.
* **Responses to the customer's own action** (the insurer sends them, but only after the
  customer did something): a quote is followed within 1–3 days by a ``document_request`` for
  a quarter of quotes; a claim is settled 2–9 days later, ``claim_denied`` (35 %) or
  ``claim_paid``.
* **Company-sent** (:data:`COMPANY_SENT`), whatever the customer does: ``renewal_notice``, a
  batch job at 05:00 UTC to every policyholder on the monthly anniversary of the purchase;
  ``email_open``, campaign e-mails every 9 days to everyone not cancelled (lapsed customers
  included), opened by 35 % within two hours of the send. ``email_open`` is the **no-effect
  touchpoint** (:data:`NO_EFFECT_TOUCHPOINT`): the most frequent touchpoint of many journeys,
  and no effect on anything.
* **Generic signal**: with ``A`` the customer's own events in the last 14 days (capped at 10)
  and ``age`` the days since the first quote::

      conversion(d) = c0(household) * exp(-age / 25) * exp(0.12 A) * exp(planted)  (prospects)
      churn(d)      = k0(household) * exp(-0.10 A) * exp(planted)                   (holders)

* **Planted causes** act through recent exposure counts (up to :data:`EXPOSURE_CAP`), an event
  on day ``e`` acting on days ``e + 1 + delay_days .. e + window_days``:

=================  ==========  =========  ===========  ======  =====  ======
cause              outcome     direction  log_hazard   window  delay  strong
=================  ==========  =========  ===========  ======  =====  ======
call_center        conversion  +1         1.4 (×4.1)   14 d    0 d    yes
document_request   conversion  −1         1.6 (×0.2)   30 d    2 d    yes
compare_plans      conversion  +1         0.5 (×1.6)   10 d    0 d    no
claim_denied       churn       +1         1.6 (×5.0)   45 d    3 d    yes
claim_paid         churn       −1         0.6 (×0.55)  60 d    0 d    no
=================  ==========  =========  ===========  ======  =====  ======

>>> res = simulate(300, seed=1, days=60)
>>> res.world, res.company_sent, res.conversion_touchpoints, res.churn_touchpoints
('insurer', ('email_open', 'renewal_notice'), ('policy_purchase',), ('cancel_policy',))
>>> sorted(c.name for c in res.causes if c.strong)
['call_center', 'claim_denied', 'document_request']
>>> simulate(300, seed=1, days=60).events.equals(res.events)
True
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from journeyml.events import CANONICAL_STAGES
from journeyml.sim import mechanics
from journeyml.sim.retail import EXPOSURE_CAP, PlantedCause, SimulationResult

__all__ = [
    "COMPANY_SENT",
    "HOUSEHOLDS",
    "NO_EFFECT_TOUCHPOINT",
    "PLANTED_CAUSES",
    "TOUCHPOINTS",
    "TOUCHPOINT_STAGE",
    "simulate",
]

IntArr = npt.NDArray[np.int64]
FloatArr = npt.NDArray[np.float64]

CONVERSION_TOUCHPOINTS: tuple[str, ...] = ("policy_purchase",)
CHURN_TOUCHPOINTS: tuple[str, ...] = ("cancel_policy",)
COMPANY_SENT: tuple[str, ...] = ("email_open", "renewal_notice")
NO_EFFECT_TOUCHPOINT: str = "email_open"

TOUCHPOINT_STAGE: dict[str, str] = {
    "email_open": "awareness",
    "get_quote": "consideration",
    "compare_plans": "consideration",
    "document_request": "consideration",
    "call_center": "consideration",
    "policy_purchase": "conversion",
    "app_login": "retention",
    "update_details": "retention",
    "renewal_notice": "retention",
    "claim_filed": "retention",
    "claim_paid": "retention",
    "claim_denied": "retention",
    "cancel_policy": "retention",
}
TOUCHPOINTS: tuple[str, ...] = tuple(TOUCHPOINT_STAGE)
CHANNEL_OF: dict[str, str] = {
    "email_open": "email",
    "get_quote": "web",
    "compare_plans": "web",
    "document_request": "mail",
    "call_center": "phone",
    "policy_purchase": "web",
    "app_login": "app",
    "update_details": "app",
    "renewal_notice": "mail",
    "claim_filed": "app",
    "claim_paid": "mail",
    "claim_denied": "mail",
    "cancel_policy": "phone",
}
HOUSEHOLDS: tuple[str, ...] = ("single", "family", "senior", "business")

PLANTED_CAUSES: tuple[PlantedCause, ...] = (
    PlantedCause("call_center", "call_center", "conversion", +1, 1.4, 14, True),
    PlantedCause("document_request", "document_request", "conversion", -1, 1.6, 30, True, 2),
    PlantedCause("compare_plans", "compare_plans", "conversion", +1, 0.5, 10, False),
    PlantedCause("claim_denied", "claim_denied", "churn", +1, 1.6, 45, True, 3),
    PlantedCause("claim_paid", "claim_paid", "churn", -1, 0.6, 60, False),
)

_PROSPECT, _HOLDER, _DRIFTED, _LAPSED, _CANCELLED = 0, 1, 2, 3, 4
_SHARE: Final = (0.35, 0.30, 0.20, 0.15)
# daily probability of a session of one's own (prospect, holder), per household
_P_ACTIVE: Final = np.array([[0.20, 0.10], [0.25, 0.12], [0.12, 0.07], [0.30, 0.16]])
_CONV_BASE: Final = np.array([0.010, 0.016, 0.008, 0.020])
_CHURN_BASE: Final = np.array([0.0060, 0.0030, 0.0025, 0.0045])
_DRIFT: Final = 0.015
_AGE_SCALE, _ENGAGE_CONV, _ENGAGE_CHURN = 25.0, 0.12, -0.10
_ENGAGE_DAYS, _ENGAGE_CAP = 14, 10
_P_CANCEL: Final = 0.6
_PREMIUM: Final = np.array([600.0, 1400.0, 900.0, 5000.0])
_MIX: Final[dict[str, tuple[float, float]]] = {  # session mix (prospect, holder)
    "get_quote": (6.0, 0.0),
    "compare_plans": (4.0, 0.0),
    "call_center": (1.2, 1.0),
    "app_login": (0.0, 12.0),
    "update_details": (0.0, 2.0),
    "claim_filed": (0.0, 1.0),
}
_P_DOCS, _P_DENIED = 0.25, 0.35
_CAMPAIGN_EVERY, _P_OPEN = 9, 0.35
_RENEWAL_SECOND: Final = 5 * 3600
_HOURS: Final = mechanics.cdf_rows(
    np.array([0.1] * 7 + [1, 3, 5, 6, 6, 5, 5, 6, 6, 5, 4, 4, 4, 3, 2, 1, 0.5])
)
_TP: Final = {tp: i for i, tp in enumerate(TOUCHPOINTS)}
#: the customer's own activity (the generic signal): not company-sent, not a response
_OWN: Final = np.array(
    [
        tp not in (*COMPANY_SENT, "document_request", "claim_paid", "claim_denied")
        for tp in TOUCHPOINTS
    ]
)
_MIX_CDF: Final = mechanics.cdf_rows(
    np.array([[_MIX.get(tp, (0.0, 0.0))[k] for tp in TOUCHPOINTS] for k in (0, 1)])
)


def simulate(
    n_customers: int = 2000, *, seed: int = 0, start: str = "2024-01-01", days: int = 180
) -> SimulationResult:
    """Simulate ``n_customers`` people over ``days`` days from ``start`` (UTC); seeded like the
    other worlds (:class:`~journeyml.errors.ConfigError` on a bad size, length or start)."""
    t0 = mechanics.check_window(n_customers, days, start, noun="customer")
    rng = np.random.default_rng(seed)
    n = int(n_customers)
    house = rng.choice(len(HOUSEHOLDS), size=n, p=_SHARE).astype(np.int64)
    arrival = rng.integers(0, days, size=n).astype(np.int64)
    arrivals = mechanics.Arrivals(arrival, days)
    state = np.full(n, -1, np.int64)
    bought = np.full(n, -1, np.int64)
    churn_day = np.full(n, -1, np.int64)
    hazards = mechanics.cause_rows(PLANTED_CAUSES, _TP, n, engage_days=_ENGAGE_DAYS, days=days)
    recent, beta_conv, beta_churn = hazards.recent, hazards.beta_conv, hazards.beta_churn
    row_of_tp, activity = hazards.row_of_tp, hazards.activity_row
    pending: dict[int, list[tuple[IntArr, int]]] = {}  # day -> (customers, touchpoint)
    log = mechanics.EventLog()
    campaign_second = 0

    def add(
        day: int, who: IntArr, tp: int | IntArr, sec: IntArr, value: FloatArr | None = None
    ) -> IntArr:
        tps = np.broadcast_to(np.asarray(tp, np.int64), who.shape).astype(np.int64)
        log.add(who, tps, day * mechanics.DAY + np.minimum(sec, mechanics.DAY - 1), value)
        return tps

    for d in range(days):
        counts = recent.start_day(d)
        day_who: list[IntArr] = []
        day_tp: list[IntArr] = []
        new = arrivals.on(d)
        state[new] = _PROSPECT
        day_who.append(new)
        day_tp.append(
            add(d, new, _TP["get_quote"], mechanics.seconds_of_day(rng, _HOURS, len(new)))
        )
        for due_who, due_tp in pending.pop(d, []):
            keep = due_who[state[due_who] != _CANCELLED]
            day_who.append(keep)
            day_tp.append(add(d, keep, due_tp, mechanics.seconds_of_day(rng, _HOURS, len(keep))))

        live = np.flatnonzero((state == _PROSPECT) | (state == _HOLDER))
        live = live[arrival[live] < d]
        h, st = house[live], state[live]
        x = np.minimum(counts[:, live], EXPOSURE_CAP).astype(np.float64)
        act = np.minimum(counts[activity, live], _ENGAGE_CAP).astype(np.float64)
        age = (d - arrival[live]).astype(np.float64)
        prospect = st == _PROSPECT
        h_conv = _CONV_BASE[h] * np.exp(-age / _AGE_SCALE + _ENGAGE_CONV * act + beta_conv @ x)
        h_churn = _CHURN_BASE[h] * np.exp(_ENGAGE_CHURN * act + beta_churn @ x)
        u = rng.random(len(live))
        converts = prospect & (u < -np.expm1(-h_conv))
        churns = ~prospect & (u < -np.expm1(-h_churn))
        drifts = prospect & ~converts & (rng.random(len(live)) < _DRIFT)
        cancels = churns & (rng.random(len(live)) < _P_CANCEL)
        buyers = live[converts]
        state[buyers], bought[buyers] = _HOLDER, d
        state[live[churns]] = np.where(cancels[churns], _CANCELLED, _LAPSED)
        state[live[drifts]] = _DRIFTED
        churn_day[live[churns]] = d
        premium = np.round(_PREMIUM[house[buyers]] * np.exp(0.3 * rng.standard_normal(len(buyers))))
        sec = mechanics.seconds_of_day(rng, _HOURS, len(buyers))
        day_who.append(buyers)
        day_tp.append(add(d, buyers, _TP["policy_purchase"], sec, premium))
        gone = live[cancels]
        day_who.append(gone)
        day_tp.append(
            add(d, gone, _TP["cancel_policy"], mechanics.seconds_of_day(rng, _HOURS, len(gone)))
        )

        # sessions of one's own
        stays = ~churns & ~drifts & ~converts
        idx = np.flatnonzero(stays & (rng.random(len(live)) < _P_ACTIVE[h, np.minimum(st, 1)]))
        size = 1 + rng.poisson(0.6, len(idx))
        who = np.repeat(live[idx], size)
        tp = mechanics.pick(_MIX_CDF[np.repeat(np.minimum(st[idx], 1), size)], rng.random(len(who)))
        gaps = rng.integers(30, 600, len(who))
        sec = np.repeat(mechanics.seconds_of_day(rng, _HOURS, len(idx)), size)
        day_who.append(who)
        day_tp.append(add(d, who, tp, sec + mechanics.session_offsets(gaps, size)))
        # responses to the customer's own action, days later
        quotes = who[tp == _TP["get_quote"]]
        docs = quotes[rng.random(len(quotes)) < _P_DOCS]
        lag = rng.integers(1, 4, len(docs))
        claims = who[tp == _TP["claim_filed"]]
        settle = rng.integers(2, 10, len(claims))
        denied = rng.random(len(claims)) < _P_DENIED
        for later, whom, what in (
            (d + lag, docs, np.full(len(docs), _TP["document_request"])),
            (d + settle, claims, np.where(denied, _TP["claim_denied"], _TP["claim_paid"])),
        ):
            for day in np.unique(later).tolist():
                for t in np.unique(what[later == day]).tolist():
                    pending.setdefault(day, []).append((whom[(later == day) & (what == t)], t))

        # company-sent: the renewal batch, campaign e-mails
        holders = np.flatnonzero((state == _HOLDER) & (bought >= 0) & (bought < d))
        due = holders[(d - bought[holders]) % 30 == 0]
        day_who.append(due)
        day_tp.append(
            add(d, due, _TP["renewal_notice"], _RENEWAL_SECOND + rng.integers(0, 60, len(due)))
        )
        if d % _CAMPAIGN_EVERY == 4:
            campaign_second = int(rng.integers(8, 18)) * 3600
            reach = np.flatnonzero((state >= _PROSPECT) & (state != _CANCELLED) & (arrival < d))
            opens = reach[rng.random(len(reach)) < _P_OPEN]
            lag_s = rng.exponential(1800.0, len(opens)).astype(np.int64)
            day_who.append(opens)
            day_tp.append(
                add(d, opens, _TP["email_open"], campaign_second + np.minimum(lag_s, 7200))
            )

        who_all = np.concatenate(day_who).astype(np.int64)
        tp_all = np.concatenate(day_tp).astype(np.int64)
        planted = row_of_tp[tp_all] >= 0
        own = _OWN[tp_all]
        recent.schedule(d, row_of_tp[tp_all[planted]], who_all[planted])
        recent.schedule(d, np.full(int(own.sum()), activity), who_all[own])

    return _assemble(log, n, house, state, churn_day, t0, days)


def _assemble(
    log: mechanics.EventLog,
    n: int,
    house: IntArr,
    state: IntArr,
    churn_day: IntArr,
    t0: pd.Timestamp,
    days: int,
) -> SimulationResult:
    cust, tp, _, sec, value = log.arrays()
    idx = mechanics.canonical_order(cust, sec, tp, TOUCHPOINTS, n, days)
    cust, tp, sec, value = cust[idx], tp[idx], sec[idx], value[idx]
    ids = np.array([f"pol-{i:05d}" for i in range(n)], dtype=object)
    ts_ns = t0.value + sec * 1_000_000_000
    channel = np.array([CHANNEL_OF[t] for t in TOUCHPOINTS], dtype=object)[tp]
    events = mechanics.events_frame(
        ids, cust, ts_ns, TOUCHPOINTS, tp, channel, TOUCHPOINT_STAGE, value,
        {"household": (HOUSEHOLDS, house)},
    )  # fmt: skip
    bought = tp == _TP["policy_purchase"]
    churned = np.where(
        state == _CANCELLED,
        mechanics.first_of(cust, ts_ns, tp == _TP["cancel_policy"], n),
        np.where(state == _LAPSED, t0.value + churn_day * mechanics.DAY * 1_000_000_000, np.nan),
    ).astype(np.float64)
    customers = pd.DataFrame(
        {
            "customer_id": pd.Series(ids, dtype=object),
            "household": pd.Series(np.array(HOUSEHOLDS, dtype=object)[house], dtype=object),
            "converted_at": mechanics.to_timestamps(mechanics.first_of(cust, ts_ns, bought, n)),
            "churned_at": mechanics.to_timestamps(churned),
        }
    )
    exposures = mechanics.exposure_columns(cust, tp, PLANTED_CAUSES, _TP, n)
    return SimulationResult(
        events=events,
        customers=pd.concat([customers, exposures], axis=1),
        causes=PLANTED_CAUSES,
        start=t0,
        end=t0 + pd.Timedelta(days=days),
        world="insurer",
        conversion_touchpoints=CONVERSION_TOUCHPOINTS,
        churn_touchpoints=CHURN_TOUCHPOINTS,
        company_sent=COMPANY_SENT,
        no_effect_touchpoint=NO_EFFECT_TOUCHPOINT,
        churn_needs_conversion=True,
    )


assert set(TOUCHPOINT_STAGE.values()) <= set(CANONICAL_STAGES)
assert set(CHANNEL_OF) == set(TOUCHPOINT_STAGE)
