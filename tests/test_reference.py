"""docs/reference.md is generated from the pydantic models and must be current."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from journeyml.bench import BenchmarkConfig
from journeyml.events import EventMapping
from journeyml.lifecycle import PipelineConfig
from journeyml.reference import NO_DESCRIPTION, REGENERATE, main, model_rows, render

PAGE = Path(__file__).resolve().parents[1] / "docs" / "reference.md"


def test_the_reference_page_is_current() -> None:
    assert PAGE.read_text(encoding="utf-8") == render(), (
        f"docs/reference.md is out of date: regenerate with `{REGENERATE}`"
    )


def _keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    return {r.key for r in model_rows(model, prefix)}


def test_every_key_of_the_three_files_is_documented() -> None:
    text = render()
    for model in (PipelineConfig, EventMapping, BenchmarkConfig):
        for name in model.model_fields:
            assert f"| `{name}` |" in text, name
    keys = _keys(PipelineConfig)
    assert {"data.path", "data.mapping", "data.simulate.seed", "tasks.<name>.defaults"} <= keys
    assert {"reader.separator", "columns.touchpoint", "outcomes.churn_touchpoints"} <= _keys(
        EventMapping
    )
    assert "published[].value" in _keys(BenchmarkConfig)
    undocumented = [
        r.key
        for model in (PipelineConfig, EventMapping, BenchmarkConfig)
        for r in model_rows(model)
        if r.description == NO_DESCRIPTION
    ]
    assert not undocumented, f"keys without a description: {undocumented}"


def test_a_new_key_appears_with_its_description_type_and_default() -> None:
    class Extra(BaseModel):
        """A section someone adds later."""

        #: described by a comment
        commented: int = 3
        described: list[str] = Field(default_factory=lambda: ["a"], description="Said here.")
        bare: bool | None = None

    rows = {r.key: r for r in model_rows(Extra, "extra.")}
    assert (rows["extra.commented"].type, rows["extra.commented"].default) == ("integer", "`3`")
    assert rows["extra.commented"].description == "described by a comment"
    assert rows["extra.described"].description == "Said here."
    assert rows["extra.described"].default == "`[a]`"
    assert rows["extra.bare"].description == NO_DESCRIPTION


def test_check_mode_says_how_to_regenerate(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    stale = tmp_path / "reference.md"
    stale.write_text("old\n")
    assert main(["--out", str(stale), "--check"]) == 1
    assert REGENERATE in capsys.readouterr().err
    assert main(["--out", str(stale)]) == 0 and main(["--out", str(stale), "--check"]) == 0
