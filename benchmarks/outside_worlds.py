"""Two outside worlds, unlike the simulators in ``journeyml.sim``, to walk the new user's road on.

Usage::

    python benchmarks/outside_worlds.py OUT_DIR [--seed 7] [--applications 3000] [--players 4000]

writes ``OUT_DIR/loan_applications.csv`` (world A) and ``OUT_DIR/game_events.tsv`` (world B),
each in the shape a real export would have, plus ``*.truth.json`` with what was planted.

**World A, a lender's application process** (a process-mining tool's export: semicolon
separated, ISO 8601 times with the Amsterdam offset, ``+01:00``/``+02:00``; one row per activity
instance and lifecycle transition). Columns ``Case ID;Activity;lifecycle:transition;Resource;
Complete Timestamp;Requested amount;Loan product``. An application is submitted, checked (fraud,
credit), may need documents (asked again and again for some), is reviewed by hand when large, gets
an offer, and ends late with ``Application approved``, ``Application declined`` or ``Application
withdrawn``. Planted on the outcome (approval): each documents request lowers the chance the
applicant stays (withdrawal ×1.7 per request), a large amount raises decline, a fraud hit ends the
case within the hour (declined: the very short cases); the resource ``U07`` is slow but changes no
outcome.

**World B, a mobile game's analytics export** (tab separated, epoch milliseconds, numeric player
ids, revenue in ``rev_usd``, ``country`` and ``store`` per player). Players play sessions of
several events; ``iap_purchase`` is the conversion (value ``rev_usd``); nobody ever says they
leave: churn is only silence. Planted: ``tournament_join`` multiplies the daily chance of a first
purchase by 3 for 14 days; ``app_crash`` multiplies the daily chance of quitting for good by 4 for
21 days; ``push_received`` (company-sent, daily 18:00 UTC batches to a random third of the half
who allowed pushes, whatever they do) does nothing. Half of the installs never come back after
their ``first_open``; those who also refused pushes are one-event players.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

# -- world A -----------------------------------------------------------------------------------

A_START = pd.Timestamp("2025-01-06 08:00", tz="Europe/Amsterdam")
PRODUCTS = ("personal_loan", "car_loan", "home_improvement")
RESOURCES = tuple(f"U{i:02d}" for i in range(1, 13))


def loan_applications(n: int, seed: int) -> tuple[pd.DataFrame, dict[str, object]]:
    """One row per activity transition of ``n`` loan applications over about 300 days."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[str, str, str, str, pd.Timestamp, int, str]] = []
    outcomes: dict[str, str] = {}
    for i in range(n):
        case = f"APP{2025_000000 + i * 7 + int(rng.integers(0, 7))}"
        product = PRODUCTS[int(rng.choice(3, p=[0.5, 0.3, 0.2]))]
        base = {"personal_loan": 8000, "car_loan": 18000, "home_improvement": 30000}[product]
        amount = int(round(base * rng.lognormal(0, 0.5), -2))
        t = (
            A_START
            + pd.Timedelta(days=float(rng.uniform(0, 270)))
            + pd.Timedelta(hours=float(rng.uniform(0, 9)))
        )

        def act(
            name: str, dur_h: float, resource: str | None = None, *, start: bool = True
        ) -> None:
            nonlocal t
            res = resource or RESOURCES[int(rng.integers(0, len(RESOURCES)))]
            slow = 3.0 if res == "U07" else 1.0
            if start:
                rows.append((case, name, "start", res, t, amount, product))  # noqa: B023 (called in this loop)
            t = t + pd.Timedelta(hours=float(rng.exponential(dur_h) * slow) + 0.02)
            rows.append((case, name, "complete", res, t, amount, product))  # noqa: B023

        def wait(days: float) -> None:
            nonlocal t
            t = t + pd.Timedelta(days=float(rng.exponential(days)))

        act("Submit application", 0.2, "web", start=False)
        wait(0.3)
        act("Fraud check", 0.5, "system", start=False)
        if rng.random() < 0.04:  # a fraud hit: declined within the hour
            act("Application declined", 0.05, "system", start=False)
            outcomes[case] = "declined"
            continue
        wait(0.5)
        act("Credit check", 2.0)
        doc_requests = 0
        p_docs = 0.45
        while rng.random() < p_docs and doc_requests < 6:
            act("Request documents", 0.3)
            doc_requests += 1
            wait(6.0)  # the applicant takes days (long cases)
            if rng.random() < 0.12 * 1.7**doc_requests:
                act("Application withdrawn", 0.05, "system", start=False)
                outcomes[case] = "withdrawn"
                break
            act("Documents received", 0.2, "web", start=False)
            p_docs = 0.35
        if case in outcomes:
            continue
        if amount > 20000 or rng.random() < 0.15:
            wait(2.0)
            act("Manual review", 6.0)
        wait(1.0)
        p_decline = 0.12 + 0.25 * (amount > 25000) + 0.05 * doc_requests
        if rng.random() < p_decline:
            wait(1.0)
            act("Application declined", 0.1)
            outcomes[case] = "declined"
            continue
        act("Create offer", 1.0)
        act("Send offer", 0.1, "system", start=False)
        if rng.random() < 0.3:
            wait(3.0)
            act("Call applicant", 0.3)
        wait(4.0)
        if rng.random() < 0.10 + 0.08 * doc_requests:
            act("Application withdrawn", 0.05, "system", start=False)
            outcomes[case] = "withdrawn"
            continue
        act("Offer accepted", 0.1, "web", start=False)
        wait(0.5)
        act("Application approved", 0.5)
        outcomes[case] = "approved"
    frame = pd.DataFrame(
        rows,
        columns=[
            "Case ID",
            "Activity",
            "lifecycle:transition",
            "Resource",
            "Complete Timestamp",
            "Requested amount",
            "Loan product",
        ],
    )
    frame = frame.sort_values(["Complete Timestamp", "Case ID"], kind="stable")
    frame["Complete Timestamp"] = frame["Complete Timestamp"].map(
        lambda x: x.isoformat(timespec="seconds")
    )
    shares = pd.Series(outcomes).value_counts(normalize=True).round(3).to_dict()
    truth = {
        "cases": n,
        "outcome_shares": shares,
        "planted": {
            "Request documents": "raises withdrawal x1.7 per request: lowers approval",
            "Requested amount": "above 25,000 raises decline",
            "Fraud check": "4% declined within the hour (very short cases)",
            "Resource U07": "3x slower, no effect on the outcome",
        },
    }
    return frame.reset_index(drop=True), truth


