"""Real servers for tests: a BentoML service on a free loopback port (imported by conftest and
by the service tests; a module of its own so that no test imports "conftest" by name)."""

from __future__ import annotations

from pathlib import Path


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerHandle:
    """A real BentoML server started on loopback for a test; ``url`` and ``log`` (path)."""

    def __init__(self, url: str, proc, log: Path) -> None:  # type: ignore[no-untyped-def]
        self.url = url
        self.proc = proc
        self.log = log


def start_bento_server(
    env_extra: dict[str, str], log: Path, *, timeout: float = 90.0
) -> ServerHandle:
    """Start ``bentoml serve service:JourneyService`` on a free loopback port and wait for it
    to answer ``/readyz``; raises with the server log if it does not come up."""
    import os
    import subprocess

    from journeyml.serving import serve_command

    repo = Path(__file__).resolve().parent.parent
    port = free_port()
    env = {**os.environ, **env_extra, "BENTOML_DO_NOT_TRACK": "true"}
    fh = log.open("w")
    proc = subprocess.Popen(
        serve_command(repo / "service", "127.0.0.1", port),
        env=env,
        stdout=fh,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(proc, url, log, timeout)
    except RuntimeError:
        stop_server(proc)
        raise
    return ServerHandle(url, proc, log)


def wait_until_ready(proc, url: str, log: Path, timeout: float) -> None:  # type: ignore[no-untyped-def]
    """Wait for the server ``proc`` to answer ``url``/readyz; raises with the end of its
    ``log`` if it exits or is not ready within ``timeout`` seconds."""
    import time

    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"server not ready after {timeout}s:\n{log.read_text()[-3000:]}")


def stop_server(proc) -> None:  # type: ignore[no-untyped-def]
    """Stop the server and every process it started. BentoML starts each worker in a session
    of its own, so a worker the arbiter restarted (a test killed one) can outlive a group kill:
    whatever is left after the arbiter is gone is killed here, not left running after the
    tests."""
    import os
    import signal

    import psutil

    try:
        family = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        family = []
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except Exception:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)
    _, alive = psutil.wait_procs(_still_running(family), timeout=10)
    for p in alive:
        p.kill()


def _still_running(procs):  # type: ignore[no-untyped-def]
    """``procs`` that still run, with the processes they started since."""
    import psutil

    out = []
    for p in procs:
        try:
            if p.is_running():
                out.append(p)
                out += p.children(recursive=True)
        except psutil.Error:
            pass
    return out
