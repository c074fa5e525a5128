"""Relative paths resolve against the folder of the file that names them; a missing file says
which key named it and where it was looked for."""

from __future__ import annotations

from pathlib import Path

import pytest

from journeyml.errors import ConfigError
from journeyml.events import resolve_mapping_ref, resolve_named_path


def test_relative_paths_resolve_against_the_naming_files_folder(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "log.csv").write_text("x\n")
    got = resolve_named_path("data/log.csv", base=tmp_path, key="data.path")
    assert got == tmp_path / "data" / "log.csv"
    absolute = tmp_path / "data" / "log.csv"
    assert resolve_named_path(absolute, base="/elsewhere", key="data.path") == absolute


def test_a_missing_file_names_the_key_and_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        resolve_named_path("../logs/missing.csv", base=tmp_path / "pipelines", key="data.path")
    message = info.value.message
    assert "data.path" in message and "'../logs/missing.csv'" in message
    assert str(tmp_path / "pipelines" / ".." / "logs" / "missing.csv") in message
    assert "folder of the file that names them" in message and info.value.field == "data.path"


def test_mapping_references(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text("columns: {}\n")
    (tmp_path / "plain").write_text("columns: {}\n")
    assert resolve_mapping_ref(None, base=tmp_path, key="data.mapping") is None
    assert resolve_mapping_ref("canonical", base=tmp_path, key="data.mapping") is None
    assert resolve_mapping_ref("m.yaml", base=tmp_path, key="data.mapping") == tmp_path / "m.yaml"
    assert resolve_mapping_ref("plain", base=tmp_path, key="data.mapping") == tmp_path / "plain"
    assert resolve_mapping_ref("helpdesk", base=tmp_path, key="data.mapping") == "helpdesk"


@pytest.mark.parametrize(
    ("value", "expected"), [("maps/none.yaml", "maps/none.yaml"), ("nosuch", "built-in")]
)
def test_a_mapping_reference_that_leads_nowhere(tmp_path: Path, value: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        resolve_mapping_ref(value, base=tmp_path, key="data.mapping")
    assert "data.mapping" in info.value.message and expected in info.value.message
    assert str(tmp_path) in info.value.message
