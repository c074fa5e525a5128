"""Locate the shared folder of real event logs used by examples and ``realdata`` tests.

>>> import os
>>> os.environ.get("JOURNEYML_SHARED_DATA") is None or shared_data_dir() is not None
True
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "JOURNEYML_SHARED_DATA"


def shared_data_dir(start: str | Path | None = None) -> Path | None:
    """The shared data folder, or ``None`` when there is none.

    ``$JOURNEYML_SHARED_DATA`` wins when it names a folder; otherwise the first existing
    ``<dir>/../shared/data`` (or ``<dir>/shared/data``) walking up from ``start`` (default: the
    working directory). This reads the environment, so call it at entry points and in tests.
    """
    env = os.environ.get(ENV_VAR)
    if env:
        path = Path(env).expanduser()
        return path if path.is_dir() else None
    here = Path(start) if start is not None else Path.cwd()
    for folder in (here.resolve(), *here.resolve().parents):
        for candidate in (folder.parent / "shared" / "data", folder / "shared" / "data"):
            if candidate.is_dir():
                return candidate
    return None
