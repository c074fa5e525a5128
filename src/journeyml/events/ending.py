"""Touchpoints that end a customer's journey, told by what follows them, not by their names.

A cancellation has a shape of its own in a journey log, whatever the business calls it
(``cancellation``, ``port_out``, ``close_account``, ``offboarded``): a customer does it once,
and then does nothing more of their own, for far longer than their usual pauses (messages the
company sends may go on arriving). :func:`ending_touchpoints` reads that from the log alone. A
touchpoint is **ending** when, among the customers who have it (at least :data:`MIN_CUSTOMERS`):

* at least :data:`MIN_ONCE` of them have it exactly once;
* for at least :data:`MIN_LAST` of them it is their last event of their own;
* and those customers have been silent since for a median of at least :data:`MIN_QUIET`
  times the log's median pause between a customer's consecutive events of their own (an event
  that merely falls near the log's end is last without ending anything).

Company-sent touchpoints (``sent``) are not the customer's own activity: they neither count as
events after the touchpoint nor are judged. The name lexicon
(:func:`journeyml.events.lexicon.touchpoint_role`) stays the other signal; ``journeyml init``
shows which one flagged each touchpoint, with this evidence.

>>> import pandas as pd
>>> rows = [("c%d" % i, "2024-01-%02d" % d, "app_login") for i in range(30) for d in range(1, 9)]
>>> rows += [("c%d" % i, "2024-01-09", "port_out") for i in range(20)]
>>> rows += [("c%d" % i, "2024-03-30", "app_login") for i in range(20, 30)]
>>> ev = pd.DataFrame(rows, columns=["customer_id", "timestamp", "touchpoint"])
>>> ev["timestamp"] = pd.to_datetime(ev["timestamp"], utc=True)
>>> found = ending_touchpoints(ev)
>>> list(found), found["port_out"].last, found["port_out"].quiet_days
(['port_out'], 1.0, 81.0)
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from journeyml.events.schema import CUSTOMER_ID, TIMESTAMP, TOUCHPOINT
from journeyml.events.timestamps import nanoseconds

#: customers who must have a touchpoint for it to be judged
MIN_CUSTOMERS: Final = 20
#: the share of them who have it exactly once
MIN_ONCE: Final = 0.9
#: the share of them for whom it is the last event of their own
MIN_LAST: Final = 0.75
#: their median silence since, in the log's median pauses between own events
MIN_QUIET: Final = 4.0

_DAY_NS: Final = 86_400_000_000_000


@dataclass(frozen=True)
class Ending:
    """The evidence that a touchpoint ends journeys: of ``customers`` who have it, the share
    who have it once (``once``) and for whom it is the last own event (``last``), and their
    median silence since, in days (``quiet_days``) and in median pauses (``quiet_pauses``)."""

    customers: int
    once: float
    last: float
    quiet_days: float
    quiet_pauses: float

    def evidence(self) -> str:
        """One line for ``journeyml init``."""
        return (
            f"ends journeys: {self.last:.0%} of the {self.customers:,} customers with it did "
            f"nothing of their own after it (silent a median of {self.quiet_days:.0f} days, "
            f"{self.quiet_pauses:.0f}× their usual pause)"
        )


def ending_touchpoints(events: pd.DataFrame, sent: Collection[str] = ()) -> dict[str, Ending]:
    """The touchpoints of ``events`` that look like the end of a journey (see the module),
    with their evidence; ``sent``: company-sent touchpoints (not the customer's own)."""
    own = events[~events[TOUCHPOINT].astype(str).isin(set(sent))]
    if own.empty:
        return {}
    ids = own[CUSTOMER_ID].astype(str).to_numpy()
    ns = nanoseconds(own[TIMESTAMP])
    tps = own[TOUCHPOINT].astype(str).to_numpy()
    order = np.lexsort((ns, ids))
    ids, ns, tps = ids[order], ns[order], tps[order]
    new = np.r_[True, ids[1:] != ids[:-1]]
    is_last = np.r_[new[1:], True]
    gaps = np.diff(ns)[~new[1:]]
    pause = float(np.median(gaps[gaps > 0])) if (gaps > 0).any() else 0.0
    end = int(nanoseconds(events[TIMESTAMP]).max())
    frame = pd.DataFrame({"c": ids, "t": tps, "last": is_last, "quiet": end - ns})
    per = frame.groupby(["t", "c"], sort=False).agg(n=("last", "size"), last=("last", "any"))
    # each touchpoint's median silence after it, over the customers whose last own event it is
    quiet = frame[is_last].groupby("t", sort=False)["quiet"].median()
    found: dict[str, Ending] = {}
    for tp, grp in per.groupby(level="t", sort=False):
        n = len(grp)
        if n < MIN_CUSTOMERS:
            continue
        once = float((grp["n"] == 1).mean())
        last = float(grp["last"].mean())
        if once < MIN_ONCE or last < MIN_LAST:
            continue
        quiet_ns = float(quiet[tp])
        pauses = quiet_ns / pause if pause > 0 else float("inf")
        if pauses < MIN_QUIET:
            continue
        found[str(tp)] = Ending(n, once, last, quiet_ns / _DAY_NS, pauses)
    return found
