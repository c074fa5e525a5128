"""The cost of logging batch scoring: ``journeyml score FILE`` with and without writing every
prediction to the store's prediction log (one transaction per chunk of 2,000 customers).

In one process, the way the command runs: ``score_chunks`` → ``write_responses`` on the same
events, with ``on_chunk=BatchLog(...)`` or without, alternating rounds; JSON lines with root
causes (three tasks) and CSV probabilities only (no explanations: the cheapest scoring, where
the log weighs most), SQLite and PostgreSQL. Customers/s per configuration (median over
rounds) and the log's share.

Needs trained champions: ``--tracking-uri`` (e.g. the demo's ``sqlite:///mlflow/mlflow.db``).
Writes docs/benchmarks.md between ``<!-- BEGIN batch-log -->`` and ``<!-- END batch-log -->``.
Usage: .venv/bin/python benchmarks/batch_log.py --tracking-uri URI [--customers 2000]
       [--rounds 3] [--write]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _docs import machine, write_section
from store_http import NOW, drop_pg, events_of, pg_uri

from journeyml.scoring import Predictor, ScoreRequest
from journeyml.serving import score_chunks, write_responses
from journeyml.serving.batch_log import BatchLog
from journeyml.store import EventStore


def run(
    pred: Predictor, ev: pd.DataFrame, out: Path, explain: bool, store: EventStore | None
) -> float:
    """Seconds to score and write every customer of ``ev`` (and log them with ``store``)."""
    req = ScoreRequest(pred.tasks, explain=explain, top_k=3)
    sink = None if store is None else BatchLog(store, project="bench", created_at=NOW)
    t0 = time.perf_counter()
    write_responses(score_chunks(pred, ev, None, req, on_chunk=sink), out, pred.tasks)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tracking-uri", required=True)
    ap.add_argument("--customers", type=int, default=2000)
    ap.add_argument("--per", type=int, default=35, help="events per customer")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--backends", nargs="*", default=["sqlite", "postgresql"])
    ap.add_argument("--write", action="store_true", help="write docs/benchmarks.md")
    args = ap.parse_args()
    load0 = os.getloadavg()[0]
    pred = Predictor.from_registry(args.tracking_uri)
    ev = pd.DataFrame(events_of(pred, args.customers, args.per, 2, "b"))
    ev["timestamp"] = pd.to_datetime(ev["timestamp"], utc=True)
    folder = Path(tempfile.mkdtemp(prefix="journeyml-bench-"))
    rows = []
    for backend in args.backends:
        created = None
        if backend == "sqlite":
            uri = f"sqlite:///{folder / 'log.db'}"
        else:
            created = pg_uri()
            if created is None:
                print("PostgreSQL unreachable: skipped", file=sys.stderr)
                continue
            uri = created[0]
        with EventStore.open(uri) as store:
            for suffix, explain in ((".jsonl", True), (".csv", False)):
                plain: list[float] = []
                logged: list[float] = []
                for i in range(args.rounds):
                    for with_log in (i % 2 == 0, i % 2 == 1):
                        s = run(
                            pred, ev, folder / f"out{suffix}", explain, store if with_log else None
                        )
                        (logged if with_log else plain).append(s)
                p, lg = float(np.median(plain)), float(np.median(logged))
                rows.append((backend, suffix, args.customers / p, args.customers / lg,
                             (lg - p) / args.customers * 1000, (lg - p) / p * 100))  # fmt: skip
                print(rows[-1], flush=True)
        if created is not None:
            drop_pg(created[1])
    load = os.getloadavg()[0]
    table = "\n".join(
        f"| {b} | {'JSON lines, root causes' if s == '.jsonl' else 'CSV, probabilities'} | "
        f"{p:,.0f} | {lg:,.0f} | {ms:+.2f} | {pct:+.1f} % |"
        for b, s, p, lg, ms, pct in rows
    )
    shared = (
        " (shared with other work: rates are lower bounds, and the difference is noisier)"
        if max(load, load0) > 3
        else ""
    )
    text = "\n\n".join(
        [
            "## Batch scoring's prediction log (`benchmarks/batch_log.py`)",
            f"Command: `.venv/bin/python benchmarks/batch_log.py --tracking-uri … --customers "
            f"{args.customers} --rounds {args.rounds}` ({args.customers:,} customers of "
            f"{args.per} events, the demo's champions, in one process as `journeyml score FILE` "
            "runs: chunks of 2,000 customers, each chunk's entries written in one transaction; "
            "median over rounds, with and without the log alternating).",
            f"Machine: {machine()}; load average {load0:.1f} at the start, {load:.1f} at the "
            f"end{shared}.",
            "| store | output | without the log (customers/s) | with the log (customers/s) | "
            "added per customer (ms) | added |\n|---|---|---:|---:|---:|---:|\n" + table,
        ]
    )
    print(text)
    if args.write:
        write_section("batch-log", text)


if __name__ == "__main__":
    main()
