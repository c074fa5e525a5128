"""What-if for one journey: edit it (remove one of its touchpoints, or add one now) and compare
the model's answers before and after.

This is **model sensitivity, not causal effect**: it says how the trained model's prediction
moves when the journey it is shown changes. The model learned associations from past journeys;
a touchpoint that goes with an outcome (customers who were going to cancel anyway call support)
moves the prediction without causing the outcome, and a real intervention can also change what
the customer does next, which the edited journey does not show.

>>> from datetime import datetime, UTC
>>> j = [{"timestamp": datetime(2024, 6, 1, tzinfo=UTC), "touchpoint": "visit"},
...      {"timestamp": datetime(2024, 6, 2, tzinfo=UTC), "touchpoint": "complaint"}]
>>> as_of = datetime(2024, 6, 3, tzinfo=UTC)
>>> edited, what = Edit(remove=1).apply(j, as_of)
>>> [r["touchpoint"] for r in edited], what["removed"]["touchpoint"]
(['visit'], 'complaint')
>>> edited, what = Edit(add={"touchpoint": "support_call"}).apply(j, as_of)
>>> what["added"]["timestamp"], edited[-1]["touchpoint"]
('2024-06-02T23:59:59+00:00', 'support_call')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from journeyml.errors import RequestError
from journeyml.features import to_ns

MEANING = (
    "model sensitivity, not causal effect: how this model's predictions move when the journey "
    "it is shown is edited. The model learned associations in past journeys; a touchpoint can "
    "move a prediction without causing the outcome, and a real intervention can also change "
    "what the customer does next."
)
#: an added touchpoint happens this long before as_of (or halfway after the latest event)
ADD_BEFORE_NS = 1_000_000_000


@dataclass(frozen=True)
class Edit:
    """One change to a journey: ``remove`` the event at this index of the records given, or
    ``add`` this touchpoint (a dict: ``touchpoint`` and optional ``channel``, ``stage``,
    ``value``, attributes) just before ``as_of`` — "now", as the prediction sees it."""

    remove: int | None = None
    add: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if (self.remove is None) == (self.add is None):
            raise RequestError(
                "expected exactly one edit: `remove` (the index of one of the journey's events) "
                "or `add` (a touchpoint to add now), got "
                + ("both" if self.remove is not None else "neither")
                + ". Send one what-if per request.",
                field="remove" if self.remove is not None else "add",
            )

    def apply(
        self, records: Sequence[Mapping[str, Any]], as_of: Any
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The edited journey and what was done (``removed`` / ``added``: the event, with its
        index and timestamp). ``records``: the journey's events (those at or after ``as_of``
        are not used: removing one is refused)."""
        out = [dict(r) for r in records]
        if self.remove is not None:
            i = self.remove
            if not 0 <= i < len(out):
                raise RequestError(
                    f"expected the index of one of the journey's {len(out)} events (0 to "
                    f"{len(out) - 1}), got {i}. Count from 0 in the order sent.",
                    field="remove",
                )
            if to_ns(out[i]["timestamp"]) >= to_ns(as_of):
                raise RequestError(
                    f"expected an event before as_of to remove, got event {i}, at or after "
                    "as_of: it does not enter the prediction. Remove an earlier event.",
                    field="remove",
                )
            gone = out.pop(i)
            return out, {"removed": {"index": i, **_public(gone)}}
        assert self.add is not None
        if not str(self.add.get("touchpoint") or ""):
            raise RequestError(
                "expected the touchpoint to add (`add.touchpoint`), got none.",
                field="add.touchpoint",
            )
        t = to_ns(as_of)
        latest = max((to_ns(r["timestamp"]) for r in out), default=None)
        when = t - ADD_BEFORE_NS
        if latest is not None and latest >= when:
            when = latest + (t - latest) // 2
        new = {"channel": None, "stage": None, "value": None, **self.add}
        new["timestamp"] = pd.Timestamp(when, tz="UTC")
        out.append(new)
        return out, {"added": _public(new)}


def _public(r: Mapping[str, Any]) -> dict[str, Any]:
    """An event as the answer shows it (ISO timestamp, UTC)."""
    d = {k: v for k, v in r.items() if v is not None}
    d["timestamp"] = pd.Timestamp(to_ns(r["timestamp"]), tz="UTC").isoformat()
    return d


def change(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """Per task: the probability before and after and the difference in points; for a
    multiclass task, every class's probability before and after and the predicted class."""
    out: dict[str, Any] = {}
    for t, b in before.items():
        a = after.get(t)
        if not isinstance(b, Mapping) or not isinstance(a, Mapping) or "probability" not in b:
            continue
        if "distribution" in b:
            out[t] = {
                "predicted_before": b["predicted"],
                "predicted_after": a["predicted"],
                "classes": {
                    c: {
                        "before": p,
                        "after": a["distribution"][c],
                        "points": round(100 * (a["distribution"][c] - p), 4),
                    }
                    for c, p in b["distribution"].items()
                },
            }
        else:
            out[t] = {
                "before": b["probability"],
                "after": a["probability"],
                "points": round(100 * (a["probability"] - b["probability"]), 4),
            }
    return out
