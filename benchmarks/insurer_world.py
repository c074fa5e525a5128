"""A third world the project was not built around: an insurer's member log, seeded, with its own
vocabulary, written as a CSV that ``journeyml init`` reads like any outside log.

Columns: ``member_ref``, ``event_time`` (ISO 8601, Europe/Berlin: +01:00 in winter, +02:00 in
summer), ``action``, ``medium``, ``premium_eur`` (quotes and purchases), ``region``.

Actions: ``get_quote``, ``policy_purchase`` (conversion), ``claim_filed``, ``claim_denied``,
``renewal_notice`` (company-sent), ``email_open`` (company-sent, no effect on anything),
``call_center``, ``cancel_policy`` (churn, policyholders only).

The effects are additive in log-odds and monotone (recent quotes and calls raise the chance to buy,
a high quote lowers it; a denied claim raises the chance to cancel, tenure lowers it): a world
where logistic regression on the journey features is as good as trees, the case the
blend's tie rule is about (docs/modeling.md). Nothing here is used by the package.

    .venv/bin/python benchmarks/insurer_world.py /tmp/insurer.csv --members 5000 --seed 1
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

REGIONS = ("north", "south", "east", "west")
#: log-odds shift of buying per region (after a quote)
REGION_EFFECT = {"north": 0.3, "south": -0.2, "east": 0.0, "west": -0.4}


def _logistic(f: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-f)))


def simulate_insurer(members: int, *, seed: int = 1, days: int = 300) -> pd.DataFrame:
    """Events of ``members`` members over ``days`` days from 2025-01-01 (local time)."""
    rng = np.random.default_rng(seed)
    n = members
    arrival = rng.integers(0, days - 30, n)
    interest = rng.lognormal(-3.2, 0.6, n)  # daily chance of a quote while shopping
    region = rng.choice(len(REGIONS), n, p=[0.3, 0.3, 0.2, 0.2])
    base_premium = rng.lognormal(np.log(40.0), 0.35, n)  # monthly, EUR
    holder = np.zeros(n, bool)
    gone = np.zeros(n, bool)
    since_quote = np.full(n, 999.0)
    window = 30  # quotes and calls of the last 30 days drive a purchase
    quotes = np.zeros((window, n))
    calls = np.zeros((window, n))
    since_call = np.full(n, 999.0)
    since_denied = np.full(n, 999.0)
    pending_claim = np.full(n, -1)  # days until a filed claim is decided (-1: none)
    tenure = np.zeros(n)
    premium = base_premium.copy()
    last_quote_premium = base_premium.copy()
    rows: list[tuple[np.ndarray, int, str, str, np.ndarray]] = []

    def emit(mask: np.ndarray, day: int, action: str, medium: str, eur: np.ndarray) -> None:
        idx = np.flatnonzero(mask)
        if len(idx):
            rows.append((idx, day, action, medium, eur[idx]))

    nan = np.full(n, np.nan)
    for day in range(days):
        alive = (arrival <= day) & ~gone
        shopping = alive & ~holder
        # shoppers: quotes, calls, then perhaps a purchase; interest fades over time
        # a member's record starts with a quote; shoppers ask for more now and then
        q = shopping & ((arrival == day) | (rng.random(n) < interest))
        quote_eur = np.round(base_premium, 2)  # a member is quoted one price
        last_quote_premium = np.where(q, quote_eur, last_quote_premium)
        emit(q, day, "get_quote", "web", quote_eur)
        call = alive & (
            rng.random(n) < np.where(holder, 0.004, 0.01) + np.where(since_denied < 14, 0.05, 0.0)
        )
        emit(call, day, "call_center", "phone", nan)
        since_quote = np.where(q, 0, since_quote + 1)
        since_call = np.where(call, 0, since_call + 1)
        quotes[day % window], calls[day % window] = q, call
        buy_logit = (
            -2.8
            - 0.12 * since_quote.clip(0, 90)
            + 0.3 * calls.sum(axis=0)
            - 0.02 * (last_quote_premium - 40)
        )
        buy = shopping & (rng.random(n) < _logistic(buy_logit))
        emit(buy, day, "policy_purchase", "web", last_quote_premium)
        premium = np.where(buy, last_quote_premium, premium)
        holder |= buy
        # policyholders: renewal notices, claims (a share denied a week later), cancellations
        renew = holder & ((day - arrival) % 30 == 0) & ~buy
        emit(renew, day, "renewal_notice", "email", premium)
        claim = holder & (rng.random(n) < 0.004)
        emit(claim, day, "claim_filed", "app", nan)
        pending_claim = np.where(claim & (pending_claim < 0), 7, pending_claim - 1)
        decided = holder & (pending_claim == 0)
        denied = decided & (rng.random(n) < 0.4)
        emit(denied, day, "claim_denied", "email", nan)
        since_denied = np.where(denied, 0, since_denied + 1)
        cancel_logit = (
            -6.4
            + 2.2 * (since_denied < 45)
            - 0.004 * tenure.clip(0, 300)
            + 0.015 * (premium - 40)
            + 0.8 * (since_call < 10)
        )
        cancel = holder & ~buy & (rng.random(n) < _logistic(cancel_logit))
        emit(cancel, day, "cancel_policy", "phone", nan)
        gone |= cancel
        holder &= ~cancel
        tenure = np.where(holder, tenure + 1, 0)
        # newsletters opened by anyone still around: company-sent, no effect
        opened = alive & ~cancel & (rng.random(n) < 0.03)
        emit(opened, day, "email_open", "email", nan)
    idx = np.concatenate([r[0] for r in rows])
    day_of = np.concatenate([np.full(len(r[0]), r[1]) for r in rows])
    order = {"claim_filed": 0, "get_quote": 1, "call_center": 2, "policy_purchase": 3}
    events = pd.DataFrame(
        {
            "member_ref": [f"M{i:06d}" for i in idx],
            "day": day_of,
            "rank": np.concatenate([np.full(len(r[0]), order.get(r[2], 4)) for r in rows]),
            "action": np.concatenate([np.full(len(r[0]), r[2]) for r in rows]),
            "medium": np.concatenate([np.full(len(r[0]), r[3]) for r in rows]),
            "premium_eur": np.concatenate([r[4] for r in rows]),
            "region": np.array(REGIONS)[region[idx]],
        }
    ).sort_values(["member_ref", "day", "rank"], kind="stable")
    # a time of day per event, increasing within a member's day in the order of the actions
    seconds = 8 * 3600 + events.groupby(["member_ref", "day"]).cumcount() * 1800
    seconds += rng.integers(0, 1800, len(events))
    local = (
        pd.Timestamp("2025-01-01")
        + pd.to_timedelta(events["day"], unit="D")
        + pd.to_timedelta(seconds, unit="s")
    ).dt.tz_localize("Europe/Berlin", ambiguous=False, nonexistent="shift_forward")
    events.insert(1, "event_time", local.map(lambda t: t.isoformat()))
    return events.drop(columns=["day", "rank"]).reset_index(drop=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--members", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--days", type=int, default=300)
    args = ap.parse_args()
    events = simulate_insurer(args.members, seed=args.seed, days=args.days)
    events.to_csv(args.out, index=False)
    counts = events["action"].value_counts().to_dict()
    print(f"{len(events):,} events of {events['member_ref'].nunique():,} members: {counts}")


if __name__ == "__main__":
    main()
