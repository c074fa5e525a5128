"""Predictor: the one object that batch scoring, the HTTP service and the report call.

It holds one :class:`ModelBundle` per task, all built on the same FeatureSpec, and turns
journeys into probabilities and root causes. Both entry points — a frame of many journeys
(:meth:`Predictor.score_frame`) and one journey as event dicts (:meth:`Predictor.predict_journey`)
— encode events into the same arrays and go through the same :meth:`Predictor._predict`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from journeyml.errors import FingerprintMismatchError, ModelNotFoundError, UnknownTaskError
from journeyml.events import CUSTOMER_ID, is_canonical, to_canonical
from journeyml.explain import Composition, Plan, root_causes, task_contributions
from journeyml.features import (
    Context,
    EventArrays,
    FeatureSpec,
    compute_features,
    customer_chunks,
    cutoff_arrays,
    encode_frame,
    encode_records,
    features_from_context,
    to_ns,
)
from journeyml.modeling import ModelBundle
from journeyml.tasks import TASKS

MAX_EVIDENCE = 5
#: events per chunk of batch scoring (:meth:`Predictor.score_chunks`): a few thousand customers
SCORE_CHUNK_EVENTS = 200_000


@dataclass(frozen=True)
class ScoreRequest:
    tasks: tuple[str, ...]
    explain: bool = True
    top_k: int = 3
    #: multiclass: also explain these classes (the predicted class is always explained)
    explain_classes: tuple[str, ...] = ()


@dataclass
class _Rows:
    """The journeys being scored: their events, each row's event range, and the allocation
    plan of each row once built (shared by the tasks explained for it)."""

    arr: EventArrays
    start: np.ndarray
    end: np.ndarray
    plans: dict[int, Plan] = field(default_factory=dict)


class Predictor:
    """Models of every task plus their shared FeatureSpec."""

    def __init__(self, bundles: Mapping[str, ModelBundle]) -> None:
        if not bundles:
            raise ModelNotFoundError("expected at least one task model, got none.")
        prints = {t: b.spec.fingerprint for t, b in bundles.items()}
        if len(set(prints.values())) != 1:
            raise FingerprintMismatchError(
                f"expected every task model to share one feature spec, got fingerprints {prints}."
                " Retrain the tasks together (one `journeyml train` run) and promote them."
            )
        self.bundles = dict(bundles)
        self.spec: FeatureSpec = next(iter(bundles.values())).spec
        #: computed once: hashing the spec costs milliseconds
        self.fingerprint: str = self.spec.fingerprint
        self.touchpoint_set = frozenset(self.spec.touchpoints)
        self.channel_set = frozenset(self.spec.channels)
        for b in self.bundles.values():
            if b.kind == "multiclass":
                _ = b.expected_raw  # builds the per-class boosters now, not on the first request
        self._versions = {
            t: str(b.info.get("registry_version", "local")) for t, b in self.bundles.items()
        }

    # --- construction ----------------------------------------------------------------------
    @classmethod
    def from_registry(
        cls, tracking_uri: str, *, tasks: Iterable[str] = TASKS, alias: str = "champion"
    ) -> Predictor:
        import mlflow
        from mlflow import MlflowClient

        from journeyml.lifecycle import registry

        mlflow.set_tracking_uri(tracking_uri)
        mlflow.set_registry_uri(tracking_uri)
        bundles: dict[str, ModelBundle] = {}
        for t in tasks:
            b = registry.load_bundle(t, alias=alias)
            mv = MlflowClient().get_model_version_by_alias(registry.model_name(t), alias)
            b.info.setdefault("registry_version", str(mv.version))
            bundles[t] = b
        return cls(bundles)

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
        return cls(found)

    def save(self, path: Path) -> Path:
        for t, b in self.bundles.items():
            b.save(path / t)
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
        """Validate ``explain_classes`` against the next_stage model's classes."""
        if not classes:
            return ()
        b = self.bundles.get("next_stage")
        known = list(b.classes) if b is not None else []
        unknown = [c for c in classes if c not in known]
        if unknown:
            raise UnknownTaskError(
                f"expected next_stage classes among {known}, got unknown {unknown}.",
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

    def score_chunks(
        self,
        arr: EventArrays,
        q_cust: np.ndarray,
        as_of: np.ndarray,
        request: ScoreRequest | None = None,
        *,
        chunk_events: int = SCORE_CHUNK_EVENTS,
    ) -> Iterator[tuple[np.ndarray, list[dict[str, Any]]]]:
        """Predictions in chunks of whole customers, for batch scoring in bounded memory.

        ``arr``: encoded events (:func:`~journeyml.features.encode_frame`); ``q_cust`` and
        ``as_of``: each cutoff's customer code in ``arr`` and time (ns). Yields ``(rows,
        predictions)``: the positions of a chunk's cutoffs and their prediction dicts (with
        ``customer_id``), exactly what :meth:`score_frame` returns for them. Memory follows the
        chunk (about ``chunk_events`` events), not the log.
        """
        req = request or ScoreRequest(self.tasks)
        for chunk in customer_chunks(arr, q_cust, chunk_events):
            out = self._predict(chunk.events, chunk.q_cust, as_of[chunk.rows], req)
            ids = chunk.events.customer_ids
            for o, q in zip(out, chunk.q_cust.tolist(), strict=True):
                o["customer_id"] = str(ids[q]) if q >= 0 else None
            yield chunk.rows, out

    def probability_chunks(
        self,
        arr: EventArrays,
        q_cust: np.ndarray,
        as_of: np.ndarray,
        *,
        chunk_events: int = SCORE_CHUNK_EVENTS,
    ) -> Iterator[tuple[np.ndarray, pd.DataFrame]]:
        """:meth:`probabilities` in chunks of whole customers: ``(rows, frame)`` per chunk."""
        for chunk in customer_chunks(arr, q_cust, chunk_events):
            X = compute_features(chunk.events, self.spec, chunk.q_cust, as_of[chunk.rows])
            yield chunk.rows, self.probability_frame(X, pd.RangeIndex(len(chunk.rows)))

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
        ctx = Context.build(arr, self.spec, q_cust, as_of)
        X = features_from_context(ctx)
        n = X.shape[0]
        rows = _Rows(arr, ctx.start, ctx.end)
        out: list[dict[str, Any]] = [
            {"as_of": t, "n_events_used": int(hi - lo)}
            for t, lo, hi in zip(iso_utc(as_of), ctx.start, ctx.end, strict=True)
        ]
        for t in tasks:
            b = self.bundles[t]
            if b.kind == "binary":
                psi, p, p0 = (
                    task_contributions(b, X) if req.explain else (None, b.predict_proba(X), None)
                )
                for i in range(n):
                    res: dict[str, Any] = {"probability": float(p[i])}
                    if psi is not None and p0 is not None:
                        res["base_rate"] = float(p0[i])
                        res["root_causes"] = self._causes(rows, i, X[i], psi[i], t, req.top_k)
                    out[i][t] = res
            else:
                proba = b.predict_proba(X)
                best = np.argmax(proba, axis=1)
                for i in range(n):
                    out[i][t] = {
                        "distribution": {c: float(proba[i, j]) for j, c in enumerate(b.classes)},
                        "predicted": b.classes[best[i]],
                        "probability": float(proba[i, best[i]]),
                    }
                if req.explain:
                    self._explain_classes(b, X, proba, best, rows, out, t, req)
        return out

    def _explain_classes(
        self,
        b: ModelBundle,
        X: np.ndarray,
        proba: np.ndarray,
        best: np.ndarray,
        rows: _Rows,
        out: list[dict[str, Any]],
        t: str,
        req: ScoreRequest,
    ) -> None:
        self.check_classes(req.explain_classes)
        psi, _, p0 = task_contributions(b, X, best, proba)
        for i in range(X.shape[0]):
            out[i][t]["base_rate"] = float(p0[i])
            out[i][t]["root_causes"] = self._causes(
                rows, i, X[i], psi[i], t, req.top_k, b.classes[best[i]]
            )
        for c in req.explain_classes:
            k = np.full(X.shape[0], b.classes.index(c))
            psi_c, _, _ = task_contributions(b, X, k, proba)
            for i in range(X.shape[0]):
                out[i][t].setdefault("root_causes_by_class", {})[c] = self._causes(
                    rows, i, X[i], psi_c[i], t, req.top_k, c
                )

    def _causes(
        self,
        rows: _Rows,
        i: int,
        x: np.ndarray,
        psi: np.ndarray,
        task: str,
        top_k: int,
        class_name: str | None = None,
    ) -> list[dict[str, Any]]:
        arr = rows.arr
        lo, hi = int(rows.start[i]), int(rows.end[i])
        plan = rows.plans.get(i)
        if plan is None:  # once per row, shared by every task explained for it
            comp = Composition.from_codes(
                self.spec, arr.touchpoint[lo:hi], arr.channel[lo:hi], arr.stage[lo:hi]
            )
            plan = rows.plans[i] = Plan.for_row(self.spec, x, comp)
        causes = root_causes(
            self.spec,
            x,
            psi,
            task=self.bundles[task].task,
            top_k=top_k,
            class_name=class_name,
            plan=plan,
        )
        for c in causes:
            c.events = _evidence(self.spec, arr, lo, hi, c.kind, c.name)
        return [c.to_dict() for c in causes]


def _evidence(
    spec: FeatureSpec, arr: EventArrays, lo: int, hi: int, kind: str, name: str
) -> list[str]:
    """Timestamps (ISO, UTC) of the latest events behind a touchpoint/channel/stage cause."""
    if hi <= lo or kind not in ("touchpoint", "channel", "stage"):
        return []
    vocab = list(spec.vocabulary(kind))
    if name not in vocab:
        return []
    codes = {"touchpoint": arr.touchpoint, "channel": arr.channel, "stage": arr.stage}[kind]
    idx = lo + np.flatnonzero(codes[lo:hi] == vocab.index(name))
    return iso_utc(arr.ts[idx[-MAX_EVIDENCE:]])


def iso_utc(ns: np.ndarray) -> list[str]:
    """Nanosecond epoch times as ISO strings in UTC, exactly as ``pd.Timestamp.isoformat``
    writes them (the fast path for whole seconds skips one Timestamp per value).

    >>> iso_utc(np.array([0, 1_700_000_000_000_000_000, 1_500_000_000]))
    ['1970-01-01T00:00:00+00:00', '2023-11-14T22:13:20+00:00', '1970-01-01T00:00:01.500000+00:00']
    """
    ns = np.asarray(ns, dtype=np.int64)
    if not (ns % 1_000_000_000).any():
        return [datetime.fromtimestamp(s, UTC).isoformat() for s in (ns // 10**9).tolist()]
    return [pd.Timestamp(int(t), tz="UTC").isoformat() for t in ns]
