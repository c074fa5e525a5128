"""Training from a customer-partitioned dataset (``data.path`` naming its folder), one
partition in memory at a time, gives what training from the log file gives.

The partitioned path reads rows partition by partition, so its rows come grouped by partition;
the file's come in customer order. LightGBM's bin sample and bagging, and the float sums of
histograms and linear fits, follow row order, so the two agree bit for bit only when the
orders agree. Here the customer ids are chosen so that they do (each id starts with its own
partition's number): then every booster, metric, baseline and test prediction must be equal.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from journeyml.errors import ConfigError, DataError
from journeyml.events import load_events, partition_of, write_partitioned
from journeyml.lifecycle import PipelineConfig, PipelineResult, run_training
from journeyml.sim import simulate

PARTS = 3


def _partition_sorted_ids(ids: np.ndarray) -> dict[str, str]:
    """A new id for each customer, in partition ``k`` by the hash and starting with ``k``:
    sorting the ids then groups them by partition."""
    out: dict[str, str] = {}
    for c in ids:
        target = int(partition_of([c], PARTS)[0])
        k = 0
        while int(partition_of([f"{target}-{c}-{k}"], PARTS)[0]) != target:
            k += 1
        out[str(c)] = f"{target}-{c}-{k}"
    return out


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A simulated log as a parquet file, and its loaded events partitioned by customer."""
    folder = tmp_path_factory.mktemp("partitioned")
    ev = simulate(200, seed=11, days=240).events
    ev["customer_id"] = ev["customer_id"].map(_partition_sorted_ids(ev["customer_id"].unique()))
    ev = ev.sample(frac=1.0, random_state=0)  # the file's row order does not matter
    ev.to_parquet(folder / "log.parquet", index=False)
    loaded = load_events(folder / "log.parquet", None, policy="lenient").events
    write_partitioned(loaded, folder / "parts", PARTS)
    return folder / "log.parquet", folder / "parts"


def _config(path: Path) -> dict[str, Any]:
    return {
        "name": "parts",
        "data": {"path": str(path)},
        "features": {"windows_days": [7], "attributes": ["segment"]},
        "snapshots": {"mode": "every_n_days", "every_days": 7},
        "tasks": {
            "conversion": {"kind": "occurs", "horizon_days": 14, "outcome": ["purchase"]},
            "next_stage": {"kind": "next", "horizon_days": 14, "target": "stage"},
        },
        "num_boost_round": 15,
        "lightgbm": {"num_threads": 1},
    }


def _train(path: Path, store: Path) -> tuple[PipelineResult, list[str]]:
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    said: list[str] = []
    res = run_training(
        PipelineConfig.model_validate(_config(path)),
        tracking_uri=f"sqlite:///{store}",
        progress=said.append,
    )
    return res, said


def test_training_from_the_partitioned_copy_equals_training_from_the_file(
    logs: tuple[Path, Path], tmp_path: Path
) -> None:
    file, parts = logs
    whole, said_whole = _train(file, tmp_path / "file.db")
    split, said_parts = _train(parts, tmp_path / "parts.db")
    assert "3 partitions, read one at a time" in said_parts[0]
    # the same events, customers and cutoffs are found
    assert said_parts[0].split(" from ")[0] == said_whole[0].split(" from ")[0]
    assert split.spec.fingerprint == whole.spec.fingerprint  # the same vocabularies
    assert split.results.keys() == whole.results.keys()
    for task, a in whole.results.items():
        b = split.results[task]
        assert b.bundle.booster.model_to_string() == a.bundle.booster.model_to_string(), task
        assert b.metrics == a.metrics, task
        assert b.baselines == a.baselines, task
        assert b.segment_metrics == a.segment_metrics, task
        assert b.counts == a.counts, task
        assert a.test_predictions is not None and b.test_predictions is not None
        assert np.array_equal(b.test_predictions, a.test_predictions), task
    # every cutoff is labelled, and the gate decides, as from the file
    assert [d.promote for d in split.decisions] == [d.promote for d in whole.decisions]


def test_partitioned_cutoffs_and_labels_are_the_files_for_any_ids(tmp_path: Path) -> None:
    """With ordinary ids the rows come in another order, but they are the same cutoffs with
    the same labels (each depends on one customer's events only)."""
    from journeyml.lifecycle.partitioned import open_training_data, prepare_partitioned
    from journeyml.lifecycle.pipeline import load_data, prepare_tasks

    ev = simulate(120, seed=4, days=240).events
    ev.to_parquet(tmp_path / "log.parquet", index=False)
    config = PipelineConfig.model_validate(_config(tmp_path / "log.parquet"))
    data = load_data(config)
    write_partitioned(data.events, tmp_path / "parts", 4)
    _, cutoffs, prepared = prepare_tasks(config, data)
    pt = prepare_partitioned(config, open_training_data(config, tmp_path / "parts"))
    for task, p in prepared.items():
        a = pd.concat([cutoffs[p.mode], p.labels], axis=1)
        b = pd.concat([pt.cutoff_sets[p.mode], pt.prepared[task].labels], axis=1)
        key = ["customer_id", "as_of"]
        a, b = (x.sort_values(key).reset_index(drop=True) for x in (a, b))
        pd.testing.assert_frame_equal(a, b)
        assert pt.prepared[task].split.valid_start == p.split.valid_start
        assert pt.prepared[task].split.test_start == p.split.test_start
    assert not (np.diff(pt.partitions["snapshot"]) < 0).any()  # grouped by partition


def test_a_partitioned_dataset_with_a_missing_file_is_refused(
    logs: tuple[Path, Path], tmp_path: Path
) -> None:
    import shutil

    _, parts = logs
    broken = tmp_path / "broken"
    shutil.copytree(parts, broken)
    (broken / "part-00001.parquet").unlink()
    with pytest.raises(DataError, match="expected 3 partition files") as e:
        run_training(
            PipelineConfig.model_validate(_config(broken)),
            tracking_uri=f"sqlite:///{tmp_path / 'm.db'}",
        )
    assert e.value.field == "path"


def test_the_dask_engine_is_refused_with_a_partitioned_dataset(
    logs: tuple[Path, Path], tmp_path: Path
) -> None:
    _, parts = logs
    with pytest.raises(ConfigError, match="expected engine local") as e:
        run_training(
            PipelineConfig.model_validate(_config(parts)),
            tracking_uri=f"sqlite:///{tmp_path / 'm.db'}",
            features=lambda ev, c, spec: pd.DataFrame(),
        )
    assert e.value.field == "engine"
