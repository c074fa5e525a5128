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


def curl_example(host: str, port: int) -> str:
    body = json.dumps(json.loads(EXAMPLE.read_text()), separators=(",", ":"))
    return (
        f"journeyml API: http://{host}:{port}  (OpenAPI: http://{host}:{port}/docs)\n"
        f"Try, once it says it is listening:\n\n"
        f"curl -s -X POST http://{host}:{port}/predict -H 'Content-Type: application/json' \\\n"
        f"  -d '{body}'\n"
    )


def main(argv: list[str]) -> int:
    if argv[:1] == ["check"]:
        return 0 if has_champions() else 1
    if argv[:1] == ["curl"] and len(argv) == 3:
        print(curl_example(argv[1], int(argv[2])))
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
