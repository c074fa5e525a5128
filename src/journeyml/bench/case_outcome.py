"""Case outcome on an :class:`~journeyml.bench.teinemaa.OutcomeSplit`: journeyml's binary
model (:mod:`journeyml.bench.binary`) on the project's features, early stopping on the latest
training cases, and baselines on the same prefixes:

- ``prior``: the training positive rate (AUC 0.5);
- ``last_activity``: the positive rate of training prefixes ending in the same activity;
- ``prefix_sequence``: the positive rate of training prefixes with the same activity sequence,
  shrunk towards ``last_activity`` by one pseudo-prefix (unseen sequences get it);
- ``logistic``: logistic regression on the same features.

>>> seqs = [("a",), ("a", "b"), ("a",), ("c",)]
>>> p = sequence_rates(seqs, np.array([1, 0, 1, 0]), [("a",), ("a", "b"), ("z",)])
>>> [round(float(v), 3) for v in p]  # a: (2 + 2.5/3) / 3; a b: (0 + 0.5/2) / 2; z: prior
[0.944, 0.125, 0.5]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from journeyml.bench.binary import fit_binary
from journeyml.bench.teinemaa import LABEL, OutcomeSplit, prefix_auc
from journeyml.events import CUSTOMER_ID, TOUCHPOINT
from journeyml.features import N_EVENTS, FeatureBuilder, build_features
from journeyml.modeling import baselines, binary_metrics, lgb_params


@dataclass
class CaseOutcomeResult:
    metrics: dict[str, Any]
    baselines: dict[str, dict[str, Any]]
    variants: dict[str, dict[str, Any]]
    info: dict[str, Any]


def _rates(keys: Sequence[object], y: np.ndarray) -> dict[object, tuple[float, int]]:
    s = pd.DataFrame({"k": list(keys), "y": y}).groupby("k", sort=False)["y"].agg(["sum", "size"])
    return {k: (float(r["sum"]), int(r["size"])) for k, r in s.iterrows()}


def sequence_rates(
    train_seqs: Sequence[tuple[str, ...]], y: np.ndarray, test_seqs: Sequence[tuple[str, ...]]
) -> np.ndarray:
    """Positive rate per exact sequence, shrunk by one pseudo-prefix towards the rate per last
    activity (itself shrunk towards the prior)."""
    prior = float(np.mean(y)) if len(y) else 0.5
    last = _rates([s[-1] for s in train_seqs], y)
    full = _rates(list(train_seqs), y)
    out = np.empty(len(test_seqs))
    for i, s in enumerate(test_seqs):
        ls, ln = last.get(s[-1], (0.0, 0))
        r_last = (ls + prior) / (ln + 1)
        fs, fn = full.get(s, (0.0, 0))
        out[i] = (fs + r_last) / (fn + 1)
    return out


def last_rates(
    train_seqs: Sequence[tuple[str, ...]], y: np.ndarray, test_seqs: Sequence[tuple[str, ...]]
) -> np.ndarray:
    """Positive rate per last activity, shrunk by one pseudo-prefix towards the prior."""
    prior = float(np.mean(y)) if len(y) else 0.5
    last = _rates([s[-1] for s in train_seqs], y)
    return np.array(
        [
            (last.get(s[-1], (0.0, 0))[0] + prior) / (last.get(s[-1], (0.0, 0))[1] + 1)
            for s in test_seqs
        ]
    )


def prefix_sequences(events: pd.DataFrame, prefixes: pd.DataFrame) -> list[tuple[str, ...]]:
    """The activities (touchpoints) of each prefix, in order."""
    by_case = {
        str(c): g[TOUCHPOINT].astype(str).tolist()
        for c, g in events.groupby(CUSTOMER_ID, sort=False)
    }
    return [
        tuple(by_case[str(c)][: int(k)])
        for c, k in zip(prefixes[CUSTOMER_ID], prefixes[N_EVENTS], strict=True)
    ]


def _score(y: np.ndarray, k: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    m = prefix_auc(k, y, p)
    b = binary_metrics(y, p)
    return {
        "roc_auc_weighted": m["roc_auc_weighted"],
        "roc_auc_pooled": m["roc_auc_pooled"],
        "log_loss": b["log_loss"],
        "ece_equal_mass": b["ece_equal_mass"],
        "ece": b["ece"],
        "by_length": m["by_length"],
    }


def run_case_outcome(
    split: OutcomeSplit,
    events: pd.DataFrame,
    *,
    features: dict[str, Any] | None = None,
    lgb_overrides: dict[str, Any] | None = None,
    num_boost_round: int = 2000,
    early_stopping_rounds: int = 50,
    valid_fraction: float = 0.2,
    blend_linear: bool = True,
    seed: int = 0,
) -> CaseOutcomeResult:
    """Fit on ``split.train``, score ``split.test``."""
    spec = FeatureBuilder(**(features or {})).fit(split.train_events).spec_
    X_tr = build_features(split.train_events, split.train, spec).to_numpy()
    X_te = build_features(events, split.test, spec).to_numpy()
    y_tr = split.train[LABEL].to_numpy(np.int64)
    y_te = split.test[LABEL].to_numpy(np.int64)
    k_te = split.test[N_EVENTS].to_numpy()

    n_valid_cases = max(1, round(len(split.train_cases) * valid_fraction))
    late = set(split.train_cases[-n_valid_cases:])
    va = split.train[CUSTOMER_ID].isin(late).to_numpy()
    params = lgb_params("binary", 2, lgb_overrides, seed)
    model = fit_binary(
        params,
        X_tr,
        y_tr,
        va,
        spec.categorical_indices,
        num_boost_round=num_boost_round,
        early_stopping_rounds=early_stopping_rounds,
        valid_fraction=valid_fraction,
        blend_linear=blend_linear,
        seed=seed,
    )
    seq_tr = prefix_sequences(events, split.train)
    seq_te = prefix_sequences(events, split.test)
    base = {
        "prior": _score(y_te, k_te, baselines.prior_binary(y_tr, len(y_te))),
        "last_activity": _score(y_te, k_te, last_rates(seq_tr, y_tr, seq_te)),
        "prefix_sequence": _score(y_te, k_te, sequence_rates(seq_tr, y_tr, seq_te)),
        "logistic": _score(y_te, k_te, baselines.logistic(X_tr, y_tr, X_te, seed=seed)),
    }
    return CaseOutcomeResult(
        metrics=_score(y_te, k_te, model.predict(X_te)),
        baselines=base,
        variants={"lightgbm_only_uncalibrated": _score(y_te, k_te, model.trees_only(X_te))},
        info={
            **model.info,
            "n_features": len(spec.names),
            "feature_fingerprint": spec.fingerprint,
            "n_train_prefixes": len(y_tr),
            "n_valid_prefixes": int(va.sum()),
            "n_test_prefixes": len(y_te),
            "train_positive_rate": float(y_tr.mean()),
            "test_positive_rate": float(y_te.mean()),
        },
    )
