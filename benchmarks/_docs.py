"""Writing one benchmark's section of docs/benchmarks.md (between its own markers), leaving the
other scripts' sections as they are."""

from __future__ import annotations

import os
import platform
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
HEADER = (
    "# Benchmarks\n\nMeasured figures of journeyml's parts. Each section is written by its own "
    "script in `benchmarks/`; rerun the script to refresh it.\n"
)


def write_section(name: str, text: str, doc: Path = DOC) -> None:
    """Replace the text between ``<!-- BEGIN name -->`` and ``<!-- END name -->`` (appended if
    absent); the file is re-read right before writing."""
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    block = f"{begin}\n{text.rstrip()}\n{end}"
    doc.parent.mkdir(parents=True, exist_ok=True)
    current = doc.read_text() if doc.exists() else HEADER
    if begin in current and end in current:
        head, rest = current.split(begin, 1)
        _, tail = rest.split(end, 1)
        current = head + block + tail
    else:
        current = current.rstrip("\n") + "\n\n" + block + "\n"
    doc.write_text(current)


def machine(*versions: str) -> str:
    """The machine a figure was measured on: cores, memory, OS, Python, then ``versions``
    (e.g. ``"numpy 2.4.6"``)."""
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return ", ".join(
        [
            f"{os.cpu_count()} cores",
            f"{mem_gb:.0f} GB RAM",
            f"{platform.system()} {platform.machine()}",
            f"Python {platform.python_version()}",
            *versions,
        ]
    )
