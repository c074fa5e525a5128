"""Monitoring from the prediction log: per project, task and week (of ``as_of``, Monday to
Sunday, UTC).

- **Quality once matured**: a prediction's outcome is known once ``as_of + horizon`` has passed
  (before ``now``). Labels come from the stored events with the task's own rules (the labels of
  training, :func:`journeyml.tasks.make_labels`), so every task kind is judged as it was trained.
  Binary tasks: realised AUC, log loss, ECE and the reliability curve; multiclass: accuracy and
  log loss. For binary tasks an outcome recorded in the store (:mod:`journeyml.monitor.outcomes`)
  within the prediction's window makes the label positive as well.
- **Drift** against the first week monitored: PSI of each task's top features (recomputed from
  the store with the one feature path) and PSI of the predicted probabilities.
- **Explanation drift** (binary tasks): the share of predicted risk (positive root-cause points)
  attributed to each cause, and its total-variation distance from the first week's shares.

All predictions count for volumes, mean predictions and prediction drift; features, labels and
explanations are computed on a uniform sample of at most ``sample_per_week`` predictions per
week (bottom-k of a hash of request id and item: the same sample every run).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from journeyml.features import NS_PER_DAY, build_features, to_ns
from journeyml.modeling import binary_metrics, reliability_curve
from journeyml.monitor.outcomes import recorded_positive
from journeyml.monitor.psi import psi
from journeyml.scoring import Predictor
from journeyml.store import EventStore
from journeyml.tasks import make_labels

NS_PER_WEEK = 7 * NS_PER_DAY
#: 1970-01-05, the first Monday of the epoch: weeks start on Mondays
_MONDAY = 4 * NS_PER_DAY


class Thresholds(BaseModel):
    """When ``journeyml monitor`` exits non-zero: any week of any task crossing one of these
    (None: not checked)."""

    model_config = ConfigDict(extra="forbid")

    max_feature_psi: float | None = Field(
        default=0.25, description="Largest PSI of a top feature against the first week."
    )
    max_prediction_psi: float | None = Field(
        default=0.25,
        description="Largest PSI of the predicted probabilities against the first week.",
    )
    min_auc: float | None = Field(default=None, description="Smallest realised AUC (binary tasks).")
    max_ece: float | None = Field(default=None, description="Largest expected calibration error.")
    max_explanation_shift: float | None = Field(
        default=0.2,
        description="Largest total-variation distance between a week's shares of risk per "
        "cause and the first week's (0 = same shares, 1 = disjoint causes).",
    )
    min_matured: int = Field(
        default=50,
        description="Matured, eligible predictions a week needs before its quality counts.",
    )


@dataclass
class MonitorResult:
    """What :func:`monitor` found (frames are long: one row per task, week[, feature|cause])."""

    project: str | None
    now: pd.Timestamp
    n_predictions: int
    weekly: pd.DataFrame
    features: pd.DataFrame
    explanations: pd.DataFrame
    reliability: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    breaches: list[str] = field(default_factory=list)


def week_start(ns: np.ndarray) -> np.ndarray:
    """The Monday 00:00 UTC starting each time's week (ns)."""
    return ((np.asarray(ns, dtype=np.int64) - _MONDAY) // NS_PER_WEEK) * NS_PER_WEEK + _MONDAY


def _probabilities(texts: Iterable[str], binary: list[str]) -> dict[str, np.ndarray]:
    parsed = [json.loads(t) for t in texts]
    return {t: np.array([_num(p.get(t)) for p in parsed], dtype=float) for t in binary}


def _num(v: Any) -> float:
    return float(v) if isinstance(v, int | float) else float("nan")


def _read_log(
    store: EventStore, project: str | None, binary: list[str], per_week: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(every prediction: customer, as_of, week, probabilities; the sample with top causes)."""
    parts: list[pd.DataFrame] = []
    sample = pd.DataFrame()
    for frame in store.prediction_log_frames(project=project):
        ns = frame["as_of_ns"].to_numpy(dtype=np.int64)
        probs = _probabilities(frame["probabilities"], binary)
        part = pd.DataFrame(
            {"customer_id": frame["customer_id"], "as_of_ns": ns, "week": week_start(ns)}
        )
        for t, p in probs.items():
            part[t] = p
        part["u"] = pd.util.hash_pandas_object(
            frame[["request_id", "item"]], index=False
        ).to_numpy()
        parts.append(part)
        cand = pd.concat(
            [sample, part.assign(top_causes=frame["top_causes"].to_numpy())], ignore_index=True
        )
        sample = cand.sort_values("u", kind="stable").groupby("week").head(per_week)
    if not parts:
        return pd.DataFrame(), sample
    return pd.concat(parts, ignore_index=True), sample.reset_index(drop=True)


def _shares(texts: Iterable[str], task: str) -> dict[str, float]:
    total: dict[str, float] = {}
    for text in texts:
        for c in json.loads(text).get(task, []):
            pts = float(c.get("points", 0.0))
            if pts > 0:
                total[c["cause"]] = total.get(c["cause"], 0.0) + pts
    s = sum(total.values())
    return {k: v / s for k, v in total.items()} if s > 0 else {}


def _tv(a: dict[str, float], b: dict[str, float]) -> float:
    return 0.5 * sum(abs(a.get(k, 0.0) - b.get(k, 0.0)) for k in set(a) | set(b))


def top_features(predictor: Predictor, task: str, k: int = 10) -> list[str]:
    """The ``k`` features the task's model gains most from."""
    b = predictor.bundles[task]
    gain = np.asarray(b.booster.feature_importance("gain"), dtype=float)
    names = list(b.spec.names)
    order = np.argsort(-gain, kind="stable")[:k]
    return [names[i] for i in order if gain[i] > 0]


def monitor(
    store: EventStore,
    predictor: Predictor,
    *,
    now: Any,
    project: str | None = None,
    thresholds: Thresholds | None = None,
    sample_per_week: int = 5_000,
    top_k_features: int = 10,
) -> MonitorResult:
    """Quality, drift and explanation drift of the logged predictions (module docstring)."""
    th = thresholds or Thresholds()
    now_ts = pd.Timestamp(to_ns(now), tz="UTC")
    tasks = [t for t in predictor.tasks]
    binary = [t for t in tasks if predictor.bundles[t].kind == "binary"]
    log, sample = _read_log(store, project, binary, sample_per_week)
    empty = pd.DataFrame()
    if log.empty:
        return MonitorResult(project, now_ts, 0, empty, empty, empty)
    weeks = np.sort(log["week"].unique())
    ref_week = weeks[0]
    # features and labels of the sample, from the store (events after as_of for the labels)
    customers = sorted(set(sample["customer_id"].astype(str)))
    events = pd.concat(list(store.journeys(customer_ids=customers)), ignore_index=True)
    for a in predictor.spec.params.attributes:
        if a not in events.columns:
            events[a] = pd.Series([None] * len(events), dtype=object)
    cut = pd.DataFrame(
        {
            "customer_id": sample["customer_id"].astype(str).to_numpy(),
            "as_of": pd.to_datetime(sample["as_of_ns"].to_numpy(), utc=True),
        }
    )
    X = build_features(events, cut, predictor.spec)
    rows: list[dict[str, Any]] = []
    feat_rows: list[dict[str, Any]] = []
    expl_rows: list[dict[str, Any]] = []
    curves: dict[str, dict[str, list[float]]] = {}
    for task in tasks:
        bundle = predictor.bundles[task]
        horizon = bundle.task.horizon_days
        labels = make_labels(events, cut, bundle.task, observation_end=now_ts)
        if task in binary:  # outcomes recorded outside the events count as well
            recorded = recorded_positive(
                store, task, cut["customer_id"].to_numpy(), sample["as_of_ns"].to_numpy(),
                horizon, now_ts.value,
            )  # fmt: skip
            labels["label"] = np.where(recorded, 1, labels["label"].to_numpy())
        matured = (
            sample["as_of_ns"].to_numpy() + round((horizon or 0) * NS_PER_DAY) <= now_ts.value
        ) & labels["eligible"].to_numpy(dtype=bool)
        feats = top_features(predictor, task, top_k_features)
        ref_s = sample["week"].to_numpy() == ref_week
        # the share of risk per cause: binary tasks (a multiclass task explains each
        # customer's predicted class, a different question per customer)
        explained = task in binary
        ref_shares = _shares(sample.loc[ref_s, "top_causes"], task) if explained else {}
        pooled_y: list[np.ndarray] = []
        pooled_p: list[np.ndarray] = []
        ref_p = log.loc[log["week"] == ref_week, task].to_numpy() if task in binary else None
        for w in weeks:
            in_w = log["week"].to_numpy() == w
            s_w = sample["week"].to_numpy() == w
            row: dict[str, Any] = {
                "task": task,
                "week": pd.Timestamp(int(w), tz="UTC"),
                "n_predictions": int(in_w.sum()),
                "n_sampled": int(s_w.sum()),
            }
            if task in binary and ref_p is not None:
                p_all = log.loc[in_w, task].to_numpy()
                row["mean_prediction"] = float(np.nanmean(p_all)) if len(p_all) else np.nan
                row["prediction_psi"] = psi(ref_p, p_all)
            m = s_w & matured
            row["n_matured"] = int(m.sum())
            if m.sum() >= th.min_matured:
                y = labels["label"].to_numpy()[m]
                if task in binary:
                    p = sample[task].to_numpy()[m]
                    met = binary_metrics(y.astype(int), p)
                    row.update(auc=met["roc_auc"], log_loss=met["log_loss"], ece=met["ece"])
                    row["observed_rate"] = float(np.mean(y))
                    pooled_y.append(y.astype(int))
                    pooled_p.append(p)
            shares = _shares(sample.loc[s_w, "top_causes"], task) if explained else {}
            row["explanation_shift"] = _tv(shares, ref_shares) if shares and ref_shares else np.nan
            for cause, share in shares.items():
                expl_rows.append(
                    {"task": task, "week": row["week"], "cause": cause, "share": share}
                )
            worst = 0.0
            for f in feats:
                v = psi(X.loc[ref_s, f].to_numpy(), X.loc[s_w, f].to_numpy())
                feat_rows.append({"task": task, "week": row["week"], "feature": f, "psi": v})
                worst = max(worst, v) if np.isfinite(v) else worst
            row["max_feature_psi"] = worst
            rows.append(row)
        if pooled_y:
            curves[task] = reliability_curve(np.concatenate(pooled_y), np.concatenate(pooled_p))
    weekly = pd.DataFrame(rows)
    result = MonitorResult(
        project,
        now_ts,
        len(log),
        weekly,
        pd.DataFrame(feat_rows),
        pd.DataFrame(expl_rows),
        curves,
    )
    result.breaches = breaches(weekly, th)
    return result


def breaches(weekly: pd.DataFrame, th: Thresholds) -> list[str]:
    """One line per (task, week, measure) crossing its threshold."""
    checks = [
        ("max_feature_psi", th.max_feature_psi, ">", "feature PSI"),
        ("prediction_psi", th.max_prediction_psi, ">", "prediction PSI"),
        ("auc", th.min_auc, "<", "AUC"),
        ("ece", th.max_ece, ">", "ECE"),
        ("explanation_shift", th.max_explanation_shift, ">", "explanation shift"),
    ]
    out = []
    for r in weekly.to_dict("records"):
        for col, limit, op, name in checks:
            v = r.get(col)
            if limit is None or v is None or not np.isfinite(v):
                continue
            if (op == ">" and v > limit) or (op == "<" and v < limit):
                out.append(
                    f"{r['task']} week of {r['week'].date()}: {name} {v:.3f} "
                    f"{'above' if op == '>' else 'below'} the threshold {limit:g}"
                )
    return out
