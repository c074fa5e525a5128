"""The journeyml HTTP service: a thin BentoML shell over :mod:`journeyml.api`.

Start-up loads each task's ``champion`` from the MLflow registry (``JOURNEYML_TRACKING_URI``),
or the bundled copies in ``JOURNEYML_MODEL_DIR`` when the registry cannot be reached.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

import bentoml
from pydantic import ValidationError

from journeyml.api import EventIn, PredictRequest, handle_predict
from journeyml.errors import JourneyMLError, RequestError
from journeyml.scoring import Predictor


def _load_predictor() -> Predictor:
    uri = os.environ.get("JOURNEYML_TRACKING_URI")
    bundled = Path(os.environ.get("JOURNEYML_MODEL_DIR", Path(__file__).parent / "bundled"))
    if uri:
        try:
            return Predictor.from_registry(uri)
        except JourneyMLError:
            if not bundled.exists():
                raise
    return Predictor.from_dir(bundled)


@bentoml.service(name="journeyml", workers=1, traffic={"timeout": 30})
class JourneyService:
    def __init__(self) -> None:
        self.predictor = _load_predictor()

    @bentoml.api(route="/predict")
    def predict(
        self,
        ctx: bentoml.Context,
        customer_id: str,
        events: list[EventIn],
        as_of: datetime | None = None,
        tasks: list[str] | None = None,
        explain: bool = True,
        top_k: int = 3,
    ) -> dict[str, Any]:
        try:
            req = PredictRequest(
                customer_id=customer_id,
                events=events,
                as_of=as_of,
                tasks=tasks,
                explain=explain,
                top_k=top_k,
            )
            return handle_predict(self.predictor, req)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(x) for x in err["loc"])
            ctx.response.status_code = 422
            return RequestError(f"{field}: {err['msg']}", field=field).to_dict()
        except JourneyMLError as exc:
            ctx.response.status_code = exc.http_status
            return exc.to_dict()
