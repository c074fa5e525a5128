"""Touchpoints the company sends, told by *when* they arrive, not by their names.

A customer acts on their own schedule: their events spread over the hours of the day and the
days of the log. What the company sends (a campaign, a renewal batch, a newsletter) reaches many
customers at the same moment, and so do the actions it triggers at once (opening the e-mail an
hour after it was sent). :func:`sent_by_timing` reads that from the log alone:

* an hour is a **burst** of a touchpoint when at least :data:`MIN_CUSTOMERS` customers have
  the touchpoint in it *and* it holds at least half of that touchpoint's events of the day
  (a send, not a busy hour of a daily rhythm: a customer-driven touchpoint spreads its day
  over many hours, however many customers the log has);
* a touchpoint whose events are mostly in bursts (at least :data:`MIN_BURST_SHARE` of them, and
  at least :data:`MIN_EVENTS` events) looks company-sent, with its share as the evidence.

Logs whose timestamps carry no time of day (every event at midnight) cannot tell a send from a
day's activity: there the signal says nothing (:func:`has_times_of_day`). The name lexicon
(:func:`journeyml.events.lexicon.touchpoint_role`) stays the other signal; ``journeyml init``
shows which one flagged each touchpoint.

>>> import pandas as pd
>>> sends = [("c%d" % i, "2024-01-0%d 09:0%d" % (d, i % 10)) for d in (1, 8) for i in range(12)]
>>> own = [("c%d" % i, "2024-01-0%d %02d:17" % (1 + i % 8, 7 + i)) for i in range(12)]
>>> ev = pd.DataFrame(
...     [(c, pd.Timestamp(t, tz="UTC"), "promo_mail") for c, t in sends]
...     + [(c, pd.Timestamp(t, tz="UTC"), "login") for c, t in own],
...     columns=["customer_id", "timestamp", "touchpoint"])
>>> sent_by_timing(ev)
{'promo_mail': 1.0}
"""

from __future__ import annotations

from typing import Final

import pandas as pd

from journeyml.events.schema import CUSTOMER_ID, TIMESTAMP, TOUCHPOINT
from journeyml.events.timestamps import nanoseconds

#: customers who must share an hour for it to be a burst
MIN_CUSTOMERS: Final = 5
#: the share of a touchpoint's events in bursts that makes it look company-sent
MIN_BURST_SHARE: Final = 0.5
#: touchpoints with fewer events are not judged by their timing
MIN_EVENTS: Final = 20


_HOUR_NS: Final = 3_600_000_000_000
_DAY_NS: Final = 24 * _HOUR_NS


def has_times_of_day(events: pd.DataFrame) -> bool:
    """Whether the timestamps carry a time of day (not every event at midnight UTC)."""
    ns = nanoseconds(events[TIMESTAMP].dropna())
    return bool(len(ns)) and bool((ns % _DAY_NS != 0).mean() > 0.1)


def burst_shares(events: pd.DataFrame) -> pd.Series:
    """Per touchpoint: the share of its events in bursts (see the module), most bursty first."""
    ev = events[[CUSTOMER_ID, TIMESTAMP, TOUCHPOINT]].dropna()
    if ev.empty:
        return pd.Series(dtype=float)
    tp_code, tps = pd.factorize(ev[TOUCHPOINT].astype(str))
    cust = pd.factorize(ev[CUSTOMER_ID])[0]
    ns = nanoseconds(ev[TIMESTAMP])
    frame = pd.DataFrame(
        {"tp": tp_code, "customer": cust, "hour": ns // _HOUR_NS, "day": ns // _DAY_NS}
    )
    hours = frame.groupby(["tp", "hour"], sort=False).agg(
        events=("customer", "size"), customers=("customer", "nunique"), day=("day", "first")
    )
    per_day = frame.groupby(["tp", "day"], sort=False).size().rename("day_events")
    hours = hours.join(per_day, on=["tp", "day"])
    burst = (hours["customers"] >= MIN_CUSTOMERS) & (2 * hours["events"] >= hours["day_events"])
    in_bursts = hours["events"].where(burst, 0).groupby(level="tp").sum()
    total = hours["events"].groupby(level="tp").sum()
    share = (in_bursts / total).set_axis([str(tps[i]) for i in total.index])
    return share.sort_values(ascending=False)


def sent_by_timing(events: pd.DataFrame) -> dict[str, float]:
    """The touchpoints that arrive in bursts (company-sent by their timing), with the share of
    their events in bursts; empty when the timestamps carry no time of day."""
    if not has_times_of_day(events):
        return {}
    shares = burst_shares(events)
    counts = events[TOUCHPOINT].astype(str).value_counts()
    return {
        str(tp): round(float(s), 3)
        for tp, s in shares.items()
        if s >= MIN_BURST_SHARE and counts.get(tp, 0) >= MIN_EVENTS
    }


def timing_evidence(share: float) -> str:
    """The one line ``journeyml init`` shows for a touchpoint flagged by its timing."""
    return (
        f"arrives in bursts: {share:.0%} of its events reach {MIN_CUSTOMERS}+ customers in one hour"
    )


__all__ = [
    "MIN_BURST_SHARE",
    "MIN_CUSTOMERS",
    "MIN_EVENTS",
    "burst_shares",
    "has_times_of_day",
    "sent_by_timing",
    "timing_evidence",
]
