"""``journeyml init`` on every file of the shared data folder: each event log gets a proposed
mapping that loads it strictly (every row accepted) and a pipeline config that validates; the
files that are not event logs are said to be so."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from journeyml.errors import DataError
from journeyml.events import (
    detect_format,
    inspect_frame,
    inspect_log,
    load_mapping,
    map_events,
    mapping_yaml,
    read_raw,
    shared_data_dir,
)
from journeyml.events.inspect import _reader_for
from journeyml.events.readers import SUFFIX_FORMATS
from journeyml.lifecycle import PipelineConfig
from journeyml.lifecycle.proposal import pipeline_yaml

pytestmark = pytest.mark.realdata

HERE = Path(__file__).resolve().parent
ROOT = shared_data_dir(HERE)

# file → (events, journeys or cases, id column, touchpoint source, conversion guesses)
EXPECTED = {
    "helpdesk-full/Helpdesk.xes.gz": (21_348, "cases", "case:concept:name", "concept:name"),
    "helpdesk-full/Helpdesk.events.csv.gz": (21_348, "cases", "case:concept:name", "concept:name"),
    "bpic2013-incidents/bpi_challenge_2013_incidents.xes.gz": (
        65_533, "cases", "case:concept:name", "concept:name|lifecycle:transition",
    ),
    "bpic2013-incidents/bpi_challenge_2013_incidents.events.csv.gz": (
        65_533, "cases", "case:concept:name", "concept:name|lifecycle:transition",
    ),
    "tax2017/helpdesk.csv.gz": (13_710, "cases", "CaseID", "ActivityID"),
    "tax2017/bpi_13_incidents.csv.gz": (65_533, "cases", "CaseID", "ActivityID"),
    "tax2017/env_permit.csv.gz": (38_944, "cases", "CaseID", "ActivityID"),
    "cdnow/CDNOW_master.txt.gz": (69_659, "journeys", "customer_id", "constant purchase"),
    "cdnow/CDNOW_sample.txt.gz": (6_919, "journeys", "column_1", "constant purchase"),
    "attribution-kaggle-subset/attribution_data_subset.csv.gz": (
        62_483, "journeys", "customer_id", "interaction",
    ),
}  # fmt: skip
#: files in the folder that are not event logs (a per-customer summary, a code table)
NOT_LOGS = {"cdnow/cdnow_customers_summary.csv.gz", "tax2017/activity_map.csv"}


def _files() -> list[str]:
    if ROOT is None:
        return sorted(EXPECTED)  # skipped below by the shared_data fixture
    found = []
    for path in sorted(ROOT.rglob("*")):
        suffixes = [s for s in path.suffixes if s != ".gz"]
        if path.is_file() and suffixes and suffixes[-1] in SUFFIX_FORMATS:
            found.append(str(path.relative_to(ROOT)))
    return found


def _touchpoint(found) -> str:  # type: ignore[no-untyped-def]
    src = found.mapping.columns.touchpoint
    if src.constant is not None:
        return f"constant {src.constant}"
    return src.column or "|".join(src.join)


def test_every_file_is_classified() -> None:
    if ROOT is None:
        pytest.skip("shared data folder not found")
    assert set(_files()) == set(EXPECTED) | NOT_LOGS, "a new file: say what init should make of it"


@pytest.mark.parametrize("name", _files())
def test_init_proposes_a_mapping_that_loads_the_log_strictly(
    shared_data: Path, tmp_path: Path, name: str
) -> None:
    path = shared_data / name
    if name in NOT_LOGS:
        with pytest.raises(DataError, match="expected a column"):
            inspect_log(path)
        return
    events, kind, id_column, touchpoint = EXPECTED[name]
    # read once (an XES log takes seconds to parse): what `journeyml init` reads and inspects
    fmt = detect_format(path)
    reader, note = _reader_for(path, fmt)
    raw = read_raw(path, reader)
    found = inspect_frame(raw, source=str(path), fmt=fmt, reader=reader, reader_note=note)
    assert (found.shape.kind, found.mapping.columns.customer_id.column) == (kind, id_column)
    assert _touchpoint(found) == touchpoint
    mapping = tmp_path / "proposed.yaml"
    mapping.write_text(mapping_yaml(found, name="proposed"))
    # what `journeyml validate` runs, on the rows already read: the mapping reads the file
    # with the reader options init sniffed, then maps and validates every row
    proposed = load_mapping(mapping)
    assert proposed.reader == reader
    loaded = map_events(raw, proposed, policy="strict", source=str(path))
    assert (loaded.report.n_input, loaded.report.n_accepted) == (events, events)
    text = pipeline_yaml(found, name="p", data_path=str(path), mapping=str(mapping))
    config = PipelineConfig.model_validate(yaml.safe_load(text))
    # churn where customers come back after converting (CDNOW), not where they convert once
    # and are only shown ads (the attribution sample)
    once = "attribution" in str(path)
    expected_tasks = (
        {"next_stage"}
        if kind == "cases"
        else {"conversion", "churn"} - ({"churn"} if once else set())
    )
    assert expected_tasks <= set(config.tasks)
    assert ("churn" in config.tasks) == (kind != "cases" and not once)
