"""Do the explanations recover the causes a simulator planted? One protocol for every world.

A world (:data:`journeyml.sim.WORLDS`) is simulated, snapshots are taken every 7 days, the
conversion and churn models are trained with the public training function, and the held-out
test window is explained. The world's ground truth says which causes are real.

**Exposed.** A prediction (customer, as of *t*, horizon *H*) is *exposed* to a planted cause
when an event of the cause's touchpoint before *t* still acts on at least half of the predicted
window: the simulators apply a cause from ``delay_days`` to ``window_days`` after each event,
so an event at time *e* acts on ``[t, t + H)`` for
``min(e + window, t + H) − max(e + delay, t)`` days, and we require that to be ≥ *H*/2.
An exposure whose effect is over (or has barely begun) within the horizon barely changes the
outcome, and a model that gives it little weight is right. Only predictions of the cause's own
outcome are counted, on cutoffs eligible for that task. The *exposure age* is *t* − *e* for the
most recent such event; :func:`run_recovery` also reports recovery by age for the looser
definition "an event within the cause's window before *t*" (``by_age``), which shows how
recovery falls as an exposure ages.

The **no-effect touchpoint** counts as exposed with an event in the 30 days before *t*.

A cause is **recovered** when ``touchpoint:<name>`` is among the prediction's top-3 root causes.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from journeyml.explain import Composition, explain_rows
from journeyml.features import FeatureBuilder, build_features, encode_frame
from journeyml.modeling import ModelBundle, train_task
from journeyml.sim import PlantedCause, SimulationResult, simulate_world
from journeyml.tasks import (
    DataDefaults,
    TaskConfig,
    every_n_days,
    make_labels,
    task_from_block,
    temporal_split,
)

HORIZONS: dict[str, float] = {"conversion": 14.0, "churn": 30.0}
LGB: dict[str, Any] = {
    "num_threads": 1,
    "learning_rate": 0.1,
    "num_leaves": 15,
    "min_data_in_leaf": 100,
}
#: the customer attribute each world's persona is in (a feature, like a mapped attribute)
PERSONA_ATTRIBUTE = {"retail": "segment", "b2b": "company_size", "insurer": "household"}
AGE_BINS: tuple[float, ...] = (0, 7, 14, 21, 30, 45)
NO_EFFECT_DAYS = 30.0


@dataclass
class TaskRecovery:
    """One task of one world: the model, the test rows and the exposure of each of them."""

    task: TaskConfig
    bundle: ModelBundle
    rows: np.ndarray  # indices of eligible test cutoffs
    top3: dict[int, list[str]]  # cutoff index -> its top-3 causes ("touchpoint:x", ...)
    #: touchpoint -> (exposed mask over all cutoffs, exposure age in days: NaN if none)
    exposure: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    #: the observed outcome (0/1) of every cutoff (meaningful on eligible rows)
    outcome: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #: eligible cutoffs the model did not train on (validation and test windows): the
    #: population whose observed outcomes are the held-out evidence of population insights
    held_out: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def rate(self, touchpoint: str) -> tuple[int, float]:
        """(number of exposed test predictions, share with the touchpoint in the top 3)."""
        idx = np.flatnonzero(self.exposure[touchpoint][0])
        if not len(idx):
            return 0, float("nan")
        hit = [f"touchpoint:{touchpoint}" in self.top3[int(r)] for r in idx]
        return len(idx), float(np.mean(hit))

    def top1(self) -> pd.Series:
        """Share of test predictions by their first root cause."""
        first = [c[0] for c in self.top3.values() if c]
        return pd.Series(first, dtype=object).value_counts(normalize=True)


@dataclass
class WorldRecovery:
    world: str
    sim: SimulationResult
    cutoffs: pd.DataFrame
    X: np.ndarray
    composition: Composition
    tasks: dict[str, TaskRecovery]
    #: (task, touchpoint, age bin) -> (n, rate), the loose definition
    by_age: pd.DataFrame


def task_blocks(sim: SimulationResult) -> dict[str, dict[str, Any]]:
    """The conversion and churn tasks of a world, as pipeline blocks (docs/tasks.md): a first
    conversion; churn among active customers (only those with a conversion where churn needs
    one, as in B2B contracts)."""
    conv = list(sim.conversion_touchpoints)
    churn: dict[str, Any] = {"kind": "lapses", "horizon_days": HORIZONS["churn"]}
    if sim.churn_needs_conversion:
        churn["eligibility"] = {"has_done": conv}
    return {
        "conversion": {
            "kind": "occurs",
            "horizon_days": HORIZONS["conversion"],
            "outcome": conv,
            "eligibility": {"not_yet": conv},
        },
        "churn": churn,
    }


def exposed(
    ev: pd.DataFrame,
    cut: pd.DataFrame,
    touchpoint: str,
    *,
    delay_days: float,
    window_days: float,
    horizon_days: float | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per cutoff row: (exposed, age in days of the most recent qualifying event or NaN).

    With ``horizon_days``: an event whose effect ``[e + delay, e + window)`` covers at least
    half of ``[as_of, as_of + H)``; without: any event in ``[as_of − window, as_of)``."""
    e = ev.loc[ev["touchpoint"] == touchpoint, ["customer_id", "timestamp"]]
    c = cut[["customer_id", "as_of"]].reset_index(drop=True).reset_index(names="row")
    m = c.merge(e, on="customer_id")
    age = (m["as_of"] - m["timestamp"]) / pd.Timedelta(days=1)
    ok = (age > 0) & (age <= window_days)
    if horizon_days is not None:
        cover = np.minimum(window_days - age, horizon_days) - np.maximum(delay_days - age, 0.0)
        ok &= cover >= horizon_days / 2
    m = m.assign(age=age)[ok]
    youngest = m.groupby("row")["age"].min()
    out_age = np.full(len(cut), np.nan)
    out_age[youngest.index.to_numpy()] = youngest.to_numpy()
    return np.isfinite(out_age), out_age


