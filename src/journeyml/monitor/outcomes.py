"""Recorded outcomes as labels: an outcome of a task recorded for a customer (``journeyml
outcomes FILE``, :meth:`EventStore.record_outcomes`) within a prediction's window makes that
prediction's label positive, in addition to what the stored events say.

The window of a prediction at ``as_of`` with horizon ``H`` days is ``(as_of, as_of + H]``
(no horizon, as for ``case_outcome`` tasks: ``(as_of, now]``), and never past ``now``: the
same window as the events' labels, so an outcome recorded at ``as_of`` itself (known when the
prediction was made) does not count.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from journeyml.features import NS_PER_DAY
from journeyml.store import EventStore


def recorded_positive(
    store: EventStore,
    task: str,
    customer_ids: np.ndarray,
    as_of_ns: np.ndarray,
    horizon_days: float | None,
    now_ns: int,
) -> np.ndarray:
    """For each prediction (customer, as_of): whether the store holds an outcome of ``task``
    for that customer in its window (module docstring)."""
    n = len(as_of_ns)
    found = np.zeros(n, dtype=bool)
    if n == 0:
        return found
    start = np.asarray(as_of_ns, dtype=np.int64)
    end = (
        np.minimum(start + round(horizon_days * NS_PER_DAY), now_ns)
        if horizon_days is not None
        else np.full(n, now_ns, dtype=np.int64)
    )
    rec = store.outcomes(
        task=task,
        since=pd.Timestamp(int(start.min()) + 1, tz="UTC"),
        until=pd.Timestamp(int(end.max()) + 1, tz="UTC"),
    )
    if rec.empty:
        return found
    pred = pd.DataFrame(
        {"customer_id": np.asarray(customer_ids).astype(str), "lo": start, "hi": end, "i": range(n)}
    )
    times = pd.DataFrame(
        {
            "customer_id": rec["customer_id"].astype(str).to_numpy(),
            "t": rec["time"].dt.as_unit("ns").astype("int64").to_numpy(),
        }
    )
    pairs = pred.merge(times, on="customer_id")
    hit = pairs.loc[(pairs["t"] > pairs["lo"]) & (pairs["t"] <= pairs["hi"]), "i"].to_numpy()
    found[hit] = True
    return found
