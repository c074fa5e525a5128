"""``journeyml serve`` as a well-behaved parent process.

- the server runs as a child in its own process group; SIGTERM and SIGINT sent to the parent
  are forwarded to it, the parent waits for it (and, after a grace period, kills what is left
  of its group): no orphaned server keeps answering;
- a worker that refuses to start writes its one-line reason into a file the parent named
  (``JOURNEYML_REFUSAL_FILE``); the parent prints it and exits with :data:`EXIT_REFUSED`;
- the parent's temporary folder is removed on every way out.

>>> EXIT_REFUSED
3
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType

#: the exit code of ``journeyml serve`` when the service refuses to start
EXIT_REFUSED = 3
REFUSAL_ENV = "JOURNEYML_REFUSAL_FILE"
#: seconds the server gets to stop after a forwarded signal before its group is killed
GRACE_SECONDS = 30.0


def write_refusal(path: Path | None, line: str) -> None:
    """Record why this worker refuses to start (first writer wins; best effort)."""
    if path is None:
        return
    try:
        with path.open("x") as fh:
            fh.write(line.strip() + "\n")
    except OSError:
        pass


def run_server(
    cmd: Sequence[str],
    env: Mapping[str, str],
    *,
    on_refusal: Callable[[str], None] = print,
    grace: float = GRACE_SECONDS,
) -> int:
    """Run ``cmd`` (the server) until it exits; returns the exit code ``journeyml serve``
    should end with: :data:`EXIT_REFUSED` when a worker refused to start, else the server's."""
    with tempfile.TemporaryDirectory(prefix="journeyml-serve-") as tmp:
        refusal = Path(tmp) / "refusal.txt"
        proc = subprocess.Popen(
            list(cmd), env={**env, REFUSAL_ENV: str(refusal)}, start_new_session=True
        )
        forwarded: list[int] = []

        def forward(signum: int, frame: FrameType | None) -> None:
            forwarded.append(signum)
            if proc.poll() is None:
                proc.send_signal(signum)

        old = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            code = _wait(proc, forwarded, grace)
        finally:
            for s, h in old.items():
                signal.signal(s, h)
            _kill_group(proc.pid)
        if refusal.exists():
            on_refusal(refusal.read_text().strip())
            return EXIT_REFUSED
        if forwarded and code in (0, -signal.SIGTERM, -signal.SIGINT):
            return 0  # stopped on request
        return code if code >= 0 else 128 - code


def _wait(proc: subprocess.Popen[bytes], forwarded: list[int], grace: float) -> int:
    import time

    deadline: float | None = None
    while True:
        try:
            return proc.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            pass
        if forwarded and deadline is None:
            deadline = time.monotonic() + grace
        if deadline is not None and time.monotonic() > deadline:
            _kill_group(proc.pid, signal.SIGKILL)


def _kill_group(pgid: int, sig: int = signal.SIGTERM) -> None:
    """Signal whatever is left of the server's process group (workers it failed to reap)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
