"""Journey map data and journey metrics, from the events (and predictions) of a population.

* **Paths**: each customer's journey as the sequence of stages it went through before ``as_of``
  (repeats collapsed, first :data:`MAX_STEPS` steps), the most common paths with their size,
  observed conversion and churn rates after ``as_of`` and mean predicted risks.
* **Touchpoint paths**: the last touchpoints before ``as_of`` (repeats collapsed), the same way.
* **Flow**: the same paths as links between (step, stage) nodes, for a Sankey diagram.
* **Metrics** (domain vocabulary): conversion rate, cart-abandonment rate, retention,
  repeat-purchase rate, value per customer.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from journeyml.events import CUSTOMER_ID, STAGE, TIMESTAMP, TOUCHPOINT

MAX_STEPS = 5


def stage_paths(events: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """Per customer: stages in order before ``as_of``, repeats collapsed (``"a › b › c"``)."""
    ev = events[events[TIMESTAMP] < as_of]
    ev = ev[ev[STAGE].notna()]
    st = ev[STAGE].astype(str)
    keep = (st != st.shift()) | (ev[CUSTOMER_ID] != ev[CUSTOMER_ID].shift())
    steps = ev.loc[keep, [CUSTOMER_ID, STAGE]]
    return steps.groupby(CUSTOMER_ID, sort=True)[STAGE].agg(
        lambda s: " › ".join(map(str, list(s)[:MAX_STEPS]))
    )


def touchpoint_paths(events: pd.DataFrame, as_of: pd.Timestamp, last: int = 4) -> pd.Series:
    """Per customer: the last ``last`` touchpoints before ``as_of`` (consecutive repeats
    collapsed), ``"a › b › c"`` — where journeys go at the touchpoint level.

    >>> ev = pd.DataFrame({"customer_id": ["a"] * 4 + ["b"],
    ...     "timestamp": pd.to_datetime(["2024-01-0%d" % d for d in (1, 2, 3, 4, 1)], utc=True),
    ...     "touchpoint": ["ad", "visit", "visit", "purchase", "ad"]})
    >>> touchpoint_paths(ev, pd.Timestamp("2024-02-01", tz="UTC"), last=2).to_dict()
    {'a': 'visit › purchase', 'b': 'ad'}
    """
    ev = events[events[TIMESTAMP] < as_of]
    tp = ev[TOUCHPOINT].astype(str)
    keep = (tp != tp.shift()) | (ev[CUSTOMER_ID] != ev[CUSTOMER_ID].shift())
    steps = ev.loc[keep, [CUSTOMER_ID, TOUCHPOINT]]
    tail = steps.groupby(CUSTOMER_ID, sort=True).tail(last)
    return tail.groupby(CUSTOMER_ID, sort=True)[TOUCHPOINT].agg(lambda s: " › ".join(map(str, s)))


def main_paths(
    paths: pd.Series,
    outcomes: pd.DataFrame,
    top: int = 8,
) -> pd.DataFrame:
    """The ``top`` most common paths; ``outcomes`` is indexed by customer with any of the
    columns ``converted``, ``churned`` (observed, 0/1) and ``p_conversion``, ``p_churn``."""
    df = outcomes.reindex(paths.index).assign(path=paths.to_numpy())
    agg: dict[str, tuple[str, str]] = {"customers": ("path", "size")}
    for c in ("converted", "churned", "p_conversion", "p_churn"):
        if c in df.columns:
            agg[c] = (c, "mean")
    out = df.groupby("path").agg(**agg).sort_values("customers", ascending=False)
    out["share"] = out["customers"] / max(len(df), 1)
    return out.head(top).reset_index()


def flow_links(
    paths: pd.Series, top_paths: Sequence[str] | None = None, *, end: str | None = "(left)"
) -> pd.DataFrame:
    """Links ``(step, source, target, customers)`` between consecutive stages of the paths
    (optionally only of ``top_paths``); a path's end adds a link to ``end`` ("(left)"), unless
    ``end`` is None (paths that end at the moment of prediction, not where customers left)."""
    rows: dict[tuple[int, str, str], int] = {}
    for path, n in paths.value_counts().items():
        if top_paths is not None and path not in top_paths:
            continue
        steps = str(path).split(" › ")
        for k in range(len(steps)):
            if k + 1 >= len(steps) and (end is None or k + 1 >= MAX_STEPS):
                continue
            tgt = steps[k + 1] if k + 1 < len(steps) else str(end)
            key = (k, steps[k], tgt)
            rows[key] = rows.get(key, 0) + int(n)
    return pd.DataFrame(
        [(k, a, b, n) for (k, a, b), n in rows.items()],
        columns=["step", "source", "target", "customers"],
    )


def journey_metrics(
    events: pd.DataFrame,
    *,
    conversion_touchpoints: Sequence[str] = ("purchase",),
    churn_touchpoints: Sequence[str] = ("cancellation",),
    cart_touchpoints: Sequence[str] = ("cart_add",),
    inactive_days: float = 30.0,
) -> dict[str, float]:
    """Journey metrics the data supports (NaN when it does not, e.g. no cart events).

    * conversion rate: customers with a conversion touchpoint / customers;
    * cart-abandonment rate: customers who added to a cart and never converted afterwards /
      customers who added to a cart;
    * retention: converted customers still active (an event in the last ``inactive_days``
      days of the log, no churn touchpoint) / converted customers;
    * repeat-purchase rate: converted customers with 2+ conversions / converted customers;
    * value per customer: total ``value`` of conversions / customers.
    """
    ev = events
    n = ev[CUSTOMER_ID].nunique()
    if n == 0:
        return {}
    tp = ev[TOUCHPOINT].astype(str)
    conv = ev[tp.isin(list(conversion_touchpoints))]
    n_conv = conv.groupby(CUSTOMER_ID).size()
    out: dict[str, float] = {"customers": float(n), "conversion_rate": len(n_conv) / n}
    carts = ev[tp.isin(list(cart_touchpoints))]
    if len(carts):
        last_cart = carts.groupby(CUSTOMER_ID)[TIMESTAMP].max()
        last_conv = conv.groupby(CUSTOMER_ID)[TIMESTAMP].max().reindex(last_cart.index)
        abandoned = ~(last_conv >= last_cart)
        out["cart_abandonment_rate"] = float(abandoned.mean())
    else:
        out["cart_abandonment_rate"] = float("nan")
    if len(n_conv):
        end = ev[TIMESTAMP].max()
        last = ev.groupby(CUSTOMER_ID)[TIMESTAMP].max().reindex(n_conv.index)
        churned = set(ev.loc[tp.isin(list(churn_touchpoints)), CUSTOMER_ID])
        active = (last >= end - pd.Timedelta(days=inactive_days)) & ~n_conv.index.isin(churned)
        out["retention"] = float(np.mean(active))
        out["repeat_purchase_rate"] = float((n_conv >= 2).mean())
    else:
        out["retention"] = out["repeat_purchase_rate"] = float("nan")
    if "value" in ev.columns:
        out["value_per_customer"] = float(conv["value"].fillna(0).sum() / n)
    return out
