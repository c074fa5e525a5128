"""``journeyml serve`` as a process (issue 15): a refusal to start is one line and exit code 3
(never 0), SIGTERM reaches the server and no process outlives the command."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from journey_servers import free_port
from journeyml.modeling import MODEL_FILE
from journeyml.serving import EXIT_REFUSED

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("bento")]
REPO = Path(__file__).resolve().parents[2]
JOURNEYML = [sys.executable, "-m", "journeyml.cli"]


def _serve(uri: str, port: int, env_extra: dict[str, str], **kw: Any) -> subprocess.Popen[str]:
    env = {**os.environ, "BENTOML_DO_NOT_TRACK": "true", **env_extra}
    cmd = [*JOURNEYML, "serve", "--tracking-uri", uri, "--port", str(port)]
    cmd += ["--service-dir", str(REPO / "service")]
    return subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw
    )


def test_bad_setting_refuses_with_exit_3(trained_store: Any) -> None:
    p = _serve(trained_store[0], free_port(), {"JOURNEYML_MAX_BATCH": "many"})
    out, _ = p.communicate(timeout=120)
    assert p.returncode == EXIT_REFUSED, out
    assert "JOURNEYML_MAX_BATCH" in out and "Traceback" not in out


def test_damaged_champion_refuses_with_one_line_and_exit_3(
    trained_store: Any, predictor: Any, tmp_path: Path
) -> None:
    uri = trained_store[0]
    root = Path(uri.removeprefix("sqlite:///")).parent
    stored = sorted(root.rglob(MODEL_FILE))
    target = stored[0]
    backup = tmp_path / "backup.txt"
    shutil.copy(target, backup)
    try:
        target.write_bytes(target.read_bytes()[:-50])
        bundled = predictor.save(tmp_path / "bundled")  # present, and still not used
        p = _serve(uri, free_port(), {"JOURNEYML_MODEL_DIR": str(bundled)})
        out, _ = p.communicate(timeout=240)
    finally:
        shutil.copy(backup, target)
    assert p.returncode == EXIT_REFUSED, out[-3000:]
    lines = [ln for ln in out.splitlines() if "refusing to start" in ln]
    assert lines and "model_integrity" in lines[-1] and "version" in lines[-1], out[-3000:]
    assert "model.txt" in lines[-1]


def test_sigterm_stops_the_server_and_its_children(trained_store: Any, tmp_path: Path) -> None:
    port = free_port()
    p = _serve(trained_store[0], port, {"TMPDIR": str(tmp_path)})
    url = f"http://127.0.0.1:{port}/readyz"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert p.poll() is None, p.stdout.read() if p.stdout else ""
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    else:
        p.kill()
        pytest.fail("server not ready")
    family = psutil.Process(p.pid).children(recursive=True)
    assert family, "the server runs as a child of journeyml serve"
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=60) == 0
    _gone, alive = psutil.wait_procs(family, timeout=30)
    assert not alive, [a.cmdline() for a in alive]
    with pytest.raises(httpx.HTTPError):
        httpx.get(url, timeout=2)
    left = [x.name for x in tmp_path.iterdir() if x.name.startswith("journeyml")]
    assert left == []
