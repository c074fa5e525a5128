"""ModelBundle: one task's model as it is saved, logged to MLflow and served.

A directory with ``model.txt`` (the LightGBM booster) and ``bundle.json`` (task, classes,
calibrator, the FeatureSpec, metrics). Everything is text and numbers: nothing depends on
pickles or on pandas dtypes surviving a round trip.
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

from journeyml.errors import FingerprintMismatchError, ModelNotFoundError
from journeyml.features import FEATURE_CODE_VERSION, FeatureSpec
from journeyml.modeling.calibration import Calibrator
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

    @property
    def kind(self) -> str:
        """The model's output: ``"binary"`` or ``"multiclass"`` (the task's kind of question
        is ``task.kind``)."""
        return self.task.output

    # --- prediction ------------------------------------------------------------------------
    def raw_proba(self, X: np.ndarray) -> np.ndarray:
        """Uncalibrated probabilities; binary → (n,), multiclass → (n, K)."""
        return np.asarray(self.booster.predict(X, num_threads=1))

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Calibrated probabilities: binary → (n,) of the positive class, multiclass → (n, K)."""
        p = self.raw_proba(X)
        if self.kind == "binary":
            return self.calibrator.apply(p)
        return p

    def binary_proba(self, X: np.ndarray, margin: np.ndarray) -> np.ndarray:
        """Binary: calibrated probabilities of rows ``X`` whose raw scores (the sum of each
        row's contributions and bias) are ``margin`` — equal to :meth:`predict_proba`, without
        a second pass over the trees when the objective's link is the plain sigmoid."""
        if self._sigmoid is None:
            return self.predict_proba(X)
        return self.calibrator.apply(1.0 / (1.0 + np.exp(-self._sigmoid * margin)))

    @cached_property
    def _sigmoid(self) -> float | None:
        """σ of LightGBM's binary objective (p = 1 / (1 + e^(-σ·f))), from the model header."""
        head = self.booster.model_to_string(num_iteration=1).partition("\nTree=")[0]
        m = re.search(r"^objective=binary sigmoid:(\S+)$", head, flags=re.MULTILINE)
        return float(m.group(1)) if m else None

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
        (path / META_FILE).write_text(json.dumps(meta, indent=1, default=_json_default))
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
        meta = json.loads(meta_path.read_text())
        spec = FeatureSpec.from_dict(meta["spec"])
        if check_code and spec.code_version != FEATURE_CODE_VERSION:
            raise FingerprintMismatchError(
                f"expected a model built for feature code version {FEATURE_CODE_VERSION}, got "
                f"{spec.code_version!r} (feature fingerprint {spec.fingerprint}). Retrain the "
                "model with this version of journeyml."
            )
        booster = lgb.Booster(model_str=(path / MODEL_FILE).read_text())
        return cls(
            task=TaskConfig.from_dict(meta["task"]),
            booster=booster,
            spec=spec,
            classes=tuple(meta["classes"]),
            calibrator=Calibrator.from_dict(meta["calibrator"]),
            metrics=meta.get("metrics", {}),
            info=meta.get("info", {}),
        )


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, tuple):
        return list(o)
    return str(o)
