"""The package layout: wings import only the wings above them, and only what a wing's
``__init__`` exports (the target layout of ``../shared/architecture.md``).

Every ``import`` in ``src/journeyml`` is read (lazy imports inside functions too).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "journeyml"

#: each wing may use only the wings of a lower rank (the order of the architecture table)
RANK = {
    "errors": 0,
    "progress": 0,
    "memory": 0,
    "events": 1,
    "sim": 2,
    "features": 3,
    "tasks": 4,
    "modeling": 5,
    "explain": 6,
    "lifecycle": 7,
    "scoring": 8,
    "store": 9,
    "engine": 12,
    "serving": 11,
    "report": 12,
    "bench": 12,
    "monitor": 12.5,
    "cli": 13,
    "cli_progress": 12,
    "demo": 13,
    "reference": 13,
    "toy": 12,
}


def _wing(path: Path) -> str | None:
    rel = path.relative_to(SRC)
    if rel.parts == ("__init__.py",):
        return None  # the package root re-exports the public API
    return rel.parts[0].removesuffix(".py")


def _exports(wing: str) -> set[str] | None:
    """``__all__`` of a wing package; None for single-module wings (any public name)."""
    init = SRC / wing / "__init__.py"
    if not init.exists():
        return None
    for node in ast.parse(init.read_text()).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            assert isinstance(node.value, ast.List)
            return {str(ast.literal_eval(e)) for e in node.value.elts}
    return set()


def _imports(path: Path) -> list[tuple[int, str, list[str]]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "journeyml" or node.module.startswith("journeyml."):
                out.append((node.lineno, node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("journeyml."):
                    out.append((node.lineno, a.name, []))
    return out


MODULES = sorted(p for p in SRC.rglob("*.py") if _wing(p) is not None)


def test_every_wing_has_a_rank() -> None:
    wings = {_wing(p) for p in MODULES}
    assert wings <= set(RANK), f"wings without a rank: {sorted(wings - set(RANK))}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_follow_the_layout(path: Path) -> None:
    own = _wing(path)
    assert own is not None
    problems = []
    for line, module, names in _imports(path):
        parts = module.split(".")
        # ``from journeyml import x``: x is a wing; else the wing and any submodule path
        targets = [(n, None) for n in names] if len(parts) == 1 else [(parts[1], parts[2:])]
        for wing, sub in targets:
            if wing == own or wing not in RANK:
                continue
            where = f"{path.relative_to(SRC)}:{line}"
            if RANK[wing] >= RANK[own]:
                problems.append(f"{where}: {own} (rank {RANK[own]}) imports {wing}")
                continue
            if sub:
                problems.append(f"{where}: imports {module}; use `from journeyml.{wing} import`")
                continue
            exported = _exports(wing)
            for n in names if len(parts) > 1 else []:
                if n.startswith("_") or (exported is not None and n not in exported):
                    problems.append(f"{where}: {n} is not exported by journeyml.{wing}")
    assert not problems, "\n".join(problems)
