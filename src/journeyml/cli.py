"""The ``journeyml`` command: simulate, validate, train, score, ingest, store, export-models, serve.

Entry point only: it reads the environment (``JOURNEYML_*``) and the clock, prints with rich,
and turns library errors into a message and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import warnings
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console

from journeyml.errors import JourneyMLError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Predict how customer journeys end, explained in their own touchpoints.",
)
console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])
STORE_HELP = "Store URI (default: $JOURNEYML_STORE_URI or sqlite:///store/journeyml.db)."


def _quiet_libraries() -> None:
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    warnings.filterwarnings("ignore")
    import mlflow  # noqa: F401  (it sets its loggers' levels on import: quiet them after)

    for name in ("mlflow", "alembic", "urllib3"):
        logging.getLogger(name).setLevel(logging.ERROR)
    # a failing store (full disk, read-only) makes these log whole tracebacks at ERROR: the CLI
    # reports the failure in one line and writes the details to a log file instead
    for name in ("mlflow.store", "mlflow.tracking", "mlflow.utils", "sqlalchemy"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def friendly_errors(fn: F) -> F:
    """Library errors become one red line and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except JourneyMLError as exc:
            console.print(f"[bold red]error[/] ({exc.code}): {exc.message}")
            raise typer.Exit(2) from None
        except Exception as exc:
            if not _environmental(exc):
                raise
            log = _write_details(exc)
            console.print(
                "error (storage): expected to read and write the store and working files, "
                f"got {type(exc).__name__}: {_first_line(exc)}. Free disk space or fix the "
                f"permissions, then run again; details in {log}.",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def _environmental(exc: BaseException) -> bool:
    """A failure of the machine (full disk, read-only or missing store), not of journeyml:
    an OSError, or the database / MLflow errors it surfaces as, anywhere in the chain."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError):
            return True
        text = str(seen).lower()
        if type(seen).__module__.split(".")[0] in ("mlflow", "sqlalchemy", "sqlite3") and any(
            k in text for k in ("disk", "readonly", "read-only", "no space", "permission")
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:300]


def _write_details(exc: BaseException) -> str:
    """The traceback goes to a log file (best effort: the disk may be full)."""
    import tempfile
    import traceback

    path = Path(tempfile.gettempdir()) / f"journeyml-error-{os.getpid()}.log"
    try:
        path.write_text("".join(traceback.format_exception(exc)))
    except OSError:
        return "(no log: the log could not be written either)"
    return str(path)


PROJECT_HELP = (
    "The project whose models to use (default: $JOURNEYML_PROJECT, else demo, else the "
    "store's only project)."
)


def _project_option() -> Any:
    return typer.Option(None, "--project", envvar="JOURNEYML_PROJECT", help=PROJECT_HELP)


def _now() -> Any:
    import pandas as pd

    return pd.Timestamp.now(tz="UTC")


@app.command()
@friendly_errors
def simulate(
    out: Path = typer.Option(..., "--out", help="Parquet file for the events."),
    customers: int = typer.Option(2000, help="Number of customers."),
    seed: int = typer.Option(0, help="Random seed (same seed, same journeys)."),
    days: int = typer.Option(180, help="Length of the simulated period in days."),
    start: str = typer.Option("2024-01-01", help="First day (UTC)."),
    world: str = typer.Option(
        "retail",
        help="Which business: retail (a B2C shop), b2b (software trials) or insurer (policies).",
    ),
) -> None:
    """Simulate customer journeys with planted causes; ground truth goes beside the events."""
    from journeyml.sim import simulate_world, write_simulation

    res = simulate_world(world, customers, seed=seed, start=start, days=days)
    write_simulation(res, out)
    ev = res.events
    console.print(
        f"[green]simulated[/] {len(ev):,} events of {ev['customer_id'].nunique():,} "
        f"customers ({res.start.date()} → {res.end.date()}) → {out}"
    )


@app.command()
def validate(
    path: Path = typer.Argument(
        ..., help="Event log: csv[.gz], txt[.gz], parquet, jsonl, xes[.gz]."
    ),
    mapping: str | None = typer.Option(
        None,
        "--mapping",
        help="Mapping YAML file, built-in name, or 'canonical' (the default: the file has the "
        "canonical columns customer_id, timestamp, touchpoint...).",
    ),
    policy: str = typer.Option("strict", help="strict (fail on any bad row) or lenient."),
    rejects: Path | None = typer.Option(None, "--rejects", help="CSV file for rejected rows."),
) -> None:
    """Load a log through a mapping, check it, print a summary; non-zero exit on failure."""
    from journeyml.cli_progress import RichProgress
    from journeyml.events import validate_command

    with RichProgress(console) as progress:
        code = validate_command(path, mapping, policy, rejects, progress=progress)
    raise typer.Exit(code)


@app.command()
def init(
    log: Path = typer.Argument(
        ..., help="Event log: csv[.gz], txt[.gz] (whitespace), parquet, jsonl, xes[.gz]."
    ),
    mapping_out: Path | None = typer.Option(
        None, "--mapping-out", help="Write the proposed mapping here (default: print it)."
    ),
    config_out: Path | None = typer.Option(
        None,
        "--config-out",
        help="Write the proposed pipeline config here (default: print it); a mapping it needs "
        "goes beside it unless --mapping-out says where.",
    ),
    name: str | None = typer.Option(
        None, help="Name of the pipeline and the mapping (default: from the file name)."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite existing files."),
) -> None:
    """Inspect a log; propose a commented mapping and pipeline config, and say why."""
    from journeyml.cli_progress import RichProgress
    from journeyml.lifecycle import init_command

    with RichProgress(console) as progress:
        code = init_command(
            log,
            mapping_out=mapping_out,
            config_out=config_out,
            name=name,
            force=force,
            console=console,
            progress=progress,
        )
    raise typer.Exit(code)


@app.command()
@friendly_errors
def train(
    config: Path = typer.Argument(..., help="Pipeline config (pipelines/*.yaml)."),
    tracking_uri: str | None = typer.Option(
        None, help="MLflow tracking URI (default: $JOURNEYML_TRACKING_URI or ./mlflow)."
    ),
) -> None:
    """Train every task of a pipeline config, log to MLflow, register, promote through the gate."""
    _quiet_libraries()
    from journeyml.lifecycle import default_tracking_uri, load_pipeline_config, run_training

    cfg = load_pipeline_config(config)
    uri = tracking_uri or default_tracking_uri()
    console.print(f"[bold]training[/] {cfg.name} (project {cfg.project_name}) → {uri}")
    from journeyml.cli_progress import RichProgress

    with ExitStack() as stack, RichProgress(console) as stages:
        features, fit = _dask_engine(cfg, stack)
        res = run_training(
            cfg,
            tracking_uri=uri,
            progress=lambda msg: console.print(f"  {msg}", highlight=False),
            now=_now(),
            stages=stages,
            features=features,
            fit=fit,
        )
    for d in res.decisions:
        mark = "[green]champion[/]" if d.promote else "[yellow]challenger only[/]"
        console.print(f"  {d.task}: v{d.version} {mark} — {d.reason}", highlight=False)
        # soft_wrap: the command below stays on one line, ready to copy
        if not d.promote and d.champion_version is None:
            console.print(
                f"    [yellow]{d.task} has no champion[/]: it is not served. Improve the task or "
                f"its features, or serve v{d.version} anyway with `journeyml models promote "
                f"--project {d.project} --task {d.task}`.",
                highlight=False,
                soft_wrap=True,
            )
    console.print(f"[green]done[/] in {res.timings['total']:.0f}s")


def _dask_engine(cfg: Any, stack: ExitStack) -> tuple[Any, Any]:
    """``engine: dask``: features per partition and boosters by ``lightgbm.dask`` on a
    cluster (closed with ``stack``); (None, None): this machine."""
    if cfg.engine.kind != "dask":
        return None, None
    from journeyml.engine import DaskBoosterFit, DaskFeatures, connect

    e = cfg.engine
    client = stack.enter_context(connect(e.scheduler, n_workers=e.n_workers))
    where = e.scheduler or f"LocalCluster of {e.n_workers} workers"
    console.print(
        f"  Dask engine: {where} (features per partition, boosters by lightgbm.dask)",
        highlight=False,
        soft_wrap=True,
    )
    workdir = (
        None if e.workdir is None else Path(cfg.base_dir) / e.workdir
    )  # relative: to the config
    features = DaskFeatures(client, e.partitions, workdir)
    return features, DaskBoosterFit(client, features)


@app.command()
@friendly_errors
def score(
    data: Path | None = typer.Argument(
        None,
        help="Events: a file with the canonical columns, any log with --mapping, or a "
        "partitioned dataset folder (docs/scale.md: read one partition at a time).",
    ),
    out: Path = typer.Option(
        ..., "--out", help="Output file (.jsonl with explanations, or .csv/.parquet probabilities)."
    ),
    mapping: str | None = typer.Option(
        None, help="Mapping file or built-in name for raw logs (default: canonical columns)."
    ),
    as_of: str | None = typer.Option(
        None,
        help="Score every customer as of this time (default: after the last event; with "
        "--store: now).",
    ),
    tracking_uri: str | None = typer.Option(None),
    model_dir: Path | None = typer.Option(
        None, help="Load bundled models from here instead of the registry."
    ),
    explain: bool = typer.Option(True, help="Add root causes (jsonl output)."),
    top_k: int = typer.Option(3),
    from_store: bool = typer.Option(
        False, "--store", help="Score the customers of the event store instead of a file."
    ),
    store_uri: str | None = typer.Option(
        None, "--store-uri", help=f"{STORE_HELP} --store: scored; a file: its log."
    ),
    active_days: float = typer.Option(
        90.0, "--active-days", help="--store: customers with an event within this many days."
    ),
    segment: str | None = typer.Option(
        None, "--segment", help="--store: export only this audience, e.g. 'churn >= 0.6'."
    ),
    project: str | None = _project_option(),
    engine: str = typer.Option(
        "local",
        "--engine",
        help="local, or dask: per partition of customers on a Dask cluster (--out is then a "
        "folder of part files, e.g. scores.jsonl/part-00000.jsonl; with --store one table).",
    ),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="--engine dask: a scheduler address (default: a LocalCluster)."
    ),
    workers: int = typer.Option(2, "--workers", help="--engine dask: LocalCluster processes."),
    partitions: int = typer.Option(8, "--partitions", help="--engine dask: partitions."),
    log: bool = typer.Option(
        True,
        "--log/--no-log",
        help="Record every prediction in the event store's prediction log (a file: when a "
        "store is configured: --store-uri, $JOURNEYML_STORE_URI or an existing "
        "./store/journeyml.db).",
    ),
) -> None:
    """Batch scoring with the champion models: each customer gets what the API answers
    (probabilities, root causes, warnings such as not_eligible, model versions, request id),
    streamed through customers in chunks, and every prediction is logged to the event store's
    prediction log when there is one (one request id for the run, an item per customer; see
    --no-log). With --store: every customer active within --active-days, as of now, logged,
    into a scores table (probability, percentile, top causes, model versions) written to
    --out (.parquet/.csv)."""
    _quiet_libraries()
    if engine not in ("local", "dask"):
        console.print(f"[red]error[/]: expected --engine local or dask, got {engine!r}.")
        raise typer.Exit(2)
    cluster = (scheduler, workers, partitions) if engine == "dask" else None
    if from_store:
        _score_store(out, as_of, tracking_uri, model_dir, top_k, store_uri, active_days,
                     segment, project, cluster)  # fmt: skip
        return
    if data is None:
        console.print("[red]error[/]: expected a file of events, or --store.")
        raise typer.Exit(2)
    import pandas as pd

    from journeyml.cli_progress import RichProgress
    from journeyml.events import is_partitioned, open_partitioned
    from journeyml.scoring import ScoreRequest
    from journeyml.serving import (
        BATCH_PREFIX,
        BatchLog,
        default_cutoffs,
        score_chunks,
        write_responses,
    )

    pred = _load_predictor(tracking_uri, model_dir, project)
    explain = explain and out.suffix == ".jsonl"  # tables carry no root causes
    request = ScoreRequest(pred.tasks, explain=explain, top_k=top_k)
    import uuid

    rid = f"{BATCH_PREFIX}{uuid.uuid4().hex}"
    with ExitStack() as stack:
        log_uri = _batch_log_uri(store_uri) if log else None
        sink: Any = None
        name = pred.project or project or "demo"
        if log_uri is not None and cluster is not None:
            from journeyml.engine import PartitionLog
            from journeyml.store import EventStore

            with EventStore.open(log_uri):  # created here if new: the workers only open it
                pass
            sink = PartitionLog(log_uri, rid, name, _now())
        elif log_uri is not None:
            from journeyml.store import EventStore

            es = stack.enter_context(EventStore.open(log_uri))
            sink = BatchLog(es, project=name, created_at=_now())
        if cluster is not None:
            n = _score_on_cluster(data, out, mapping, pred, request, as_of, cluster, rid, sink)
        elif is_partitioned(data):  # read one partition at a time: memory follows the partition
            from journeyml.engine import partition_responses

            chunks = partition_responses(
                open_partitioned(data), pred, request, as_of=as_of, request_id=rid, on_chunk=sink
            )
            n = write_responses(chunks, out, pred.tasks)
        else:
            ev = _read_events(data, mapping)
            cut = default_cutoffs(ev, pd.Timestamp(as_of, tz="UTC") if as_of else None)
            with RichProgress(console) as progress:
                chunks = score_chunks(
                    pred, ev, cut, request, request_id=rid, progress=progress, on_chunk=sink
                )
                n = write_responses(chunks, out, pred.tasks)
    what = f"project {pred.project}: " if pred.project else ""
    console.print(f"[green]scored[/] {n:,} customers ({what}{', '.join(pred.tasks)}) → {out}")
    if sink is not None:
        console.print(
            f"logged {sink.written:,} predictions as request {rid} (items 0–{sink.written - 1})"
            f" in {_redacted(log_uri)}; `journeyml replay {rid} --item N` recomputes one",
            highlight=False,
            soft_wrap=True,
        )
    elif log:
        console.print(
            "not logged: no event store (give --store-uri or $JOURNEYML_STORE_URI, or create "
            "./store/journeyml.db with `journeyml store upgrade`)",
            highlight=False,
        )


def _batch_log_uri(uri: str | None) -> str | None:
    """The store a file's batch scoring logs to: the one given or configured, else the default
    embedded store when it exists (a batch run does not create a store of its own accord)."""
    from journeyml.store import DEFAULT_STORE_URI, STORE_URI_ENV

    if uri or os.environ.get(STORE_URI_ENV):
        return _store_uri(uri)
    default = Path(DEFAULT_STORE_URI.removeprefix("sqlite:///"))
    return _store_uri(DEFAULT_STORE_URI) if default.is_file() else None


def _score_on_cluster(
    data: Path,
    out: Path,
    mapping: str | None,
    pred: Any,
    request: Any,
    as_of: str | None,
    cluster: tuple[str | None, int, int],
    request_id: str,
    log: Any,
) -> int:
    """``--engine dask``: one output file per partition in the folder ``out`` (a log file is
    partitioned first, into a temporary folder on this machine: a LocalCluster's); with ``log``
    (a :class:`journeyml.engine.PartitionLog`) every worker logs its predictions."""
    import tempfile

    from journeyml.engine import connect, score_partitions
    from journeyml.events import is_partitioned, open_partitioned, write_partitioned

    scheduler, workers, partitions = cluster
    with ExitStack() as stack:
        if is_partitioned(data):
            ds = open_partitioned(data)
        else:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="journeyml-score-"))
            ds = write_partitioned(_read_events(data, mapping), Path(tmp) / "events", partitions)
        client = stack.enter_context(connect(scheduler, n_workers=workers))
        console.print(f"  Dask engine: {scheduler or f'LocalCluster of {workers} workers'}; "
                      f"{ds.n_partitions} partitions → {out}/part-*{out.suffix}",
                      highlight=False, soft_wrap=True)  # fmt: skip
        return score_partitions(
            client, ds, pred, out, request, as_of=as_of, suffix=out.suffix,
            request_id=request_id, log=log,
        )  # fmt: skip


def _score_store(
    out: Path,
    as_of: str | None,
    tracking_uri: str | None,
    model_dir: Path | None,
    top_k: int,
    store_uri: str | None,
    active_days: float,
    segment: str | None,
    project: str | None,
    cluster: tuple[str | None, int, int] | None = None,
) -> None:
    from journeyml.store import EventStore, parse_segment, score_active, select_segment

    conditions = parse_segment(segment) if segment else None
    if out.suffix not in (".parquet", ".csv"):
        console.print(f"[red]error[/]: expected --out to end in .parquet or .csv, got {out}.")
        raise typer.Exit(2)
    pred = _load_predictor(tracking_uri, model_dir, project)
    now = _now()
    name = pred.project or project or "demo"
    if cluster is not None:
        from journeyml.engine import connect, score_store_partitions

        scheduler, workers, partitions = cluster
        with connect(scheduler, n_workers=workers) as client:
            run = score_store_partitions(
                client, _store_uri(store_uri), pred, as_of=as_of or now, days=active_days,
                project=name, created_at=now, top_k=top_k, n_partitions=partitions,
            )  # fmt: skip
    else:
        with EventStore.open(_store_uri(store_uri), create=False) as es:
            run = score_active(
                es, pred, as_of=as_of or now, days=active_days, project=name, created_at=now,
                top_k=top_k,
            )  # fmt: skip
    table = run.scores
    if conditions is not None and len(table):
        table = select_segment(table, conditions)
    table.to_parquet(out, index=False) if out.suffix == ".parquet" else table.to_csv(
        out, index=False
    )
    what = f"segment '{segment}': {len(table):,} of " if conditions is not None else ""
    console.print(
        f"[green]scored[/] {what}{len(run.scores):,} customers active within {active_days:g} "
        f"days as of {run.as_of.isoformat()} → {out}; {run.logged:,} predictions logged as "
        f"request {run.run_id}; {run.saved:,} scores saved to the store's scores table "
        "(one per customer and task)",
        highlight=False,
    )


def _read_events(path: Path, mapping: str | None) -> Any:
    """Events through the one loader (lenient: rejected rows are left out and counted)."""
    from journeyml.cli_progress import RichProgress
    from journeyml.events import load_events

    with RichProgress(console) as progress:
        loaded = load_events(path, mapping, policy="lenient", now=_now(), progress=progress)
    rep = loaded.report
    if rep.n_rejected:
        reasons = ", ".join(f"{k}: {v:,}" for k, v in rep.rejects_by_reason.items())
        console.print(
            f"[yellow]left out[/] {rep.n_rejected:,} of {rep.n_input:,} rows ({reasons}); "
            f"`journeyml validate {path}` shows which."
        )
    return loaded.events


@app.command()
@friendly_errors
def benchmark(
    config: Path = typer.Argument(..., help="Benchmark config (pipelines/benchmarks/*.yaml)."),
    out: Path = typer.Option(..., "--out", help="JSON file for the result."),
    seed: int | None = typer.Option(None, help="The models' random seed (default: the config's)."),
) -> None:
    """Run a benchmark protocol (tax2017, chronological, calibration_holdout, teinemaa2019) on
    a real log."""
    _quiet_libraries()
    from journeyml.bench import load_benchmark_config, run_benchmark, write_result

    cfg = load_benchmark_config(config)
    if seed is not None:
        cfg = cfg.model_copy(update={"seed": seed})
    console.print(f"[bold]benchmark[/] {cfg.dataset} · {cfg.task} · {cfg.protocol.name}")
    from journeyml.cli_progress import RichProgress

    with RichProgress(console) as stages:
        result = run_benchmark(
            cfg, progress=lambda msg: console.print(f"  {msg}", highlight=False), stages=stages
        )
    for name, value in result["metrics"].items():
        if name != "by_length":
            console.print(f"  {name}: {value}")
    m = result.get("margin") or {}
    if m:
        console.print(
            f"  {m['metric']}: journeyml {m['journeyml']:.4f} vs best baseline "
            f"{m['best_baseline']} {m['baseline']:.4f} (margin {m['margin']:+.4f})"
        )
    write_result(result, out)
    console.print(f"[green]wrote[/] {out}")


@app.command()
@friendly_errors
def report(
    data: Path = typer.Option(
        ..., "--data", help="Events: a file with the canonical columns, or any log with --mapping."
    ),
    out: Path = typer.Option(Path("report.html"), "--out", help="The HTML file to write."),
    model: str = typer.Option("champion", "--model", help="Registry alias of the models."),
    mapping: str | None = typer.Option(
        None, help="Mapping file or built-in name for raw logs (default: canonical columns)."
    ),
    tracking_uri: str | None = typer.Option(None),
    log: bool = typer.Option(True, help="Also log the report to the models' MLflow run."),
    project: str | None = _project_option(),
) -> None:
    """The analysts' report: drivers, pain points, moments of truth, journey map (one HTML)."""
    _quiet_libraries()
    from journeyml.lifecycle import default_tracking_uri
    from journeyml.report import log_report, render_report
    from journeyml.scoring import Predictor

    ev = _read_events(data, mapping)
    pred = Predictor.from_registry(
        tracking_uri or default_tracking_uri(), project=project, alias=model
    )
    from journeyml.cli_progress import RichProgress
    from journeyml.lifecycle import registry

    # the project's tasks without a model of this alias: named in the report, not left out
    absent = {
        t: f"no {model} model (its newest version did not pass the promotion gate: see "
        f"`journeyml models`); not in this report"
        for t in sorted(
            set(registry.project_models(registry.resolve_project(pred.project))) - set(pred.tasks)
        )
    }
    with RichProgress(console) as progress:
        render_report(pred, ev, out, progress=progress, absent=absent)
    runs = log_report(out, pred.tasks, model, project=pred.project) if log else []
    where = f" and logged to runs {', '.join(runs)}" if log else ""
    console.print(f"[green]report[/] → {out}{where}")


store_app = typer.Typer(no_args_is_help=True, help="The event store: schema and contents.")
app.add_typer(store_app, name="store")


def _redacted(uri: str | None) -> str:
    if uri is None:
        return "none"
    from journeyml.store import redact_uri

    return redact_uri(uri)


def _store_uri(uri: str | None) -> str:
    from journeyml.store import store_uri

    return store_uri(uri, os.environ)


@app.command()
@friendly_errors
def ingest(
    path: Path = typer.Argument(..., help="Event log: csv[.gz], txt[.gz], parquet, jsonl, xes."),
    mapping: str | None = typer.Option(
        None, "--mapping", help="Mapping YAML file or built-in name (none: canonical columns)."
    ),
    rejects: Path | None = typer.Option(None, "--rejects", help="CSV file for rejected rows."),
    source: str | None = typer.Option(None, help="Source recorded with each event (file name)."),
    store: str | None = typer.Option(None, "--store", help=STORE_HELP),
    batch_size: int = typer.Option(5000, help="Events per transaction (whole customers)."),
) -> None:
    """Load a log into the event store through the same readers and validation as training."""
    from journeyml.cli_progress import RichProgress
    from journeyml.store import EventStore, ingest_file

    with EventStore.open(_store_uri(store)) as es:
        console.print(f"[bold]ingesting[/] {path} → {es.uri}", highlight=False)
        with RichProgress(console) as progress:
            report = ingest_file(
                es,
                path,
                mapping,
                now=_now(),
                source=source,
                rejects_path=rejects,
                batch_size=batch_size,
                progress=progress,
            )
    console.print(report.to_text(), highlight=False)
    if report.n_input > 0 and report.rejected == report.n_input:
        console.print("[bold red]no event passed validation[/]; see the rejects by reason above.")
        raise typer.Exit(1)


@app.command()
@friendly_errors
def outcomes(
    path: Path = typer.Argument(
        ..., help="Outcomes: csv[.gz], parquet or jsonl with customer_id, task, outcome, time."
    ),
    store: str | None = typer.Option(None, "--store", help=STORE_HELP),
) -> None:
    """Record outcomes known outside the event stream (a CRM's cancellations); `journeyml
    monitor` counts one of a binary task within a prediction's horizon as a positive label."""
    from collections import Counter

    from journeyml.store import EventStore, read_outcomes

    items = read_outcomes(path)  # every row checked before anything is stored
    with EventStore.open(_store_uri(store)) as es:
        result = es.record_outcomes(items)
        where = es.uri
    per_task = Counter(o.task for o in items)
    tasks = ", ".join(f"{t}: {per_task[t]:,}" for t in sorted(per_task)) or "none"
    console.print(
        f"[green]recorded[/] {result.accepted:,} outcomes from {path} → {where} "
        f"({result.duplicates:,} already there; by task: {tasks})",
        highlight=False,
    )


@store_app.command("upgrade")
@friendly_errors
def store_upgrade(store: str | None = typer.Option(None, "--store", help=STORE_HELP)) -> None:
    """Create or migrate the store's schema to the revision this code needs."""
    from journeyml.store import upgrade_store

    before, after = upgrade_store(_store_uri(store))
    what = "already at" if before == after else f"migrated from {before or 'an empty store'} to"
    console.print(f"[green]store[/] {what} schema revision {after}")


@store_app.command("info")
@friendly_errors
def store_info(store: str | None = typer.Option(None, "--store", help=STORE_HELP)) -> None:
    """What the store holds: schema revision and counts."""
    from journeyml.store import EventStore

    with EventStore.open(_store_uri(store), create=False) as es:
        s = es.summary()
    span = f"{s.first_event} → {s.last_event}" if s.first_event is not None else "(no events)"
    console.print(
        f"store {s.uri} ({s.backend}, schema revision {s.revision})\n"
        f"events: {s.events:,} of {s.customers:,} customers, {span}\n"
        f"predictions logged: {s.predictions:,}; outcomes: {s.outcomes:,}",
        highlight=False,
    )


def _load_predictor(
    tracking_uri: str | None, model_dir: Path | None, project: str | None = None
) -> Any:
    from journeyml.lifecycle import default_tracking_uri
    from journeyml.scoring import Predictor

    if model_dir is not None:
        return Predictor.from_dir(model_dir)
    return Predictor.from_registry(tracking_uri or default_tracking_uri(), project=project)


@app.command()
@friendly_errors
def replay(
    request_id: str = typer.Argument(..., help="The request id of a logged prediction."),
    item: int = typer.Option(0, help="The journey's index in a batch request."),
    store: str | None = typer.Option(None, "--store", help=STORE_HELP),
    tracking_uri: str | None = typer.Option(None),
    model_dir: Path | None = typer.Option(
        None, help="Replay with bundled models from here instead of the registry's champions."
    ),
    project: str | None = typer.Option(
        None, "--project", help="The project's champions (default: the one logged)."
    ),
) -> None:
    """Recompute a logged prediction from the store: identical, or what changed (models,
    events, answer). Exit code 0 when identical, 1 when something changed, 3 when the store
    does not hold the events it used (scored from a file or sent, never ingested)."""
    _quiet_libraries()
    from journeyml.store import EventStore
    from journeyml.store import replay as replay_prediction

    with EventStore.open(_store_uri(store), create=False) as es:
        logged = es.prediction(request_id, item)
        logged_project = logged.project if logged is not None else None
        pred = _load_predictor(tracking_uri, model_dir, project or logged_project)
        result = replay_prediction(es, pred, request_id, item)
    print(result.to_text())
    if result.events_missing:
        raise typer.Exit(3)
    if not result.identical:
        raise typer.Exit(1)


@app.command()
@friendly_errors
def monitor(
    out: Path = typer.Option(Path("monitor.html"), "--out", help="The HTML page."),
    store: str | None = typer.Option(None, "--store", help=STORE_HELP),
    project: str | None = _project_option(),
    tracking_uri: str | None = typer.Option(None),
    model_dir: Path | None = typer.Option(
        None, help="Bundled models (top features, task rules) instead of the registry's."
    ),
    sample_per_week: int = typer.Option(
        5000, help="Predictions per week sampled for features, labels and explanations."
    ),
    max_feature_psi: float | None = typer.Option(0.25, help="Thresholds: 'nan' turns one off."),
    max_prediction_psi: float | None = typer.Option(0.25),
    min_auc: float | None = typer.Option(None),
    max_ece: float | None = typer.Option(None),
    max_explanation_shift: float | None = typer.Option(0.2),
    min_matured: int = typer.Option(50, help="Matured predictions a week needs for quality."),
    log_mlflow: bool = typer.Option(True, "--mlflow/--no-mlflow", help="Log to MLflow."),
) -> None:
    """Quality once outcomes matured (from the events and `journeyml outcomes`),
    feature/prediction drift (PSI) and explanation drift per project, task and week, from the
    prediction log; an HTML page, MLflow metrics, and exit code 1 when a threshold is
    crossed."""
    _quiet_libraries()
    from journeyml.lifecycle import default_tracking_uri
    from journeyml.monitor import Thresholds, log_to_mlflow, render_page
    from journeyml.monitor import monitor as run_monitor
    from journeyml.store import EventStore

    def _set(v: float | None) -> float | None:
        return None if v is None or v != v else v

    th = Thresholds(
        max_feature_psi=_set(max_feature_psi),
        max_prediction_psi=_set(max_prediction_psi),
        min_auc=_set(min_auc),
        max_ece=_set(max_ece),
        max_explanation_shift=_set(max_explanation_shift),
        min_matured=min_matured,
    )
    pred = _load_predictor(tracking_uri, model_dir, project)
    with EventStore.open(_store_uri(store), create=False) as es:
        result = run_monitor(
            es, pred, now=_now(), project=project or pred.project, thresholds=th,
            sample_per_week=sample_per_week,
        )  # fmt: skip
    page = render_page(result, out)
    where = ""
    if log_mlflow:
        run_id = log_to_mlflow(result, tracking_uri or default_tracking_uri(), page)
        where = f"; MLflow run {run_id}"
    n_weeks = result.weekly["week"].nunique() if not result.weekly.empty else 0
    console.print(
        f"[green]monitored[/] {result.n_predictions:,} predictions over {n_weeks} week(s) → "
        f"{page}{where}",
        highlight=False,
    )
    for b in result.breaches:
        console.print(f"[bold red]threshold crossed[/]: {b}", highlight=False)
    if result.breaches:
        raise typer.Exit(1)


@app.command("export-models")
@friendly_errors
def export_models(
    out: Path = typer.Option(Path("models/bundled"), "--out", help="Folder for the copies."),
    tracking_uri: str | None = typer.Option(None),
    project: str | None = _project_option(),
) -> None:
    """Copy the champions out of the registry (the fallback bundled with the service)."""
    _quiet_libraries()
    from journeyml.lifecycle import default_tracking_uri
    from journeyml.scoring import Predictor

    pred = Predictor.from_registry(tracking_uri or default_tracking_uri(), project=project)
    pred.save(out)
    console.print(
        f"[green]exported[/] project {pred.project}: "
        f"{', '.join(f'{t} v{v}' for t, v in pred.versions().items())} → {out}"
    )


def find_service_dir(given: Path | None, cwd: Path) -> Path | list[Path]:
    """The folder of ``service.py``: ``given``, else ``cwd/service``, else the ``service/``
    beside the ``src/`` this journeyml runs from (an editable install), so ``journeyml serve``
    works from a project folder of one's own; the folders looked in when none has it."""
    candidates = (
        [given]
        if given is not None
        else [cwd / "service", Path(__file__).resolve().parents[2] / "service"]
    )
    for folder in candidates:
        if (folder / "service.py").exists():
            return folder
    return candidates


@app.command()
@friendly_errors
def serve(
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(3000),
    tracking_uri: str | None = typer.Option(None),
    service_dir: Path | None = typer.Option(
        None,
        help="Folder of service.py (default: ./service, else the service of this journeyml's "
        "source checkout).",
    ),
    project: str | None = _project_option(),
    store: str | None = typer.Option(None, "--store", help=STORE_HELP),
    no_store: bool = typer.Option(
        False, "--no-store", help="Serve without an event store (nothing is logged)."
    ),
) -> None:
    """Serve a project's champions over HTTP (BentoML): POST /predict, the event store's
    endpoints."""
    looked = find_service_dir(service_dir, Path.cwd())
    from journeyml.lifecycle import default_tracking_uri
    from journeyml.store import absolute_uri

    env = dict(os.environ)
    env["JOURNEYML_TRACKING_URI"] = tracking_uri or default_tracking_uri()
    if project is not None:
        env["JOURNEYML_PROJECT"] = project
    if no_store:
        env.pop("JOURNEYML_STORE_URI", None)
    else:  # the service runs in service_dir: a relative SQLite path is made absolute here
        env["JOURNEYML_STORE_URI"] = absolute_uri(_store_uri(store), Path.cwd())
    env.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    if isinstance(looked, list):
        console.print(
            f"[red]error[/]: expected service.py in {' or '.join(str(p) for p in looked)}, "
            "found none; pass --service-dir (the service/ folder of the journeyml repository)."
        )
        raise typer.Exit(2)
    service_dir = looked
    from journeyml.serving import EXIT_REFUSED, ServiceSettings, run_server, serve_command

    try:
        ServiceSettings.from_env(env)
    except JourneyMLError as exc:
        console.print(f"[bold red]error[/] ({exc.code}): refusing to start: {exc.message}")
        raise typer.Exit(EXIT_REFUSED) from None
    console.print(
        f"[bold]serving[/] on http://{host}:{port}  (project "
        f"{env.get('JOURNEYML_PROJECT', 'demo or the only one')}, models from "
        f"{env['JOURNEYML_TRACKING_URI']}; event store "
        f"{_redacted(env.get('JOURNEYML_STORE_URI'))})"
    )

    def refused(line: str) -> None:
        sys.stderr.write(f"error: {line} (exit {EXIT_REFUSED})\n")  # one line, never wrapped

    code = run_server(serve_command(service_dir, host, port), env, on_refusal=refused)
    raise typer.Exit(code)


models_app = typer.Typer(
    no_args_is_help=True, help="The registry: models per project, champion and challenger."
)
app.add_typer(models_app, name="models")
TRACKING_HELP = "MLflow tracking URI (default: $JOURNEYML_TRACKING_URI or ./mlflow)."


def _registry(tracking_uri: str | None) -> str:
    _quiet_libraries()
    import mlflow

    from journeyml.lifecycle import default_tracking_uri

    uri = tracking_uri or default_tracking_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


@models_app.command("list")
@friendly_errors
def models_list(
    project: str | None = typer.Option(
        None, "--project", envvar="JOURNEYML_PROJECT", help="Only this project (default: all)."
    ),
    tracking_uri: str | None = typer.Option(None, help=TRACKING_HELP),
) -> None:
    """Every project's models: versions, champion, challenger, champion history."""
    from journeyml.lifecycle import catalog, registry

    uri = _registry(tracking_uri)
    rows = catalog.list_models(project)
    legacy = registry.legacy_models()
    if not rows and not legacy:
        console.print(
            f"no journeyml models in {uri}" + (f" for project {project}" if project else "")
        )
        return
    out = Console(highlight=False, soft_wrap=True)
    for proj in dict.fromkeys(r.project for r in rows):
        out.print(f"[bold]project {proj}[/]")
        for r in (r for r in rows if r.project == proj):
            history = " → ".join(f"v{v}" for v in r.history) or "-"
            out.print(
                f"  {r.task}: {r.name}, {r.versions} versions; champion {_v(r.champion)}, "
                f"challenger {_v(r.challenger)}; champions so far {history}"
            )
    if legacy:
        console.print(
            f"[yellow]models from before projects[/]: {', '.join(m.name for m in legacy)}; "
            "`journeyml models adopt-legacy --project demo` makes them project demo's."
        )


def _v(v: str | None) -> str:
    return "-" if v is None else f"v{v}"


@models_app.command("promote")
@friendly_errors
def models_promote(
    task: str = typer.Option(..., "--task", help="The task whose champion changes."),
    version: str | None = typer.Option(
        None, "--version", help="The version to make champion (default: the challenger)."
    ),
    project: str | None = _project_option(),
    tracking_uri: str | None = typer.Option(None, help=TRACKING_HELP),
) -> None:
    """Make a version the champion by hand (no gate); the history keeps the previous one."""
    from journeyml.lifecycle import catalog, registry

    _registry(tracking_uri)
    proj = registry.resolve_project(project)
    before, after = catalog.promote(proj, task, version)
    console.print(f"[green]{registry.model_name(proj, task)}[/]: champion {_v(before)} → v{after}")


@models_app.command("rollback")
@friendly_errors
def models_rollback(
    task: str = typer.Option(..., "--task", help="The task whose champion goes back."),
    project: str | None = _project_option(),
    tracking_uri: str | None = typer.Option(None, help=TRACKING_HELP),
) -> None:
    """The champion goes back to the previous champion version."""
    from journeyml.lifecycle import catalog, registry

    _registry(tracking_uri)
    proj = registry.resolve_project(project)
    before, after = catalog.rollback(proj, task)
    console.print(
        f"[green]{registry.model_name(proj, task)}[/]: champion v{before} → v{after} (rolled back)"
    )


@models_app.command("adopt-legacy")
@friendly_errors
def models_adopt_legacy(
    project: str = typer.Option(
        "demo", "--project", help="The project the models from before projects join."
    ),
    tracking_uri: str | None = typer.Option(None, help=TRACKING_HELP),
) -> None:
    """Models from before projects (journeyml-conversion...) join a project, champions kept."""
    from journeyml.lifecycle import catalog

    _registry(tracking_uri)
    done = catalog.adopt_legacy(project)
    if not done:
        console.print("no models from before projects to adopt")
        return
    for a in done:
        console.print(
            f"[green]adopted[/] {a.legacy} → {a.name}: {len(a.versions)} versions, "
            f"champion {_v(a.champion)}, challenger {_v(a.challenger)} "
            f"(the old model stays, tagged journeyml.adopted_into)"
        )


if __name__ == "__main__":  # pragma: no cover
    app()
