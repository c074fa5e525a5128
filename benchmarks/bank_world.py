"""A fourth world, for judging the explanations' allocation rules: a bank's account opening and
current-account log, written after those rules were chosen on the three worlds of
``journeyml.sim`` (retail, b2b, insurer), with its own vocabulary.

Usage::

    python benchmarks/bank_world.py [--customers 4000] [--seed 3]

runs the recovery protocol of the tests (:func:`journeyml.bench.recovery.run_recovery`, 240
days, weekly snapshots) on it and prints every planted cause's share of exposed test
predictions with the cause in the top 3 (docs/explanations.md, "A fourth world").

* **People** arrive with an ``income_band`` (student, salaried, self_employed, retired): how often
  they act, their base hazards. Everyone starts with ``rate_lookup``.
* **Prospects** (own sessions): ``rate_lookup``, ``fee_calculator``, ``application_started``,
  ``advisor_video_call``. ``application_started`` is followed, 1–4 days later, by an
  ``identity_check_request`` for 30 % of applications (the bank's response, a **delayed
  blocker**: ×0.22 from day 2 to day 28, strong). An application itself helps a little (×1.4, 10
  d); ``advisor_video_call`` is the strong booster (×3.6, 12 d). Conversion: ``account_opened``.
* **Customers** (own sessions): ``card_payment`` (the bulk), ``mobile_login``,
  ``standing_order_setup``, ``fee_dispute_filed``. A dispute is answered 3–10 days later:
  ``dispute_upheld`` (55 %, a refund: churn ×0.35 for 50 d, strong) or ``dispute_rejected``
  (churn ×4.5 from day 2 to 40, strong); the filing itself raises churn a little (×1.5, 20 d): a
  filed/resolved pair with opposite effects.
* Churn: ``account_closed`` (half of the churners) or silence; customers only.
* **Company-sent** (declared, as a mapping's ``company_sent``): ``promo_push``, a push every 6
  days at 11:00 to 60 % of everyone not closed (prospects and customers, those who went quiet
  included; the **no-effect touchpoint**), and ``monthly_statement`` (monthly, customers). The
  bank's responses (identity check, dispute answers) are not declared: they count as activity
  in the features, as in the insurer world.
* **Generic**: own events in the last 21 days (capped at 12) raise conversion (+0.10 each) and
  lower churn (−0.08 each); the prospect's age lowers conversion (``exp(−age / 35)``).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd

from journeyml.sim import mechanics
from journeyml.sim.retail import EXPOSURE_CAP, PlantedCause, SimulationResult

STAGE = {
    "promo_push": "awareness",
    "rate_lookup": "awareness",
    "fee_calculator": "consideration",
    "application_started": "consideration",
    "identity_check_request": "consideration",
    "advisor_video_call": "consideration",
    "account_opened": "conversion",
    "card_payment": "retention",
    "mobile_login": "retention",
    "standing_order_setup": "retention",
    "monthly_statement": "retention",
    "fee_dispute_filed": "retention",
    "dispute_upheld": "retention",
    "dispute_rejected": "retention",
    "account_closed": "retention",
}
TOUCHPOINTS = tuple(STAGE)
CHANNEL = {
    "promo_push": "push",
    "rate_lookup": "website",
    "fee_calculator": "website",
    "application_started": "website",
    "identity_check_request": "letter",
    "advisor_video_call": "video",
    "account_opened": "website",
    "card_payment": "card",
    "mobile_login": "mobile",
    "standing_order_setup": "mobile",
    "monthly_statement": "letter",
    "fee_dispute_filed": "mobile",
    "dispute_upheld": "letter",
    "dispute_rejected": "letter",
    "account_closed": "branch",
}
BANDS = ("student", "salaried", "self_employed", "retired")
COMPANY_SENT = ("promo_push", "monthly_statement")
NO_EFFECT = "promo_push"
CAUSES = (
    PlantedCause("advisor_video_call", "advisor_video_call", "conversion", +1, 1.28, 12, True),
    PlantedCause(
        "identity_check_request", "identity_check_request", "conversion", -1, 1.5, 28, True, 1
    ),
    PlantedCause("application_started", "application_started", "conversion", +1, 0.34, 10, False),
    PlantedCause("dispute_rejected", "dispute_rejected", "churn", +1, 1.5, 40, True, 1),
    PlantedCause("dispute_upheld", "dispute_upheld", "churn", -1, 1.05, 50, True),
    PlantedCause("fee_dispute_filed", "fee_dispute_filed", "churn", +1, 0.4, 20, False),
)
_TP = {t: i for i, t in enumerate(TOUCHPOINTS)}
_SHARE = (0.25, 0.40, 0.15, 0.20)
_P_ACTIVE = np.array([[0.28, 0.22], [0.18, 0.12], [0.22, 0.15], [0.10, 0.06]])
_CONV = np.array([0.012, 0.010, 0.007, 0.006])
_CHURN = np.array([0.0070, 0.0035, 0.0050, 0.0020])
_DRIFT = 0.012
_MIX = {  # (prospect, customer)
    "rate_lookup": (5.0, 0.0),
    "fee_calculator": (3.0, 0.0),
    "application_started": (2.0, 0.0),
    "advisor_video_call": (1.0, 0.0),
    "card_payment": (0.0, 10.0),
    "mobile_login": (0.0, 6.0),
    "standing_order_setup": (0.0, 1.0),
    "fee_dispute_filed": (0.0, 0.9),
}
_MIX_CDF = mechanics.cdf_rows(
    np.array([[_MIX.get(t, (0.0, 0.0))[k] for t in TOUCHPOINTS] for k in (0, 1)])
)
_OWN = np.array(
    [
        t not in (*COMPANY_SENT, "identity_check_request", "dispute_upheld", "dispute_rejected")
        for t in TOUCHPOINTS
    ]
)
_HOURS = mechanics.cdf_rows(
    np.array([0.2] * 6 + [1, 2, 4, 5, 5, 6, 7, 6, 5, 5, 5, 6, 7, 7, 6, 4, 2, 1])
)


def simulate(
    n_customers: int = 2000, *, seed: int = 0, start: str = "2024-01-01", days: int = 180
) -> SimulationResult:
    t0 = mechanics.check_window(n_customers, days, start)
    rng = np.random.default_rng(seed + 1000)  # not the package worlds' draws for a seed
    n = int(n_customers)
    band = rng.choice(4, size=n, p=_SHARE).astype(np.int64)
    arrival = rng.integers(0, days, size=n).astype(np.int64)
    arrivals = mechanics.Arrivals(arrival, days)
    state = np.full(n, -1, np.int64)  # 0 prospect, 1 customer, 2 drifted, 3 lapsed, 4 closed
    opened = np.full(n, -1, np.int64)
    churn_day = np.full(n, -1, np.int64)
    hz = mechanics.cause_rows(CAUSES, _TP, n, engage_days=21, days=days)
    pending: dict[int, list[tuple[np.ndarray, int]]] = {}
    log = mechanics.EventLog()

    def add(d: int, who: np.ndarray, tp: int | np.ndarray, sec: np.ndarray) -> np.ndarray:
        tps = np.broadcast_to(np.asarray(tp, np.int64), who.shape).astype(np.int64)
        log.add(who, tps, d * mechanics.DAY + np.minimum(sec, mechanics.DAY - 1))
        return tps

    for d in range(days):
        counts = hz.recent.start_day(d)
        dw, dt = [], []
        new = arrivals.on(d)
        state[new] = 0
        dw.append(new)
        dt.append(add(d, new, _TP["rate_lookup"], mechanics.seconds_of_day(rng, _HOURS, len(new))))
        for who, tp in pending.pop(d, []):
            keep = who[state[who] != 4]
            dw.append(keep)
            dt.append(add(d, keep, tp, mechanics.seconds_of_day(rng, _HOURS, len(keep))))
        live = np.flatnonzero((state == 0) | (state == 1))
        live = live[arrival[live] < d]
        b, st = band[live], state[live]
        x = np.minimum(counts[:, live], EXPOSURE_CAP).astype(float)
        act = np.minimum(counts[hz.activity_row, live], 12).astype(float)
        age = (d - arrival[live]).astype(float)
        pros = st == 0
        h_conv = _CONV[b] * np.exp(-age / 35 + 0.10 * act + hz.beta_conv @ x)
        h_churn = _CHURN[b] * np.exp(-0.08 * act + hz.beta_churn @ x)
        u = rng.random(len(live))
        conv = pros & (u < -np.expm1(-h_conv))
        churn = ~pros & (u < -np.expm1(-h_churn))
        drift = pros & ~conv & (rng.random(len(live)) < _DRIFT)
        close = churn & (rng.random(len(live)) < 0.5)
        buyers = live[conv]
        state[buyers], opened[buyers] = 1, d
        state[live[churn]] = np.where(close[churn], 4, 3)
        state[live[drift]] = 2
        churn_day[live[churn]] = d
        dw.append(buyers)
        dt.append(
            add(
                d, buyers, _TP["account_opened"], mechanics.seconds_of_day(rng, _HOURS, len(buyers))
            )
        )
        gone = live[close]
        dw.append(gone)
        dt.append(
            add(d, gone, _TP["account_closed"], mechanics.seconds_of_day(rng, _HOURS, len(gone)))
        )
        stays = ~churn & ~drift & ~conv
        idx = np.flatnonzero(stays & (rng.random(len(live)) < _P_ACTIVE[b, np.minimum(st, 1)]))
        size = 1 + rng.poisson(0.8, len(idx))
        who = np.repeat(live[idx], size)
        tp = mechanics.pick(_MIX_CDF[np.repeat(np.minimum(st[idx], 1), size)], rng.random(len(who)))
        sec = np.repeat(mechanics.seconds_of_day(rng, _HOURS, len(idx)), size)
        dw.append(who)
        dt.append(
            add(d, who, tp, sec + mechanics.session_offsets(rng.integers(20, 400, len(who)), size))
        )
        apps = who[tp == _TP["application_started"]]
        checks = apps[rng.random(len(apps)) < 0.30]
        lag = rng.integers(1, 5, len(checks))
        disputes = who[tp == _TP["fee_dispute_filed"]]
        settle = rng.integers(3, 11, len(disputes))
        upheld = rng.random(len(disputes)) < 0.55
        for later, whom, what in (
            (d + lag, checks, np.full(len(checks), _TP["identity_check_request"])),
            (
                d + settle,
                disputes,
                np.where(upheld, _TP["dispute_upheld"], _TP["dispute_rejected"]),
            ),
        ):
            for day in np.unique(later).tolist():
                for t in np.unique(what[later == day]).tolist():
                    pending.setdefault(day, []).append((whom[(later == day) & (what == t)], t))
        # company-sent
        cust = np.flatnonzero((state == 1) & (opened >= 0) & (opened < d))
        due = cust[(d - opened[cust]) % 30 == 15]
        dw.append(due)
        dt.append(add(d, due, _TP["monthly_statement"], 3 * 3600 + rng.integers(0, 600, len(due))))
        if d % 6 == 2:
            reach = np.flatnonzero((state >= 0) & (state != 4) & (arrival < d))
            got = reach[rng.random(len(reach)) < 0.6]
            dw.append(got)
            dt.append(add(d, got, _TP["promo_push"], 11 * 3600 + rng.integers(0, 900, len(got))))
        wa = np.concatenate(dw).astype(np.int64)
        ta = np.concatenate(dt).astype(np.int64)
        planted = hz.row_of_tp[ta] >= 0
        own = _OWN[ta]
        hz.recent.schedule(d, hz.row_of_tp[ta[planted]], wa[planted])
        hz.recent.schedule(d, np.full(int(own.sum()), hz.activity_row), wa[own])

    c, tp, _, sec, value = log.arrays()
    idx = mechanics.canonical_order(c, sec, tp, TOUCHPOINTS, n, days)
    c, tp, sec, value = c[idx], tp[idx], sec[idx], value[idx]
    ids = np.array([f"acct-{i:05d}" for i in range(n)], dtype=object)
    ts_ns = t0.value + sec * 1_000_000_000
    channel = np.array([CHANNEL[t] for t in TOUCHPOINTS], dtype=object)[tp]
    events = mechanics.events_frame(
        ids, c, ts_ns, TOUCHPOINTS, tp, channel, STAGE, value, {"income_band": (BANDS, band)}
    )
    bought = tp == _TP["account_opened"]
    churned = np.where(
        state == 4,
        mechanics.first_of(c, ts_ns, tp == _TP["account_closed"], n),
        np.where(state == 3, t0.value + churn_day * mechanics.DAY * 1_000_000_000, np.nan),
    ).astype(np.float64)
    customers = pd.DataFrame(
        {
            "customer_id": pd.Series(ids, dtype=object),
            "income_band": pd.Series(np.array(BANDS, dtype=object)[band], dtype=object),
            "converted_at": mechanics.to_timestamps(mechanics.first_of(c, ts_ns, bought, n)),
            "churned_at": mechanics.to_timestamps(churned),
        }
    )
    return SimulationResult(
        events=events,
        customers=pd.concat([customers, mechanics.exposure_columns(c, tp, CAUSES, _TP, n)], axis=1),
        causes=CAUSES,
        start=t0,
        end=t0 + pd.Timedelta(days=days),
        world="bank",
        conversion_touchpoints=("account_opened",),
        churn_touchpoints=("account_closed",),
        company_sent=COMPANY_SENT,
        no_effect_touchpoint=NO_EFFECT,
        churn_needs_conversion=True,
    )


def register() -> None:
    """Make ``bank`` a world of :func:`journeyml.sim.simulate_world` (for this process)."""
    import journeyml.bench.recovery as recovery
    import journeyml.sim as sim

    sim.WORLDS["bank"] = simulate
    recovery.PERSONA_ATTRIBUTE["bank"] = "income_band"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()
    from journeyml.bench.recovery import run_recovery, summary

    register()
    t0 = time.perf_counter()
    rec = run_recovery("bank", args.customers, seed=args.seed)
    print(summary(rec).to_string(index=False))
    load = os.getloadavg()[0]
    print(f"{time.perf_counter() - t0:.0f} s, load average {load:.1f}")


if __name__ == "__main__":
    main()
