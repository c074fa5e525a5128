"""``validate_command``: a summary on success; messages, never tracebacks, on failure."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console

from journeyml.events.validate_cli import validate_command

NOW = pd.Timestamp("2024-06-01", tz="UTC").to_pydatetime()
MAPPING = """
columns: {customer_id: cid, timestamp: ts, touchpoint: tp}
stage_map: {visit: consideration}
"""


def run(tmp_path: Path, log: str, mapping: str = MAPPING, **kw: object) -> tuple[int, str]:
    (tmp_path / "log.csv").write_text(log)
    (tmp_path / "m.yaml").write_text(mapping)
    console = Console(record=True, width=200)
    code = validate_command(
        tmp_path / "log.csv",
        kw.pop("mapping_arg", str(tmp_path / "m.yaml")),  # type: ignore[arg-type]
        kw.pop("policy", "strict"),  # type: ignore[arg-type]
        kw.pop("rejects", None),  # type: ignore[arg-type]
        now=NOW,
        console=console,
    )
    return code, console.export_text()


def test_ok_prints_summary(tmp_path: Path) -> None:
    code, out = run(tmp_path, "cid,ts,tp\na,2024-01-01,visit\nb,2024-01-02,chat\n")
    assert code == 0
    for text in ("customers", "time span", "events by stage", "events by channel", "chat"):
        assert text in out


def test_strict_violation_exits_1_with_message(tmp_path: Path) -> None:
    code, out = run(tmp_path, "cid,ts,tp\na,2024-01-01,visit\n,2024-01-02,visit\n")
    assert code == 1
    assert "missing_customer_id" in out and "first rows [1]" in out
    assert "Traceback" not in out


def test_lenient_writes_rejects(tmp_path: Path) -> None:
    rejects = tmp_path / "rejects.csv"
    code, out = run(
        tmp_path,
        "cid,ts,tp\na,2024-01-01,visit\n,2024-01-02,visit\n",
        policy="lenient",
        rejects=rejects,
    )
    assert code == 0 and "rejects by reason" in out and rejects.exists()


@pytest.mark.parametrize(
    ("mapping", "mapping_arg", "expected"),
    [
        (MAPPING + "bogus: 1\n", None, "'bogus'"),
        (MAPPING, "no-such-builtin", "built-in mapping name"),
    ],
)
def test_bad_mapping_exits_2(
    tmp_path: Path, mapping: str, mapping_arg: str | None, expected: str
) -> None:
    kw = {} if mapping_arg is None else {"mapping_arg": mapping_arg}
    code, out = run(tmp_path, "cid,ts,tp\na,2024-01-01,visit\n", mapping, **kw)
    assert code == 2 and expected in out and "Traceback" not in out


def test_unreadable_file_exits_2(tmp_path: Path) -> None:
    console = Console(record=True, width=200)
    code = validate_command(tmp_path / "nope.csv", "cdnow-master", "strict", None, console=console)
    assert code == 2 and "nope.csv" in console.export_text()


def test_bad_policy_exits_2(tmp_path: Path) -> None:
    code, out = run(tmp_path, "cid,ts,tp\na,2024-01-01,visit\n", policy="sloppy")
    assert code == 2 and "sloppy" in out


def test_typer_command_wired(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from journeyml.cli import app

    (tmp_path / "log.csv").write_text("cid,ts,tp\na,2024-01-01,visit\n,2024-01-02,visit\n")
    (tmp_path / "m.yaml").write_text(MAPPING)
    args = ["validate", str(tmp_path / "log.csv"), "--mapping", str(tmp_path / "m.yaml")]
    assert CliRunner().invoke(app, args).exit_code == 1
    ok = CliRunner().invoke(app, [*args, "--policy", "lenient"])
    assert ok.exit_code == 0, ok.output


def test_validate_reports_each_stage_with_counts_to_its_end(tmp_path: Path) -> None:
    from journeyml.progress import Progress, ProgressUpdate

    (tmp_path / "log.csv").write_text("cid,ts,tp\na,2024-01-01,visit\nb,2024-01-02,chat\n")
    (tmp_path / "m.yaml").write_text(MAPPING)
    seen: list[ProgressUpdate] = []
    code = validate_command(
        tmp_path / "log.csv",
        str(tmp_path / "m.yaml"),
        "strict",
        None,
        now=NOW,
        console=Console(record=True),
        progress=Progress(seen.append),
    )
    assert code == 0
    ends = {u.stage: u for u in seen if u.finished}
    assert list(ends) == ["reading", "mapping", "validating", "sorting"]
    assert all(not u.failed for u in ends.values())
    assert ends["reading"].unit == "bytes" and ends["reading"].done == len(
        (tmp_path / "log.csv").read_bytes()
    )
    assert (ends["validating"].done, ends["validating"].total) == (2, 2)  # rows