# -- world B -----------------------------------------------------------------------------------

B_START = pd.Timestamp("2025-05-01", tz="UTC")
B_DAYS = 150
COUNTRIES = ("US", "BR", "DE", "IN", "JP")


def game_events(n: int, seed: int) -> tuple[pd.DataFrame, dict[str, object]]:
    """One row per analytics event of ``n`` players installing over the first 120 days."""
    rng = np.random.default_rng(seed)
    pid = rng.choice(np.arange(10_000_000, 99_999_999), n, replace=False)
    install = rng.integers(0, 120, n)
    country = rng.choice(len(COUNTRIES), n, p=[0.35, 0.2, 0.15, 0.2, 0.1])
    store = rng.choice(2, n, p=[0.45, 0.55])  # ios / android
    engage = np.clip(rng.lognormal(-1.3, 0.6, n), 0.03, 0.9)  # daily chance of a session
    drop_at_once = rng.random(n) < 0.50
    opted_in = rng.random(n) < 0.5
    payer, quit_ = np.zeros(n, bool), np.zeros(n, bool)
    last_tour, last_crash = np.full(n, -999), np.full(n, -999)
    rows: list[tuple[int, int, str, int]] = []  # (player index, ms since B_START, event, cents)

    def emit(idx: np.ndarray, day: int, secs: np.ndarray, event: str, cents: int = 0) -> None:
        for i, s in zip(idx, secs, strict=True):
            rows.append(
                (int(i), int((day * 86400 + int(s)) * 1000 + rng.integers(0, 1000)), event, cents)
            )

    for d in range(B_DAYS):
        new = install == d
        secs0 = rng.integers(0, 86000, n)
        emit(np.flatnonzero(new), d, secs0[new], "first_open")
        alive = (install < d) & ~quit_ & ~drop_at_once
        # company-sent pushes: a daily 18:00 batch to a third of the players who allowed them,
        # whatever they do (no effect, and no proxy of anything that has one)
        pushed = (install < d) & opted_in & (rng.random(n) < 0.3)
        emit(
            np.flatnonzero(pushed),
            d,
            18 * 3600 + rng.integers(0, 120, pushed.sum()),
            "push_received",
        )
        play = alive & (rng.random(n) < engage)
        for i in np.flatnonzero(play):
            t = int(rng.integers(7 * 3600, 23 * 3600))
            seq = ["session_start"]
            for _ in range(1 + rng.poisson(2.0)):
                seq += ["level_start", "level_complete" if rng.random() < 0.7 else "level_fail"]
            if rng.random() < 0.25:
                seq.append("ad_watched")
            if rng.random() < 0.15:
                seq.append("shop_open")
            if not payer[i] and rng.random() < 0.08:
                seq.append("tournament_join")
                last_tour[i] = d
            crash = rng.random() < 0.05
            if crash:
                seq.insert(int(rng.integers(1, len(seq) + 1)), "app_crash")
                seq = seq[: seq.index("app_crash") + 1]
                last_crash[i] = d
            for ev in seq:
                rows.append((int(i), (d * 86400 + t) * 1000 + int(rng.integers(0, 1000)), ev, 0))
                t += int(rng.integers(5, 240))
            # purchases: first ones (conversion) and repeats
            p_buy = 0.012 * (0.4 + 4 * engage[i]) * (3.0 if d - last_tour[i] <= 14 else 1.0)
            if payer[i]:
                p_buy = 0.03
            if rng.random() < p_buy:
                cents = int(rng.choice([99, 499, 999, 1999], p=[0.5, 0.3, 0.15, 0.05]))
                rows.append((int(i), (d * 86400 + t) * 1000, "iap_purchase", cents))
                payer[i] = True
        # quitting for good (silence): base hazard, lower for engaged players, x4 after a crash
        h = 0.02 * (1.3 - engage) * np.where(d - last_crash <= 21, 4.0, 1.0)
        quit_ |= alive & (rng.random(n) < h)
    ev = pd.DataFrame(rows, columns=["i", "ms", "event_name", "cents"])
    ev = ev.sort_values(["ms", "i"], kind="stable")
    frame = pd.DataFrame(
        {
            "player_id": pid[ev["i"].to_numpy()],
            "client_ts": (B_START.value // 1_000_000 + ev["ms"]).to_numpy(),
            "event_name": ev["event_name"].to_numpy(),
            "platform": np.array(["ios", "android"])[store[ev["i"].to_numpy()]],
            "country": np.array(COUNTRIES)[country[ev["i"].to_numpy()]],
            "rev_usd": np.where(ev["cents"].to_numpy() > 0, ev["cents"].to_numpy() / 100, np.nan),
        }
    )
    counts = frame.groupby("player_id").size()
    truth = {
        "players": n,
        "events": len(frame),
        "one_event_players": round(float((counts == 1).mean()), 3),
        "payers": int(payer.sum()),
        "planted": {
            "tournament_join": "conversion (first iap_purchase) x3 for 14 days: raises",
            "app_crash": "quitting for good (silence) x4 for 21 days: raises churn",
            "push_received": "company-sent, daily 18:00 batch: no effect",
        },
    }
    return frame.reset_index(drop=True), truth


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--applications", type=int, default=3000)
    ap.add_argument("--players", type=int, default=4000)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    a, ta = loan_applications(args.applications, args.seed)
    a.to_csv(args.out / "loan_applications.csv", sep=";", index=False)
    (args.out / "loan_applications.truth.json").write_text(json.dumps(ta, indent=2) + "\n")
    b, tb = game_events(args.players, args.seed)
    b.to_csv(args.out / "game_events.tsv", sep="\t", index=False)
    (args.out / "game_events.truth.json").write_text(json.dumps(tb, indent=2) + "\n")
    print(f"world A: {len(a):,} rows, {ta['outcome_shares']}")
    print(
        f"world B: {len(b):,} rows, {tb['one_event_players']:.0%} one-event, {tb['payers']} payers"
    )


if __name__ == "__main__":
    main()
