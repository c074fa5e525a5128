"""The floor of the promotion gate: a challenger is never promoted below the best baseline of
its task (the class prior, logistic regression on the same features, the Markov successor),
all scored on the same test window as the challenger.

Each checked metric is compared with the best baseline *for that metric*; the challenger may
trail it by at most ``margin``. Metrics a baseline does not have (or that are undefined on the
window) are skipped. Figures that differ by less than :data:`ROUND_OFF` are equal: a model that
*is* its baseline's logistic fit (the blend's tie rule, docs/modeling.md) sums its log loss in
another order and can land 1e-16 above it. That is no margin: nothing a metric can measure is
allowed below the baseline.

>>> c = compare_baselines(
...     {"accuracy": 0.241, "log_loss": 1.1},
...     {"prior": {"accuracy": 0.2, "log_loss": 1.6}, "markov": {"accuracy": 0.362}},
...     metrics=("accuracy", "log_loss"),
...     margin=0.0,
... )
>>> [(x.metric, x.baseline, x.passed) for x in c]
[('accuracy', 'markov', False), ('log_loss', 'prior', True)]
>>> c[0].text()
'accuracy 0.2410 below markov 0.3620 (margin 0.0)'
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

HIGHER_IS_BETTER = {
    "roc_auc": True,
    "pr_auc": True,
    "accuracy": True,
    "macro_f1": True,
    "log_loss": False,
    "brier": False,
}

#: differences below this are floating-point round-off, not a model below its baseline
ROUND_OFF = 1e-9

#: the metric each kind of output is judged on first (beside the gate metric)
HEADLINE = {"binary": "roc_auc", "multiclass": "accuracy"}


@dataclass(frozen=True)
class BaselineComparison:
    """The challenger against the best baseline on one metric."""

    metric: str
    challenger: float
    baseline: str
    baseline_score: float
    margin: float
    passed: bool

    def text(self) -> str:
        word = (
            ("not below" if self.passed else "below")
            if HIGHER_IS_BETTER[self.metric]
            else ("not above" if self.passed else "above")
        )
        return (
            f"{self.metric} {self.challenger:.4f} {word} {self.baseline} "
            f"{self.baseline_score:.4f} (margin {self.margin})"
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def compare_baselines(
    challenger: Mapping[str, float],
    baselines: Mapping[str, Mapping[str, float]],
    *,
    metrics: Sequence[str],
    margin: float,
) -> list[BaselineComparison]:
    """One comparison per metric that the challenger and at least one baseline have."""
    out: list[BaselineComparison] = []
    for m in metrics:
        higher = HIGHER_IS_BETTER[m]
        mine = challenger.get(m)
        if mine is None or not math.isfinite(mine):
            continue
        scored = {
            name: float(s[m])
            for name, s in baselines.items()
            if m in s and math.isfinite(float(s[m]))
        }
        if not scored:
            continue
        best = (max if higher else min)(scored, key=lambda k: scored[k])
        ref = scored[best]
        passed = mine >= ref - margin - ROUND_OFF if higher else mine <= ref + margin + ROUND_OFF
        out.append(BaselineComparison(m, float(mine), best, ref, margin, passed))
    return out


def gate_metrics(output: str, metric: str, extra: Sequence[str] | None) -> tuple[str, ...]:
    """The metrics a task of ``output`` (binary / multiclass) is held to against its baselines:
    ``extra`` when given (those the output has), else its headline metric and the gate metric.

    >>> gate_metrics("multiclass", "log_loss", None)
    ('accuracy', 'log_loss')
    >>> gate_metrics("binary", "log_loss", ["roc_auc", "accuracy"])
    ('roc_auc',)
    """
    valid = {
        "binary": ("roc_auc", "pr_auc", "log_loss", "brier"),
        "multiclass": ("accuracy", "macro_f1", "log_loss"),
    }[output]
    chosen = list(extra) if extra is not None else [HEADLINE[output], metric]
    return tuple(m for m in dict.fromkeys(chosen) if m in valid)
