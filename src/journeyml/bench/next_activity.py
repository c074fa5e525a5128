"""Next activity on a :class:`~journeyml.bench.prefixes.PrefixSplit`: LightGBM on the project's
features (the same ``build_features`` as everywhere) blended with a multinomial logistic part as
a ``next`` task's model (:mod:`journeyml.bench.multiclass`), early stopping and the blend chosen
on the latest training cases, then refit on all training cases; baselines on the same prefixes:
the class prior, the most frequent successor of the last activity (Markov) and logistic
regression (the blend's own fit at the baseline's ``C``, the fit a tie falls back to)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from journeyml.bench.multiclass import fit_next
from journeyml.bench.prefixes import LABEL, PrefixSplit
from journeyml.events import CUSTOMER_ID
from journeyml.features import FeatureBuilder, build_features
from journeyml.modeling import (
    BASELINE_C,
    ClassGrouping,
    SoftmaxPart,
    baselines,
    floor_distribution,
    leaf_minimum,
    lgb_params,
    multiclass_metrics,
    softmax,
)
from journeyml.tasks import END_CLASS


@dataclass
class NextActivityResult:
    metrics: dict[str, float]
    baselines: dict[str, dict[str, float]]
    variants: dict[str, dict[str, float]]
    info: dict[str, Any]


def _state(X: np.ndarray, names: list[str], target: str) -> list[object]:
    col = "last_touchpoint_1" if target == "touchpoint" else "last_stage_1"
    return np.nan_to_num(X[:, names.index(col)], nan=-1).tolist()


def run_next_activity(
    split: PrefixSplit,
    events: pd.DataFrame,
    *,
    target: str = "touchpoint",
    features: dict[str, Any] | None = None,
    lgb_overrides: dict[str, Any] | None = None,
    num_boost_round: int = 2000,
    early_stopping_rounds: int = 50,
    valid_fraction: float = 0.2,
    seed: int = 0,
    min_class_examples: int | None = None,
    blend_linear: bool = True,
) -> NextActivityResult:
    """Fit on ``split.train`` and score ``split.test`` (and the ``test_all`` variant).
    ``features``: :class:`~journeyml.features.FeatureBuilder` parameters;
    ``min_class_examples``: as a next task's (:mod:`journeyml.modeling.rare`);
    ``blend_linear`` False: LightGBM alone (no multinomial part blended in)."""
    spec = FeatureBuilder(**(features or {})).fit(split.train_events).spec_
    X_tr = build_features(split.train_events, split.train, spec).to_numpy()
    X_te = build_features(events, split.test, spec).to_numpy()
    X_all = build_features(events, split.test_all, spec).to_numpy()
    y_tr_names = split.train[LABEL].astype(str).to_numpy()
    params = lgb_params("multiclass", 2, lgb_overrides, seed)
    # rare classes of the training prefixes grouped for the booster (journeyml.modeling.rare);
    # the predictions are spread back over every training class before scoring
    grouping = ClassGrouping.decide(
        y_tr_names, min_examples=min_class_examples, default_min=leaf_minimum(params), always=()
    )
    classes = grouping.all_classes
    idx = {c: i for i, c in enumerate(classes)}
    y_tr = grouping.codes(y_tr_names)

    # early stopping on the latest training cases, then a refit on all of them
    n_valid_cases = max(1, round(len(split.train_cases) * valid_fraction))
    late = set(split.train_cases[-n_valid_cases:])
    va = split.train[CUSTOMER_ID].isin(late).to_numpy()
    params = lgb_params("multiclass", len(grouping.classes), lgb_overrides, seed)
    # the logistic baseline: the multinomial fit at the baseline's C on every training prefix,
    # the very fit served when the blend's tie rule falls back to it
    base_fit = SoftmaxPart.fit(X_tr, y_tr, n_classes=len(grouping.classes), C=BASELINE_C, seed=seed)
    model = fit_next(
        params,
        X_tr,
        y_tr,
        va,
        spec.categorical_indices,
        base_fit,
        num_boost_round=num_boost_round,
        early_stopping_rounds=early_stopping_rounds,
        valid_fraction=valid_fraction,
        groups=split.train[CUSTOMER_ID].to_numpy(),
        blend_linear=blend_linear,
        seed=seed,
    )
    best, rounds = model.info["best_iteration"], model.info["refit_rounds"]

    y_te = split.test[LABEL].astype(str).to_numpy()
    y_all = split.test_all[LABEL].astype(str).to_numpy()
    p_te = grouping.expand(floor_distribution(model.predict(X_te)))
    p_all = grouping.expand(floor_distribution(model.predict(X_all)))
    names = list(spec.names)
    out_baselines: dict[str, dict[str, float]] = {
        "prior": multiclass_metrics(
            y_te, baselines.prior_multiclass(list(y_tr_names), classes, len(y_te)), classes
        ),
        "markov": multiclass_metrics(
            y_te,
            baselines.markov_successor(
                _state(X_tr, names, target), list(y_tr_names), _state(X_te, names, target), classes
            ),
            classes,
        ),
    }
    p_lr = floor_distribution(softmax(base_fit.raw(X_te)))
    out_baselines["logistic"] = multiclass_metrics(y_te, grouping.expand(p_lr), classes)
    markov_all = baselines.markov_successor(
        _state(X_tr, names, target), list(y_tr_names), _state(X_all, names, target), classes
    )
    # how much of the error is "the case ends here" on prefixes the protocol never ends
    p_no_end = p_te.copy()
    if END_CLASS in idx:
        p_no_end[:, idx[END_CLASS]] = -1.0
    pred_no_end = np.asarray(classes, dtype=object)[np.argmax(p_no_end, axis=1)]
    return NextActivityResult(
        metrics=multiclass_metrics(y_te, p_te, classes),
        baselines=out_baselines,
        variants={
            "all_prefixes_end_as_truth": {
                "lightgbm_accuracy": multiclass_metrics(y_all, p_all, classes)["accuracy"],
                "markov_accuracy": multiclass_metrics(y_all, markov_all, classes)["accuracy"],
                "n": float(len(y_all)),
            },
            "end_never_predicted": {
                # not a result: it uses the knowledge that every scored case goes on
                "lightgbm_accuracy": float(np.mean(pred_no_end == y_te)),
                "share_predicted_end": float(
                    np.mean(np.argmax(p_te, axis=1) == idx[END_CLASS]) if END_CLASS in idx else 0
                ),
                "n": float(len(y_te)),
            },
        },
        info={
            "classes": list(classes),
            "booster_classes": len(grouping.classes),
            "rare_classes": grouping.to_dict(),
            "n_features": len(names),
            "feature_fingerprint": spec.fingerprint,
            "n_train_prefixes": len(y_tr),
            "n_valid_prefixes": int(va.sum()),
            "best_iteration": best,
            "refit_rounds": rounds,
            "linear_weight": model.info["linear_weight"],
            "linear_C": model.info["linear_C"],
        },
    )
