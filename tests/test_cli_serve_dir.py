"""`journeyml serve` finds its service from a project folder of one's own (outside walk)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from journeyml.cli import app, find_service_dir

REPO_SERVICE = Path(__file__).resolve().parents[1] / "service"


def test_the_checkouts_service_is_found_from_another_folder(tmp_path: Path) -> None:
    assert find_service_dir(None, tmp_path) == REPO_SERVICE
    own = tmp_path / "service"
    own.mkdir()
    (own / "service.py").write_text("")
    assert find_service_dir(None, tmp_path) == own  # ./service first
    assert find_service_dir(tmp_path / "nope", tmp_path) == [tmp_path / "nope"]


def test_a_given_folder_without_a_service_names_where_it_looked(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["serve", "--service-dir", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "expected service.py in" in result.output and "nope" in result.output
