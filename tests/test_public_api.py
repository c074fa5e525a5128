"""The library API: ``import journeyml`` gives the public names, loaded only when used."""

from __future__ import annotations

import doctest
import inspect
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import journeyml
from journeyml import toy

PUBLIC = [n for n in journeyml.__all__ if n != "__version__"]


@pytest.mark.parametrize("name", PUBLIC)
def test_every_public_name_resolves_to_its_wing(name: str) -> None:
    value = getattr(journeyml, name)
    module = journeyml._EXPORTS[name]
    assert value is getattr(__import__(module, fromlist=[name]), name)
    assert value.__doc__, f"{name} has no docstring"


def test_import_is_lazy_and_unknown_names_fail_clearly() -> None:
    code = "import sys, journeyml; print('mlflow' in sys.modules, 'lightgbm' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = journeyml.nope  # type: ignore[attr-defined]
    assert "Predictor" in dir(journeyml)


def examples_of(obj: object, name: str) -> list[doctest.Example]:
    """The ``>>>`` examples of ``obj``'s own docstring (not of its methods)."""
    finder = doctest.DocTestFinder(recurse=False)
    return [
        ex for test in finder.find(obj, name, module=inspect.getmodule(obj)) for ex in test.examples
    ]


@pytest.mark.parametrize(
    "name", PUBLIC + [f"toy.{n}" for n in toy.__all__ if callable(getattr(toy, n))]
)
def test_every_public_name_has_a_docstring_example(name: str) -> None:
    obj = getattr(toy, name[4:]) if name.startswith("toy.") else getattr(journeyml, name)
    examples = examples_of(obj, name)
    assert examples, (
        f"expected a >>> example in the docstring of journeyml.{name}, found none. Add one that "
        "runs in a second on journeyml.toy's journeys (it runs as a doctest in make test)."
    )
    assert any(name.split(".")[-1] in ex.source for ex in examples), (
        f"the examples of journeyml.{name} never call it"
    )


def test_make_test_runs_the_docstring_examples() -> None:
    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    options = tomllib.loads(pyproject.read_text())["tool"]["pytest"]["ini_options"]
    assert "--doctest-modules" in options["addopts"].split()
    assert "src/journeyml" in options["testpaths"]
