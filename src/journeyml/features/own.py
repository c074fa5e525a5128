"""What a touchpoint count "should" be, learned at fit time: the customer's own touchpoints by
their share of the own events, company-sent ones by the company's schedule.

A customer's own touchpoints make up their activity: for a given volume of own events, a
touchpoint's count is expected to be its share of them (``FeatureSpec.touchpoint_share``). What
the company sends does not follow the customer's activity but the company's schedule: a
campaign e-mail every nine days reaches a customer in proportion to how long they have been
around. Its expected count is its **rate**, events per customer-day since first contact
(``FeatureSpec.sent_rate``), times the days since first contact in the window. Explanations
read both (:mod:`journeyml.explain.allocation`) to tell volume and tenure from a touchpoint's
own signal.

>>> import pandas as pd
>>> from dataclasses import replace
>>> from journeyml.features.arrays import encode_frame
>>> from journeyml.features.spec import FeatureParams, FeatureSpec
>>> ev = pd.DataFrame({"customer_id": ["a"] * 4 + ["b"] * 2,
...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-06", "2024-01-11",
...                                  "2024-01-06", "2024-01-11"], utc=True),
...     "touchpoint": ["login", "mail", "login", "mail", "mail", "login"]})
>>> spec = FeatureSpec(FeatureParams(), ("login", "mail"), (), (), (), company_sent=("mail",))
>>> share, rate = shares_and_rates(spec, encode_frame(ev, spec))
>>> share, rate  # 3 mails over 10 + 5 customer-days; logins are all the own events
((1.0, 0.0, 0.0), (0.0, 0.2, 0.0))
>>> shares_and_rates(replace(spec, company_sent=()), encode_frame(ev, spec))[0]
(0.5, 0.5, 0.0)
"""

from __future__ import annotations

import numpy as np

from journeyml.features.arrays import NS_PER_DAY, EventArrays
from journeyml.features.context import sent_codes
from journeyml.features.spec import FeatureSpec


def shares_and_rates(
    spec: FeatureSpec, arr: EventArrays
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(each touchpoint's share of the own events, each company-sent touchpoint's events per
    customer-day from the customer's first event to the last event of the training data), over
    the touchpoint vocabulary with "other"; rounded to 6 digits (they are stored in the spec).
    Without ``spec.company_sent`` every event is the customer's own and the rates are 0."""
    n_tp = len(spec.vocabulary("touchpoint"))
    tp = arr.touchpoint
    sent = np.isin(tp, sent_codes(spec))
    known = tp[(tp >= 0) & ~sent]
    share = np.bincount(known, minlength=n_tp)[:n_tp] / max(len(known), 1)
    rate = np.zeros(n_tp)
    if sent.any():
        firsts = arr.ts[arr.offsets[:-1][np.diff(arr.offsets) > 0]]
        customer_days = float(
            ((int(arr.ts.max()) - firsts) / NS_PER_DAY).sum()
        )  # no int64 overflow
        per_tp = np.bincount(tp[sent], minlength=n_tp)[:n_tp]
        rate = per_tp / max(customer_days, 1.0)
    return tuple(round(float(v), 6) for v in share), tuple(round(float(v), 6) for v in rate)
