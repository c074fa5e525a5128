"""``journeyml score`` reads its events through the one loader: canonical files with no
mapping (any supported format), rows it leaves out counted and said."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from journeyml.cli import app


def test_score_a_canonical_csv_through_the_loader(
    trained_store, small_simulation, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    uri, _ = trained_store
    events = small_simulation.events
    some = events[events["customer_id"].isin(events["customer_id"].unique()[:40])]
    some = pd.concat([some, some.iloc[[0]]])  # one repeated event: left out, and said so
    data = tmp_path / "events.tsv"
    some.to_csv(data, sep="\t", index=False)
    out = tmp_path / "scores.csv"
    args = ["score", str(data), "--out", str(out), "--tracking-uri", uri, "--no-explain"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    scores = pd.read_csv(out)
    assert len(scores) == 40 and scores["customer_id"].nunique() == 40
    assert "left out" in res.output and "duplicate_event: 1" in res.output


def test_score_a_partitioned_folder_one_partition_at_a_time(
    trained_store, small_simulation, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from journeyml.events import write_partitioned

    uri, _ = trained_store
    events = small_simulation.events
    some = events[events["customer_id"].isin(events["customer_id"].unique()[:40])]
    folder = tmp_path / "events-parts"
    write_partitioned(some, folder, 3)
    out = tmp_path / "scores.jsonl"
    res = CliRunner().invoke(app, ["score", str(folder), "--out", str(out), "--tracking-uri", uri])
    assert res.exit_code == 0, res.output
    import json

    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert sorted(r["customer_id"] for r in rows) == sorted(
        some["customer_id"].astype(str).unique()
    )
    assert all(r["churn"]["root_causes"] is not None for r in rows)