def run_recovery(
    world: str, n_customers: int = 3000, *, seed: int = 3, days: int = 240
) -> WorldRecovery:
    """Simulate ``world``, train conversion and churn, explain the test window (see module)."""
    sim = simulate_world(world, n_customers, seed=seed, days=days)
    ev = sim.events
    cut = every_n_days(ev, 7, end=sim.end)
    first = temporal_split(cut, horizon_days=max(HORIZONS.values()))
    spec = (
        FeatureBuilder(
            windows_days=(7, 30),
            attributes=(PERSONA_ATTRIBUTE[world],),
            company_sent=sim.company_sent,
        )
        .fit(ev[ev["timestamp"] < first.valid_start])
        .spec_
    )
    X = build_features(ev, cut, spec).to_numpy()
    arr = encode_frame(ev, spec)
    comp = Composition.from_codes(spec, arr.touchpoint, arr.channel, arr.stage)
    defaults = DataDefaults(
        sim.conversion_touchpoints, sim.churn_touchpoints, sim.company_sent, "the simulator"
    )
    tasks: dict[str, TaskRecovery] = {}
    ages: list[dict[str, Any]] = []
    for name, block in task_blocks(sim).items():
        task = task_from_block(name, block, defaults)
        h = float(HORIZONS[name])
        lab = make_labels(ev, cut, task, observation_end=sim.end)
        split = temporal_split(cut, horizon_days=h)
        res = train_task(
            task,
            spec,
            X,
            lab,
            split,
            lgb_params=LGB,
            num_boost_round=400,
            groups=cut["customer_id"].to_numpy(),
        )
        rows = np.flatnonzero(lab["eligible"].to_numpy(bool) & split.test)
        in_rows = np.zeros(len(cut), bool)
        in_rows[rows] = True
        causes: list[PlantedCause] = [c for c in sim.causes if c.outcome == name]
        exp: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        loose: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for c in causes:
            kw = {"delay_days": float(c.delay_days), "window_days": float(c.window_days)}
            m, a = exposed(ev, cut, c.touchpoint, horizon_days=h, **kw)
            exp[c.touchpoint] = (m & in_rows, a)
            m, a = exposed(ev, cut, c.touchpoint, horizon_days=None, **kw)
            loose[c.touchpoint] = (m & in_rows, a)
        m, a = exposed(
            ev,
            cut,
            sim.no_effect_touchpoint,
            delay_days=0.0,
            window_days=NO_EFFECT_DAYS,
            horizon_days=None,
        )
        exp[sim.no_effect_touchpoint] = (m & in_rows, a)
        explained = explain_rows(res.bundle, X[rows], top_k=3, composition=comp)
        top3 = {int(r): [c.cause for c in rc] for r, rc in zip(rows, explained, strict=True)}
        held_out = np.flatnonzero(lab["eligible"].to_numpy(bool) & (split.valid | split.test))
        tr = TaskRecovery(task, res.bundle, rows, top3, exp, lab["label"].to_numpy(float), held_out)
        tasks[name] = tr
        for tp, (m, a) in loose.items():
            for lo, hi in itertools.pairwise(AGE_BINS):
                sel = np.flatnonzero(m & (a > lo) & (a <= hi))
                if len(sel):
                    hit = np.mean([f"touchpoint:{tp}" in top3[int(r)] for r in sel])
                    ages.append(
                        {
                            "task": name,
                            "touchpoint": tp,
                            "age_days": f"{lo:g}–{hi:g}",
                            "n": len(sel),
                            "in_top3": float(hit),
                        }
                    )
    return WorldRecovery(world, sim, cut, X, comp, tasks, pd.DataFrame(ages))


def summary(rec: WorldRecovery) -> pd.DataFrame:
    """One row per (task, touchpoint): exposed predictions, share in the top 3, strong or not."""
    out = []
    for name, tr in rec.tasks.items():
        strong = {c.touchpoint: c.strong for c in rec.sim.causes if c.outcome == name}
        for tp in tr.exposure:
            n, rate = tr.rate(tp)
            kind = (
                "no effect"
                if tp == rec.sim.no_effect_touchpoint
                else ("strong" if strong.get(tp) else "weak")
            )
            out.append({"task": name, "touchpoint": tp, "planted": kind, "n": n, "in_top3": rate})
    return pd.DataFrame(out)
