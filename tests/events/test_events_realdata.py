"""Every shipped mapping on its real log from the shared data folder, against SOURCE.md counts."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd
import pytest

from journeyml.events.mapping import LoadResult, load_events

pytestmark = pytest.mark.realdata

NOW = pd.Timestamp("2025-01-01", tz="UTC")


@cache
def strict_load(path: Path, name: str) -> LoadResult:
    """Each real log is read once per session (the BPIC 2013 XES takes seconds)."""
    return load_events(path, name, policy="strict", now=NOW)


# mapping, file (relative to the shared data folder), events, customers, touchpoints, first day
CASES = [
    ("helpdesk", "helpdesk-full/Helpdesk.xes.gz", 21_348, 4_580, 14, "2010-01-13"),
    ("helpdesk", "helpdesk-full/Helpdesk.events.csv.gz", 21_348, 4_580, 14, "2010-01-13"),
    (
        "bpic2013-incidents",
        "bpic2013-incidents/bpi_challenge_2013_incidents.xes.gz",
        65_533,
        7_554,
        13,
        "2010-03-31",
    ),
    (
        "bpic2013-incidents",
        "bpic2013-incidents/bpi_challenge_2013_incidents.events.csv.gz",
        65_533,
        7_554,
        13,
        "2010-03-31",
    ),
    ("tax-helpdesk", "tax2017/helpdesk.csv.gz", 13_710, 3_804, 9, "2010-01-13"),
    ("tax-bpi13-incidents", "tax2017/bpi_13_incidents.csv.gz", 65_533, 7_554, 13, "2010-03-31"),
    ("tax-env-permit", "tax2017/env_permit.csv.gz", 38_944, 937, 381, "2010-10-04"),
    ("cdnow-master", "cdnow/CDNOW_master.txt.gz", 69_659, 23_570, 1, "1997-01-01"),
    ("cdnow-sample", "cdnow/CDNOW_sample.txt.gz", 6_919, 2_357, 1, "1997-01-01"),
    (
        "attribution",
        "attribution-kaggle-subset/attribution_data_subset.csv.gz",
        62_483,
        7_896,
        2,
        "2018-07-01",
    ),
]


@pytest.mark.parametrize(
    ("name", "file", "events", "customers", "touchpoints", "first_day"),
    CASES,
    ids=[f"{c[0]}:{Path(c[1]).name}" for c in CASES],
)
def test_builtin_mapping_loads_real_log_strictly(
    shared_data: Path,
    name: str,
    file: str,
    events: int,
    customers: int,
    touchpoints: int,
    first_day: str,
) -> None:
    result = strict_load(shared_data / file, name)
    rep = result.report
    assert (rep.n_input, rep.n_accepted, rep.n_rejected) == (events, events, 0)
    assert rep.n_customers == customers
    assert rep.n_touchpoints == touchpoints
    assert rep.unmapped_touchpoints == {}
    assert rep.time_min is not None and str(rep.time_min.date()) == first_day
    assert str(result.events["timestamp"].dtype) == "datetime64[ns, UTC]"


def test_bpic2013_xes_equals_flattened_csv(shared_data: Path) -> None:
    folder = shared_data / "bpic2013-incidents"
    xes = strict_load(folder / "bpi_challenge_2013_incidents.xes.gz", "bpic2013-incidents")
    csv = strict_load(folder / "bpi_challenge_2013_incidents.events.csv.gz", "bpic2013-incidents")
    pd.testing.assert_frame_equal(xes.events, csv.events)
    assert xes.events["touchpoint"].value_counts()["Accepted|In Progress"] == 30_239
    assert xes.report.inconsistent_customer_attributes == {}


def test_tax_bpi13_times_match_the_xes(shared_data: Path) -> None:
    """The Tax file's naive times, read as UTC+10, are the XES times truncated to the minute."""
    tax = strict_load(shared_data / "tax2017/bpi_13_incidents.csv.gz", "tax-bpi13-incidents")
    full = strict_load(
        shared_data / "bpic2013-incidents/bpi_challenge_2013_incidents.events.csv.gz",
        "bpic2013-incidents",
    )
    first_tax = tax.events.groupby("customer_id")["timestamp"].min()
    first_full = full.events.groupby("customer_id")["timestamp"].min().dt.floor("min")
    assert (first_tax == first_full.reindex(first_tax.index)).all()


def test_attribution_conversions(shared_data: Path) -> None:
    ev = strict_load(
        shared_data / "attribution-kaggle-subset/attribution_data_subset.csv.gz", "attribution"
    ).events
    conv = ev[ev["touchpoint"] == "conversion"]
    assert len(conv) == 1_838
    assert conv["customer_id"].nunique() == 1_642
    assert ev["value"].sum() == pytest.approx(11_423.5)
    assert ev["channel"].nunique() == 5
    assert set(ev["stage"]) == {"awareness", "conversion"}


def test_cdnow_duplicates_are_reported_when_rejected(shared_data: Path) -> None:
    from journeyml.events.mapping import builtin_mapping

    mapping = builtin_mapping("cdnow-master").model_copy(update={"duplicates": "reject"})
    rep = load_events(shared_data / "cdnow/CDNOW_master.txt.gz", mapping, policy="lenient").report
    assert rep.rejects_by_reason == {"duplicate_event": 255}
    assert rep.n_accepted + rep.n_rejected == 69_659
