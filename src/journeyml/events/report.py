"""The validation report: what came in, what was kept, what was rejected and why.

>>> r = ValidationReport(source="log.csv", policy="lenient", n_input=3, n_accepted=2,
...     n_rejected=1, rejects_by_reason={"missing_customer_id": 1}, n_customers=1, n_events=2,
...     n_touchpoints=2, time_min=None, time_max=None, events_by_stage={"(none)": 2},
...     events_by_channel={"web": 2}, unmapped_touchpoints={})
>>> print(r.to_text().splitlines()[1])
rows: 3 input = 2 accepted + 1 rejected
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

NO_STAGE = "(none)"


def _top(counts: dict[str, int], limit: int) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]


@dataclass(frozen=True)
class ValidationReport:
    """Counts of one load. ``n_input == n_accepted + n_rejected`` always holds.

    Two loads of the same rows in any order give equal reports (row examples and the rejects
    path are left out of the comparison).

    >>> from journeyml import map_events, toy
    >>> report = map_events(toy.journeys()).report  # a ValidationReport
    >>> report.n_input, report.n_accepted, report.n_customers, str(report.time_min)
    (8, 8, 3, '2024-01-01 09:00:00+00:00')
    """

    source: str
    policy: str
    n_input: int
    n_accepted: int
    n_rejected: int
    rejects_by_reason: dict[str, int]
    n_customers: int
    n_events: int
    n_touchpoints: int
    time_min: pd.Timestamp | None
    time_max: pd.Timestamp | None
    events_by_stage: dict[str, int]
    events_by_channel: dict[str, int]
    unmapped_touchpoints: dict[str, int]
    inconsistent_customer_attributes: dict[str, int] = field(default_factory=dict)
    first_rejected_rows: dict[str, list[int]] = field(default_factory=dict, compare=False)
    rejects_path: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.n_accepted + self.n_rejected != self.n_input:  # pragma: no cover - invariant
            raise AssertionError("accepted + rejected must equal input rows")

    @property
    def ok(self) -> bool:
        """True when no row was rejected."""
        return self.n_rejected == 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready counts (timestamps as ISO strings)."""
        out = asdict(self)
        for key in ("time_min", "time_max"):
            out[key] = None if out[key] is None else out[key].isoformat()
        return out

    def to_text(self, limit: int = 15) -> str:
        """A plain-text summary, the largest groups first (``limit`` lines per group)."""
        span = (
            f"{self.time_min:%Y-%m-%d %H:%M} → {self.time_max:%Y-%m-%d %H:%M} UTC"
            if self.time_min is not None and self.time_max is not None
            else "(no events)"
        )
        lines = [
            f"source: {self.source} (policy {self.policy})",
            f"rows: {self.n_input} input = {self.n_accepted} accepted + {self.n_rejected} rejected",
            f"customers: {self.n_customers}; events: {self.n_events}; "
            f"touchpoints: {self.n_touchpoints}",
            f"time span: {span}",
        ]
        sections = [
            ("rejects by reason", self.rejects_by_reason),
            ("events by stage", self.events_by_stage),
            ("events by channel", self.events_by_channel),
            ("unmapped touchpoints (no stage)", self.unmapped_touchpoints),
            (
                "customer attributes varying within a customer",
                self.inconsistent_customer_attributes,
            ),
        ]
        for title, counts in sections:
            if not counts:
                continue
            lines.append(f"{title}:")
            lines.extend(f"  {k}: {v}" for k, v in _top(counts, limit))
            if len(counts) > limit:
                lines.append(f"  ... and {len(counts) - limit} more")
        if self.rejects_path:
            lines.append(f"rejected rows written to: {self.rejects_path}")
        return "\n".join(lines)
