"""The gate knows the obvious: a challenger below the best baseline of its task stays
challenger even with no champion, and the run says which comparison failed with both
figures (decision, CLI output, MLflow run tags, the version's tag)."""

from __future__ import annotations

import mlflow
import pytest

from journeyml.lifecycle import gate, registry
from journeyml.lifecycle.gate import BaselineComparison

BASELINES = {
    "prior": {"roc_auc": 0.5, "log_loss": 0.40},
    "logistic": {"roc_auc": 0.70, "log_loss": 0.35},
}


@pytest.mark.parametrize(
    ("auc", "loss", "margin", "failed"),
    [
        (0.75, 0.30, 0.0, []),  # better than every baseline
        (0.70, 0.35, 0.0, []),  # equal to the best: not worse
        (0.69, 0.30, 0.0, ["roc_auc"]),  # AUC below logistic
        (0.69, 0.30, 0.02, []),  # ... but within the margin
        (0.75, 0.36, 0.0, ["log_loss"]),  # log loss above logistic's (lower is better)
        (0.50, 0.41, 0.0, ["roc_auc", "log_loss"]),
    ],
)
def test_each_metric_against_its_best_baseline(
    auc: float, loss: float, margin: float, failed: list[str]
) -> None:
    got = gate.compare_baselines(
        {"roc_auc": auc, "log_loss": loss},
        BASELINES,
        metrics=("roc_auc", "log_loss"),
        margin=margin,
    )
    assert [c.baseline for c in got] == ["logistic", "logistic"]
    assert [c.metric for c in got if not c.passed] == failed


def test_round_off_is_not_below_the_baseline_but_a_measurable_gap_is() -> None:
    """A model that is its baseline's own fit sums its log loss in another order (1e-16
    apart); one ten-thousandth of AUC below is below."""
    base = {"logistic": {"roc_auc": 0.7662966434854138, "log_loss": 0.5186312767716711}}
    same = {"roc_auc": 0.7662966434854138, "log_loss": 0.5186312767716712}
    below = {"roc_auc": 0.7661966434854138, "log_loss": 0.5187312767716711}
    metrics = ("roc_auc", "log_loss")
    assert all(c.passed for c in gate.compare_baselines(same, base, metrics=metrics, margin=0.0))
    got = gate.compare_baselines(below, base, metrics=metrics, margin=0.0)
    assert not any(c.passed for c in got)


def test_undefined_metrics_are_skipped() -> None:
    got = gate.compare_baselines(
        {"roc_auc": float("nan"), "accuracy": 0.3},
        {"markov": {"accuracy": 0.4}, "prior": {"roc_auc": 0.5}},
        metrics=("roc_auc", "accuracy", "log_loss"),
        margin=0.0,
    )
    assert [(c.metric, c.baseline, c.passed) for c in got] == [("accuracy", "markov", False)]


@pytest.fixture
def empty_store(tmp_path):  # type: ignore[no-untyped-def]
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


def test_below_baseline_is_refused_without_a_champion(empty_store) -> None:  # type: ignore[no-untyped-def]
    floor = gate.compare_baselines(
        {"accuracy": 0.241, "log_loss": 1.2},
        {"markov": {"accuracy": 0.362}, "prior": {"accuracy": 0.2, "log_loss": 1.5}},
        metrics=("accuracy", "log_loss"),
        margin=0.0,
    )
    d = registry.decide(
        "p", "next_step", "1", 1.2, metric="log_loss", margin=0.0,
        score_champion=lambda b: pytest.fail("no champion to score"), floor=floor,
    )  # fmt: skip
    assert not d.promote and d.failed == ("baseline",) and d.champion_version is None
    assert "below the best baseline" in d.reason
    assert "accuracy 0.2410 below markov 0.3620" in d.reason
    logged = d.to_dict()
    assert logged["failed"] == ["baseline"] and logged["baselines"][0]["baseline"] == "markov"


def test_above_every_baseline_and_no_champion_is_promoted(empty_store) -> None:  # type: ignore[no-untyped-def]
    floor = gate.compare_baselines(
        {"roc_auc": 0.8, "log_loss": 0.3}, BASELINES, metrics=("roc_auc", "log_loss"), margin=0.0
    )
    d = registry.decide(
        "p", "t", "1", 0.3, metric="log_loss", margin=0.0,
        score_champion=lambda b: 0.0, floor=floor,
    )  # fmt: skip
    assert d.promote and d.failed == ()
    assert d.reason.startswith("no champion yet; challenger roc_auc 0.8000 not below logistic")


def test_gate_metrics_follow_the_output() -> None:
    assert gate.gate_metrics("binary", "log_loss", None) == ("roc_auc", "log_loss")
    assert gate.gate_metrics("multiclass", "accuracy", None) == ("accuracy",)
    assert gate.gate_metrics("binary", "log_loss", ["macro_f1", "brier"]) == ("brier",)


def test_comparison_text_says_both_figures() -> None:
    c = BaselineComparison("log_loss", 0.5, "prior", 0.4, 0.01, False)
    assert c.text() == "log_loss 0.5000 above prior 0.4000 (margin 0.01)"
