"""Predictor: the one object that batch scoring, the HTTP service and the report call.

It holds one :class:`ModelBundle` per task, all built on the same FeatureSpec, and turns
journeys into probabilities and root causes. Both entry points — a frame of many journeys
(:meth:`Predictor.score_frame`) and one journey as event dicts (:meth:`Predictor.predict_journey`)
— encode events into the same arrays and go through the same :meth:`Predictor._predict`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from journeyml.errors import FingerprintMismatchError, ModelNotFoundError, UnknownTaskError
from journeyml.events import CUSTOMER_ID, is_canonical, to_canonical
from journeyml.explain import Batch, Edit, Explainer, Explanation, Target, iso_utc, whatif
from journeyml.features import (
    Context,
    EventArrays,
    FeatureSpec,
    compute_features,
    cutoff_arrays,
    encode_frame,
    encode_records,
    features_from_context,
    to_ns,
)
from journeyml.modeling import ModelBundle
from journeyml.tasks import TASKS

__all__ = ["Predictor", "ScoreRequest", "iso_utc"]
#: beside bundled copies (:meth:`Predictor.save`): the project they belong to
PROJECT_FILE = "project.txt"


@dataclass(frozen=True)
class ScoreRequest:
    """What to predict: which tasks, whether to explain, how many causes.

    >>> from journeyml import ScoreRequest
    >>> ScoreRequest(tasks=("churn",), explain=False)
    ScoreRequest(tasks=('churn',), explain=False, top_k=3, explain_classes=())
    """

    tasks: tuple[str, ...]
    explain: bool = True
    top_k: int = 3
    #: multiclass: also explain these classes (the predicted class is always explained)
    explain_classes: tuple[str, ...] = ()


class Predictor:
    """Models of every task plus their shared FeatureSpec.

    >>> import pandas as pd
    >>> from journeyml import toy
    >>> pred = toy.predictor()         # or Predictor.from_registry(tracking_uri, project=...)
    >>> pred.tasks, pred.versions()
    (('conversion', 'churn'), {'conversion': 'local', 'churn': 'local'})
    >>> ann = toy.journeys().query("customer_id == 'ann'").to_dict("records")
    >>> answer = pred.predict_journey("ann", ann, pd.Timestamp("2024-01-04", tz="UTC"))
    >>> answer["n_events_used"], answer["conversion"]["root_causes"][0]["name"]
    (3, 'cart_add')
    """

    def __init__(self, bundles: Mapping[str, ModelBundle], *, project: str | None = None) -> None:
        where = f" of project {project!r}" if project is not None else ""
        if not bundles:
            raise ModelNotFoundError(f"expected at least one task model{where}, got none.")
        prints = {t: b.spec.fingerprint for t, b in bundles.items()}
        if len(set(prints.values())) != 1:
            raise FingerprintMismatchError(
                f"expected every task model{where} to share one feature spec, got fingerprints "
                f"{prints}. Retrain the project's tasks together (one `journeyml train` run) and "
                "promote them."
            )
        #: the registry project the models came from (None: bundled copies without one)
        self.project = project
        self.bundles = dict(bundles)
        self.spec: FeatureSpec = next(iter(bundles.values())).spec
        #: computed once: hashing the spec costs milliseconds
        self.fingerprint: str = self.spec.fingerprint
        self.touchpoint_set = frozenset(self.spec.touchpoints)
        self.channel_set = frozenset(self.spec.channels)
        #: the one entry point of explanations (cuts per-class boosters now, not on the first
        #: request)
        self.explainer = Explainer(self.bundles)
        self._versions = {
            t: str(b.info.get("registry_version", "local")) for t, b in self.bundles.items()
        }

    # --- construction ----------------------------------------------------------------------
    @classmethod
    def from_registry(
        cls,
        tracking_uri: str,
        *,
        project: str | None = None,
        tasks: Iterable[str] | None = None,
        alias: str = "champion",
    ) -> Predictor:
        """The ``alias`` models of ``project`` (None: ``demo``, or the store's only project);
        every task of the project that has one, or just ``tasks``."""
        import mlflow

        from journeyml.lifecycle import registry

        mlflow.set_tracking_uri(tracking_uri)
        mlflow.set_registry_uri(tracking_uri)
        proj = registry.resolve_project(project)
        names = list(tasks) if tasks is not None else registry.project_tasks(proj, alias=alias)
        if not names:
            raise ModelNotFoundError(
                f"expected {alias} models in project {proj!r}, got none (projects in this store: "
                f"{registry.list_projects()}). Train the project with `journeyml train`, or "
                "pass --project.",
                field="project",
            )
        bundles = {t: registry.load_bundle(proj, t, alias=alias) for t in names}
        return cls(bundles, project=proj)

    @classmethod
    def from_dir(cls, path: Path) -> Predictor:
        """Bundles saved by :meth:`save` (``<path>/<task>/``)."""
        found: dict[str, ModelBundle] = (
            {
                p.name: ModelBundle.load(p)
                for p in sorted(path.iterdir())
                if p.is_dir() and (p / "bundle.json").exists()
            }
            if path.exists()
            else {}
        )
        if not found:
            raise ModelNotFoundError(f"expected task model folders under {path}, found none.")
        named = path / PROJECT_FILE
        project = named.read_text().strip() if named.exists() else None
        return cls(found, project=project)

    def save(self, path: Path) -> Path:
        for t, b in self.bundles.items():
            b.save(path / t)
        if self.project is not None:
            (path / PROJECT_FILE).write_text(self.project + "\n")
        return path

    # --- metadata ------------------------------------------------------------------------
    @property
    def tasks(self) -> tuple[str, ...]:
        first = tuple(t for t in TASKS if t in self.bundles)
        return first + tuple(t for t in self.bundles if t not in first)

    def versions(self) -> dict[str, str]:
        return dict(self._versions)

    def check_tasks(self, tasks: Sequence[str] | None) -> tuple[str, ...]:
        if tasks is None:
            return self.tasks
        unknown = [t for t in tasks if t not in self.bundles]
        if unknown:
            raise UnknownTaskError(
                f"expected tasks among {list(self.tasks)}, got unknown {unknown}.", field="tasks"
            )
        return tuple(dict.fromkeys(tasks))

    def check_classes(self, classes: Sequence[str]) -> tuple[str, ...]:
        """Validate ``explain_classes`` against the classes of the multiclass tasks (each
        multiclass task explains those of them it has)."""
        if not classes:
            return ()
        multi = [t for t in self.tasks if self.bundles[t].kind == "multiclass"]
        known = list(dict.fromkeys(c for t in multi for c in self.bundles[t].classes))
        unknown = [c for c in classes if c not in known]
        if unknown:
            raise UnknownTaskError(
                f"expected classes of the multiclass tasks {multi} among {known}, got unknown "
                f"{unknown}.",
                field="explain_classes",
            )
        return tuple(dict.fromkeys(classes))

    # --- scoring ---------------------------------------------------------------------------
    def predict_journey(
        self,
        customer_id: str,
        records: Sequence[Mapping[str, Any]],
        as_of: Any,
        request: ScoreRequest | None = None,
    ) -> dict[str, Any]:
        """One journey (event dicts) → the prediction dict the API returns."""
        req = request or ScoreRequest(self.tasks)
        arr = encode_records(customer_id, records, self.spec)
        t = np.array([to_ns(as_of)], dtype=np.int64)
        return self._predict(arr, np.zeros(1, np.int64), t, req)[0]

    def what_if(
        self,
        customer_id: str,
        records: Sequence[Mapping[str, Any]],
        as_of: Any,
        edit: Edit,
        request: ScoreRequest | None = None,
    ) -> dict[str, Any]:
        """One journey scored as it is and with one ``edit`` (remove one of its events, or add
        a touchpoint now), at the same ``as_of``: ``before`` and ``after`` (each what
        :meth:`predict_journey` returns), the ``change`` per task, the ``edit`` made, and what
        it means (``meaning``: model sensitivity, not causal effect)."""
        edited, what = edit.apply(records, as_of)
        before = self.predict_journey(customer_id, records, as_of, request)
        after = self.predict_journey(customer_id, edited, as_of, request)
        return {
            "as_of": before["as_of"],
            "edit": what,
            "change": whatif.change(before, after),
            "before": before,
            "after": after,
            "meaning": whatif.MEANING,
        }

    def score_frame(
        self, events: pd.DataFrame, cutoffs: pd.DataFrame, request: ScoreRequest | None = None
    ) -> list[dict[str, Any]]:
        """Many journeys: a canonical event frame and (customer_id, as_of) cutoffs."""
        req = request or ScoreRequest(self.tasks)
        ev = events if is_canonical(events) else to_canonical(events)
        arr = encode_frame(ev, self.spec)
        ids, as_of, _ = cutoff_arrays(cutoffs)
        out = self._predict(arr, arr.customer_codes(ids), as_of, req)
        for o, cid in zip(out, cutoffs[CUSTOMER_ID].astype(str), strict=True):
            o["customer_id"] = cid
        return out

    def probabilities(self, events: pd.DataFrame, cutoffs: pd.DataFrame) -> pd.DataFrame:
        """Batch probabilities without explanations (fast path), one row per cutoff."""
        ev = events if is_canonical(events) else to_canonical(events)
        arr = encode_frame(ev, self.spec)
        ids, as_of, _ = cutoff_arrays(cutoffs)
        X = compute_features(arr, self.spec, arr.customer_codes(ids), as_of)
        return self.probability_frame(X, cutoffs.index)

    def probability_frame(self, X: np.ndarray, index: pd.Index) -> pd.DataFrame:
        """One probability column per binary task, one per class of a multiclass task."""
        cols: dict[str, np.ndarray] = {}
        for t in self.tasks:
            b = self.bundles[t]
            p = b.predict_proba(X)
            if b.kind == "binary":
                cols[t] = p
            else:
                for j, c in enumerate(b.classes):
                    cols[f"{t}:{c}"] = p[:, j]
        return pd.DataFrame(cols, index=index)

    def _predict(
        self, arr: EventArrays, q_cust: np.ndarray, as_of: np.ndarray, req: ScoreRequest
    ) -> list[dict[str, Any]]:
        tasks = self.check_tasks(req.tasks)
        classes = self.check_classes(req.explain_classes) if req.explain else ()
        ctx = Context.build(arr, self.spec, q_cust, as_of)
        X = features_from_context(ctx)
        n = X.shape[0]
        out: list[dict[str, Any]] = [
            {"as_of": t, "n_events_used": int(hi - lo)}
            for t, lo, hi in zip(iso_utc(as_of), ctx.start, ctx.end, strict=True)
        ]
        # probabilities; what to explain (binary tasks get their probability from the
        # explanation: the contributions add up to the raw score, one pass over the trees)
        targets: list[Target] = []
        keys: list[tuple[str, str | None]] = []  # (task, extra class) of each target
        for t in tasks:
            b = self.bundles[t]
            if b.kind == "binary":
                if req.explain:
                    targets.append(Target(t))
                    keys.append((t, None))
                    for i in range(n):
                        out[i][t] = {}  # filled in below, in the order of the tasks
                else:
                    p = b.predict_proba(X)
                    for i in range(n):
                        out[i][t] = {"probability": float(p[i])}
                continue
            proba = b.predict_proba(X)
            best = np.argmax(proba, axis=1)
            for i in range(n):
                out[i][t] = {
                    "distribution": {c: float(proba[i, j]) for j, c in enumerate(b.classes)},
                    "predicted": b.classes[best[i]],
                    "probability": float(proba[i, best[i]]),
                }
            if req.explain:
                targets.append(Target(t, best, proba))
                keys.append((t, None))
                for c in classes:
                    if c in b.classes:
                        targets.append(Target(t, np.full(n, b.classes.index(c)), proba))
                        keys.append((t, c))
        if targets:
            batch = Batch(X, arr, ctx.start, ctx.end, as_of=as_of)
            found = self.explainer.explain(batch, targets, top_k=req.top_k)
            for (task, extra), e in zip(keys, found, strict=True):
                _attach(out, task, extra, e, binary=self.bundles[task].kind == "binary")
        return out


def _attach(
    out: list[dict[str, Any]], task: str, extra: str | None, e: Explanation, *, binary: bool
) -> None:
    """Put one explained target into each row's answer."""
    assert e.causes is not None
    for i, causes in enumerate(e.causes):
        res = [c.to_dict() for c in causes]
        if extra is not None:
            out[i][task].setdefault("root_causes_by_class", {})[extra] = res
            continue
        if binary:
            out[i][task]["probability"] = float(e.probability[i])
        out[i][task]["base_rate"] = float(e.base_rate[i])
        out[i][task]["root_causes"] = res
