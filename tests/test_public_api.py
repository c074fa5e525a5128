"""The library API: ``import journeyml`` gives the public names, loaded only when used."""

from __future__ import annotations

import subprocess
import sys

import pytest

import journeyml


@pytest.mark.parametrize("name", [n for n in journeyml.__all__ if n != "__version__"])
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
