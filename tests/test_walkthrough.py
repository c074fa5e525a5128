"""The walkthrough (docs/your-own-log.md) runs as written: every ``journeyml`` command of its
end-to-end sections (CDNOW, then BPIC 2013 incidents), taken from the page itself, on a slice of
the same log laid out where the commands expect it (``../shared/data/...`` from the working
directory). Both sections share one model store, as on the page (the BPIC commands name their
project because the store then holds two). Each section ends as the page does: its
``journeyml serve`` line is started for real (on a free port instead of 3000) and asked the
page's ``curl`` request."""

from __future__ import annotations

import gzip
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from threadpoolctl import threadpool_limits
from typer.testing import CliRunner

from journey_servers import free_port, stop_server, wait_until_ready
from journeyml.cli import app

pytestmark = [pytest.mark.integration, pytest.mark.realdata, pytest.mark.xdist_group("walk")]

DOC = Path(__file__).resolve().parents[1] / "docs" / "your-own-log.md"
#: customers of the CDNOW slice (whole journeys)
SLICE_CUSTOMERS = 400
#: cases of the BPIC slice (whole cases, spread over the log's two years)
SLICE_CASES = 200
CDNOW = Path("cdnow") / "CDNOW_master.txt.gz"
BPIC = Path("bpic2013-incidents") / "bpi_challenge_2013_incidents.xes.gz"


def section_blocks(name: str) -> list[str]:
    """The bash blocks of the section marked ``walkthrough: name``."""
    text = DOC.read_text()
    start = text.index(f"<!-- walkthrough: {name}")
    end = text.find("\n## ", start)
    body = text[start : end if end > 0 else len(text)]
    return re.findall(r"```bash\n(.*?)```", body, re.S)


def section_commands(name: str) -> list[str]:
    """The ``journeyml`` lines of the section but ``journeyml serve`` (see :func:`served`)."""
    return [
        line.strip()
        for block in section_blocks(name)
        for line in block.splitlines()
        if line.startswith("journeyml ") and not line.startswith("journeyml serve")
    ]


def served(name: str, repo: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Start the section's ``journeyml serve`` line from ``repo`` (on a free port) and send it
    the body of the page's ``curl``; the request and the answer."""
    [block] = [b for b in section_blocks(name) if "journeyml serve" in b]
    command = next(line for line in block.splitlines() if line.startswith("journeyml serve"))
    request = json.loads(re.search(r"-d '(.*)'", block, re.S).group(1))  # type: ignore[union-attr]
    if not (repo / "service").exists():  # the page runs from the repository root
        (repo / "service").symlink_to(DOC.parents[1] / "service", target_is_directory=True)
    port = free_port()
    args = shlex.split(command.replace("--port 3000", f"--port {port}"))[1:]
    exe = Path(sys.executable).with_name("journeyml")
    log = repo / f"serve-{name}.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(exe), *args],
            cwd=repo,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_ready(proc, url, log, timeout=180)
        res = httpx.post(f"{url}/predict", json=request, timeout=60)
        assert res.status_code == 200, res.text
        return request, res.json()
    finally:
        stop_server(proc)


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


def xes_slice(source: Path, out: Path, n: int) -> int:
    """``n`` whole traces of an XES log, every k-th so that they span the log's time, with the
    log's header (its attributes and metadata) unchanged; gzip like the source. Returns the
    number of traces kept."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(source, "rt") as fh:
        text = fh.read()
    head, sep, rest = text.partition("<trace>")
    assert sep, f"{source} holds no <trace>"
    traces = [t.split("</trace>", 1)[0] for t in rest.split("<trace>")]
    kept = traces[:: max(1, len(traces) // n)][:n]
    with gzip.open(out, "wt") as fh:
        fh.write(head + "".join(f"<trace>{t}</trace>\n" for t in kept) + "</log>\n")
    return len(kept)


@pytest.fixture(scope="module")
def walk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder laid out like the page expects: ``repo/`` (the working directory) beside
    ``shared/data/`` (the slices); one model store for both sections."""
    return tmp_path_factory.mktemp("walk")


def run_section(name: str, walk: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run the section's commands from ``walk/repo``; return that folder."""
    repo = walk / "repo"
    repo.mkdir(exist_ok=True)
    monkeypatch.chdir(repo)
    monkeypatch.setenv("JOURNEYML_TRACKING_URI", f"sqlite:///{walk / 'mlflow.db'}")
    # one BLAS thread: the logistic baselines' small matrices gain nothing from more, and on
    # the shared 2-core machine two spinning BLAS threads per worker tripled this test's CPU time
    with threadpool_limits(limits=1, user_api="blas"):
        for command in section_commands(name):
            res = CliRunner().invoke(app, shlex.split(command)[1:])
            assert res.exit_code == 0, f"{command}\n{res.output}"
    return repo


def source(shared_data: Path, log: Path) -> Path:
    path = shared_data / log
    if not path.exists():
        pytest.skip(f"{path} not found: the walkthrough runs on that log of ../shared/data")
    return path


def test_the_cdnow_walkthrough_runs_as_written(
    shared_data: Path, walk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commands = section_commands("cdnow")
    assert [c.split()[1] for c in commands] == ["init", "validate", "train", "score", "report"]
    cdnow_slice(source(shared_data, CDNOW), walk / "shared" / "data" / CDNOW, SLICE_CUSTOMERS)
    repo = run_section("cdnow", walk, monkeypatch)
    assert (repo / "cdnow" / "scores.csv").read_text().count("\n") == SLICE_CUSTOMERS + 1
    assert "<svg" in (repo / "cdnow" / "report.html").read_text()
    request, answer = served("cdnow", repo)
    assert answer["n_events_used"] == len(request["events"])
    tasks = set(answer["model_versions"])
    assert tasks and tasks <= {"conversion", "churn"}
    for task in tasks:  # each served task: a probability explained by root causes
        assert 0 < answer[task]["probability"] < 1 and answer[task]["root_causes"]


def test_the_bpic_walkthrough_runs_as_written(
    shared_data: Path, walk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commands = section_commands("bpic")
    assert [c.split()[1] for c in commands] == ["init", "validate", "train", "score", "report"]
    n = xes_slice(source(shared_data, BPIC), walk / "shared" / "data" / BPIC, SLICE_CASES)
    repo = run_section("bpic", walk, monkeypatch)
    config = (repo / "bpic" / "pipeline.yaml").read_text()
    assert "mode: at_each_event" in config  # init saw a process log: prefixes of cases
    lines = (repo / "bpic" / "scores.jsonl").read_text().splitlines()
    assert len(lines) == n  # one line per case
    first = json.loads(lines[0])
    assert set(first["model_versions"]) == {"next_stage"}
    assert first["next_stage"]["predicted"] in first["next_stage"]["distribution"]
    assert "<svg" in (repo / "bpic" / "report.html").read_text()
    request, answer = served("bpic", repo)
    assert answer["n_events_used"] == len(request["events"])
    assert answer["next_stage"]["predicted"] in answer["next_stage"]["distribution"]
