"""A small outside world for the report's evidence: a gym chain's app log in its own vocabulary.

Usage::

    python benchmarks/gym_world.py OUT.csv [--seed 3]

4,000 people over 200 days (from 2025-02-03), columns ``member_ref, ts, action, via``. Planted:
``free_pt_session`` multiplies the daily chance of joining (``membership_start``) by 3 for 14
days; ``payment_declined`` by 0.25 for 30 days; ``push_reminder`` (a quarter of the days,
company-sent) does nothing; ``coach_no_show`` multiplies the daily chance of cancelling
(``membership_cancel``) by 3 for 30 days. An activity level per person (lognormal) raises app use
and joining. Written to judge the report on a world its code was not written for (run through
``journeyml init``, ``train`` and ``report``; docs/explanations.md).
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

N, DAYS = 4000, 200
START = pd.Timestamp("2025-02-03", tz="UTC")


def simulate(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arrive = rng.integers(0, 150, N)
    act = np.clip(rng.lognormal(-2.3, 0.7, N), 0.01, 0.6)  # daily chance of opening the app
    member, gone = np.zeros(N, bool), np.zeros(N, bool)
    last_pt, last_declined, last_no_show = (np.full(N, -999) for _ in range(3))
    rows: list[tuple[str, pd.Timestamp, str, str]] = []

    def emit(mask: np.ndarray, action: str, via: str, day: int) -> None:
        idx = np.flatnonzero(mask)
        secs = rng.integers(6 * 3600, 22 * 3600, len(idx))
        for i, s in zip(idx, secs, strict=True):
            rows.append((f"M{i:05d}", START + pd.Timedelta(days=day, seconds=int(s)), action, via))

    for d in range(DAYS):
        alive = (arrive <= d) & ~gone
        first = arrive == d
        emit(first, "signup", "web", d)
        opens = alive & (rng.random(N) < act)
        emit(opens, "app_open", "app", d)
        emit(opens & (rng.random(N) < 0.35), "class_browse", "app", d)
        emit(alive & (rng.random(N) < 0.25), "push_reminder", "push", d)  # no effect
        prospect = alive & ~member
        pt = prospect & opens & (rng.random(N) < 0.06)
        emit(pt, "free_pt_session", "club", d)
        last_pt[pt] = d
        declined = prospect & opens & (rng.random(N) < 0.04)
        emit(declined, "payment_declined", "app", d)
        last_declined[declined] = d
        h = 0.006 * (0.5 + 6 * act)
        h = h * np.where(d - last_pt <= 14, 3.0, 1.0) * np.where(d - last_declined <= 30, 0.25, 1.0)
        join = prospect & ~first & (rng.random(N) < h)
        emit(join, "membership_start", "club", d)
        member |= join
        members = alive & member & ~join
        emit(members & (rng.random(N) < 0.5 * act), "class_checkin", "club", d)
        no_show = members & (rng.random(N) < 0.01)
        emit(no_show, "coach_no_show", "club", d)
        last_no_show[no_show] = d
        quit_ = members & (rng.random(N) < 0.004 * np.where(d - last_no_show <= 30, 3.0, 1.0))
        emit(quit_, "membership_cancel", "app", d)
        gone |= quit_

    df = pd.DataFrame(rows, columns=["member_ref", "ts", "action", "via"])
    df = df.sort_values(["ts", "member_ref"], kind="stable")
    df["ts"] = df["ts"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return df


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()
    df = simulate(args.seed)
    df.to_csv(args.out, index=False)
    print(f"{len(df):,} events → {args.out}")


if __name__ == "__main__":
    main()
