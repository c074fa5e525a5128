"""A separate process that works on a store, for the fault and concurrency tests (run as a
script, never collected).

    python store_worker.py stream URI FIRST LAST   ingest batches FIRST..LAST-1, printing
                                                   "send B" before and "ack B ACCEPTED
                                                   DUPLICATES" after each commit
    python store_worker.py race URI SEED N         open (maybe creating) the store, ingest the N
                                                   batches in a shuffled order, reading journeys
                                                   in between; prints a JSON summary

Batch ``b`` is ``BATCH`` events of customer ``b00042`` (for b = 42), always the same ones.
"""

from __future__ import annotations

import json
import random
import sys

import numpy as np
import pandas as pd

BATCH = 500
T0 = pd.Timestamp("2024-01-01", tz="UTC")
NOW = "2025-01-01"


def customer(b: int) -> str:
    return f"b{b:05d}"


def batch(b: int) -> pd.DataFrame:
    i = np.arange(BATCH)
    return pd.DataFrame(
        {
            "customer_id": customer(b),
            "timestamp": T0 + pd.to_timedelta(i * 60 + b, unit="s"),
            "touchpoint": np.array(["visit", "view", "cart", "purchase"], dtype=object)[i % 4],
            "channel": "web",
            "stage": None,
            "value": np.where(i % 4 == 3, 10.0 + b, np.nan),
            "segment": f"s{b % 3}",
        }
    )


def stream(uri: str, first: int, last: int) -> None:
    from journeyml.store import EventStore

    with EventStore.open(uri) as store:
        for b in range(first, last):
            ev = batch(b)
            print(f"send {b}", flush=True)
            r = store.ingest(ev, source="stream", now=NOW)
            print(f"ack {b} {r.accepted} {r.duplicates}", flush=True)


def race(uri: str, seed: int, n: int) -> None:
    from journeyml.store import EventStore

    rng = random.Random(seed)
    order = list(range(n))
    rng.shuffle(order)
    out = {"accepted": 0, "duplicates": 0, "reads": 0, "partial": [], "streamed": 0}
    with EventStore.open(uri) as store:
        for k, b in enumerate(order):
            half = BATCH // 2
            ev = batch(b)
            for part in (ev.iloc[:half], ev.iloc[half:]):  # two transactions per batch
                r = store.ingest(part, source=f"race-{seed}", now=NOW)
                out["accepted"] += r.accepted
                out["duplicates"] += r.duplicates
            seen = len(store.journey(customer(rng.randrange(n))))
            out["reads"] += 1
            if seen not in (0, half, BATCH):
                out["partial"].append(seen)
            if k % 10 == 9:  # a streamed read of everything so far
                for chunk in store.journeys(chunk_customers=7):
                    sizes = chunk.groupby("customer_id").size()
                    out["partial"] += [int(s) for s in sizes if s not in (half, BATCH)]
                    out["streamed"] += len(chunk)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    mode, uri, *args = sys.argv[1:]
    if mode == "stream":
        stream(uri, int(args[0]), int(args[1]))
    elif mode == "race":
        race(uri, int(args[0]), int(args[1]))
    else:
        raise SystemExit(f"unknown mode {mode!r}")
