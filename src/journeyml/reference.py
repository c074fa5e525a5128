"""Generate ``docs/reference.md``, every key of the pipeline config, the mapping and the
benchmark config, from the pydantic models themselves, so the page cannot drift from the code.

For each key: its type, its default, and its description, taken from ``Field(description=...)``,
else from a ``#:`` comment above the field or a ``# ...`` comment after it, else (for a
section) from the section class's docstring. A test fails when the page is out of date::

    python -m journeyml.reference            # rewrite docs/reference.md
    python -m journeyml.reference --check    # exit 1 if it is out of date

>>> from journeyml.lifecycle import DataConfig
>>> rows = model_rows(DataConfig, "data.")
>>> keys = [r.key for r in rows]
>>> keys[0], "data.simulate.customers" in keys, "data.simulate.seed" in keys
('data.simulate', True, True)
>>> next(r for r in rows if r.key == "data.policy").type
'strict | lenient'
"""

from __future__ import annotations

import argparse
import ast
import inspect
import sys
import textwrap
import types
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from journeyml.bench import BenchmarkConfig
from journeyml.events import ColumnSource, EventMapping, yaml_scalar
from journeyml.lifecycle import PipelineConfig

DEFAULT_PAGE = Path("docs/reference.md")
REGENERATE = "python -m journeyml.reference"
NO_DESCRIPTION = "*(no description yet)*"


@dataclass(frozen=True)
class Row:
    """One key of a config file."""

    key: str
    type: str
    default: str
    description: str


@dataclass(frozen=True)
class Section:
    title: str
    intro: str
    model: type[BaseModel]


SECTIONS = (
    Section(
        "Pipeline config",
        "A training pipeline (`pipelines/*.yaml`), run by `journeyml train CONFIG`; "
        "`journeyml init LOG` proposes one for a log.",
        PipelineConfig,
    ),
    Section(
        "Mapping",
        "How a log's columns become the canonical events (`--mapping FILE`, `data.mapping`); "
        "`journeyml init LOG` proposes one, and files with the canonical columns need none.",
        EventMapping,
    ),
    Section(
        "Benchmark config",
        "A published-benchmark protocol on a real log (`pipelines/benchmarks/*.yaml`), run "
        "by `journeyml benchmark CONFIG --out FILE`.",
        BenchmarkConfig,
    ),
)


# --- descriptions ----------------------------------------------------------------------------
def _first_paragraph(doc: str | None) -> str:
    if not doc:
        return ""
    text = inspect.cleandoc(doc).split("\n\n")[0]
    return " ".join(text.split())


def comments(model: type[BaseModel]) -> dict[str, str]:
    """Field name → the ``#:`` comment above it or the ``#`` comment after it, in the class
    source (where older fields keep their descriptions)."""
    try:
        source = textwrap.dedent(inspect.getsource(model))
    except (OSError, TypeError):
        return {}
    lines = source.splitlines()
    out: dict[str, str] = {}
    for node in ast.parse(source).body[0].body:  # type: ignore[attr-defined]
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        above: list[str] = []
        i = node.lineno - 2
        while i >= 0 and lines[i].strip().startswith("#:"):
            above.insert(0, lines[i].strip()[2:].strip())
            i -= 1
        after = ""
        last = lines[node.end_lineno - 1] if node.end_lineno else ""
        if "  # " in last:
            after = last.split("  # ", 1)[1].strip()
        text = " ".join(above) or after
        if text:
            out[node.target.id] = text
    return out


def _description(model: type[BaseModel], name: str, info: FieldInfo) -> str:
    if info.description:
        return " ".join(info.description.split())
    found = comments(model).get(name)
    if found:
        return found
    nested = _model_of(info.annotation) or _item_model(info.annotation)
    if nested is not None:
        return _first_paragraph(nested.__doc__)
    return ""


def _item_model(annotation: Any) -> type[BaseModel] | None:
    """The section model of each item of a mapping or list field (``tasks``, ``published``)."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is dict and len(args) == 2:
        return _model_of(args[1])
    if origin in (list, tuple) and args:
        return _model_of(args[0])
    return None


# --- types and defaults ----------------------------------------------------------------------
def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The section model a field holds (``X``, ``X | None``), if any."""
    candidates = [annotation, *get_args(annotation)] if _is_union(annotation) else [annotation]
    for c in candidates:
        if isinstance(c, type) and issubclass(c, BaseModel) and c is not ColumnSource:
            return c
    return None


