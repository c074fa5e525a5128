"""Pipeline failures (issue 15): training on a full disk or a read-only store ends with one
error line (details in a log file), exit code 2, no traceback, no MLflow run left RUNNING,
and the champions untouched. The store lives on a small tmpfs (needs root and mount)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

pytestmark = [pytest.mark.integration]

PIPELINE = {
    "name": "tiny",
    "data": {"simulate": {"customers": 400, "seed": 5, "days": 240}},
    "features": {"windows_days": [7, 30]},
    "snapshots": {"mode": "every_n_days", "every_days": 7},
    "tasks": {"churn": {"horizon_days": 30, "churn_touchpoints": ["cancellation"]}},
    "num_boost_round": 30,
    "lightgbm": {"num_threads": 1},
    "seed": 0,
}


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mnt = tmp_path / "disk"
    mnt.mkdir()
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=40m", "tmpfs", str(mnt)], capture_output=True
    )
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode()[:200]}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _train(cfg: Path, uri: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "TMPDIR": str(cwd)}
    return subprocess.run(
        [sys.executable, "-m", "journeyml.cli", "train", str(cfg), "--tracking-uri", uri],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _state(uri: str) -> tuple[dict[str, str], list[str]]:
    from mlflow import MlflowClient

    c = MlflowClient(tracking_uri=uri, registry_uri=uri)
    champs = {
        m.name: str(c.get_model_version_by_alias(m.name, "champion").version)
        for m in c.search_registered_models()
    }
    runs = [r.info.status for e in c.search_experiments() for r in c.search_runs([e.experiment_id])]
    return champs, runs


def _fill(mnt: Path, leave: int) -> Path:
    filler = mnt / "filler.bin"
    with filler.open("wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 1_048_576)
                fh.flush()
        except OSError:
            pass
    with filler.open("r+b") as fh:  # give back a little room so the run can start
        fh.truncate(max(0, filler.stat().st_size - leave))
    return filler


def _one_error_line(r: subprocess.CompletedProcess[str]) -> None:
    out = r.stdout + r.stderr
    assert r.returncode == 2, out[-3000:]
    assert "Traceback" not in out, out[-3000:]
    errors = [ln for ln in out.splitlines() if ln.startswith("error")]
    assert len(errors) == 1, out[-3000:]


def test_full_disk_and_read_only_store(small_disk: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(PIPELINE))
    uri = f"sqlite:///{small_disk / 'mlflow.db'}"
    ok = _train(cfg, uri, tmp_path)
    assert ok.returncode == 0, (ok.stdout + ok.stderr)[-3000:]
    champs, _ = _state(uri)
    assert champs

    filler = _fill(small_disk, leave=400_000)
    full = _train(cfg, uri, tmp_path)
    filler.unlink()
    _one_error_line(full)
    after, runs = _state(uri)
    assert after == champs
    assert "RUNNING" not in runs and "FAILED" in runs, runs

    view = tmp_path / "read-only"  # the same store through a read-only bind mount
    view.mkdir()
    subprocess.run(["mount", "--bind", str(small_disk), str(view)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(view)], check=True)
        ro = _train(cfg, f"sqlite:///{view / 'mlflow.db'}", tmp_path)
    finally:
        subprocess.run(["umount", "-l", str(view)], capture_output=True)
    _one_error_line(ro)
    after, runs = _state(uri)
    assert after == champs and "RUNNING" not in runs
