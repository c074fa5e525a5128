"""Benchmark the point-in-time feature engine against a naive pandas baseline and DuckDB.

Run from the repository root::

    .venv/bin/python benchmarks/features.py                 # 10 M events, writes the doc
    .venv/bin/python benchmarks/features.py --customers 30000 --no-write   # quick look

The simulated events are generated once and cached as parquet (string columns stored as
dictionaries, so they load as pandas categoricals) under ``--cache`` (default: the system temp
folder; ``*.parquet`` is gitignored anyway). Every measurement runs in a fresh Python process
(so its peak RSS is its own) and times only the work after loading the parquet:

- ``engine``: ``build_features`` with the full feature set, one cutoff per customer at the end;
- ``engine_weekly``: weekly snapshots (``every_n_days(7)``) for every customer, processed in
  chunks of customers (the full matrix would not fit in memory), snapshot sampling included;
- ``engine_count_recency``: only the count and recency families (the DuckDB-equivalent part);
- ``duckdb``: one SQL query computing the same count and recency features;
- ``naive``: pandas ``groupby().apply`` with a per-customer function (count, recency, session
  and value features) on a subsample of customers, extrapolated to events/s;
- ``single``: ``journey_features`` on one 50-event journey given as dicts (p50 / p95).

Writes the section between ``<!-- BEGIN features -->`` and ``<!-- END features -->`` of
``docs/benchmarks.md`` (other sections are left alone).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _docs import write_section

ROOT = Path(__file__).resolve().parents[1]
WINDOWS = (1, 7, 30, 90)
ATTRIBUTES = ("segment", "region")


# --- data ---------------------------------------------------------------------------------
def _paths(cache: Path, customers: int, seed: int, days: int) -> tuple[Path, Path]:
    from journeyml.features.spec import FEATURE_CODE_VERSION

    stem = f"journeyml-bench-{customers}-{seed}-{days}"
    # the spec belongs to a feature code version: a newer engine learns its own
    return cache / f"{stem}.parquet", cache / f"{stem}.v{FEATURE_CODE_VERSION}.spec.json"


def prepare(cache: Path, customers: int, seed: int, days: int) -> tuple[Path, Path]:
    import pandas as pd

    from journeyml.features import FeatureBuilder
    from journeyml.sim import simulate

    data, spec_path = _paths(cache, customers, seed, days)
    if data.exists() and spec_path.exists():
        return data, spec_path
    if data.exists():
        ev = pd.read_parquet(data)
    else:
        ev = simulate(customers, seed=seed, days=days).events
        for col in ev.columns:
            if ev[col].dtype == object or str(ev[col].dtype) == "str":
                ev[col] = ev[col].astype("category")
        ev.to_parquet(data, index=False)
    # vocabularies learned on the first ~500k events (as a training run would on its window)
    sample = ev.iloc[: min(len(ev), 500_000)]
    sample = pd.DataFrame(
        {
            c: sample[c].astype(object)
            if c != "timestamp" and str(sample[c].dtype) == "category"
            else sample[c]
            for c in sample.columns
        }
    )
    spec = FeatureBuilder(windows_days=WINDOWS, attributes=ATTRIBUTES).fit(sample).spec_
    spec_path.write_text(spec.to_json())
    return data, spec_path


def _load(data: Path, spec_path: Path) -> tuple[Any, Any]:
    import pandas as pd

    from journeyml.features import FeatureSpec

    ev = pd.read_parquet(data)
    ev["timestamp"] = ev["timestamp"].astype("datetime64[ns, UTC]")
    return ev, FeatureSpec.from_json(spec_path.read_text())


def _end_cutoffs(ev: Any) -> Any:
    import pandas as pd

    ids = ev["customer_id"].cat.categories if hasattr(ev["customer_id"], "cat") else None
    ids = ev["customer_id"].unique() if ids is None else ids
    as_of = ev["timestamp"].max() + pd.Timedelta(days=1)
    return pd.DataFrame({"customer_id": pd.Index(ids).astype(str), "as_of": as_of})


# --- measured operations (each in its own process) ---------------------------------------
def op_engine(ev: Any, spec: Any, args: argparse.Namespace) -> dict[str, Any]:
    from journeyml.features import build_features

    cut = _end_cutoffs(ev)
    t = time.perf_counter()
    X = build_features(ev, cut, spec)
    first = time.perf_counter() - t
    del X
    # the same call again in the same process: memory pages already mapped (a long-running
    # scoring job); the first call pays the first touch of ~1.5 GB of fresh memory
    t = time.perf_counter()
    X = build_features(ev, cut, spec)
    again = time.perf_counter() - t
    return {"seconds": first, "seconds_again": again, "rows": len(X), "features": X.shape[1]}


def op_engine_weekly(ev: Any, spec: Any, args: argparse.Namespace) -> dict[str, Any]:
    import numpy as np

    from journeyml.features import build_features
    from journeyml.tasks import every_n_days

    t = time.perf_counter()
    cust = ev["customer_id"].cat.codes.to_numpy()
    bounds = np.flatnonzero(np.diff(cust)) + 1
    starts = np.r_[0, bounds]
    ends = np.r_[bounds, len(ev)]
    step = args.chunk_customers
    rows = 0
    end = ev["timestamp"].max()
    for i in range(0, len(starts), step):
        part = ev.iloc[starts[i] : ends[min(i + step, len(starts)) - 1]]
        cut = every_n_days(part, 7, start=ev["timestamp"].min().floor("D"), end=end)
        rows += len(build_features(part, cut, spec))
    return {"seconds": time.perf_counter() - t, "rows": rows}


def op_engine_count_recency(ev: Any, spec: Any, args: argparse.Namespace) -> dict[str, Any]:
    import numpy as np

    from journeyml.features import counts, recency
    from journeyml.features.arrays import encode_frame
    from journeyml.features.build import cutoff_arrays
    from journeyml.features.context import Context

    cut = _end_cutoffs(ev)
    t = time.perf_counter()
    arr = encode_frame(ev, spec)
    ids, as_of, _ = cutoff_arrays(cut)
    ctx = Context.build(arr, spec, arr.customer_codes(ids), as_of)
    cols = {**counts.compute(ctx), **recency.compute(ctx)}
    n = sum(1 if c.ndim == 1 else c.shape[1] for c in cols.values())
    np.asarray(next(iter(cols.values())))
    return {"seconds": time.perf_counter() - t, "rows": len(cut), "features": n}


def _duckdb_sql(spec: Any) -> str:
    from journeyml.features.spec import slug

    aggs = []
    for w in (*WINDOWS, None):
        wl = "all" if w is None else f"{w}d"
        cond = "TRUE" if w is None else f"e.timestamp >= c.as_of - INTERVAL {w} DAY"
        aggs.append(f"count(*) FILTER (WHERE {cond}) AS count_events_{wl}")
        for dim in ("touchpoint", "channel", "stage"):
            for v in getattr(spec, dim + "s"):
                lit = v.replace("'", "''")
                aggs.append(
                    f"count(*) FILTER (WHERE {cond} AND e.{dim} = '{lit}') "
                    f"AS count_{dim}_{slug(v)}_{wl}"
                )
    aggs.append(
        "date_diff('second', max(e.timestamp), any_value(c.as_of)) / 86400.0 "
        "AS days_since_last_event"
    )
    aggs.append(
        "date_diff('second', min(e.timestamp), any_value(c.as_of)) / 86400.0 AS tenure_days"
    )
    for dim in ("touchpoint", "stage"):
        for v in getattr(spec, dim + "s"):
            lit = v.replace("'", "''")
            aggs.append(
                f"date_diff('second', max(e.timestamp) FILTER (WHERE e.{dim} = '{lit}'), "
                f"any_value(c.as_of)) / 86400.0 AS days_since_{dim}_{slug(v)}"
            )
    return (
        "SELECT c.customer_id, " + ",\n  ".join(aggs) + "\nFROM cut c LEFT JOIN ev e "
        "ON e.customer_id = c.customer_id AND e.timestamp < c.as_of GROUP BY c.customer_id"
    )


def op_duckdb(ev: Any, spec: Any, args: argparse.Namespace) -> dict[str, Any]:
    import duckdb

    cut = _end_cutoffs(ev)
    ev2 = ev[["customer_id", "timestamp", "touchpoint", "channel", "stage"]].copy()
    for c in ("customer_id", "touchpoint", "channel", "stage"):
        ev2[c] = ev2[c].astype(str)  # plain VARCHAR joins (ENUM types differ per column)
    con = duckdb.connect()
    con.execute(f"SET threads TO {os.cpu_count() or 1}")
    sql = _duckdb_sql(spec)
    t = time.perf_counter()
    con.register("ev", ev2)
    con.register("cut", cut)
    out = con.execute(sql).fetchnumpy()
    return {
        "seconds": time.perf_counter() - t,
        "rows": len(out["customer_id"]),
        "features": len(out) - 1,
    }


def _naive_one(g: Any, as_of: Any, spec: Any) -> Any:
    import numpy as np
    import pandas as pd

    feats: dict[str, float] = {}
    g = g[g["timestamp"] < as_of]
    for w in (*WINDOWS, None):
        wl = "all" if w is None else f"{w}d"
        gw = g if w is None else g[g["timestamp"] >= as_of - pd.Timedelta(days=w)]
        feats[f"count_events_{wl}"] = len(gw)
        for dim in ("touchpoint", "channel", "stage"):
            vc = gw[dim].value_counts()
            for v in getattr(spec, dim + "s"):
                feats[f"count_{dim}_{v}_{wl}"] = float(vc.get(v, 0))
        feats[f"value_sum_{wl}"] = float(gw["value"].sum())
        feats[f"value_mean_{wl}"] = (
            float(gw["value"].mean()) if gw["value"].notna().any() else np.nan
        )
    day = pd.Timedelta(days=1)
    feats["days_since_last_event"] = (as_of - g["timestamp"].max()) / day if len(g) else np.nan
    feats["tenure_days"] = (as_of - g["timestamp"].min()) / day if len(g) else np.nan
    for dim in ("touchpoint", "stage"):
        last = g.groupby(dim, observed=True)["timestamp"].max()
        for v in getattr(spec, dim + "s"):
            feats[f"days_since_{dim}_{v}"] = (as_of - last[v]) / day if v in last.index else np.nan
    gaps = g["timestamp"].diff() > pd.Timedelta(minutes=spec.params.session_gap_minutes)
    feats["session_count_all"] = float(gaps.sum() + (len(g) > 0))
    for j in range(1, spec.params.last_k + 1):
        feats[f"last_touchpoint_{j}"] = g["touchpoint"].iloc[-j] if len(g) >= j else None
    return pd.Series(feats)


def op_naive(ev: Any, spec: Any, args: argparse.Namespace) -> dict[str, Any]:
    import numpy as np

    ids = ev["customer_id"].cat.categories
    rng = np.random.default_rng(0)
    pick = set(rng.choice(ids, size=min(args.naive_customers, len(ids)), replace=False))
    sub = ev[ev["customer_id"].isin(pick)].copy()
    for c in ("customer_id", "touchpoint", "channel", "stage"):
        sub[c] = sub[c].astype(str)
    as_of = ev["timestamp"].max() + __import__("pandas").Timedelta(days=1)
    t = time.perf_counter()
    out = sub.groupby("customer_id").apply(lambda g: _naive_one(g, as_of, spec))
    return {"seconds": time.perf_counter() - t, "rows": len(out), "events": len(sub)}


def op_single(ev: Any, spec: Any, args: argparse.Namespace) -> dict[str, Any]:
    import numpy as np
    import pandas as pd

    from journeyml.features import journey_features

    sizes = ev.groupby("customer_id", observed=True).size()
    cid = str(sizes[sizes >= 50].index[0])
    one = ev[ev["customer_id"] == cid].head(50).drop(columns="customer_id")
    recs = []
    for r in one.to_dict("records"):
        r = {k: (None if (isinstance(v, float) and v != v) else v) for k, v in r.items()}
        r["timestamp"] = pd.Timestamp(r["timestamp"]).isoformat()
        recs.append(
            {
                k: (str(v) if k not in ("timestamp", "value") and v is not None else v)
                for k, v in r.items()
            }
        )
    as_of = (pd.Timestamp(one["timestamp"].max()) + pd.Timedelta(hours=1)).isoformat()
    for _ in range(100):
        journey_features(cid, recs, as_of, spec)
    times = []
    for _ in range(args.calls):
        t = time.perf_counter()
        journey_features(cid, recs, as_of, spec)
        times.append(time.perf_counter() - t)
    return {
        "p50_ms": float(np.percentile(times, 50) * 1e3),
        "p95_ms": float(np.percentile(times, 95) * 1e3),
        "calls": args.calls,
        "events": len(recs),
    }


OPS = {
    "engine": op_engine,
    "engine_weekly": op_engine_weekly,
    "engine_count_recency": op_engine_count_recency,
    "duckdb": op_duckdb,
    "naive": op_naive,
    "single": op_single,
}


def _worker(args: argparse.Namespace) -> None:
    import resource

    data, spec_path = _paths(Path(args.cache), args.customers, args.seed, args.days)
    ev, spec = _load(data, spec_path)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    res = OPS[args.worker](ev, spec, args)
    res["events_total"] = len(ev)
    res["rss_loaded_mb"] = rss0
    res["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(res))


def _run(op: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        op,
        "--cache",
        args.cache,
        "--customers",
        str(args.customers),
        "--seed",
        str(args.seed),
        "--days",
        str(args.days),
        "--naive-customers",
        str(args.naive_customers),
        "--calls",
        str(args.calls),
        "--chunk-customers",
        str(args.chunk_customers),
    ]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(r[key] for r in runs))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--customers", type=int, default=290_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--days", type=int, default=180)
    p.add_argument(
        "--cache", default=os.environ.get("JOURNEYML_BENCH_CACHE", tempfile.gettempdir())
    )
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--naive-customers", type=int, default=2000)
    p.add_argument("--calls", type=int, default=2000)
    p.add_argument("--chunk-customers", type=int, default=20_000)
    p.add_argument("--skip-weekly", action="store_true")
    p.add_argument("--no-write", action="store_true")
    p.add_argument("--worker", choices=sorted(OPS), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        _worker(args)
        return
    t = time.perf_counter()
    prepare(Path(args.cache), args.customers, args.seed, args.days)
    print(f"data ready in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    results: dict[str, list[dict[str, Any]]] = {}
    plan = [
        ("engine", args.runs),
        ("engine_count_recency", args.runs),
        ("duckdb", args.runs),
        ("naive", 1),
        ("single", args.runs),
    ]
    if not args.skip_weekly:
        plan.insert(1, ("engine_weekly", 1))
    for op, runs in plan:
        results[op] = [_run(op, args) for _ in range(runs)]
        print(op, results[op], file=sys.stderr)
    text = render(results, args)
    print(text)
    if not args.no_write:
        write_section("features", text)


def _chunk_events() -> int:
    from journeyml.features.build import CHUNK_EVENTS

    return CHUNK_EVENTS


def render(results: dict[str, list[dict[str, Any]]], args: argparse.Namespace) -> str:
    import numpy as np
    import pandas as pd

    n = results["engine"][0]["events_total"]

    def rate(op: str, events: float | None = None) -> float:
        ev = events if events is not None else n
        return ev / _median(results[op], "seconds")

    eng = rate("engine")
    cr = rate("engine_count_recency")
    duck = rate("duckdb")
    naive_ev = results["naive"][0]["events"]
    naive = rate("naive", naive_ev)
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    rows = [
        ("engine, full feature set, 1 cutoff per customer", "engine", eng),
        ("engine, count + recency families only", "engine_count_recency", cr),
        ("DuckDB SQL, count + recency features", "duckdb", duck),
        (f"naive pandas groupby().apply ({naive_ev:,} events, extrapolated)", "naive", naive),
    ]
    if "engine_weekly" in results:
        rows.insert(
            1,
            (
                "engine, full feature set, weekly snapshots (chunks of "
                f"{args.chunk_customers:,} customers)",
                "engine_weekly",
                rate("engine_weekly"),
            ),
        )
    lines = [
        "## Feature engine (`journeyml.features.build_features`)",
        "",
        f"Command: `.venv/bin/python benchmarks/features.py` ({args.customers:,} simulated "
        f"customers, seed {args.seed}, {args.days} days: **{n:,} events**, loaded from parquet "
        "with categorical string columns; median of "
        f"{args.runs} runs (weekly and naive: 1 run), each in a fresh process; peak RSS is "
        "the whole process including the "
        "loaded events).",
        "",
        f"Machine: {os.cpu_count()} cores, {mem:.0f} GB RAM, {platform.system()} "
        f"{platform.machine()}, Python {platform.python_version()}, numpy {np.__version__}, "
        f"pandas {pd.__version__}. Load average (1 min) when the results were written: "
        f"{os.getloadavg()[0]:.1f} (other work on the same cores makes the figures noisy).",
        "",
        "| run | cutoffs | features | median s | events/s | best s | events/s (best) "
        "| peak RSS MB (loaded) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, op, r in rows:
        res = results[op]
        lines.append(
            f"| {label} | {res[0].get('rows', 0):,} | {res[0].get('features', '')} | "
            f"{_median(res, 'seconds'):.2f} | {r:,.0f} | {min(x['seconds'] for x in res):.2f} | "
            f"{r * _median(res, 'seconds') / min(x['seconds'] for x in res):,.0f} | "
            f"{_median(res, 'rss_mb'):,.0f} "
            f"({_median(res, 'rss_loaded_mb'):,.0f}) |"
        )
    again = n / _median(results["engine"], "seconds_again")
    lines += [
        "",
        "The same `build_features` call repeated in the same process (memory already mapped, as "
        f"in a long-running job): median {_median(results['engine'], 'seconds_again'):.2f} s, "
        f"**{again / 1e6:.2f} M events/s** (first calls above: {eng / 1e6:.2f} M events/s). On "
        "this virtual machine (Firecracker) memory the host has reclaimed is slow at first "
        "touch: filling a fresh 800 MB array took 1.9 s in one process and 0.1 s in the next, "
        "so first calls are erratic.",
    ]
    s = results["single"]
    lines += [
        "",
        f"Single journey ({s[0]['events']} events as dicts, `journey_features`, "
        f"{s[0]['calls']} calls after warm-up): p50 **{_median(s, 'p50_ms'):.3f} ms**, "
        f"p95 {_median(s, 'p95_ms'):.3f} ms.",
        "",
        "| target | measured | met |",
        "|---|---|---|",
        f"| ≥ 2 M events/s (full set) | first call {eng / 1e6:.2f} M/s, repeated "
        f"{again / 1e6:.2f} M/s | {'yes' if eng >= 2e6 else 'no'} (judged on the first call) |",
        f"| ≥ 30× naive pandas | {eng / naive:,.0f}× | {'yes' if eng >= 30 * naive else 'no'} |",
        f"| within 3× of DuckDB (count + recency) | engine {cr / duck:.2f}× DuckDB's speed "
        f"(full set: {eng / duck:.2f}×) | {'yes' if cr * 3 >= duck else 'no'} |",
        f"| single journey p50 ≤ 1 ms | {_median(s, 'p50_ms'):.3f} ms | "
        f"{'yes' if _median(s, 'p50_ms') <= 1 else 'no'} |",
        "",
        "The naive baseline computes only part of the features (counts, recency, a session "
        "count, value sums/means, last touchpoints) per customer with pandas; it ran on a random "
        f"subsample of {args.naive_customers:,} customers and its events/s is extrapolated "
        "(it is linear in customers). DuckDB runs one `GROUP BY` with `FILTER` aggregates over a "
        "join of cutoffs and events, on all cores. The engine computes large inputs in chunks "
        f"of whole customers of about {_chunk_events():,} events "
        "(`journeyml.features.build.CHUNK_EVENTS`; the result is the same bit for bit, tested).",
        "",
        "Spread of the full-set engine runs (s): "
        + ", ".join(f"{r['seconds']:.1f}" for r in results["engine"])
        + "; the 2 M events/s target is "
        + ("met" if eng >= 2e6 else "missed")
        + f" (best run {n / min(r['seconds'] for r in results['engine']) / 1e6:.2f} M/s).",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
