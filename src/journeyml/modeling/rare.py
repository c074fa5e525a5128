"""Rare classes of a ``next`` task grouped into one class, ``other`` ("a rare touchpoint").

LightGBM grows one tree per class per boosting round, so a next task over hundreds of
activities costs hundreds of trees a round, most of them for classes with a handful of
training examples that no tree can learn. When the training window has more than
:data:`MANY_CLASSES` classes, the classes with fewer than ``min_examples`` training examples
(default: the booster's ``min_data_in_leaf``, the fewest rows a leaf may hold) become one class
for the booster. The decision reads the training labels only; ``none`` and ``end`` are never
grouped (they are not activities). A real label spelled ``other`` joins the group.

The served distribution has the kept classes and ``other``: it sums to 1 and keeps the floor of
:mod:`journeyml.modeling.bounds`. Test metrics score :meth:`ClassGrouping.expand`: the group's
probability spread over its members in proportion to their training counts, a distribution
over every training class, so they compare with baselines that know every class.

>>> g = ClassGrouping.decide(["a"] * 5 + ["b"] * 2 + ["c", "d"], min_examples=4)
>>> g.classes, g.members, g.shares
(('a', 'none', 'other'), ('b', 'c', 'd'), (0.5, 0.25, 0.25))
>>> g.all_classes
('a', 'b', 'c', 'd', 'none')
>>> g.expand(np.array([[0.5, 0.1, 0.4]])).tolist()
[[0.5, 0.2, 0.1, 0.1, 0.1]]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from journeyml.tasks import END_CLASS, NONE_CLASS, RARE_CLASS

#: more classes than this in the training window and rare ones are grouped (by default)
MANY_CLASSES = 30
#: classes that are never grouped (they are not activities)
SPECIAL = (NONE_CLASS, END_CLASS)


#: LightGBM's names of min_data_in_leaf
_LEAF_KEYS = ("min_data_in_leaf", "min_child_samples", "min_data_per_leaf", "min_data")


def leaf_minimum(params: Mapping[str, Any]) -> int:
    """The fewest rows a leaf may hold under LightGBM ``params`` (20, LightGBM's own default,
    when they do not say).

    >>> leaf_minimum({"min_child_samples": 5}), leaf_minimum({})
    (5, 20)
    """
    for k in _LEAF_KEYS:
        if k in params:
            return int(params[k])
    return 20


@dataclass(frozen=True)
class ClassGrouping:
    """The booster's classes (``classes``, sorted, :data:`RARE_CLASS` last when anything is
    grouped), the grouped ``members`` and each one's share of the group's training examples."""

    classes: tuple[str, ...]
    members: tuple[str, ...] = ()
    shares: tuple[float, ...] = ()
    #: the threshold applied (0: nothing grouped)
    min_examples: int = 0

    @property
    def grouped(self) -> bool:
        return bool(self.members)

    @property
    def all_classes(self) -> tuple[str, ...]:
        """Every training class, sorted (the classes without grouping)."""
        if not self.grouped:
            return self.classes
        return tuple(sorted({*self.classes[:-1], *self.members}))

    @classmethod
    def decide(
        cls,
        y_train: Iterable[object],
        *,
        min_examples: int | None = None,
        default_min: int = 40,
        many_classes: int = MANY_CLASSES,
        always: Sequence[str] = (NONE_CLASS,),
    ) -> ClassGrouping:
        """The grouping of the training labels ``y_train``. ``min_examples`` None: group
        classes with fewer than ``default_min`` examples when there are more than
        ``many_classes`` classes (``always`` counted in), else none; an integer: group classes
        with fewer examples whatever their number (0: never group)."""
        counts = Counter(str(v) for v in y_train)
        for a in always:
            counts.setdefault(a, 0)
        names = sorted(counts)
        if min_examples is None:
            threshold = int(default_min) if len(names) > many_classes else 0
        else:
            threshold = int(min_examples)
        rare = [
            c
            for c in names
            if c not in SPECIAL and (counts[c] < threshold or (threshold > 0 and c == RARE_CLASS))
        ]
        if len(rare) < 2 and RARE_CLASS not in rare:  # one class alone is not worth a group
            return cls(tuple(names))
        total = sum(counts[c] for c in rare)
        kept = tuple(c for c in names if c not in set(rare))
        return cls(
            (*kept, RARE_CLASS),
            tuple(rare),
            tuple(counts[c] / total if total else 1 / len(rare) for c in rare),
            threshold,
        )

    def codes(self, labels: Iterable[object]) -> np.ndarray:
        """Each label's index in :attr:`classes` (a member: the group's), -1 if unknown."""
        idx = {c: i for i, c in enumerate(self.classes)}
        if self.grouped:
            for m in self.members:
                idx[m] = len(self.classes) - 1
        return np.array([idx.get(str(v), -1) for v in labels], dtype=np.int64)

    def expand(self, proba: np.ndarray) -> np.ndarray:
        """``proba`` (n, len(classes)) as a distribution over :attr:`all_classes`: the
        group's column spread over its members by :attr:`shares` (rows still sum to 1)."""
        if not self.grouped:
            return proba
        proba = np.asarray(proba).reshape(-1, len(self.classes))  # no rows: LightGBM's (0,)
        full = self.all_classes
        pos = {c: j for j, c in enumerate(full)}
        out = np.zeros((proba.shape[0], len(full)))
        for j, c in enumerate(self.classes[:-1]):
            out[:, pos[c]] = proba[:, j]
        group = proba[:, -1]
        for m, s in zip(self.members, self.shares, strict=True):
            out[:, pos[m]] = group * s
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "min_examples": self.min_examples,
            "members": list(self.members),
            "shares": [round(s, 8) for s in self.shares],
        }

    @classmethod
    def from_info(cls, classes: Sequence[str], info: Mapping[str, Any]) -> ClassGrouping:
        """The grouping of a bundle (its ``classes`` and ``info["rare_classes"]``)."""
        d = info.get("rare_classes") or {}
        return cls(
            tuple(classes),
            tuple(d.get("members", ())),
            tuple(float(s) for s in d.get("shares", ())),
            int(d.get("min_examples", 0)),
        )
