"""The PostgreSQL rule of the store tests: unreachable → skipped with the reason, except under
CI=true, where the run fails."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _run_one_postgres_test(ci: str) -> subprocess.CompletedProcess[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    env = {
        **os.environ,
        "CI": ci,
        "JOURNEYML_TEST_PG_URI": f"postgresql://postgres@127.0.0.1:{port}/test",
    }
    return subprocess.run(
        [sys.executable, "-m", "pytest", "tests/store/test_store_migrations.py", "-q", "-rs",
         "-p", "no:cacheprovider", "-k", "upgrade_from_empty and postgresql"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.mark.integration
def test_unreachable_postgres_skips_with_the_reason_outside_ci() -> None:
    res = _run_one_postgres_test("false")
    assert res.returncode == 0, res.stdout[-2000:]
    assert "1 skipped" in res.stdout and "PostgreSQL is unreachable" in res.stdout


@pytest.mark.integration
def test_unreachable_postgres_fails_the_run_under_ci() -> None:
    res = _run_one_postgres_test("true")
    assert res.returncode != 0, res.stdout[-2000:]
    assert "Under CI=true the PostgreSQL store tests must run" in res.stdout
    assert "skipped" not in res.stdout.splitlines()[-1]
