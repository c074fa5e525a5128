"""Model integrity (issue 15): a truncated or edited model file is refused before LightGBM
parses it, naming the file (and the champion version for the registry); bundles without
checksums are parsed in a child process, so a LightGBM abort cannot kill the caller; loading
champions leaves no temporary folders behind."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

from journeyml.errors import ModelIntegrityError
from journeyml.modeling import CHECKSUM_FILE, MODEL_FILE, ModelBundle, parse_in_child
from journeyml.scoring import Predictor
from journeyml.serving import ServiceSettings, load_predictor


def _copy(predictor: Predictor, tmp: Path) -> Path:
    return predictor.save(tmp / "bundled")


def test_training_writes_checksums_of_every_file(predictor: Predictor, tmp_path: Path) -> None:
    saved = _copy(predictor, tmp_path)
    doc = json.loads((saved / "churn" / CHECKSUM_FILE).read_text())
    assert doc["algorithm"] == "sha256"
    assert set(doc["files"]) == {"model.txt", "bundle.json"}
    size = (saved / "churn" / MODEL_FILE).stat().st_size
    assert doc["files"]["model.txt"]["bytes"] == size


def test_truncated_model_is_refused_naming_the_file(predictor: Predictor, tmp_path: Path) -> None:
    saved = _copy(predictor, tmp_path)
    model = saved / "churn" / MODEL_FILE
    model.write_bytes(model.read_bytes()[: model.stat().st_size // 2])
    with pytest.raises(ModelIntegrityError, match="truncated") as err:
        load_predictor(ServiceSettings(model_dir=saved))
    assert str(model) in err.value.message and err.value.field == str(model)


def test_same_length_edit_is_refused(predictor: Predictor, tmp_path: Path) -> None:
    """The finding: an edit that keeps the length used to load silently with wrong numbers."""
    saved = _copy(predictor, tmp_path)
    model = saved / "conversion" / MODEL_FILE
    text = model.read_text()
    i = text.index("leaf_value=") + len("leaf_value=")
    digit = "1" if text[i] != "1" else "2"
    model.write_text(text[:i] + digit + text[i + 1 :])
    assert model.stat().st_size == len(text.encode())
    with pytest.raises(ModelIntegrityError, match="edited"):
        ModelBundle.load(saved / "conversion")


def test_bundle_without_checksums_is_parsed_in_a_child(
    predictor: Predictor, tmp_path: Path
) -> None:
    """A bundle from before checksums: a damaged model file ends a child process, not this one."""
    saved = _copy(predictor, tmp_path)
    folder = saved / "churn"
    (folder / CHECKSUM_FILE).unlink()
    ModelBundle.load(folder)  # intact: loads
    model = folder / MODEL_FILE
    raw = model.read_bytes()
    model.write_bytes(raw[: len(raw) // 3])
    with pytest.raises(ModelIntegrityError, match="cannot parse") as err:
        ModelBundle.load(folder)
    assert str(model) in err.value.message
    garbage = tmp_path / "garbage.txt"
    garbage.write_bytes(b"tree\nversion=v4\nnum_class=1\nTree=0\nnum_leaves=9999999999\n")
    with pytest.raises(ModelIntegrityError):
        parse_in_child(garbage)


def test_registry_champion_damaged_names_version_and_never_falls_back(
    trained_store: Any, predictor: Predictor, tmp_path: Path
) -> None:
    import mlflow

    uri = trained_store[0]
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)  # an earlier test in this worker may have pointed it elsewhere
    version = predictor.versions()["churn"]
    name = f"journeyml-{predictor.bundles['churn'].info['project']}-churn"
    bundled = _copy(predictor, tmp_path)
    src = mlflow.artifacts.download_artifacts(
        artifact_uri=f"models:/{name}/{version}", dst_path=str(tmp_path / "dl")
    )
    (local_model,) = Path(src).rglob(MODEL_FILE)
    # the stored artifact itself (file store beside the sqlite db)
    stored = [p for p in Path(uri.removeprefix("sqlite:///")).parent.rglob(MODEL_FILE)]
    target = next(p for p in stored if p.read_bytes() == local_model.read_bytes())
    backup = tmp_path / "backup.txt"
    shutil.copy(target, backup)
    try:
        target.write_bytes(target.read_bytes()[:-100])
        with pytest.raises(ModelIntegrityError) as err:
            load_predictor(ServiceSettings(tracking_uri=uri, model_dir=bundled))
        assert f"{name} version {version}" in err.value.message
        assert f"models:/{name}/{version}" in err.value.message  # not a temporary path
        assert "model.txt" in err.value.message and "truncated" in err.value.message
    finally:
        shutil.copy(backup, target)


def test_loading_champions_leaves_no_temporary_folders(
    trained_store: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    Predictor.from_registry(trained_store[0])
    assert [p.name for p in tmp.iterdir()] == []
