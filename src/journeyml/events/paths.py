"""Paths named inside files: a relative path resolves against the folder of the file that
names it (a pipeline config's ``data.path``, ``data.mapping`` and ``tasks.*.defaults``; a
benchmark config's ``data.path``), never against the working directory. On the command line,
the file that names a path is the command, so there it is the working directory.

>>> str(resolve_named_path("data/log.csv", base="/srv/project/pipelines", key="data.path",
...                        must_exist=False))
'/srv/project/pipelines/data/log.csv'
>>> resolve_mapping_ref("helpdesk", base="/nowhere", key="data.mapping")
'helpdesk'
>>> resolve_mapping_ref(None, base="/nowhere", key="data.mapping") is None
True
"""

from __future__ import annotations

from pathlib import Path

from journeyml.errors import ConfigError
from journeyml.events.mapping import CANONICAL, is_canonical_ref, list_builtin_mappings

RULE = "relative paths resolve against the folder of the file that names them"


def resolve_named_path(
    value: str | Path, *, base: str | Path, key: str, must_exist: bool = True
) -> Path:
    """``value`` as named by ``key`` in a file in folder ``base``; absolute paths stay.

    With ``must_exist``, a missing file is a :class:`ConfigError` that says which key named
    it and where it was looked for.
    """
    given = Path(value).expanduser()
    full = given if given.is_absolute() else Path(base) / given
    if must_exist and not full.exists():
        raise ConfigError(
            f"expected the file {key} names ({str(value)!r}) at {full}, found nothing there "
            f"({RULE}: {Path(base).resolve()}). Fix {key} or move the file.",
            field=key,
        )
    return full


def _names_a_file(value: str) -> bool:
    return value.endswith((".yaml", ".yml")) or "/" in value or "\\" in value


def resolve_mapping_ref(value: str | None, *, base: str | Path, key: str) -> str | Path | None:
    """What a ``mapping:`` key in a file means: ``None`` for canonical columns (key left out or
    ``canonical``), a path to a YAML file (resolved against ``base``), or a built-in name.

    A value ending in ``.yaml``/``.yml`` or containing a ``/`` is a file and must exist; any
    other value is a built-in name, or a file of that name in ``base``.
    """
    if is_canonical_ref(value):
        return None
    assert value is not None
    if _names_a_file(value):
        return resolve_named_path(value, base=base, key=key)
    local = Path(base) / value
    if local.is_file():
        return local
    names = list_builtin_mappings()
    if value in names:
        return value
    raise ConfigError(
        f"expected {key} to be a mapping file (*.yaml), {CANONICAL!r} or a built-in mapping "
        f"({', '.join(names)}), got {value!r}: no such built-in, and no file {local} ({RULE}).",
        field=key,
    )
