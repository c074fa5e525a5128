"""The walkthrough (docs/your-own-log.md) runs as written: every ``journeyml`` command of its
end-to-end sections, on a slice of the same log laid out where the commands expect it
(``../shared/data/...`` from the working directory). ``journeyml serve`` is left out (the
service has its own tests)."""

from __future__ import annotations

import gzip
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from journeyml.cli import app

pytestmark = [pytest.mark.integration, pytest.mark.realdata]

DOC = Path(__file__).resolve().parents[1] / "docs" / "your-own-log.md"
#: customers of the CDNOW slice (whole journeys)
SLICE_CUSTOMERS = 800


def section_commands(name: str) -> list[str]:
    """The ``journeyml`` lines of the bash blocks of the section marked ``walkthrough: name``."""
    text = DOC.read_text()
    start = text.index(f"<!-- walkthrough: {name}")
    end = text.find("\n## ", start)
    body = text[start : end if end > 0 else len(text)]
    blocks = re.findall(r"```bash\n(.*?)```", body, re.S)
    return [
        line.strip()
        for block in blocks
        for line in block.splitlines()
        if line.startswith("journeyml ") and not line.startswith("journeyml serve")
    ]


def cdnow_slice(source: Path, out: Path, n: int) -> None:
    """The first ``n`` customers of CDNOW master, same format (whitespace text, gzip)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(source, "rt") as fh:
        lines = fh.read().splitlines()
    keep = [lines[0]]
    seen: set[str] = set()
    for line in lines[1:]:
        cid = line.split()[0]
        if cid not in seen and len(seen) >= n:
            continue
        seen.add(cid)
        keep.append(line)
    with gzip.open(out, "wt") as fh:
        fh.write("\n".join(keep) + "\n")


def test_the_cdnow_walkthrough_runs_as_written(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commands = section_commands("cdnow")
    assert [c.split()[1] for c in commands] == ["init", "validate", "train", "score", "report"]
    cdnow_slice(
        shared_data / "cdnow" / "CDNOW_master.txt.gz",
        tmp_path / "shared" / "data" / "cdnow" / "CDNOW_master.txt.gz",
        SLICE_CUSTOMERS,
    )
    repo = tmp_path / "repo"
    repo.mkdir()
    monkeypatch.chdir(repo)
    monkeypatch.setenv("JOURNEYML_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    for command in commands:
        res = CliRunner().invoke(app, shlex.split(command)[1:])
        assert res.exit_code == 0, f"{command}\n{res.output}"
    assert (repo / "cdnow" / "scores.csv").read_text().count("\n") == SLICE_CUSTOMERS + 1
    assert "<svg" in (repo / "cdnow" / "report.html").read_text()
