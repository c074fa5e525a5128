"""Journey map data and journey metrics, from the events (and predictions) of a population.

* **Paths**: each customer's journey as the sequence of stages it went through before ``as_of``
  (repeats collapsed, first :data:`MAX_STEPS` steps), the most common paths with their size,
  observed conversion and churn rates after ``as_of`` and mean predicted risks.
* **Touchpoint paths**: the last touchpoints before ``as_of`` (repeats collapsed), the same way.
* **Flow**: the same paths as links between (step, stage) nodes, for a Sankey diagram.
* **Metrics** (domain vocabulary): conversion rate, cart-abandonment rate, retention,
  repeat-purchase rate, value per customer — read through the tasks' own definitions
  (:func:`task_metrics`: converted = the conversion task's outcome; churned = what the churn
  task calls a lapse, company-sent touchpoints not counting as activity).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from journeyml.events import CUSTOMER_ID, STAGE, TIMESTAMP, TOUCHPOINT, VALUE
from journeyml.tasks import TaskConfig

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
    """The ``top`` most common paths; ``outcomes`` is indexed by customer, one column per
    observed outcome (0/1, NaN where the customer was not asked) and per mean prediction
    (``p_<task>``): each becomes the path's mean."""
    df = outcomes.reindex(paths.index).assign(path=paths.to_numpy())
    agg: dict[str, tuple[str, str]] = {"customers": ("path", "size")}
    for c in outcomes.columns:
        agg[str(c)] = (c, "mean")
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
    lapse: TaskConfig | None = None,
) -> dict[str, float]:
    """Journey metrics the data supports (NaN when it does not, e.g. no cart events).

    * conversion rate: customers with a conversion touchpoint / customers;
    * cart-abandonment rate: customers who added to a cart and never converted afterwards /
      customers who added to a cart;
    * retention: converted customers (all customers when there are no conversion
      touchpoints) still active at the end of the log — an activity event in its last
      ``inactive_days`` days (``lapse``: that task's activity, company-sent touchpoints
      excluded; else any event) and no churn touchpoint — / those customers;
    * repeat-purchase rate: converted customers with 2+ conversions / converted customers;
    * value per customer: total ``value`` (every event) / customers.
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
    who = n_conv.index if len(conversion_touchpoints) else pd.Index(ev[CUSTOMER_ID].unique())
    if len(who):
        end = ev[TIMESTAMP].max()
        act = ev
        if lapse is not None:
            stage = ev[STAGE].to_numpy(object) if STAGE in ev.columns else np.full(len(ev), None)
            attrs = {c: ev[c].to_numpy(object) for c in ev.columns}
            act = ev[lapse.activity_mask(tp.to_numpy(object), stage, attrs)]
        last = act.groupby(CUSTOMER_ID)[TIMESTAMP].max().reindex(who)
        churned = set(ev.loc[tp.isin(list(churn_touchpoints)), CUSTOMER_ID])
        active = (last >= end - pd.Timedelta(days=inactive_days)) & ~who.isin(churned)
        out["retention"] = float(np.mean(active))
    else:
        out["retention"] = float("nan")
    out["repeat_purchase_rate"] = float((n_conv >= 2).mean()) if len(n_conv) else float("nan")
    if VALUE in ev.columns and ev[VALUE].notna().any():
        out["value_per_customer"] = float(ev[VALUE].fillna(0).sum() / n)
    return out


def task_metrics(
    events: pd.DataFrame, tasks: Sequence[TaskConfig]
) -> tuple[dict[str, float], dict[str, str]]:
    """Journey metrics through the tasks' own definitions, and a note per metric saying what
    it counts (or why it is not shown):

    * conversion rate: the first ``occurs`` task's outcome touchpoints; when nearly every
      journey *starts* with one (a log of purchases), there is no conversion to measure and the
      note says so;
    * retention: among converted customers (all customers without a conversion task), the
      share that has not lapsed as the first ``lapses`` task defines it at the end of the log:
      no churn event, and activity (company-sent touchpoints excluded) in its last horizon;
    * repeat-purchase rate, cart-abandonment rate (when the log has a cart touchpoint);
    * value per customer: the whole mapped ``value`` column over customers.
    """
    conv = next((t for t in tasks if t.kind == "occurs" and t.outcome.touchpoints), None)
    lapse = next((t for t in tasks if t.kind == "lapses"), None)
    conv_tps = conv.outcome.touchpoints if conv is not None else ()
    carts = tuple(
        sorted(
            {str(x) for x in events[TOUCHPOINT].unique() if "cart" in str(x).lower()}
            - set(conv_tps)
        )
    )
    m = journey_metrics(
        events,
        conversion_touchpoints=conv_tps,
        churn_touchpoints=lapse.churn.touchpoints if lapse is not None else (),
        cart_touchpoints=carts,
        inactive_days=(lapse.horizon_days or 30.0) if lapse is not None else 30.0,
        lapse=lapse,
    )
    notes: dict[str, str] = {}
    n = int(m.get("customers", 0))
    if conv is None:
        for k in ("conversion_rate", "repeat_purchase_rate"):
            m.pop(k, None)
    else:
        what = ", ".join(conv_tps)
        notes["conversion_rate"] = f"customers with {what}"
        first = events.sort_values(TIMESTAMP, kind="stable").groupby(CUSTOMER_ID).head(1)
        starts = float(first[TOUCHPOINT].astype(str).isin(conv_tps).mean()) if n else 0.0
        if starts >= 0.95:
            m["conversion_rate"] = float("nan")
            notes["conversion_rate"] = (
                f"{starts:.0%} of journeys start with {what}: no conversion to measure"
            )
        notes["repeat_purchase_rate"] = f"converted customers with {what} at least twice"
    if lapse is None:
        m.pop("retention", None)
    else:
        who = "converted customers" if conv is not None else "customers"
        notes["retention"] = (
            f"{who} not lapsed at the end of the log ({lapse.name}: "
            + (f"no {', '.join(lapse.churn.touchpoints)}; " if lapse.churn.touchpoints else "")
            + (
                f"activity ({lapse.activity_text()}) in the last {lapse.horizon_days:g} days)"
                if lapse.inactivity
                else "no activity rule)"
            )
        )
    if not carts:
        m.pop("cart_abandonment_rate", None)
    if "value_per_customer" in m:
        notes["value_per_customer"] = "the mapped value column, summed over all events"
    return m, notes
