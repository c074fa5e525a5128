"""How many cutoffs each of a task's filters keeps: the counts behind every "no labels"
message.

>>> import numpy as np
>>> from journeyml.tasks.eligibility import Step
>>> f = Funnel.from_steps("t", [Step("a", "rule a", np.array([1, 1, 0, 1], bool)),
...                             Step("b", "rule b", np.array([0, 1, 1, 0], bool))],
...                       pd.Series(["1"]))
>>> [(s.key, s.remaining, s.removed_alone) for s in f.steps], f.eligible, f.classes
([('a', 3, 1), ('b', 1, 2)], 1, {'1': 1})
>>> print(f.table())
4 cutoffs
  rule a (a): 3 left (alone it removes 1)
  rule b (b): 1 left (alone it removes 2)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from journeyml.tasks.eligibility import Step


@dataclass(frozen=True)
class FunnelStep:
    key: str
    rule: str
    #: cutoffs left after this filter and every filter before it
    remaining: int
    #: cutoffs this filter removes on its own
    removed_alone: int


@dataclass(frozen=True)
class Funnel:
    task: str
    total: int
    steps: tuple[FunnelStep, ...]
    #: eligible cutoffs per label value
    classes: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_steps(cls, task: str, steps: Sequence[Step], labels: pd.Series) -> Funnel:
        n = int(steps[0].mask.shape[0]) if steps else len(labels)
        keep = np.ones(n, dtype=bool)
        out = []
        for s in steps:
            keep &= s.mask
            out.append(FunnelStep(s.key, s.rule, int(keep.sum()), int((~s.mask).sum())))
        counts = labels.value_counts(sort=False)
        return cls(task, n, tuple(out), {str(k): int(v) for k, v in sorted(counts.items())})

    @classmethod
    def merged(cls, parts: Sequence[Funnel]) -> Funnel:
        """One funnel of disjoint sets of cutoffs (partitions of a log): every count summed.

        >>> a = Funnel("t", 3, (FunnelStep("k", "r", 2, 1),), {"0": 1, "1": 1})
        >>> b = Funnel("t", 2, (FunnelStep("k", "r", 1, 1),), {"1": 1})
        >>> m = Funnel.merged([a, b]); (m.total, m.steps[0].remaining, m.classes)
        (5, 3, {'0': 1, '1': 2})
        """
        first = parts[0]
        steps = tuple(
            FunnelStep(
                s.key,
                s.rule,
                sum(p.steps[i].remaining for p in parts),
                sum(p.steps[i].removed_alone for p in parts),
            )
            for i, s in enumerate(first.steps)
        )
        classes: dict[str, int] = {}
        for p in parts:
            for k, v in p.classes.items():
                classes[k] = classes.get(k, 0) + v
        return cls(first.task, sum(p.total for p in parts), steps, dict(sorted(classes.items())))

    @property
    def eligible(self) -> int:
        return self.steps[-1].remaining if self.steps else self.total

    def first_empty(self) -> FunnelStep | None:
        """The filter after which no cutoff is left."""
        return next((s for s in self.steps if s.remaining == 0), None)

    def table(self) -> str:
        lines = [f"{self.total:,} cutoffs"]
        lines += [
            f"  {s.rule} ({s.key}): {s.remaining:,} left (alone it removes {s.removed_alone:,})"
            for s in self.steps
        ]
        return "\n".join(lines)
