"""MLflow logging: every task run logs params (every LightGBM parameter), metrics, dataset
lineage and fingerprint, the git commit, the config, the FeatureSpec, the reliability diagram,
the baselines and the model: a pyfunc owning the whole bundle that takes journeys (an events
frame) and answers as the API does, so ``mlflow.pyfunc.load_model(...).predict(events)``,
``mlflow models serve`` and journeyml's own service load the same thing.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import mlflow
import mlflow.pyfunc
import numpy as np
import pandas as pd

from journeyml.features import slug
from journeyml.modeling import TaskResult

BUNDLE_ARTIFACT = "bundle"
MODEL_NAME = "model"


#: the logged model's code (MLflow "models from code"): journeys in, the API's answers out.
#: It lives with the serving code it runs; it is read as a file, not imported here.
MODEL_CODE = Path(__file__).resolve().parents[1] / "serving" / "mlflow_model.py"
#: events of this many customers make the logged model's input example
EXAMPLE_CUSTOMERS = 2


def journeys_example(events: pd.DataFrame, n_customers: int = EXAMPLE_CUSTOMERS) -> pd.DataFrame:
    """A few customers' events as the logged model takes them (timestamps as ISO text, what
    a JSON request to ``mlflow models serve`` carries)."""
    ids = events["customer_id"].drop_duplicates().head(n_customers)
    ex = events[events["customer_id"].isin(ids)].head(40).copy()
    ex["timestamp"] = pd.to_datetime(ex["timestamp"], utc=True).map(lambda t: t.isoformat())
    return ex.reset_index(drop=True)


#: the columns every journey must carry; the others (``channel``, ``stage``, ``value``,
#: attributes, ``as_of``) are optional, as :mod:`journeyml.serving.mlflow_model` documents
REQUIRED_COLUMNS = ("customer_id", "timestamp", "touchpoint")


def journeys_signature(example: pd.DataFrame) -> Any:
    """The logged model's MLflow signature: the example's columns with their types, only
    :data:`REQUIRED_COLUMNS` required, plus an optional ``as_of`` (ISO text) and the
    ``explain`` / ``top_k`` params. Inferred from the example alone, every column seen there
    would be required and ``as_of`` dropped, so ``mlflow models serve`` would refuse a journey
    without the training data's every attribute and ignore the cutoff it was asked for."""
    from mlflow.models import ModelSignature, infer_signature
    from mlflow.types import ColSpec, DataType, ParamSchema, ParamSpec, Schema, TensorSpec

    inferred = infer_signature(example).inputs
    cols: list[ColSpec | TensorSpec] = [
        ColSpec(c.type, c.name, required=c.name in REQUIRED_COLUMNS)
        for c in inferred.inputs
        if c.name != "as_of"
    ]
    cols.append(ColSpec(DataType.string, "as_of", required=False))
    params = ParamSchema(
        [ParamSpec("explain", DataType.boolean, True), ParamSpec("top_k", DataType.long, 3)]
    )
    return ModelSignature(inputs=Schema(cols), params=params)


#: the experiment tag that makes the MLflow UI (3.x) open an experiment on its runs, as a
#: classic model-development experiment, not on the (empty) GenAI traces page
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}


def configure(tracking_uri: str, experiment: str) -> str:
    """Point MLflow at ``tracking_uri`` and make sure ``experiment`` exists, tagged as a
    model-development experiment (:data:`EXPERIMENT_KIND`); return its id. A file-based store
    keeps artefacts beside the SQLite database (``mlflow/artifacts``)."""
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    exp = mlflow.get_experiment_by_name(experiment)
    if exp is not None:
        mlflow.set_experiment(experiment)
        for k, v in EXPERIMENT_KIND.items():
            if exp.tags.get(k) != v:
                mlflow.set_experiment_tag(k, v)
        return str(exp.experiment_id)
    location = None
    if tracking_uri.startswith("sqlite:///"):
        db = Path(tracking_uri[len("sqlite:///") :])
        location = (db.parent / "artifacts").resolve().as_uri()
    exp_id = mlflow.create_experiment(experiment, artifact_location=location, tags=EXPERIMENT_KIND)
    mlflow.set_experiment(experiment)
    return str(exp_id)


