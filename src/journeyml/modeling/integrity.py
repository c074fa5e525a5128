"""Model files are checked before LightGBM sees them.

Training writes ``checksums.json`` (SHA-256 and size of every file) into each bundle;
loading verifies the bytes it is about to parse against it. A bundle without checksums (made
before they existed) is parsed once in a child process first, so that a file LightGBM aborts
on (C++ ``terminate``) ends the child, not the caller.

>>> import tempfile
>>> d = Path(tempfile.mkdtemp())
>>> _ = (d / "model.txt").write_text("tree")
>>> write_checksums(d, ["model.txt"])["files"]["model.txt"]["bytes"]
4
>>> verified_bytes(d, "model.txt") == b"tree"
True
>>> _ = (d / "model.txt").write_text("TREE")
>>> verified_bytes(d, "model.txt")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
journeyml.errors.ModelIntegrityError: expected .../model.txt to have SHA-256 ...
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from journeyml.errors import ModelIntegrityError

CHECKSUM_FILE = "checksums.json"
#: seconds a child process may take to parse one model file
PARSE_TIMEOUT = 120


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_checksums(folder: Path, names: Iterable[str]) -> dict[str, Any]:
    """Write ``checksums.json`` for the files ``names`` of ``folder``; returns its content."""
    files = {}
    for name in names:
        data = (folder / name).read_bytes()
        files[name] = {"sha256": sha256(data), "bytes": len(data)}
    doc = {"algorithm": "sha256", "files": files}
    (folder / CHECKSUM_FILE).write_text(json.dumps(doc, indent=1, sort_keys=True))
    return doc


def has_checksums(folder: Path) -> bool:
    return (folder / CHECKSUM_FILE).exists()


def _expected(folder: Path, name: str) -> dict[str, Any]:
    path = folder / CHECKSUM_FILE
    try:
        doc = json.loads(path.read_text())
        entry = doc["files"][name]
        if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
            raise TypeError
        return entry
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelIntegrityError(
            f"expected {path} to list the SHA-256 of {name}, got an unreadable or incomplete "
            f"file ({type(exc).__name__}). Re-export or retrain the model.",
            field=str(path),
        ) from exc


def verified_bytes(folder: Path, name: str) -> bytes:
    """The bytes of ``folder/name``, checked against ``checksums.json`` (which must exist)."""
    entry = _expected(folder, name)
    path = folder / name
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelIntegrityError(
            f"expected the model file {path}, got {type(exc).__name__}: {exc.strerror}. "
            "Re-export or retrain the model.",
            field=str(path),
        ) from exc
    got = sha256(data)
    if got != entry["sha256"]:
        size = int(entry.get("bytes", -1))
        how = "truncated" if len(data) < size else "edited" if len(data) == size else "changed"
        raise ModelIntegrityError(
            f"expected {path} to have SHA-256 {entry['sha256'][:16]}… ({size} bytes) as written "
            f"at training, got {got[:16]}… ({len(data)} bytes): the file was {how}. Re-export "
            "or retrain the model; never edit model files by hand.",
            field=str(path),
        )
    return data


def parse_in_child(path: Path) -> None:
    """Let LightGBM parse ``path`` in a child process; a parse error or an abort becomes a
    :class:`ModelIntegrityError` naming the file, and the caller survives."""
    code = "import sys, lightgbm; lightgbm.Booster(model_file=sys.argv[1]).num_feature()"
    try:
        r = subprocess.run(
            [sys.executable, "-c", code, str(path)],
            capture_output=True,
            text=True,
            timeout=PARSE_TIMEOUT,
        )
    except subprocess.TimeoutExpired as exc:
        raise ModelIntegrityError(
            f"expected LightGBM to parse {path} within {PARSE_TIMEOUT}s, got no answer.",
            field=str(path),
        ) from exc
    if r.returncode != 0:
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        why = next(
            (ln for ln in reversed(lines) if "rror" in ln or "terminate" in ln),
            lines[-1] if lines else f"exit code {r.returncode}",
        )
        raise ModelIntegrityError(
            f"expected a LightGBM model in {path}, got a file LightGBM cannot parse "
            f"({why.strip()[:200]}). Re-export or retrain the model.",
            field=str(path),
        )
