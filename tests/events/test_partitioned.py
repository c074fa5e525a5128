"""The partitioned event dataset: every customer in exactly one partition, whatever chunks
the events arrive in; unpartitioned or altered input refused with the fix."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from journeyml.errors import DataError
from journeyml.events import (
    PartitionWriter,
    open_partitioned,
    partition_of,
    read_partition,
    repartition,
    write_partitioned,
)
from journeyml.sim import simulate


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return simulate(400, seed=2, days=60).events


def _parts(path: Path) -> list[pd.DataFrame]:
    ds = open_partitioned(path)
    return [read_partition(ds, i) for i in range(ds.n_partitions)]


def _key(ev: pd.DataFrame) -> pd.DataFrame:
    ev = ev.assign(customer_id=ev["customer_id"].astype(str))
    return ev.sort_values(["customer_id", "timestamp", "touchpoint"]).reset_index(drop=True)


def test_chunks_in_any_order_keep_each_customer_in_one_partition(
    events: pd.DataFrame, tmp_path: Path
) -> None:
    shuffled = events.sample(frac=1.0, random_state=0)
    with PartitionWriter(tmp_path / "ds", 5) as w:
        for i in range(0, len(shuffled), 1000):  # a customer's events spread over chunks
            w.write(shuffled.iloc[i : i + 1000])
    parts = _parts(tmp_path / "ds")
    assert len(parts) == 5 and all(len(p) for p in parts)
    owners = pd.concat(
        [pd.Series(p["customer_id"].astype(str).unique()) for p in parts], ignore_index=True
    )
    assert owners.is_unique  # no customer in two partitions
    assert owners.nunique() == events["customer_id"].nunique()
    back = _key(pd.concat(parts, ignore_index=True))
    pd.testing.assert_frame_equal(back, _key(events), check_dtype=False, check_categorical=False)


def test_repartition_of_a_plain_parquet_folder(events: pd.DataFrame, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    half = len(events) // 2  # two files, customers split between them
    events.iloc[:half].to_parquet(plain / "a.parquet", index=False)
    events.iloc[half:].to_parquet(plain / "b.parquet", index=False)
    with pytest.raises(DataError, match="repartition") as exc:
        open_partitioned(plain)
    assert exc.value.field == "path"
    ds = repartition(plain, tmp_path / "ds", 3, batch_rows=700)
    parts = [read_partition(ds, i) for i in range(3)]
    for i, p in enumerate(parts):
        assert (partition_of(p["customer_id"], 3) == i).all()
    assert sum(len(p) for p in parts) == len(events)


def test_a_file_changed_after_partitioning_is_refused(events: pd.DataFrame, tmp_path: Path) -> None:
    ds = write_partitioned(events, tmp_path / "ds", 2)
    other = read_partition(ds, 1)
    pd.concat([read_partition(ds, 0), other.iloc[:5]]).to_parquet(ds.file(0), index=False)
    with pytest.raises(DataError, match="partition 0"):
        read_partition(ds, 0)


def test_bad_sizes_and_folders_are_refused(events: pd.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="n_partitions"):
        PartitionWriter(tmp_path / "x", 0)
    ds = write_partitioned(events, tmp_path / "ds", 2)
    with pytest.raises(DataError, match="empty or new folder"):
        PartitionWriter(ds.path, 2)
    ds.file(1).unlink()
    with pytest.raises(DataError, match="missing"):
        open_partitioned(ds.path)