def data_fingerprint(events: pd.DataFrame) -> str:
    """16 hex digits that change when any value of the events changes (row order included).

    >>> ev = pd.DataFrame({"customer_id": ["a"], "touchpoint": ["visit"]})
    >>> data_fingerprint(ev) == data_fingerprint(ev.copy())
    True
    >>> data_fingerprint(ev) == data_fingerprint(ev.assign(touchpoint=["purchase"]))
    False
    """
    h = hashlib.sha256(",".join(map(str, events.columns)).encode())
    hashed = pd.util.hash_pandas_object(events, index=False)
    h.update(np.ascontiguousarray(hashed.to_numpy(np.uint64)).tobytes())
    return h.hexdigest()[:16]


def git_commit(folder: str | Path) -> tuple[str, bool] | None:
    """The commit checked out in the git repository holding ``folder`` and whether the
    working tree has uncommitted changes; None outside a repository (or without git)."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(folder), *args], capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit, dirty


def provenance_tags(
    events: pd.DataFrame, folder: str | Path, *, fingerprint: str | None = None
) -> dict[str, str]:
    """Tags of every training run: the data fingerprint (``fingerprint``, or computed from
    ``events``), journeyml's version and the git commit of the project folder
    (``mlflow.source.git.commit``, which the MLflow UI shows)."""
    from importlib.metadata import version

    tags = {
        "data_fingerprint": fingerprint or data_fingerprint(events),
        "journeyml_version": version("journeyml"),
    }
    found = git_commit(folder)
    if found is not None:
        commit, dirty = found
        tags.update(
            {"mlflow.source.git.commit": commit, "git_commit": commit, "git_dirty": str(dirty)}
        )
    return tags


def booster_parameters(booster: Any) -> dict[str, str]:
    """Every parameter of a trained LightGBM booster, defaults included, as LightGBM itself
    records them in the model (``lightgbm.<name>``; empty values left out)."""
    text = booster.model_to_string(num_iteration=1)
    head = text.partition("\nparameters:\n")[2].partition("end of parameters")[0]
    out = {}
    for line in head.splitlines():
        name, sep, value = line.strip().strip("[]").partition(": ")
        if sep and value.strip():
            out[f"lightgbm.{name}"] = value.strip()[:500]
    return out


def log_config(resolved: dict[str, Any], source_file: str | None) -> None:
    """The pipeline config into the active run: the file as written (``config/<name>``) and
    as resolved, every default filled in (``config/resolved.yaml``)."""
    if source_file is not None and Path(source_file).is_file():
        mlflow.log_artifact(source_file, artifact_path="config")
    mlflow.log_dict(resolved, "config/resolved.yaml")


def _flat(prefix: str, d: dict[str, Any]) -> dict[str, float]:
    out = {}
    for k, v in d.items():
        if isinstance(v, (int, float, np.floating, np.integer)) and np.isfinite(v):
            out[f"{prefix}{k}"] = float(v)
    return out


def _reliability_png(rel: dict[str, list[float]], title: str, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], "--", color="grey", lw=1, label="perfect")
    ax.plot(rel.get("predicted", []), rel.get("observed", []), "o-", label="model")
    ax.set_xlabel("predicted probability")
    ax.set_ylabel("observed rate")
    ax.set_title(title)
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


class EventsLineage:
    """The training events as MLflow dataset lineage, their digest and schema computed once
    however many task runs log them (MLflow infers the schema value by value: on a million
    events that takes tens of seconds per run).

    >>> ev = pd.DataFrame({"customer_id": ["a", "b"], "touchpoint": ["visit", "buy"]})
    >>> lineage = EventsLineage(ev).compute()
    >>> one, two = lineage.dataset("log.csv", "conversion"), lineage.dataset("log.csv", "churn")
    >>> (one.name, two.name, one.digest == two.digest, one.schema is two.schema)
    ('conversion', 'churn', True, True)
    """

    def __init__(self, events: pd.DataFrame, *, digest: str | None = None) -> None:
        """``digest``: the events' own (a partitioned dataset's, whose ``events`` are a
        sample of it for the schema and the input example); default MLflow's."""
        self.events = events
        self._digest: str | None = digest
        self._schema: Any = None

    def compute(self) -> EventsLineage:
        """Compute the digest and the schema now (MLflow reads every value: at 10 M events
        its working memory is over a gigabyte, so the pipeline does it before the feature
        matrix exists rather than in the first task's logging)."""
        if self._schema is None:
            self.dataset("", "events")
        return self

    def dataset(self, source: str, name: str) -> Any:
        """An MLflow ``PandasDataset`` of the events named ``name`` (for ``mlflow.log_input``)."""
        ds = mlflow.data.from_pandas(  # type: ignore[attr-defined]
            self.events, source=source, name=name, digest=self._digest
        )
        if self._schema is None:
            self._digest, self._schema = self._digest or ds.digest, ds.schema
        else:  # the cached property, filled as MLflow would fill it
            ds.__dict__["schema"] = self._schema
        return ds


