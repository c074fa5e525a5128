"""Benchmark the journey simulator: events per second and peak memory at three sizes.

Run from the repository root::

    .venv/bin/python benchmarks/simulate.py            # ~0.1 M, 1 M and 3 M events, 3 runs each
    .venv/bin/python benchmarks/simulate.py --no-write # print only, leave docs/benchmarks.md

Every run happens in a fresh Python process, so the peak RSS (``resource.getrusage``) of a
run is its own and not the high-water mark of an earlier, larger one. Prints a markdown table
and replaces the section between ``<!-- BEGIN simulate -->`` and ``<!-- END simulate -->`` in
``docs/benchmarks.md`` (creating the file if needed; other sections are left alone).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

from _docs import DOC, machine, write_section

ROOT = Path(__file__).resolve().parents[1]
# customers -> roughly 0.1 M, 1 M and 3 M events (about 34 events per customer)
SIZES = (3_000, 30_000, 90_000)
RUNS = 3


def _worker(n: int, seed: int) -> None:
    """One timed run in this process; prints a JSON line."""
    import resource
    import time

    from journeyml.sim import simulate

    t = time.perf_counter()
    res = simulate(n, seed=seed)
    seconds = time.perf_counter() - t
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"n": n, "events": len(res.events), "seconds": seconds, "rss_mb": rss_mb}))


def _run(n: int, seed: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--worker", str(n), "--seed", str(seed)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _machine() -> str:
    import numpy as np
    import pandas as pd

    return machine(f"numpy {np.__version__}", f"pandas {pd.__version__}")


def _section(rows: list[dict[str, float]], sizes: tuple[int, ...], runs: int) -> str:
    table = [
        "| customers | events | median time (s) | events/s | peak RSS (MB) |",
        "|---:|---:|---:|---:|---:|",
    ]
    for n in sizes:
        mine = [r for r in rows if r["n"] == n]
        secs = statistics.median(r["seconds"] for r in mine)
        events = int(mine[0]["events"])
        rss = max(r["rss_mb"] for r in mine)
        table.append(f"| {n:,} | {events:,} | {secs:.2f} | {events / secs:,.0f} | {rss:,.0f} |")
    return "\n".join(
        [
            "## Journey simulator (`journeyml.sim.simulate`)",
            "",
            f"Command: `.venv/bin/python benchmarks/simulate.py` (seed 0, 180 days, median of "
            f"{runs} runs, each in a fresh process; peak RSS is the whole process including "
            "the interpreter and imports).",
            "",
            f"Machine: {_machine()}.",
            "",
            *table,
            "",
            "The time includes building the pandas frames (events and ground truth); the "
            "day-by-day loop itself is vectorised over all customers.",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--no-write", action="store_true", help="do not touch docs/benchmarks.md")
    args = parser.parse_args()
    if args.worker is not None:
        _worker(args.worker, args.seed)
        return
    sizes = tuple(args.sizes)
    rows = [_run(n, args.seed) for n in sizes for _ in range(args.runs)]
    section = _section(rows, sizes, args.runs)
    print(section)
    if not args.no_write:
        write_section("simulate", section)
        print(f"\nwrote {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
