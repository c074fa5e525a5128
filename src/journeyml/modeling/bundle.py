"""ModelBundle: one task's model as it is saved, logged to MLflow and served.

A directory with ``model.txt`` (the LightGBM booster), ``bundle.json`` (task, classes,
calibrator, the FeatureSpec, metrics) and ``checksums.json`` (SHA-256 of both, checked before
anything is parsed: :mod:`journeyml.modeling.integrity`). Everything is text and numbers:
nothing depends on pickles or on pandas dtypes surviving a round trip.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np

from journeyml.errors import FingerprintMismatchError, ModelIntegrityError, ModelNotFoundError
from journeyml.features import FEATURE_CODE_VERSION, FeatureSpec
from journeyml.modeling.bounds import bounded, floor_distribution
from journeyml.modeling.calibration import Calibrator
from journeyml.modeling.integrity import (
    has_checksums,
    parse_in_child,
    verified_bytes,
    write_checksums,
)
from journeyml.modeling.linear import LinearPart, sigmoid
from journeyml.modeling.softmax import SoftmaxPart, softmax
from journeyml.tasks import TaskConfig

MODEL_FILE = "model.txt"
META_FILE = "bundle.json"


@dataclass
class ModelBundle:
    task: TaskConfig
    booster: lgb.Booster
    spec: FeatureSpec
    classes: tuple[str, ...] = ("0", "1")
    calibrator: Calibrator = field(default_factory=Calibrator)
    metrics: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    #: a linear model blended with the trees: binary, in log-odds (:class:`LinearPart`);
    #: multiclass, in per-class raw scores (:class:`SoftmaxPart`); None: trees only
    linear: LinearPart | SoftmaxPart | None = None
    #: the linear model's share of the blend (0: trees only, 1: linear only)
    linear_weight: float = 0.0

    @property
    def kind(self) -> str:
        """The model's output: ``"binary"`` or ``"multiclass"`` (the task's kind of question
        is ``task.kind``)."""
        return self.task.output

    # --- prediction ------------------------------------------------------------------------
    def raw_proba(self, X: np.ndarray) -> np.ndarray:
        """Uncalibrated probabilities; binary → (n,), multiclass → (n, K)."""
        if self._blended:
            f = self.margin(X)
            return sigmoid(f) if self.kind == "binary" else softmax(f)
        return np.asarray(self.booster.predict(X, num_threads=1))

    @property
    def _blended(self) -> bool:
        return self.linear is not None

    def margin(self, X: np.ndarray) -> np.ndarray:
        """The score before the link and calibration that the contributions add up to: the
        trees' raw score, or blended, the trees' (binary: log-odds, the raw score times σ;
        multiclass: each class's raw score) mixed with the linear model's. Binary → (n,),
        multiclass → (n, K)."""
        f = np.asarray(self.booster.predict(X, raw_score=True, num_threads=1))
        if not self._blended:
            return f
        assert self.linear is not None
        a = self.linear_weight
        if self.kind == "binary":
            f = f * (self._sigmoid or 1.0)
        return np.asarray((1 - a) * f + a * self.linear.raw(X))

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Calibrated probabilities: binary → (n,) of the positive class, multiclass → (n, K);
        within the floor of :mod:`journeyml.modeling.bounds` (never 1e-16)."""
        p = self.raw_proba(X)
        if self.kind == "binary":
            return bounded(self.calibrator.apply(p))
        return floor_distribution(p)

    def binary_proba(self, X: np.ndarray, margin: np.ndarray) -> np.ndarray:
        """Binary: calibrated probabilities of rows ``X`` whose raw scores (the sum of each
        row's contributions and bias) are ``margin`` — equal to :meth:`predict_proba`, without
        a second pass over the trees when the objective's link is the plain sigmoid."""
        if self._blended:
            return bounded(self.calibrator.apply(sigmoid(margin)))
        if self._sigmoid is None:
            return self.predict_proba(X)
        return bounded(self.calibrator.apply(1.0 / (1.0 + np.exp(-self._sigmoid * margin))))

    def base_rate(self, raw: np.ndarray) -> np.ndarray:
        """p₀ of the explanations from the raw base score(s): binary, the calibrated sigmoid of
        the bias (rows,); multiclass, the softmax of every class's expected raw score (K,);
        within the same floor as :meth:`predict_proba`."""
        if self.kind == "binary":
            return bounded(self.calibrator.apply(1.0 / (1.0 + np.exp(-raw))))
        e = np.exp(raw - raw.max())
        return floor_distribution(e / e.sum())

    @cached_property
    def _sigmoid(self) -> float | None:
        """σ of LightGBM's binary objective (p = 1 / (1 + e^(-σ·f))), from the model header."""
        head = self.booster.model_to_string(num_iteration=1).partition("\nTree=")[0]
        m = re.search(r"^objective=binary sigmoid:(\S+)$", head, flags=re.MULTILINE)
        return float(m.group(1)) if m else None

    def served_contributions(self, trees: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Binary: the contributions (log-odds, bias last, (n, F+1)) of the served score,
        from the trees' TreeSHAP contributions ``trees`` of rows ``X``: the trees' alone, or
        blended with the linear model's exact per-feature contributions in the same shares
        as the score (:mod:`journeyml.modeling.linear`). Rows add up to :meth:`margin`."""
        if not self._blended:
            return trees
        assert isinstance(self.linear, LinearPart)
        a = self.linear_weight
        t = trees * (self._sigmoid or 1.0)
        return np.asarray((1 - a) * t + a * self.linear.contributions(X))

    def served_class_contributions(
        self, trees: np.ndarray, X: np.ndarray, class_index: np.ndarray
    ) -> np.ndarray:
        """Multiclass: the contributions (raw-score units, bias last, (n, F+1)) of class
        ``class_index[row]`` to the served score of each row, from the trees' TreeSHAP
        contributions of that class ``trees``: blended with the linear part's exact ones in
        the shares of the score. Rows add up to :meth:`margin`'s entry of their class."""
        if not self._blended:
            return trees
        assert isinstance(self.linear, SoftmaxPart)
        a = self.linear_weight
        return np.asarray((1 - a) * trees + a * self.linear.class_contributions(X, class_index))

    def served_expected(self, trees: np.ndarray) -> np.ndarray:
        """Multiclass: the base raw score of every class, (K,), from the trees' TreeSHAP base
        values ``trees``: blended with the linear part's intercepts (its average training
        score) in the shares of the score."""
        if not self._blended:
            return trees
        assert isinstance(self.linear, SoftmaxPart)
        a = self.linear_weight
        return np.asarray((1 - a) * trees + a * np.asarray(self.linear.intercept))

    # --- persistence -----------------------------------------------------------------------
    def save(self, path: Path) -> Path:
        path.mkdir(parents=True, exist_ok=True)
        (path / MODEL_FILE).write_text(self.booster.model_to_string())
        meta = {
            "task": self.task.to_dict(),
            "classes": list(self.classes),
            "calibrator": self.calibrator.to_dict(),
            "spec": self.spec.to_dict(),
            "metrics": self.metrics,
            "info": self.info,
        }
        if self.linear is not None:
            meta["linear"] = {"weight": self.linear_weight, **self.linear.to_dict()}
        (path / META_FILE).write_text(json.dumps(meta, indent=1, default=_json_default))
        write_checksums(path, [MODEL_FILE, META_FILE])
        return path

    @classmethod
    def load(cls, path: Path, *, check_code: bool = True) -> ModelBundle:
        meta_path = path / META_FILE
        if not meta_path.exists():
            found = [p for p in path.rglob(META_FILE)] if path.exists() else []
            if len(found) != 1:
                raise ModelNotFoundError(
                    f"expected a journeyml model bundle ({META_FILE}) under {path}, got "
                    f"{len(found)}. Point at a model logged by `journeyml train`."
                )
            path = found[0].parent
            meta_path = path / META_FILE
        if has_checksums(path):
            meta_raw, model_raw = verified_bytes(path, META_FILE), verified_bytes(path, MODEL_FILE)
        else:  # a bundle from before checksums: LightGBM may abort on it, so try it in a child
            parse_in_child(path / MODEL_FILE)
            meta_raw, model_raw = meta_path.read_bytes(), (path / MODEL_FILE).read_bytes()
        try:
            meta = json.loads(meta_raw)
            spec = FeatureSpec.from_dict(meta["spec"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ModelIntegrityError(
                f"expected a journeyml bundle description in {meta_path}, got an unreadable file "
                f"({type(exc).__name__}: {str(exc)[:100]}). Re-export or retrain the model.",
                field=str(meta_path),
            ) from exc
        if check_code and spec.code_version != FEATURE_CODE_VERSION:
            raise FingerprintMismatchError(
                f"expected a model built for feature code version {FEATURE_CODE_VERSION}, got "
                f"{spec.code_version!r} (feature fingerprint {spec.fingerprint}). Retrain the "
                "model with this version of journeyml."
            )
        booster = lgb.Booster(model_str=model_raw.decode())
        lin = meta.get("linear")
        return cls(
            task=TaskConfig.from_dict(meta["task"]),
            booster=booster,
            spec=spec,
            classes=tuple(meta["classes"]),
            calibrator=Calibrator.from_dict(meta["calibrator"]),
            metrics=meta.get("metrics", {}),
            info=meta.get("info", {}),
            linear=_linear_from(lin),
            linear_weight=0.0 if lin is None else float(lin["weight"]),
        )


def _linear_from(d: dict[str, Any] | None) -> LinearPart | SoftmaxPart | None:
    """A bundle's saved linear part: multinomial when marked so, else binary."""
    if d is None:
        return None
    return SoftmaxPart.from_dict(d) if d.get("kind") == "softmax" else LinearPart.from_dict(d)


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, tuple):
        return list(o)
    return str(o)