def log_task(
    result: TaskResult,
    *,
    params: dict[str, Any],
    dataset: pd.DataFrame | EventsLineage | None,
    dataset_source: str,
) -> str:
    """Log one task into the active run; returns the logged model's URI. ``dataset``: the
    training events, or their :class:`EventsLineage` when several tasks log the same events."""
    bundle = result.bundle
    events = dataset.events if isinstance(dataset, EventsLineage) else dataset
    task = bundle.task
    mlflow.log_params(
        {k: (json.dumps(v) if isinstance(v, (list, tuple, dict)) else v) for k, v in params.items()}
    )
    mlflow.log_metrics(_flat("test_", result.metrics))
    for name, m in result.baselines.items():
        mlflow.log_metrics(_flat(f"baseline_{name}_", m))
    mlflow.log_metrics(_flat("calibration_valid_logloss_", result.calibration_scores))
    mlflow.log_metrics(_flat("n_", result.counts))
    mlflow.set_tags(
        {
            "task": task.name,
            "feature_fingerprint": bundle.spec.fingerprint,
            "calibration": bundle.calibrator.method,
        }
    )
    if dataset is not None:
        lineage = dataset if isinstance(dataset, EventsLineage) else EventsLineage(dataset)
        mlflow.log_input(lineage.dataset(dataset_source, f"{task.name}-events"), context="training")
    mlflow.log_dict(bundle.spec.to_dict(), "feature_spec.json")
    mlflow.log_dict(result.baselines, "baselines.json")
    if result.segment_metrics:
        mlflow.log_dict(result.segment_metrics, "segments.json")
        for seg, m in result.segment_metrics.items():
            mlflow.log_metrics(_flat(f"test_segment_{slug(seg)}_", m))
    mlflow.log_dict(
        {
            "metrics": result.metrics,
            "reliability": result.reliability,
            "calibration": result.calibration_scores,
            "counts": result.counts,
        },
        "evaluation.json",
    )
    with tempfile.TemporaryDirectory() as tmp:
        if result.reliability:
            mlflow.log_artifact(
                str(
                    _reliability_png(
                        result.reliability,
                        f"{task.name}: reliability (test window)",
                        Path(tmp) / "reliability.png",
                    )
                )
            )
        bdir = bundle.save(Path(tmp) / BUNDLE_ARTIFACT)
        example = journeys_example(events) if events is not None else None
        info = mlflow.pyfunc.log_model(
            name=MODEL_NAME,
            python_model=str(MODEL_CODE),
            artifacts={BUNDLE_ARTIFACT: str(bdir)},
            input_example=example,
            signature=journeys_signature(example) if example is not None else None,
            pip_requirements=_requirements(),
        )
    return str(info.model_uri)


def _requirements() -> list[str]:
    from importlib.metadata import version

    pkgs = ["lightgbm", "numpy", "pandas", "scikit-learn", "mlflow", "pyyaml", "pydantic"]
    return [f"{p}=={version(p)}" for p in pkgs]


@contextmanager
def failed_runs_closed(run_ids: list[str]) -> Iterator[None]:
    """On any failure, make sure every run in ``run_ids`` ends FAILED, not RUNNING.

    MLflow's own ``start_run`` context marks a run FAILED on an exception, but on a full disk
    that write fails too. Then the failed run's own local artefacts (incomplete, useless) are
    removed to make room, and the mark is written again. Nothing else is touched."""
    try:
        yield
    except BaseException:
        from mlflow import MlflowClient

        client = MlflowClient()
        for rid in run_ids:
            with suppress(Exception):
                run = client.get_run(rid)
                if run.info.status != "RUNNING":
                    continue
                try:
                    client.set_terminated(rid, "FAILED")
                except Exception:
                    _remove_local_artifacts(run.info.artifact_uri)
                    client.set_terminated(rid, "FAILED")
        raise


def _remove_local_artifacts(uri: str | None) -> None:
    if not uri:
        return
    parsed = urlparse(uri)
    if parsed.scheme not in ("", "file"):
        return
    with suppress(OSError):
        shutil.rmtree(Path(unquote(parsed.path)))
