"""The one entry point of explanations: :meth:`Explainer.explain` takes a batch of rows and the
targets to explain (tasks, or one class per row of a multiclass task) and runs the three steps,
each owned by one module:

1. contributions (:mod:`journeyml.explain.contributions`): TreeSHAP → probability points;
2. allocation to causes (:mod:`journeyml.explain.allocation`): one plan per row, shared by every
   target explained for it;
3. phrasing (:mod:`journeyml.explain.phrasing`): the largest causes in words, with the
   timestamps of the events behind them.

The Predictor calls it once per batch (serving, batch scoring); population insights call it for
whole populations and read every cause's total (``top_k=None``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from journeyml.explain.allocation import Allocation, Composition, Plan
from journeyml.explain.contributions import model_of
from journeyml.explain.phrasing import RootCause, evidence, phrase
from journeyml.features import NS_PER_DAY, EventArrays, FeatureSpec
from journeyml.modeling import ModelBundle
from journeyml.tasks import TaskConfig


@dataclass
class Batch:
    """The rows to explain: their feature values ``X`` and what each row's stage and channel
    aggregates are made of — its own events ``events[start[r]:end[r]]`` (these also give the
    causes their timestamps; ``as_of``, ns per row: the moment the sentences count back
    from), or one ``composition`` for every row (a population's)."""

    X: np.ndarray
    events: EventArrays | None = None
    start: np.ndarray | None = None
    end: np.ndarray | None = None
    composition: Composition | None = None
    as_of: np.ndarray | None = None
    _plans: dict[int, Plan] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.events is not None and (self.start is None or self.end is None):
            raise ValueError("expected each row's event range (start, end) with the events")

    def plan(self, spec: FeatureSpec, r: int) -> Plan:
        """Row ``r``'s allocation plan (made once, shared by every target)."""
        p = self._plans.get(r)
        if p is None:
            comp = self.composition
            if self.events is not None:
                assert self.start is not None and self.end is not None
                lo, hi, a = int(self.start[r]), int(self.end[r]), self.events
                comp = Composition.from_codes(
                    spec, a.touchpoint[lo:hi], a.channel[lo:hi], a.stage[lo:hi]
                )
            p = self._plans[r] = Plan.for_row(spec, self.X[r], comp)
        return p


@dataclass(frozen=True)
class Target:
    """What to explain: a task, and for a multiclass task the class of each row (``proba``:
    the task's rows × K probabilities when the caller has them)."""

    task: str
    class_index: np.ndarray | None = None
    proba: np.ndarray | None = None


@dataclass
class Explanation:
    """One target's explanation of every row of a batch."""

    target: Target
    probability: np.ndarray  # the explained probability, per row
    base_rate: np.ndarray  # p₀ per row
    allocations: list[Allocation]  # per row: cause → parts (probability units)
    causes: list[list[RootCause]] | None  # per row: the top_k causes in words

    def totals(self) -> list[dict[tuple[str, str], float]]:
        """Per row: every cause with its total contribution (probability units)."""
        return [a.totals() for a in self.allocations]


class Explainer:
    """Explains the models of a Predictor (one FeatureSpec)."""

    def __init__(self, bundles: Mapping[str, ModelBundle]) -> None:
        self.bundles = dict(bundles)
        self.spec: FeatureSpec = next(iter(self.bundles.values())).spec
        for b in self.bundles.values():
            model_of(b).warm()  # per-class boosters now, not on the first request

    def explain(
        self, batch: Batch, targets: Sequence[Target], *, top_k: int | None = 3
    ) -> list[Explanation]:
        """Every target over every row of ``batch``: contributions → allocation → phrasing
        (``top_k=None``: no phrasing, the allocations only)."""
        spec, X = self.spec, batch.X
        out: list[Explanation] = []
        for tg in targets:
            b = self.bundles[tg.task]
            pts = model_of(b).points(X, tg.class_index, tg.proba)
            allocs = [batch.plan(spec, r).apply(pts.psi[r]) for r in range(X.shape[0])]
            causes = None
            if top_k is not None:
                causes = []
                for r, alloc in enumerate(allocs):
                    cls = None if tg.class_index is None else b.classes[int(tg.class_index[r])]
                    row = phrase(spec, X[r], alloc, task=b.task, top_k=top_k, class_name=cls)
                    if batch.events is not None:
                        assert batch.start is not None and batch.end is not None
                        lo, hi = int(batch.start[r]), int(batch.end[r])
                        for c in row:
                            since = None
                            if c.window_days is not None and batch.as_of is not None:
                                since = int(batch.as_of[r]) - round(c.window_days * NS_PER_DAY)
                            c.events = evidence(spec, batch.events, lo, hi, c.kind, c.name, since)
                    causes.append(row)
            out.append(Explanation(tg, pts.probability, pts.base_rate, allocs, causes))
        return out


def explainer_of(bundle: ModelBundle) -> Explainer:
    return Explainer({bundle.task.name: bundle})


def explain_rows(
    bundle: ModelBundle,
    X: np.ndarray,
    *,
    top_k: int = 3,
    class_index: np.ndarray | None = None,
    composition: Composition | None = None,
) -> list[list[RootCause]]:
    """Root causes of many rows of one task (the predicted class for multiclass tasks), with
    one ``composition`` for every row: :meth:`Explainer.explain` for a single task."""
    if bundle.kind == "multiclass" and class_index is None:
        class_index = np.argmax(bundle.predict_proba(X), axis=1)
    batch = Batch(X, composition=composition)
    (e,) = explainer_of(bundle).explain(batch, [Target(bundle.task.name, class_index)], top_k=top_k)
    assert e.causes is not None
    return e.causes


def cause_totals(
    spec: FeatureSpec,
    x: np.ndarray,
    psi: np.ndarray,
    composition: Composition | None = None,
) -> dict[tuple[str, str], float]:
    """Every root cause of one row with its total contribution (probability units), from the
    row's contributions ``psi``."""
    return Plan.for_row(spec, x, composition).apply(psi).totals()


def root_causes(
    spec: FeatureSpec,
    x: np.ndarray,
    psi: np.ndarray,
    *,
    task: TaskConfig | str,
    top_k: int = 3,
    class_name: str | None = None,
    composition: Composition | None = None,
) -> list[RootCause]:
    """One row's ``top_k`` causes in words from its contributions ``psi`` (steps 2 and 3)."""
    alloc = Plan.for_row(spec, x, composition).apply(psi)
    return phrase(spec, x, alloc, task=task, top_k=top_k, class_name=class_name)
