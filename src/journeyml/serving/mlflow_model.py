"""The MLflow model journeyml logs for every task: journeys in, the API's answers out.

MLflow loads this file as "models from code" (it is copied into each logged model):
``mlflow.pyfunc.load_model(uri).predict(events)`` and ``mlflow models serve`` take an events
frame — ``customer_id``, ``timestamp``, ``touchpoint`` and optionally ``channel``, ``stage``,
``value``, attribute columns and ``as_of`` (per customer; default: just after its last event)
— and return, per customer, what ``POST /predict`` answers for that task: probability (or
distribution), root causes, warnings such as ``not_eligible``, model version, feature
fingerprint and request id (:func:`journeyml.serving.batch_results`, the batch code path).

``params``: ``explain`` (default true) and ``top_k`` (default 3).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow.models
import mlflow.pyfunc
import pandas as pd

from journeyml.modeling import ModelBundle
from journeyml.scoring import Predictor, ScoreRequest
from journeyml.serving.batch import AS_OF, batch_results, default_cutoffs

#: the artefact holding the task's bundle (booster, calibrator, FeatureSpec)
BUNDLE_ARTIFACT = "bundle"


class JourneysModel(mlflow.pyfunc.PythonModel):  # type: ignore[misc,name-defined]
    """One task's model as MLflow serves it: journeys (events) in, API answers out."""

    def load_context(self, context: Any) -> None:
        bundle = ModelBundle.load(Path(context.artifacts[BUNDLE_ARTIFACT]))
        self.predictor = Predictor({bundle.task.name: bundle})

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        p = params or {}
        events = pd.DataFrame(model_input)
        given = None
        if AS_OF in events.columns:
            given = events.groupby("customer_id", sort=False)[AS_OF].first()
            events = events.drop(columns=[AS_OF])
        events["timestamp"] = pd.to_datetime(events["timestamp"], utc=True, format="ISO8601")
        cutoffs = default_cutoffs(events)
        if given is not None:
            asked = given.reindex(cutoffs["customer_id"]).to_numpy()
            chosen = pd.Series(pd.to_datetime(asked, utc=True, format="ISO8601"))
            cutoffs[AS_OF] = chosen.fillna(pd.Series(cutoffs[AS_OF].to_numpy())).to_numpy()
        request = ScoreRequest(
            self.predictor.tasks,
            explain=bool(p.get("explain", True)),
            top_k=int(p.get("top_k", 3)),
        )
        return batch_results(self.predictor, events, cutoffs, request)


mlflow.models.set_model(JourneysModel())
