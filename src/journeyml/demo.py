"""Helpers for ``make demo``: is there a champion for every task already, and the curl example.

``python -m journeyml.demo check`` exits 0 if ./mlflow (or ``$JOURNEYML_TRACKING_URI``) holds a
champion for every task of project ``demo`` that this code can serve (same feature code
version); a store from before projects has its models adopted into ``demo`` first;
``python -m journeyml.demo curl HOST PORT`` prints the URL and a
ready-to-paste request.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import warnings
from pathlib import Path

EXAMPLE = Path("service/example_request.json")
#: the project of pipelines/demo.yaml
PROJECT = "demo"


def has_champions() -> bool:
    warnings.filterwarnings("ignore")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    import mlflow

    from journeyml.lifecycle import catalog, default_tracking_uri, registry
    from journeyml.tasks import TASKS

    uri = default_tracking_uri()
    if uri.startswith("sqlite:///") and not Path(uri[len("sqlite:///") :]).exists():
        return False
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    if registry.legacy_models() and not registry.project_models(PROJECT):
        for a in catalog.adopt_legacy(PROJECT):  # a store from before projects: keep its models
            print(f"adopted {a.legacy} as {a.name} (champion v{a.champion})")
    if not all(registry.champion_version(PROJECT, t) is not None for t in TASKS):
        return False
    from journeyml.errors import JourneyMLError
    from journeyml.scoring import Predictor

    try:  # champions built by another feature code version cannot be served: retrain
        Predictor.from_registry(uri, project=PROJECT)
    except JourneyMLError as exc:
        print(f"champions found but not servable ({exc.message}): retraining")
        return False
    return True


#: the demo pipeline, whose simulated journeys the demo also puts in the event store
DEMO_PIPELINE = Path("pipelines/demo.yaml")


def fill_store() -> str:
    """Put the demo's simulated journeys (the ones it trains on) into the event store
    (``./store/journeyml.db`` or ``$JOURNEYML_STORE_URI``) unless it holds events already."""
    import pandas as pd
    import yaml

    from journeyml.sim import simulate
    from journeyml.store import EventStore, ingest_frame, store_uri

    with EventStore.open(store_uri(None, os.environ)) as es:
        if es.count_events() > 0:
            return f"event store {es.uri}: {es.count_events():,} events already; kept"
        sim_cfg = yaml.safe_load(DEMO_PIPELINE.read_text())["data"]["simulate"]
        sim = simulate(int(sim_cfg["customers"]), seed=int(sim_cfg["seed"]),
                       days=int(sim_cfg["days"]))  # fmt: skip
        report = ingest_frame(es, sim.events, source="demo", now=pd.Timestamp.now(tz="UTC"))
        return f"event store {es.uri}: {report.accepted:,} simulated events stored"


def stored_example() -> tuple[str, str] | None:
    """(a customer of the store active in its last 30 days, the day after its last event)."""
    import pandas as pd

    from journeyml.store import EventStore, store_uri

    try:
        with EventStore.open(store_uri(None, os.environ), create=False) as es:
            last = es.summary().last_event
            if last is None:
                return None
            active = es.active_customers(last, 30)
    except Exception:  # no store: the example is left out
        return None
    if not active:
        return None
    as_of = (pd.Timestamp(last) + pd.Timedelta(days=1)).normalize()
    return active[0], as_of.strftime("%Y-%m-%dT%H:%M:%SZ")


def curl_example(host: str, port: int) -> str:
    body = json.dumps(json.loads(EXAMPLE.read_text()), separators=(",", ":"))
    text = (
        f"journeyml API: http://{host}:{port}  (OpenAPI: http://{host}:{port}/docs)\n"
        f"Try, once it says it is listening:\n\n"
        f"curl -s -X POST http://{host}:{port}/predict -H 'Content-Type: application/json' \\\n"
        f"  -d '{body}'\n"
    )
    stored = stored_example()
    if stored is not None:
        cid, as_of = stored
        text += (
            f"\nor score a customer of the event store by id:\n\n"
            f"curl -s 'http://{host}:{port}/customers/{cid}/predictions?as_of={as_of}'\n"
        )
    return text


def main(argv: list[str]) -> int:
    if argv[:1] == ["check"]:
        return 0 if has_champions() else 1
    if argv[:1] == ["store"]:
        print(fill_store())
        return 0
    if argv[:1] == ["curl"] and len(argv) == 3:
        print(curl_example(argv[1], int(argv[2])))
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