def _is_union(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, types.UnionType)


def type_name(annotation: Any) -> str:
    """A reader's name for a field's type.

    >>> type_name(tuple[float, ...]), type_name(Literal["a", "b"] | None), type_name(bool)
    ('list of number', 'a | b', 'true/false')
    """
    if _is_union(annotation):
        parts = [type_name(a) for a in get_args(annotation) if a is not type(None)]
        return " or ".join(parts)
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is Literal:
        return " | ".join(str(a) for a in args)
    if origin in (list, tuple):
        if args and _model_of(args[0]) is not None:
            return "list of sections"
        return f"list of {type_name(args[0])}" if args else "list"
    if origin is dict:
        value = args[1] if len(args) == 2 else Any
        nested = _model_of(value)
        if nested is not None:
            return "mapping of name → section"  # its keys follow as <key>.<name>.*
        return f"mapping of name → {type_name(value)}" if value is not Any else "mapping"
    if annotation is ColumnSource:
        return "column"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "section"
    names = {str: "text", int: "integer", float: "number", bool: "true/false", datetime: "time"}
    if annotation in names:
        return names[annotation]
    if annotation is Any:
        return "any"
    return getattr(annotation, "__name__", str(annotation))


def default_text(info: FieldInfo) -> str:
    """The default as YAML, ``required``, or ``—`` (a section or nothing)."""
    if info.is_required():
        return "required"
    factory = info.default_factory
    value = info.default if factory is None else factory()  # type: ignore[call-arg]
    if value is None or value is PydanticUndefined:
        return "—"
    if isinstance(value, BaseModel):
        return "—"
    if isinstance(value, tuple):
        value = list(value)
    return f"`{yaml_scalar(value)}`"


# --- rows ---------------------------------------------------------------------------------------
def model_rows(model: type[BaseModel], prefix: str = "") -> list[Row]:
    """Every key of ``model``, sections followed by their own keys (``data.simulate.seed``)."""
    rows: list[Row] = []
    for name, info in model.model_fields.items():
        key = f"{prefix}{name}"
        rows.append(
            Row(
                key=key,
                type=type_name(info.annotation),
                default=default_text(info),
                description=_description(model, name, info) or NO_DESCRIPTION,
            )
        )
        nested = _model_of(info.annotation)
        item = _item_model(info.annotation)
        if nested is not None:
            rows.extend(model_rows(nested, f"{key}."))
        elif item is not None:
            each = ".<name>." if get_origin(info.annotation) is dict else "[]."
            rows.extend(model_rows(item, f"{key}{each}"))
    return rows


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render() -> str:
    """The whole reference page (Markdown)."""
    out = [
        "# Configuration reference",
        "",
        f"<!-- generated from the pydantic models by `{REGENERATE}`: do not edit by hand -->",
        "",
        "Every key of the files journeyml reads, generated from the code that reads them. "
        "Unknown keys are errors that name the file and the key. Relative paths in a file "
        "resolve against the folder of the file that names them.",
        "",
        "A **column** (in a mapping) is a source column name, `{constant: text}` (the same "
        'text on every event) or `{join: [col_a, col_b], sep: "|"}` (columns joined).',
        "",
    ]
    for section in SECTIONS:
        out += [f"## {section.title}", "", section.intro, ""]
        doc = _first_paragraph(section.model.__doc__)
        if doc:
            out += [doc, ""]
        out += ["| key | type | default | description |", "|---|---|---|---|"]
        for row in model_rows(section.model):
            out.append(
                f"| `{row.key}` | {_cell(row.type)} | {_cell(row.default)} | "
                f"{_cell(row.description)} |"
            )
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Write the page, or with ``--check`` say whether it is current (exit 1 if not)."""
    parser = argparse.ArgumentParser(prog="python -m journeyml.reference", description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_PAGE, help="the page to write")
    parser.add_argument("--check", action="store_true", help="only check it is current")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is out of date: regenerate with `{REGENERATE}`", file=sys.stderr)
            return 1
        print(f"{args.out} is current")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
