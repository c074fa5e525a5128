"""A second world: B2B software trials, built to differ from :mod:`journeyml.sim.retail`.

Explanations are judged on journeys nobody here designed. This world is written to break the
habits the first one allows: other vocabulary and channels, accounts whose *activity level*
differs tenfold between personas, touchpoints the company sends (never the account's own
activity), churn possible only after a contract, delayed effects, and engagement, tenure and
recency that move the outcomes **on their own** (generic signal that no touchpoint owns).

One day at a time for all accounts at once (numpy arrays, no Python loop over accounts):

* **Accounts** arrive over the window, each with a ``company_size`` (startup, smb, agency,
  enterprise: the persona) and an ``industry`` (no effect). A persona sets how often the account
  shows up (a startup is active on 30 % of days, an enterprise on 6 %), how many touchpoints a
  session has, which touchpoints it favours, its base hazards and its contract value.
* **Arrival**: 70 % first see an ``ad_impression``, then everyone signs up for a trial
  (``trial_signup``) on their first day.
* **States**: trial → customer (``contract_signed``, the conversion, with the contract value)
  → gone (``cancellation``, explicit churn) or silent (inactivity churn: no activity of its
  own any more, while newsletters keep coming). A trial account can also go *dormant* (stop
  showing up); that is not churn, which needs a contract.
* **Company-sent touchpoints** (:data:`COMPANY_SENT`): ``newsletter`` (weekly-ish, to every
  account not cancelled, silent and dormant ones included) and ``ad_impression`` (retargeting:
  frequent for new trials, fading with the trial's age, rare once there is a contract: the
  company targets by what it knows, the account's age and whether it signed).
  ``ad_impression`` is the **no-effect touchpoint** (:data:`NO_EFFECT_TOUCHPOINT`): frequent,
  the first touch of most journeys, its frequency a function of the trial's age, and no effect
  on anything. A model may use it as a clock; an explanation must not call it a cause.
* **Generic signal** (real, not planted on any touchpoint): with ``A`` the account's own events
  in the last 14 days (capped at 15) and ``age`` the days since arrival, the daily hazards are::

      conversion(d) = c0(persona) * exp(-age / 40) * exp(0.07 A) * exp(planted)   (trials)
      churn(d)      = k0(persona) * exp(-0.06 A) * exp(planted)                      (customers)

  so engagement, tenure and recency predict both outcomes whatever the touchpoints.
* **Planted causes** act through recent exposure counts like in retail, but with an optional
  **delay**: an event on day ``e`` acts on days ``e + 1 + delay_days .. e + window_days``, up to
  :data:`EXPOSURE_CAP` events at once.

=================  ==========  =========  ===========  ======  =====  ======
cause              outcome     direction  log_hazard   window  delay  strong
=================  ==========  =========  ===========  ======  =====  ======
sales_call         conversion  +1         1.5 (×4.5)   21 d    0 d    yes
integration_error  conversion  −1         1.6 (×0.2)   30 d    0 d    yes
webinar            conversion  +1         0.6 (×1.8)   24 d    3 d    no
billing_dispute    churn       +1         1.5 (×4.5)   30 d    0 d    yes
ticket_opened      churn       +1         1.2 (×3.3)   40 d    5 d    yes
training_session   churn       −1         0.6 (×0.55)  30 d    0 d    no
=================  ==========  =========  ===========  ======  =====  ======

(× = hazard ratio for one exposure.) ``docs_visit`` and ``product_login`` are the bulk of the
accounts' activity: they have no effect of their own beyond counting as activity.

>>> res = simulate(300, seed=1, days=60)
>>> list(res.events.columns)
['customer_id', 'timestamp', 'touchpoint', 'channel', 'stage', 'value', 'company_size', 'industry']
>>> res.world, res.company_sent, res.conversion_touchpoints, res.churn_touchpoints
('b2b', ('ad_impression', 'newsletter'), ('contract_signed',), ('cancellation',))
>>> sorted(c.name for c in res.causes if c.strong)
['billing_dispute', 'integration_error', 'sales_call', 'ticket_opened']
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
    "CHANNELS",
    "CHURN_TOUCHPOINTS",
    "COMPANY_SENT",
    "CONVERSION_TOUCHPOINTS",
    "EXPOSURE_CAP",
    "INDUSTRIES",
    "NO_EFFECT_TOUCHPOINT",
    "PAIN_POINTS",
    "PERSONAS",
    "PLANTED_CAUSES",
    "TOUCHPOINTS",
    "TOUCHPOINT_STAGE",
    "simulate",
]

IntArr = npt.NDArray[np.int64]
FloatArr = npt.NDArray[np.float64]

CONVERSION_TOUCHPOINTS: tuple[str, ...] = ("contract_signed",)
CHURN_TOUCHPOINTS: tuple[str, ...] = ("cancellation",)
COMPANY_SENT: tuple[str, ...] = ("ad_impression", "newsletter")
NO_EFFECT_TOUCHPOINT: str = "ad_impression"

TOUCHPOINT_STAGE: dict[str, str] = {
    "ad_impression": "awareness",
    "newsletter": "awareness",
    "trial_signup": "consideration",
    "docs_visit": "consideration",
    "pricing_page": "consideration",
    "webinar": "consideration",
    "sales_call": "consideration",
    "integration_error": "consideration",
    "contract_signed": "conversion",
    "product_login": "retention",
    "ticket_opened": "retention",
    "billing_dispute": "retention",
    "training_session": "retention",
    "cancellation": "retention",
    "community_post": "advocacy",
    "partner_referral": "advocacy",
}
TOUCHPOINTS: tuple[str, ...] = tuple(TOUCHPOINT_STAGE)
PAIN_POINTS: tuple[str, ...] = ("integration_error", "ticket_opened", "billing_dispute")

CHANNELS: tuple[str, ...] = ("web", "product", "email", "phone", "video", "display", "onsite")
PERSONAS: tuple[str, ...] = ("startup", "smb", "agency", "enterprise")
INDUSTRIES: tuple[str, ...] = ("software", "finance", "retail", "health", "education")

PLANTED_CAUSES: tuple[PlantedCause, ...] = (
    PlantedCause("sales_call", "sales_call", "conversion", +1, 1.5, 21, True),
    PlantedCause("integration_error", "integration_error", "conversion", -1, 1.6, 30, True),
    PlantedCause("webinar", "webinar", "conversion", +1, 0.6, 24, False, delay_days=3),
    PlantedCause("billing_dispute", "billing_dispute", "churn", +1, 1.5, 30, True),
    PlantedCause("ticket_opened", "ticket_opened", "churn", +1, 1.2, 40, True, delay_days=5),
    PlantedCause("training_session", "training_session", "churn", -1, 0.6, 30, False),
)

# --- parameters ------------------------------------------------------------------------------
_TRIAL, _CUSTOMER, _DORMANT, _SILENT, _GONE = 0, 1, 2, 3, 4
_STATE_NAMES: Final = ("trial", "customer", "dormant", "churned", "churned")

_PERSONA_SHARE: Final = (0.30, 0.35, 0.15, 0.20)
# Daily probability of a session of the account's own (trial, customer), per persona.
_P_ACTIVE: Final = np.array([[0.30, 0.26], [0.14, 0.12], [0.20, 0.18], [0.06, 0.06]])
_SESSION_LAMBDA: Final = np.array([1.6, 1.0, 1.3, 0.8])
# Base daily hazards per persona.
_CONV_BASE: Final = np.array([0.0045, 0.0070, 0.0055, 0.0090])
_CHURN_BASE: Final = np.array([0.0050, 0.0030, 0.0036, 0.0020])
_DORMANT_BASE: Final = 0.012  # a trial stops showing up (times exp(-0.1 A))
_AGE_SCALE: Final = 40.0
_ENGAGE_CONV, _ENGAGE_CHURN, _ENGAGE_DORMANT = 0.07, -0.06, -0.10
_ENGAGE_DAYS, _ENGAGE_CAP = 14, 15
_P_EXPLICIT: Final = 0.6
_P_FIRST_AD: Final = 0.7
# Company-sent: retargeting by age (no contract: 0.03 + 0.25 exp(-age/20); contract: 0.02).
_AD_TRIAL, _AD_DECAY, _AD_FLOOR, _AD_CUSTOMER = 0.25, 20.0, 0.03, 0.02
_P_NEWSLETTER: Final = 1 / 7
_CONTRACT_MEDIAN: Final = np.array([3000.0, 8000.0, 6000.0, 40000.0])

# Session mix (relative weights) for trials and customers.
_MIX: Final[dict[str, tuple[float, float]]] = {
    "docs_visit": (30.0, 12.0),
    "pricing_page": (8.0, 1.0),
    "webinar": (3.0, 1.0),
    "sales_call": (2.2, 0.6),
    "integration_error": (2.0, 0.8),
    "product_login": (12.0, 35.0),
    "ticket_opened": (0.8, 3.4),
    "billing_dispute": (0.0, 1.4),
    "training_session": (0.3, 2.6),
    "community_post": (3.0, 4.0),
    "partner_referral": (0.0, 0.8),
}
_PERSONA_MIX: Final[dict[str, dict[str, float]]] = {
    "startup": {"docs_visit": 1.5, "community_post": 2.0, "sales_call": 0.5, "pricing_page": 1.3},
    "smb": {"billing_dispute": 1.3, "pricing_page": 1.2},
    "agency": {"partner_referral": 2.0, "integration_error": 1.3},
    "enterprise": {"sales_call": 2.5, "training_session": 1.6, "docs_visit": 0.7},
}
_ALLOWED: Final[dict[str, tuple[str, ...]]] = {
    "ad_impression": ("display",),
    "newsletter": ("email",),
    "trial_signup": ("web",),
    "docs_visit": ("web",),
    "pricing_page": ("web",),
    "webinar": ("video",),
    "sales_call": ("phone", "video"),
    "integration_error": ("product",),
    "contract_signed": ("web", "onsite"),
    "product_login": ("product",),
    "ticket_opened": ("email", "product", "phone"),
    "billing_dispute": ("email", "phone"),
    "training_session": ("video", "onsite"),
    "cancellation": ("email", "phone", "web"),
    "community_post": ("web",),
    "partner_referral": ("email", "web"),
}
# Working hours, weekday-agnostic (UTC).
_HOUR_WEIGHTS: Final = np.array(
    [0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.5, 2, 5, 8, 9, 9, 6, 8, 9, 9, 8, 6, 3, 1.5, 1, 0.6, 0.4, 0.3]
)
_DAY: Final = mechanics.DAY

_TP: Final = {tp: i for i, tp in enumerate(TOUCHPOINTS)}
_CH: Final = {ch: i for i, ch in enumerate(CHANNELS)}


def _tables() -> tuple[FloatArr, FloatArr]:
    """Touchpoint CDF per (persona * 2 + trial/customer); channel CDF per touchpoint."""
    mix = np.zeros((len(PERSONAS), 2, len(TOUCHPOINTS)))
    for tp, w in _MIX.items():
        mix[:, :, _TP[tp]] = w
    for p, persona in enumerate(PERSONAS):
        for tp, mult in _PERSONA_MIX[persona].items():
            mix[p, :, _TP[tp]] *= mult
    allowed = np.zeros((len(TOUCHPOINTS), len(CHANNELS)))
    for tp, chans in _ALLOWED.items():
        allowed[_TP[tp], [_CH[c] for c in chans]] = 1.0
    return mechanics.cdf_rows(mix.reshape(-1, len(TOUCHPOINTS))), mechanics.cdf_rows(allowed)


_TP_CDF, _CH_CDF = _tables()
_HOUR_CDF: Final = mechanics.cdf_rows(_HOUR_WEIGHTS)
_INITIATED: Final = np.array([tp not in COMPANY_SENT for tp in TOUCHPOINTS])


class _Days(mechanics.EventLog):
    """Event columns collected day by day; times are seconds into the current ``day``."""

    def __init__(self, rng: np.random.Generator) -> None:
        super().__init__()
        self.rng = rng
        self.day = 0

    def seconds(self, m: int) -> IntArr:
        return mechanics.seconds_of_day(self.rng, _HOUR_CDF, m)

    def add_today(
        self, cust: IntArr, tp: IntArr, sec: IntArr, value: FloatArr | None = None
    ) -> None:
        """Events at ``sec`` seconds into the current day (capped at its last second)."""
        self.add(cust, tp, (self.day * _DAY + np.minimum(sec, _DAY - 1)).astype(np.int64), value)


def simulate(
    n_customers: int = 2000, *, seed: int = 0, start: str = "2024-01-01", days: int = 180
) -> SimulationResult:
    """Simulate ``n_customers`` B2B trial accounts over ``days`` days from ``start`` (UTC).

    Seeded (``numpy.random.default_rng(seed)`` only): the same arguments give identical frames.
    Raises :class:`~journeyml.errors.ConfigError` on a bad size, length or start. The model and
    the planted causes are in the module docstring.
    """
    t0 = mechanics.check_window(n_customers, days, start, noun="account")
    rng = np.random.default_rng(seed)
    n = int(n_customers)
    persona = rng.choice(len(PERSONAS), size=n, p=_PERSONA_SHARE).astype(np.int64)
    industry = rng.integers(0, len(INDUSTRIES), size=n).astype(np.int64)
    arrival = rng.integers(0, days, size=n).astype(np.int64)
    arrivals = mechanics.Arrivals(arrival, days)
    state = np.full(n, -1, np.int64)  # -1: not arrived yet
    churn_day = np.full(n, -1, np.int64)

    # recent counts, as of the start of the day: one row per planted cause, then activity
    hazards = mechanics.cause_rows(PLANTED_CAUSES, _TP, n, engage_days=_ENGAGE_DAYS, days=days)
    recent_counts, beta_conv, beta_churn = hazards.recent, hazards.beta_conv, hazards.beta_churn
    row_of_tp, activity_row = hazards.row_of_tp, hazards.activity_row

    out = _Days(rng)
    for d in range(days):
        out.day = d
        recent = recent_counts.start_day(d)
        new = arrivals.on(d)
        state[new] = _TRIAL
        day_cust: list[IntArr] = []
        day_tp: list[IntArr] = []
        day_sec: list[IntArr] = []
        # arrival: an ad first (most), then the trial signup
        ad_first = new[rng.random(len(new)) < _P_FIRST_AD]
        s_new = out.seconds(len(new))
        first_ad_sec = (
            np.maximum(s_new[np.searchsorted(new, ad_first)] - 3600, 0)
            if len(ad_first)
            else np.zeros(0, np.int64)
        )
        day_cust += [ad_first, new]
        day_tp += [
            np.full(len(ad_first), _TP["ad_impression"]),
            np.full(len(new), _TP["trial_signup"]),
        ]
        day_sec += [first_ad_sec, s_new]

        live = np.flatnonzero((state == _TRIAL) | (state == _CUSTOMER))
        live = live[arrival[live] < d]  # arrivals start tomorrow
        per, st = persona[live], state[live]
        x = np.minimum(recent[:, live], EXPOSURE_CAP).astype(np.float64)
        act = np.minimum(recent[activity_row, live], _ENGAGE_CAP).astype(np.float64)
        age = (d - arrival[live]).astype(np.float64)
        trial = st == _TRIAL
        # conversion (trials), churn (customers), dormancy (trials)
        h_conv = _CONV_BASE[per] * np.exp(-age / _AGE_SCALE + _ENGAGE_CONV * act + beta_conv @ x)
        h_churn = _CHURN_BASE[per] * np.exp(_ENGAGE_CHURN * act + beta_churn @ x)
        u = rng.random(len(live))
        converts = trial & (u < -np.expm1(-h_conv))
        churns = ~trial & (u < -np.expm1(-h_churn))
        sleeps = (
            trial
            & ~converts
            & (rng.random(len(live)) < _DORMANT_BASE * np.exp(_ENGAGE_DORMANT * act))
        )
        explicit = churns & (rng.random(len(live)) < _P_EXPLICIT)
        buyers, leavers, cancels = live[converts], live[churns], live[explicit]
        state[buyers] = _CUSTOMER
        state[leavers] = np.where(explicit[churns], _GONE, _SILENT)
        state[live[sleeps]] = _DORMANT
        churn_day[leavers] = d
        values = np.round(
            np.exp(
                np.log(_CONTRACT_MEDIAN[persona[buyers]]) + 0.5 * rng.standard_normal(len(buyers))
            )
        )
        out.add_today(
            buyers, np.full(len(buyers), _TP["contract_signed"]), out.seconds(len(buyers)), values
        )
        day_cust.append(cancels)
        day_tp.append(np.full(len(cancels), _TP["cancellation"]))
        day_sec.append(out.seconds(len(cancels)))

        # sessions of the account's own (not on the day it leaves or goes quiet)
        stays = ~churns & ~sleeps
        idx = np.flatnonzero(stays & (rng.random(len(live)) < _P_ACTIVE[per, np.minimum(st, 1)]))
        sess, size = live[idx], 1 + rng.poisson(_SESSION_LAMBDA[per[idx]])
        ev_cust = np.repeat(sess, size)
        row = np.repeat(per[idx] * 2 + np.minimum(st[idx], 1), size)
        ev_tp = mechanics.pick(_TP_CDF[row], rng.random(len(ev_cust)))
        gaps = rng.integers(30, 400, len(ev_cust))
        ev_sec = np.repeat(out.seconds(len(sess)), size) + mechanics.session_offsets(gaps, size)
        day_cust.append(ev_cust)
        day_tp.append(ev_tp)
        day_sec.append(ev_sec)

        # company-sent: newsletters to everyone not cancelled, retargeting ads
        reach = np.flatnonzero((state >= _TRIAL) & (state != _GONE) & (arrival < d))
        news = reach[rng.random(len(reach)) < _P_NEWSLETTER]
        st_r, age_r = state[reach], (d - arrival[reach]).astype(np.float64)
        # retargeting knows only the trial's age and whether there is a contract
        p_ad = np.where(
            (st_r == _TRIAL) | (st_r == _DORMANT),
            _AD_FLOOR + _AD_TRIAL * np.exp(-age_r / _AD_DECAY),
            _AD_CUSTOMER,
        )
        ads = reach[rng.random(len(reach)) < p_ad]
        day_cust += [news, ads]
        day_tp += [np.full(len(news), _TP["newsletter"]), np.full(len(ads), _TP["ad_impression"])]
        day_sec += [out.seconds(len(news)), out.seconds(len(ads))]

        cust = np.concatenate(day_cust).astype(np.int64)
        tp = np.concatenate(day_tp).astype(np.int64)
        out.add_today(cust, tp, np.concatenate(day_sec).astype(np.int64))
        # schedule today's events into the recent counts
        own = _INITIATED[tp]
        rows = [(row_of_tp[tp[row_of_tp[tp] >= 0]], cust[row_of_tp[tp] >= 0])]
        rows.append(
            (
                np.full(int(own.sum()) + len(buyers), activity_row),
                np.concatenate([cust[own], buyers]),
            )
        )
        for r, who in rows:
            recent_counts.schedule(d, r, who)

    return _assemble(out, n, persona, industry, state, churn_day, t0, days)


def _assemble(
    out: _Days,
    n: int,
    persona: IntArr,
    industry: IntArr,
    state: IntArr,
    churn_day: IntArr,
    t0: pd.Timestamp,
    days: int,
) -> SimulationResult:
    cust, tp, _, sec, value = out.arrays()  # channels are drawn below, from the times
    # canonical order: account, time, touchpoint name
    idx = mechanics.canonical_order(cust, sec, tp, TOUCHPOINTS, n, days)
    cust, tp, sec, value = cust[idx], tp[idx], sec[idx], value[idx]
    ids = np.array([f"acct-{i:05d}" for i in range(n)], dtype=object)
    ts_ns = t0.value + sec * 1_000_000_000
    channel = np.array(CHANNELS, dtype=object)[_channels(tp, sec)]
    events = mechanics.events_frame(
        ids, cust, ts_ns, TOUCHPOINTS, tp, channel, TOUCHPOINT_STAGE, value,
        {"company_size": (PERSONAS, persona), "industry": (INDUSTRIES, industry)},
    )  # fmt: skip

    signed = tp == _TP["contract_signed"]
    kind = np.array([None, "explicit", "inactivity"], dtype=object)[
        np.where(state == _GONE, 1, np.where(state == _SILENT, 2, 0))
    ]
    churned_at = np.where(
        state == _GONE,
        mechanics.first_of(cust, ts_ns, tp == _TP["cancellation"], n),
        np.where(state == _SILENT, t0.value + churn_day * _DAY * 1_000_000_000, np.nan),
    ).astype(np.float64)
    customers = pd.DataFrame(
        {
            "customer_id": pd.Series(ids, dtype=object),
            "company_size": pd.Series(np.array(PERSONAS, dtype=object)[persona], dtype=object),
            "industry": pd.Series(np.array(INDUSTRIES, dtype=object)[industry], dtype=object),
            "first_seen": mechanics.to_timestamps(
                mechanics.first_of(cust, ts_ns, np.ones(len(cust), bool), n)
            ),
            "last_seen": mechanics.to_timestamps(mechanics.last_of(cust, ts_ns, n)),
            "converted_at": mechanics.to_timestamps(mechanics.first_of(cust, ts_ns, signed, n)),
            "contract_value": np.bincount(cust[signed], weights=value[signed], minlength=n),
            "churned_at": mechanics.to_timestamps(churned_at),
            "churn_kind": pd.Series(kind, dtype=object),
            "final_stage": pd.Series(
                np.array(_STATE_NAMES, dtype=object)[np.maximum(state, 0)], dtype=object
            ),
        }
    )
    exposures = mechanics.exposure_columns(cust, tp, PLANTED_CAUSES, _TP, n)
    customers = pd.concat([customers, exposures], axis=1)
    return SimulationResult(
        events=events,
        customers=customers,
        causes=PLANTED_CAUSES,
        start=t0,
        end=t0 + pd.Timedelta(days=days),
        world="b2b",
        conversion_touchpoints=CONVERSION_TOUCHPOINTS,
        churn_touchpoints=CHURN_TOUCHPOINTS,
        company_sent=COMPANY_SENT,
        no_effect_touchpoint=NO_EFFECT_TOUCHPOINT,
        churn_needs_conversion=True,
    )


def _channels(tp: IntArr, sec: IntArr) -> IntArr:
    """A channel per event, drawn from the touchpoint's channels by a hash of the event's time
    (deterministic, after the fact: channels carry no planted signal)."""
    u = ((sec * 2654435761 + tp * 40503) % 1_000_003) / 1_000_003.0
    return mechanics.pick(_CH_CDF[tp], u)


assert set(TOUCHPOINT_STAGE.values()) <= set(CANONICAL_STAGES)
assert set(_ALLOWED) == set(TOUCHPOINT_STAGE)
