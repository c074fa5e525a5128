"""The seeded journey simulator: realistic touchpoint logs with planted causes and ground truth.

Every other part of journeyml (features, labels, training, explanations, benchmarks, the demo)
is checked against the data made here, because here the truth is known.

The model, one day at a time for all customers at once (numpy arrays, no Python loop over
customers):

* **Customers** arrive over the window (``first_seen`` uniform over the days), each with a
  persona (``segment``: bargain_hunter, loyalist, researcher, impulse) and a ``region`` (no
  effect). Personas differ in how often they show up, how many touchpoints a visit has, which
  touchpoints and channels they favour, how fast they move through the funnel, how likely they
  are to buy and churn, and what they spend.
* **Latent stage**: awareness → consideration → (purchase) → retention ⇄ advocacy. A prospect
  can stall, fall back from consideration to awareness, or drop out. 30 % arrive directly in
  consideration (they found the brand through search).
* **Sessions**: on an *active* day a customer has one session of ``1 + Poisson(λ)`` touchpoints,
  drawn from a touchpoint mix that depends on the latent stage and the persona, each on a channel
  drawn from the touchpoint's allowed channels weighted by the persona's channel habits,
  seconds apart, at an hour drawn from a daily rhythm. A ``payment_error`` comes right after a
  ``checkout``. After two quiet weeks a live customer is 2.5 times as likely to have a session
  (win-back campaigns), so long silences mostly mean churn.
* **Outcomes** are daily hazards (below): a *conversion* makes a purchase session (``cart_add``
  sometimes, ``checkout``, ``purchase`` with an order ``value``) and moves a prospect to
  retention; customers keep buying (repeat ``purchase``). A *churn* ends the journey: a converted
  customer cancels explicitly (one last ``cancellation`` event, alone on its day) with probability
  0.7, anyone else simply goes silent (*inactivity*; the ground truth records it at the start of
  the day the customer left, after their last event).
* ``brand_survey`` (:data:`NO_EFFECT_TOUCHPOINT`) is sent to every live customer with the same
  small daily probability, whatever they do, and has no effect on anything: a test can check an
  explanation does not pick it up.

Planted causes act on the daily hazards through **recent event counts**. On day ``d``, with
``N_c(d)`` the number of events of touchpoint ``c`` on days ``d - window_days .. d - 1`` (strictly
before day ``d``; a point-in-time feature "count of c in the last k days" sees them)::

    h(d) = h0(segment, latent stage) * exp( sum_c direction_c * log_hazard_c * min(N_c(d), 3) )
    P(outcome on day d) = 1 - exp(-h(d))

So ``log_hazard`` is added to the log of the daily hazard per recent exposure, for up to
:data:`EXPOSURE_CAP` exposures (repeated support calls hurt more than one).

=================  ==========  =========  ===========  ======  ======
cause              outcome     direction  log_hazard   window  strong
=================  ==========  =========  ===========  ======  ======
product_demo       conversion  +1         1.4 (×4.1)   21 d    yes
payment_error      conversion  −1         1.6 (×0.2)   30 d    yes
email_click        conversion  +1         0.5 (×1.6)   7 d     no
cart_abandonment   conversion  −1         0.5 (×0.6)   7 d     no
support_call       churn       +1         1.1 (×3.0)   30 d    yes
complaint          churn       +1         1.4 (×4.1)   30 d    yes
return             churn       +1         0.5 (×1.6)   21 d    no
loyalty_action     churn       −1         0.6 (×0.55)  30 d    no
=================  ==========  =========  ===========  ======  ======

(× = hazard ratio for one exposure.) Nothing else has a planted effect; the latent stage and
the persona shape the base hazards ``h0``, so they carry real but unplanted structure.

>>> res = simulate(300, seed=1, days=60)
>>> list(res.events.columns)
['customer_id', 'timestamp', 'touchpoint', 'channel', 'stage', 'value', 'segment', 'region']
>>> bool((res.events["timestamp"] < res.end).all()), str(res.events["timestamp"].dtype)
(True, 'datetime64[ns, UTC]')
>>> sorted(c.name for c in res.causes if c.strong)
['complaint', 'payment_error', 'product_demo', 'support_call']
>>> gt = res.customers
>>> bool(((gt["n_support_call"] > 0) == gt["exposed_support_call"]).all())
True
>>> simulate(300, seed=1, days=60).events.equals(res.events)
True
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from journeyml.events import CANONICAL_STAGES
from journeyml.sim import mechanics

__all__ = [
    "CHANNELS",
    "CHURN_TOUCHPOINTS",
    "CONVERSION_TOUCHPOINTS",
    "EXPOSURE_CAP",
    "MOMENTS_OF_TRUTH",
    "NO_EFFECT_TOUCHPOINT",
    "OFFLINE_CHANNELS",
    "ONLINE_CHANNELS",
    "PAIN_POINTS",
    "PLANTED_CAUSES",
    "REGIONS",
    "SEGMENTS",
    "TOUCHPOINTS",
    "TOUCHPOINT_STAGE",
    "PlantedCause",
    "SimulationResult",
    "ground_truth_path",
    "simulate",
    "write_simulation",
]

IntArr = npt.NDArray[np.int64]
FloatArr = npt.NDArray[np.float64]
BoolArr = npt.NDArray[np.bool_]

# --- vocabulary --------------------------------------------------------------------------------
CONVERSION_TOUCHPOINTS: tuple[str, ...] = ("purchase",)
CHURN_TOUCHPOINTS: tuple[str, ...] = ("cancellation",)
NO_EFFECT_TOUCHPOINT: str = "brand_survey"

#: Every simulated touchpoint and its canonical stage.
TOUCHPOINT_STAGE: dict[str, str] = {
    # awareness
    "ad_impression": "awareness",
    "search_visit": "awareness",
    "social_interaction": "awareness",
    "brand_survey": "awareness",
    # consideration
    "site_visit": "consideration",
    "product_view": "consideration",
    "review_read": "consideration",
    "email_open": "consideration",
    "email_click": "consideration",
    "product_demo": "consideration",
    "store_visit": "consideration",
    "cart_add": "consideration",
    # conversion
    "checkout": "conversion",
    "purchase": "conversion",
    "payment_error": "conversion",
    "cart_abandonment": "conversion",
    # retention
    "login": "retention",
    "loyalty_action": "retention",
    "support_call": "retention",
    "return": "retention",
    "complaint": "retention",
    "cancellation": "retention",
    # advocacy
    "review_written": "advocacy",
    "referral": "advocacy",
    "share": "advocacy",
}
TOUCHPOINTS: tuple[str, ...] = tuple(TOUCHPOINT_STAGE)

PAIN_POINTS: tuple[str, ...] = (
    "payment_error",
    "cart_abandonment",
    "support_call",
    "return",
    "complaint",
)
MOMENTS_OF_TRUTH: tuple[str, ...] = ("product_demo", "email_click", "loyalty_action")

CHANNELS: tuple[str, ...] = (
    "web",
    "app",
    "email",
    "paid_search",
    "display",
    "social",
    "store",
    "call_center",
)
ONLINE_CHANNELS: tuple[str, ...] = ("web", "app", "email", "paid_search", "display", "social")
OFFLINE_CHANNELS: tuple[str, ...] = ("store", "call_center")

SEGMENTS: tuple[str, ...] = ("bargain_hunter", "loyalist", "researcher", "impulse")
REGIONS: tuple[str, ...] = ("north", "south", "east", "west")

#: Exposures beyond this many within the window add nothing more.
EXPOSURE_CAP: Final = 3


@dataclass(frozen=True)
class PlantedCause:
    """A touchpoint with a known effect on a daily outcome hazard.

    ``log_hazard`` (> 0) is added, times ``direction``, to the log of the daily hazard of
    ``outcome`` per event of ``touchpoint`` in the ``window_days`` days before the day, for up to
    :data:`EXPOSURE_CAP` events. ``delay_days`` (a delayed effect, 0 in this world): an event on
    day ``e`` acts on days ``e + 1 + delay_days .. e + window_days``.
    """

    name: str
    touchpoint: str
    outcome: str
    direction: int
    log_hazard: float
    window_days: int
    strong: bool
    delay_days: int = 0

    def acts_on(self, event_age_days: float) -> bool:
        """Whether an event ``event_age_days`` days old acts on the hazard today."""
        return self.delay_days < event_age_days <= self.window_days

    @property
    def hazard_ratio(self) -> float:
        """Hazard multiplier of one recent exposure."""
        return float(np.exp(self.direction * self.log_hazard))


PLANTED_CAUSES: tuple[PlantedCause, ...] = (
    PlantedCause("product_demo", "product_demo", "conversion", +1, 1.4, 21, True),
    PlantedCause("payment_error", "payment_error", "conversion", -1, 1.6, 30, True),
    PlantedCause("email_click", "email_click", "conversion", +1, 0.5, 7, False),
    PlantedCause("cart_abandonment", "cart_abandonment", "conversion", -1, 0.5, 7, False),
    PlantedCause("support_call", "support_call", "churn", +1, 1.1, 30, True),
    PlantedCause("complaint", "complaint", "churn", +1, 1.4, 30, True),
    PlantedCause("return", "return", "churn", +1, 0.5, 21, False),
    PlantedCause("loyalty_action", "loyalty_action", "churn", -1, 0.6, 30, False),
)


@dataclass(frozen=True)
class SimulationResult:
    """What :func:`simulate` returns.

    ``events`` is a canonical event frame (``to_canonical`` leaves it unchanged) with the
    attribute columns ``segment`` and ``region``. ``customers`` is the ground truth, one row per
    customer: ``customer_id, segment, region, first_seen, last_seen, converted_at, n_purchases,
    total_value, churned_at, churn_kind, final_stage`` and, per planted cause,
    ``exposed_<name>`` and ``n_<name>``. ``end`` is exclusive: no event is at or after it.
    ``world`` names the simulator; ``conversion_touchpoints``, ``churn_touchpoints`` and
    ``company_sent`` are the world's outcome touchpoints and the touchpoints the company sends
    (the defaults tasks read, like a mapping's ``outcomes:`` and ``company_sent:``);
    ``no_effect_touchpoint`` has no planted effect on anything.
    """

    events: pd.DataFrame
    customers: pd.DataFrame
    causes: tuple[PlantedCause, ...]
    start: pd.Timestamp
    end: pd.Timestamp
    world: str = "retail"
    conversion_touchpoints: tuple[str, ...] = CONVERSION_TOUCHPOINTS
    churn_touchpoints: tuple[str, ...] = CHURN_TOUCHPOINTS
    company_sent: tuple[str, ...] = ()
    no_effect_touchpoint: str = NO_EFFECT_TOUCHPOINT
    #: churn is possible only after a conversion (a contract, a policy)
    churn_needs_conversion: bool = False


# --- parameters ----------------------------------------------------------------------------------
# Latent stages of the simulation (the conversion stage is the purchase session itself).
_AWARE, _CONSIDER, _CUSTOMER, _ADVOCATE = 0, 1, 2, 3
_LATENT_NAMES: Final = ("awareness", "consideration", "retention", "advocacy")

_SEGMENT_SHARE: Final = (0.30, 0.20, 0.25, 0.25)
_REGION_SHARE: Final = (0.30, 0.25, 0.25, 0.20)

# Session touchpoint mix per latent stage (relative weights; missing = 0).
_MIX: Final[dict[str, tuple[float, float, float, float]]] = {
    #                      aware consider customer advocate
    "ad_impression": (30.0, 8.0, 4.0, 3.0),
    "search_visit": (16.0, 6.0, 2.0, 2.0),
    "social_interaction": (15.0, 4.0, 2.0, 5.0),
    "site_visit": (10.0, 14.0, 8.0, 7.0),
    "product_view": (5.0, 18.0, 8.0, 7.0),
    "review_read": (3.0, 8.0, 2.0, 2.0),
    "email_open": (4.0, 7.0, 8.0, 7.0),
    "email_click": (1.0, 3.0, 2.5, 2.5),
    "product_demo": (0.3, 2.5, 0.3, 0.3),
    "store_visit": (1.0, 4.0, 3.0, 3.0),
    "cart_add": (0.5, 6.0, 3.0, 3.0),
    "payment_error": (0.0, 1.8, 0.8, 0.8),
    "cart_abandonment": (0.2, 3.0, 1.0, 1.0),
    "login": (0.0, 0.0, 18.0, 16.0),
    "loyalty_action": (0.0, 0.0, 6.0, 8.0),
    "support_call": (0.3, 0.8, 3.0, 2.0),
    "return": (0.0, 0.0, 2.0, 1.5),
    "complaint": (0.0, 0.4, 1.6, 1.0),
    "review_written": (0.0, 0.0, 1.0, 6.0),
    "referral": (0.0, 0.0, 0.3, 4.0),
    "share": (0.0, 0.0, 0.5, 6.0),
}
# Persona multipliers on the mix.
_SEGMENT_MIX: Final[dict[str, dict[str, float]]] = {
    "bargain_hunter": {
        "email_open": 2.0,
        "email_click": 2.0,
        "search_visit": 1.5,
        "cart_abandonment": 2.0,
        "review_read": 1.2,
        "loyalty_action": 0.8,
        "return": 1.2,
        "product_demo": 0.6,
    },
    "loyalist": {
        "login": 1.5,
        "loyalty_action": 2.0,
        "store_visit": 1.5,
        "support_call": 0.8,
        "complaint": 0.7,
        "referral": 1.5,
        "review_written": 1.3,
        "ad_impression": 0.7,
    },
    "researcher": {
        "review_read": 2.5,
        "product_view": 1.5,
        "product_demo": 2.0,
        "site_visit": 1.3,
        "social_interaction": 0.7,
        "cart_abandonment": 1.2,
        "ad_impression": 0.8,
    },
    "impulse": {
        "social_interaction": 2.0,
        "ad_impression": 1.5,
        "cart_add": 1.5,
        "return": 1.8,
        "complaint": 1.3,
        "support_call": 1.2,
        "share": 1.5,
        "review_read": 0.5,
        "product_demo": 0.6,
    },
}
# Channels each touchpoint can happen on.
_ALLOWED: Final[dict[str, tuple[str, ...]]] = {
    "ad_impression": ("display", "social", "paid_search"),
    "search_visit": ("paid_search", "web"),
    "social_interaction": ("social", "app"),
    "brand_survey": ("email", "web", "app"),
    "site_visit": ("web", "app"),
    "product_view": ("web", "app", "store"),
    "review_read": ("web", "app", "social"),
    "email_open": ("email",),
    "email_click": ("email",),
    "product_demo": ("store", "web", "call_center"),
    "store_visit": ("store",),
    "cart_add": ("web", "app", "store"),
    "checkout": ("web", "app", "store"),
    "purchase": ("web", "app", "store", "call_center"),
    "payment_error": ("web", "app", "store"),
    "cart_abandonment": ("web", "app"),
    "login": ("web", "app"),
    "loyalty_action": ("app", "web", "store"),
    "support_call": ("call_center",),
    "return": ("store", "web"),
    "complaint": ("call_center", "email", "social"),
    "cancellation": ("call_center", "web", "app"),
    "review_written": ("web", "app", "social"),
    "referral": ("web", "app", "email"),
    "share": ("social", "app"),
}
# Channel habits per persona, in CHANNELS order.
_CHANNEL_HABIT: Final = np.array(
    [
        [1.0, 0.6, 1.5, 1.5, 0.8, 0.7, 0.6, 0.8],  # bargain_hunter
        [0.8, 1.6, 1.0, 0.5, 0.6, 0.6, 1.8, 1.0],  # loyalist
        [1.6, 0.6, 1.0, 1.2, 0.8, 0.6, 1.0, 1.2],  # researcher
        [0.7, 1.6, 0.6, 0.8, 1.4, 1.8, 0.6, 0.6],  # impulse
    ]
)
# Daily probability of a session, per persona (rows) and latent stage (columns).
_P_ACTIVE: Final = np.array([0.13, 0.16, 0.13, 0.15]) * np.array([[1.0], [1.2], [1.0], [1.1]])
# After this many days without an event, the session probability is multiplied by _WIN_BACK.
_QUIET_DAYS: Final = 14
_WIN_BACK: Final = 2.5
# Extra touchpoints per session: 1 + Poisson(lambda).
_SESSION_LAMBDA: Final = np.array([1.3, 1.0, 2.0, 1.2])
# Awareness -> consideration, per active day; consideration -> awareness (fall back), per day.
_P_CONSIDER: Final = np.array([0.25, 0.30, 0.35, 0.30])
_P_FALL_BACK: Final = 0.008
# Retention -> advocacy per active day; advocacy -> retention per day.
_P_ADVOCATE: Final = np.array([0.02, 0.05, 0.02, 0.03])
_P_BACK_TO_RETENTION: Final = 0.02
_P_START_CONSIDERING: Final = 0.30
# Base daily hazards h0 per persona (rows) and latent stage (columns).
_CONV_BASE: Final = np.array(
    [
        [0.0006, 0.0045, 0.0035, 0.0040],
        [0.0008, 0.0050, 0.0070, 0.0080],
        [0.0003, 0.0028, 0.0025, 0.0030],
        [0.0016, 0.0072, 0.0045, 0.0050],
    ]
)
_CHURN_BASE: Final = np.array([0.0032, 0.0016, 0.0028, 0.0014]) * np.array(
    [[1.2], [0.5], [0.9], [1.4]]
)
_P_EXPLICIT: Final = 0.7
# Order values: lognormal, median per persona.
_ORDER_MEDIAN: Final = np.array([40.0, 80.0, 150.0, 60.0])
_ORDER_SIGMA: Final = 0.6
# brand_survey: daily probability for every live customer, whatever they do.
_P_SURVEY: Final = 0.007
_P_CART_BEFORE_PURCHASE: Final = 0.6
# Daily rhythm: relative weight of each UTC hour.
_HOUR_WEIGHTS: Final = np.array(
    [1, 0.6, 0.4, 0.3, 0.3, 0.5, 1, 2, 3, 4, 4.5, 5, 5.5, 5, 4.5, 4.5, 4.5, 5, 6, 7, 7, 6, 4, 2],
    dtype=float,
)
_DAY: Final = mechanics.DAY
_SESSION_GAP_MEAN: Final = 90.0  # seconds between touchpoints of a session

_TP_INDEX: Final = {tp: i for i, tp in enumerate(TOUCHPOINTS)}
_CH_INDEX: Final = {ch: i for i, ch in enumerate(CHANNELS)}


def _tables() -> tuple[FloatArr, FloatArr]:
    """Touchpoint CDF per (segment * 4 + latent stage) and channel CDF per (segment, touchpoint)."""
    n_tp, n_seg = len(TOUCHPOINTS), len(SEGMENTS)
    mix = np.zeros((n_seg, 4, n_tp))
    for tp, weights in _MIX.items():
        mix[:, :, _TP_INDEX[tp]] = weights
    for s, seg in enumerate(SEGMENTS):
        for tp, mult in _SEGMENT_MIX[seg].items():
            mix[s, :, _TP_INDEX[tp]] *= mult
    tp_cdf = mechanics.cdf_rows(mix.reshape(n_seg * 4, n_tp))
    allowed = np.zeros((n_tp, len(CHANNELS)))
    for tp, chans in _ALLOWED.items():
        for ch in chans:
            allowed[_TP_INDEX[tp], _CH_INDEX[ch]] = 1.0
    ch_cdf = mechanics.cdf_rows(allowed[None, :, :] * _CHANNEL_HABIT[:, None, :])
    return tp_cdf, ch_cdf


_TP_CDF, _CH_CDF = _tables()
_HOUR_CDF: Final = mechanics.cdf_rows(_HOUR_WEIGHTS)


def _seconds(rng: np.random.Generator, m: int, latest: int = _DAY - 1) -> IntArr:
    """Seconds into the day following the daily rhythm, at most ``latest``."""
    return mechanics.seconds_of_day(rng, _HOUR_CDF, m, latest)


def _channels(rng: np.random.Generator, seg: IntArr, tp: IntArr) -> IntArr:
    return mechanics.pick(_CH_CDF[seg, tp], rng.random(len(tp)))


def simulate(
    n_customers: int = 2000, *, seed: int = 0, start: str = "2024-01-01", days: int = 180
) -> SimulationResult:
    """Simulate ``n_customers`` journeys over ``days`` days from ``start`` (UTC), seeded.

    The same arguments always give identical frames (only ``numpy.random.default_rng(seed)``
    is used). About 35 events per customer; 30,000 customers (≈ 1 M events) take about 1 s.
    Raises :class:`~journeyml.errors.ConfigError` on a bad size, length or start. See the
    module docstring for the model and the planted causes.

    >>> from journeyml import simulate
    >>> sim = simulate(200, seed=1, days=120)
    >>> list(sim.events.columns)
    ['customer_id', 'timestamp', 'touchpoint', 'channel', 'stage', 'value', 'segment', 'region']
    >>> str(sim.start.date()), str(sim.end.date()), sim.customers["customer_id"].nunique()
    ('2024-01-01', '2024-04-30', 200)
    """
    t0 = mechanics.check_window(n_customers, days, start, noun="customer")
    rng = np.random.default_rng(seed)
    n = int(n_customers)
    n_causes = len(PLANTED_CAUSES)

    # --- customers ---------------------------------------------------------------------------
    segment = rng.choice(len(SEGMENTS), size=n, p=_SEGMENT_SHARE).astype(np.int64)
    region = rng.choice(len(REGIONS), size=n, p=_REGION_SHARE).astype(np.int64)
    arrival = rng.integers(0, days, size=n).astype(np.int64)
    state = np.where(rng.random(n) < _P_START_CONSIDERING, _CONSIDER, _AWARE).astype(np.int64)
    arrivals = mechanics.Arrivals(arrival, days)

    alive = np.zeros(n, dtype=bool)
    converted = np.zeros(n, dtype=bool)
    churn_day = np.full(n, -1, dtype=np.int64)
    churn_kind = np.zeros(n, dtype=np.int8)  # 0 none, 1 explicit, 2 inactivity
    last_day = np.zeros(n, dtype=np.int64)  # day of the latest event (read only once arrived)

    # --- planted causes ----------------------------------------------------------------------
    cause_tp = np.array([_TP_INDEX[c.touchpoint] for c in PLANTED_CAUSES])
    tp_to_cause = np.full(len(TOUCHPOINTS), -1, dtype=np.int64)
    tp_to_cause[cause_tp] = np.arange(n_causes)
    beta = np.array([c.direction * c.log_hazard for c in PLANTED_CAUSES])
    beta_conv = np.where([c.outcome == "conversion" for c in PLANTED_CAUSES], beta, 0.0)
    beta_churn = np.where([c.outcome == "churn" for c in PLANTED_CAUSES], beta, 0.0)
    # Recent exposure counts per cause (row) and customer (column), as of the start of the day:
    # an event of day e counts on days e + 1 .. e + window.
    recent_counts = mechanics.RecentCounts(
        n, [1] * n_causes, [c.window_days + 1 for c in PLANTED_CAUSES], days
    )

    log = mechanics.EventLog()
    tp_purchase, tp_checkout = _TP_INDEX["purchase"], _TP_INDEX["checkout"]
    tp_cart, tp_cancel = _TP_INDEX["cart_add"], _TP_INDEX["cancellation"]
    tp_payerr, tp_survey = _TP_INDEX["payment_error"], _TP_INDEX[NO_EFFECT_TOUCHPOINT]
    log_order_median = np.log(_ORDER_MEDIAN)

    for d in range(days):
        day0 = d * _DAY
        recent = recent_counts.start_day(d)
        arriving = arrivals.on(d)
        alive[arriving] = True
        live = np.flatnonzero(alive)
        m = len(live)
        seg, st = segment[live], state[live]
        x = np.minimum(recent[:, live], EXPOSURE_CAP).astype(np.float64)

        # churn: hazards from recent counts; nobody churns on the day they arrive
        h_churn = _CHURN_BASE[seg, st] * np.exp(beta_churn @ x)
        churn_now = (rng.random(m) < -np.expm1(-h_churn)) & (arrival[live] < d)
        explicit = churn_now & converted[live] & (rng.random(m) < _P_EXPLICIT)
        leaving = live[churn_now]
        alive[leaving] = False
        churn_day[leaving] = d
        churn_kind[leaving] = np.where(explicit[churn_now], 1, 2)
        cancels = live[explicit]
        if len(cancels):
            ch = _channels(rng, segment[cancels], np.full(len(cancels), tp_cancel))
            log.add(
                cancels,
                np.full(len(cancels), tp_cancel, dtype=np.int64),
                day0 + _seconds(rng, len(cancels)),
                ch=ch,
            )

        stay = ~churn_now
        live, seg, st, x = live[stay], seg[stay], st[stay], x[:, stay]
        m = len(live)

        # conversion (first or repeat purchase)
        h_conv = _CONV_BASE[seg, st] * np.exp(beta_conv @ x)
        conv_now = rng.random(m) < -np.expm1(-h_conv)
        is_new = np.zeros(m, dtype=bool)
        is_new[np.searchsorted(live, arriving)] = True
        # win-back: a customer quiet for a while is more likely to come back (campaigns)
        p_active = _P_ACTIVE[seg, st] * np.where(d - last_day[live] >= _QUIET_DAYS, _WIN_BACK, 1.0)
        active = (rng.random(m) < p_active) | is_new | conv_now

        # sessions
        sess = live[active]
        last_day[sess] = d
        sess_seg, sess_st = seg[active], st[active]
        k = 1 + rng.poisson(_SESSION_LAMBDA[sess_seg])
        ev_cust = np.repeat(sess, k)
        ev_seg = np.repeat(sess_seg, k)
        ev_tp = mechanics.pick(
            _TP_CDF[np.repeat(sess_seg * 4 + sess_st, k)], rng.random(len(ev_cust))
        )
        ev_ch = _channels(rng, ev_seg, ev_tp)
        gaps = 1 + rng.exponential(_SESSION_GAP_MEAN, len(ev_cust)).astype(np.int64)
        offset = mechanics.session_offsets(gaps, k)
        ev_sec = np.minimum(np.repeat(_seconds(rng, len(sess)), k) + offset, _DAY - 1) + day0
        log.add(ev_cust, ev_tp, ev_sec, ch=ev_ch)
        # a payment error follows a checkout
        perr = np.flatnonzero(ev_tp == tp_payerr)
        if len(perr):
            log.add(
                ev_cust[perr],
                np.full(len(perr), tp_checkout, dtype=np.int64),
                np.maximum(ev_sec[perr] - rng.integers(5, 60, len(perr)), day0),
                ch=ev_ch[perr],
            )

        # purchase sessions
        buyers = live[conv_now]
        nb = len(buyers)
        if nb:
            b_seg = seg[conv_now]
            b_ch = _channels(rng, b_seg, np.full(nb, tp_purchase))
            s_cart = _seconds(rng, nb, latest=_DAY - 1 - 900)
            s_checkout = s_cart + rng.integers(30, 600, nb)
            s_buy = s_checkout + rng.integers(10, 240, nb)
            cart = rng.random(nb) < _P_CART_BEFORE_PURCHASE
            # purchases can happen on the phone; checkout and cart stay online or in store
            web_ch = np.where(b_ch == _CH_INDEX["call_center"], _CH_INDEX["web"], b_ch)
            values = np.round(
                np.exp(log_order_median[b_seg] + _ORDER_SIGMA * rng.standard_normal(nb)), 2
            )
            log.add(
                buyers[cart],
                np.full(int(cart.sum()), tp_cart),
                day0 + s_cart[cart],
                ch=web_ch[cart],
            )
            log.add(buyers, np.full(nb, tp_checkout), day0 + s_checkout, ch=web_ch)
            log.add(buyers, np.full(nb, tp_purchase), day0 + s_buy, values, ch=b_ch)

        # the no-effect touchpoint: random live customers, whatever they do
        surveyed = live[rng.random(m) < _P_SURVEY]
        last_day[surveyed] = d
        if len(surveyed):
            ch = _channels(rng, segment[surveyed], np.full(len(surveyed), tp_survey))
            log.add(
                surveyed,
                np.full(len(surveyed), tp_survey, dtype=np.int64),
                day0 + _seconds(rng, len(surveyed)),
                ch=ch,
            )

        # latent stage moves (take effect tomorrow)
        new_state = st.copy()
        u = rng.random(m)
        new_state[(st == _AWARE) & active & (u < _P_CONSIDER[seg])] = _CONSIDER
        new_state[(st == _CONSIDER) & ~active & (u < _P_FALL_BACK)] = _AWARE
        new_state[(st == _CUSTOMER) & active & (u < _P_ADVOCATE[seg])] = _ADVOCATE
        new_state[(st == _ADVOCATE) & (u < _P_BACK_TO_RETENTION)] = _CUSTOMER
        new_state[conv_now & (st <= _CONSIDER)] = _CUSTOMER
        state[live] = new_state
        converted[buyers] = True

        # today's cause events (of the sessions) count from tomorrow for their window
        day_cause = tp_to_cause[ev_tp]
        hit = day_cause >= 0
        recent_counts.schedule(d, day_cause[hit], ev_cust[hit])

    return _assemble(
        log, n, segment, region, state, alive, churn_day, churn_kind, t0, days, PLANTED_CAUSES
    )


def _assemble(
    log: mechanics.EventLog,
    n: int,
    segment: IntArr,
    region: IntArr,
    state: IntArr,
    alive: BoolArr,
    churn_day: IntArr,
    churn_kind: npt.NDArray[np.int8],
    t0: pd.Timestamp,
    days: int,
    causes: tuple[PlantedCause, ...],
) -> SimulationResult:
    cust, tp, ch, sec, value = log.arrays()
    # canonical order: customer id (zero-padded, so numeric order), time, touchpoint name
    idx = mechanics.canonical_order(cust, sec, tp, TOUCHPOINTS, n, days)
    cust, tp, ch, sec, value = cust[idx], tp[idx], ch[idx], sec[idx], value[idx]

    width = max(6, len(str(n - 1)))
    ids = np.array([f"c{i:0{width}d}" for i in range(n)], dtype=object)
    tp_names = np.array(TOUCHPOINTS, dtype=object)
    stage_names = np.array([TOUCHPOINT_STAGE[t] for t in TOUCHPOINTS], dtype=object)
    ch_names = np.array(CHANNELS, dtype=object)
    seg_names = np.array(SEGMENTS, dtype=object)
    reg_names = np.array(REGIONS, dtype=object)
    start_ns = t0.value
    ts_ns = start_ns + sec * 1_000_000_000
    timestamps = pd.DatetimeIndex(ts_ns.view("datetime64[ns]")).tz_localize("UTC")

    events = pd.DataFrame(
        {
            "customer_id": pd.Series(ids[cust], dtype=object),
            "timestamp": timestamps,
            "touchpoint": pd.Series(tp_names[tp], dtype=object),
            "channel": pd.Series(ch_names[ch], dtype=object),
            "stage": pd.Series(stage_names[tp], dtype=object),
            "value": value.astype(np.float64),
            "segment": pd.Series(seg_names[segment[cust]], dtype=object),
            "region": pd.Series(reg_names[region[cust]], dtype=object),
        }
    )

    # --- ground truth ------------------------------------------------------------------------
    first_seen = mechanics.first_of(cust, ts_ns, np.ones(len(cust), dtype=bool), n)
    last_seen = mechanics.last_of(cust, ts_ns, n)
    is_purchase = tp == _TP_INDEX["purchase"]
    converted_at = mechanics.first_of(cust, ts_ns, is_purchase, n)
    cancelled_at = mechanics.first_of(cust, ts_ns, tp == _TP_INDEX["cancellation"], n)
    churned_at = np.where(
        churn_kind == 1,
        cancelled_at,
        np.where(churn_kind == 2, start_ns + churn_day * _DAY * 1_000_000_000, np.nan),
    ).astype(np.float64)
    kind_names = np.array([None, "explicit", "inactivity"], dtype=object)
    final_stage = np.where(churn_kind > 0, "churned", np.array(_LATENT_NAMES, dtype=object)[state])
    customers = pd.DataFrame(
        {
            "customer_id": pd.Series(ids, dtype=object),
            "segment": pd.Series(seg_names[segment], dtype=object),
            "region": pd.Series(reg_names[region], dtype=object),
            "first_seen": mechanics.to_timestamps(first_seen),
            "last_seen": mechanics.to_timestamps(last_seen),
            "converted_at": mechanics.to_timestamps(converted_at),
            "n_purchases": np.bincount(cust[is_purchase], minlength=n).astype(np.int64),
            "total_value": np.bincount(cust[is_purchase], weights=value[is_purchase], minlength=n),
            "churned_at": mechanics.to_timestamps(churned_at),
            "churn_kind": pd.Series(kind_names[churn_kind], dtype=object),
            "final_stage": pd.Series(final_stage, dtype=object),
        }
    )
    customers = pd.concat(
        [customers, mechanics.exposure_columns(cust, tp, causes, _TP_INDEX, n)], axis=1
    )
    end = t0 + pd.Timedelta(days=days)
    return SimulationResult(events=events, customers=customers, causes=causes, start=t0, end=end)


def ground_truth_path(out: Path | str) -> Path:
    """Where :func:`write_simulation` puts the ground truth for events written to ``out``."""
    out = Path(out)
    return out.with_name(f"{out.stem}.customers.parquet")


def write_simulation(result: SimulationResult, out: Path) -> None:
    """Write the events to parquet at ``out`` and the ground truth beside it.

    The ground truth goes to ``<stem>.customers.parquet`` in the same folder
    (:func:`ground_truth_path`).
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    result.events.to_parquet(out, index=False)
    result.customers.to_parquet(ground_truth_path(out), index=False)


assert set(TOUCHPOINT_STAGE.values()) <= set(CANONICAL_STAGES)
assert set(_ALLOWED) == set(TOUCHPOINT_STAGE)
