"""Toy data for examples, docstrings and notebooks: three journeys you can check by eye, and
a small model trained in memory in about a second (no MLflow, no files).

The docstring examples of the public names (``import journeyml``) run on these, as doctests
in ``make test``. Nothing here is needed to use journeyml on real data.

>>> from journeyml import toy
>>> toy.journeys()[["customer_id", "touchpoint"]].groupby("customer_id").size().to_dict()
{'ann': 4, 'bob': 2, 'cat': 2}
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from journeyml.scoring import Predictor

__all__ = ["TOY_TASKS", "journeys", "predictor"]

#: the task blocks of :func:`predictor`'s models (the keys of ``docs/tasks.md``)
TOY_TASKS: dict[str, dict[str, object]] = {
    "conversion": {
        "kind": "occurs",
        "horizon_days": 14,
        "outcome": ["purchase"],
        "eligibility": {"not_yet": ["purchase"]},
    },
    "churn": {"kind": "lapses", "horizon_days": 14, "churn": ["cancellation"]},
}


def journeys() -> pd.DataFrame:
    """Three customers' journeys as a canonical event frame (UTC, sorted by customer and time).

    ``ann`` sees an ad, visits, adds to the cart and buys; ``bob`` visits and cancels; ``cat``
    sees an ad and views a product.

    >>> from journeyml import toy
    >>> ev = toy.journeys()
    >>> ev[["customer_id", "timestamp", "touchpoint", "channel", "value"]]
      customer_id                 timestamp     touchpoint  channel  value
    0         ann 2024-01-01 09:00:00+00:00  ad_impression  display    NaN
    1         ann 2024-01-03 10:00:00+00:00     site_visit      web    NaN
    2         ann 2024-01-03 10:05:00+00:00       cart_add      web    NaN
    3         ann 2024-01-10 11:00:00+00:00       purchase      web   40.0
    4         bob 2024-01-02 08:00:00+00:00     site_visit      app    NaN
    5         bob 2024-01-20 18:00:00+00:00   cancellation      web    NaN
    6         cat 2024-01-05 12:00:00+00:00  ad_impression  display    NaN
    7         cat 2024-01-06 12:00:00+00:00   product_view      web    NaN
    """
    from journeyml.events import to_canonical

    raw = pd.DataFrame(
        {
            "customer_id": ["ann", "ann", "ann", "ann", "bob", "bob", "cat", "cat"],
            "timestamp": [
                "2024-01-01 09:00",
                "2024-01-03 10:00",
                "2024-01-03 10:05",
                "2024-01-10 11:00",
                "2024-01-02 08:00",
                "2024-01-20 18:00",
                "2024-01-05 12:00",
                "2024-01-06 12:00",
            ],
            "touchpoint": [
                "ad_impression",
                "site_visit",
                "cart_add",
                "purchase",
                "site_visit",
                "cancellation",
                "ad_impression",
                "product_view",
            ],
            "channel": ["display", "web", "web", "web", "app", "web", "display", "web"],
            "stage": [
                "awareness",
                "consideration",
                "consideration",
                "conversion",
                "consideration",
                "retention",
                "awareness",
                "consideration",
            ],
            "value": [None, None, None, 40.0, None, None, None, None],
        }
    )
    return to_canonical(raw)


@lru_cache(maxsize=1)
def predictor() -> Predictor:
    """Models of :data:`TOY_TASKS` trained in memory on 400 simulated customers (240 days,
    seed 2; 30 boosting rounds): small and quick, for examples, not for their accuracy. The
    same object on every call (cached).

    >>> from journeyml import toy
    >>> toy.predictor().tasks
    ('conversion', 'churn')
    """
    from journeyml.features import FeatureBuilder, build_features
    from journeyml.modeling import train_task
    from journeyml.scoring import Predictor
    from journeyml.sim import simulate
    from journeyml.tasks import every_n_days, make_labels, task_from_block, temporal_split

    sim = simulate(400, seed=2, days=240)
    ev = sim.events
    cutoffs = every_n_days(ev, every_days=7)
    split = temporal_split(cutoffs, horizon_days=14)
    spec = FeatureBuilder(windows_days=(7, 30)).fit(ev[ev["timestamp"] < split.valid_start]).spec_
    X = build_features(ev, cutoffs, spec).to_numpy()
    bundles = {}
    for name, block in TOY_TASKS.items():
        task = task_from_block(name, block)
        labels = make_labels(ev, cutoffs, task, observation_end=sim.end)
        result = train_task(
            task, spec, X, labels, split, num_boost_round=30, lgb_params={"num_threads": 1}
        )
        bundles[name] = result.bundle
    return Predictor(bundles, project="toy")
