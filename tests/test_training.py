"""Training: calibration kept only where it helps, baselines on the same split, metrics."""

from __future__ import annotations

import numpy as np
import pytest

from journeyml.modeling import binary_metrics, choose_calibrator, multiclass_metrics


def test_calibration_not_kept_when_already_calibrated() -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(0.05, 0.95, 4000)
    y = (rng.uniform(size=p.size) < p).astype(int)
    cal, scores = choose_calibrator(p, y)
    assert cal.method == "none"
    assert scores["none"] <= min(scores.values())


def test_calibration_kept_when_it_improves_log_loss() -> None:
    rng = np.random.default_rng(1)
    true = rng.uniform(0.05, 0.95, 4000)
    y = (rng.uniform(size=true.size) < true).astype(int)
    p = true**3  # badly over-confident towards 0
    cal, scores = choose_calibrator(p, y)
    assert cal.method in ("platt", "isotonic")
    assert scores[cal.method] < scores["none"]
    fresh = (rng.uniform(size=true.size) < true).astype(int)
    assert binary_metrics(fresh, cal.apply(p))["log_loss"] < binary_metrics(fresh, p)["log_loss"]


def test_too_few_rows_means_no_calibration() -> None:
    cal, _ = choose_calibrator(np.array([0.2, 0.8] * 5), np.array([0, 1] * 5))
    assert cal.method == "none"


def test_baselines_reported_on_the_same_split(trained_store) -> None:  # type: ignore[no-untyped-def]
    _, result = trained_store
    for name, res in result.results.items():
        n = res.metrics["n"]
        assert n == res.counts["test"] > 0
        expected = {"prior", "logistic"} | ({"markov"} if name == "next_stage" else set())
        assert expected <= set(res.baselines)
        for base in res.baselines.values():
            assert base["n"] == n
    churn = result.results["churn"]
    assert churn.metrics["roc_auc"] > churn.baselines["prior"]["roc_auc"] - 1e-9
    assert churn.bundle.calibrator.method in ("none", "platt", "isotonic")
    assert set(churn.calibration_scores) >= {"none"}
    nxt = result.results["next_stage"]
    assert nxt.metrics["accuracy"] > nxt.baselines["prior"]["accuracy"]


def test_binary_metrics_cover_the_issue_list() -> None:
    m = binary_metrics(np.array([0, 1, 0, 1]), np.array([0.2, 0.7, 0.4, 0.9]))
    assert {"roc_auc", "pr_auc", "log_loss", "brier", "ece"} <= set(m)
    assert m["roc_auc"] == 1.0


def test_multiclass_unseen_label_counts_as_wrong() -> None:
    p = np.array([[0.9, 0.1], [0.2, 0.8]])
    m = multiclass_metrics(["a", "zzz"], p, ["a", "b"])
    assert m["accuracy"] == 0.5
    assert np.isfinite(m["log_loss"])


def test_config_errors_name_the_file_and_key(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from journeyml.errors import ConfigError
    from journeyml.lifecycle import load_pipeline_config

    f = tmp_path / "bad.yaml"
    f.write_text("name: x\ndata: {simulate: {customers: 10}}\ntasks: {churn: {horizn_days: 3}}\n")
    with pytest.raises(ConfigError) as err:
        load_pipeline_config(f)
    assert "bad.yaml" in err.value.message and "horizn_days" in err.value.message
    assert err.value.field == "tasks.churn.horizn_days"
    f.write_text("name: x\ndata: {simulate: {customers: 10}}\ntasks: {upsell: {}}\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml.*upsell"):
        load_pipeline_config(f)
    with pytest.raises(ConfigError, match=r"missing\.yaml"):
        load_pipeline_config(tmp_path / "missing.yaml")
