"""``journeyml init``: a log in, a commented mapping and pipeline config out, with the
evidence printed; the proposal loads, validates and (integration) trains as written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from journeyml.cli import app
from journeyml.events import load_events
from journeyml.events.mapping import parse_mapping
from journeyml.lifecycle import PipelineConfig, load_pipeline_config


@pytest.fixture(scope="module")
def canonical_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh canonical CSV: 300 simulated customers over 120 days, written as text."""
    from journeyml.sim import simulate

    sim = simulate(300, seed=1, days=120)
    path = tmp_path_factory.mktemp("log") / "shop events.csv"
    sim.events.to_csv(path, index=False)
    return path


def invoke(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(app, list(args))
    return res.exit_code, res.output


def test_init_writes_a_mapping_and_config_that_load(canonical_csv: Path, tmp_path: Path) -> None:
    config = tmp_path / "project" / "pipeline.yaml"
    code, out = invoke("init", str(canonical_csv), "--config-out", str(config))
    assert code == 0, out
    mapping = tmp_path / "project" / "shop-events.mapping.yaml"
    assert mapping.exists()
    for text in (
        "customer_id",
        "evidence",
        "ad_impression",
        "company sent",
        "purchase",
        "conversion",
        "cancellation",
        "journeys",
        "UTC",
    ):
        assert text in out, text
    assert "journeyml validate" in out and "journeyml train" in out
    cfg = load_pipeline_config(config)
    assert cfg.data.mapping == "shop-events.mapping.yaml" and cfg.name == "shop-events"
    assert set(cfg.tasks) == {"conversion", "churn", "next_stage"}
    assert cfg.tasks["conversion"].kind == "occurs" and cfg.tasks["churn"].kind == "lapses"
    assert cfg.tasks["conversion"].outcome == ["purchase"]
    assert cfg.tasks["conversion"].eligibility == {"not_yet": ["purchase"]}
    assert cfg.tasks["churn"].churn == ["cancellation"] and cfg.tasks["next_stage"].kind == "next"
    loaded = load_events(canonical_csv, mapping, policy="strict")  # strict: nothing rejected
    assert loaded.report.n_rejected == 0 and loaded.report.n_events == len(
        pd.read_csv(canonical_csv)
    )
    assert loaded.mapping.duplicates == "keep"  # the simulator repeats an event: kept, said so
    assert "duplicates: keep" in mapping.read_text()


def test_init_prints_both_files_when_no_path_is_given(canonical_csv: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["init", str(canonical_csv)])
    assert res.exit_code == 0, res.output
    docs = [d for d in yaml.safe_load_all(res.stdout) if d]
    assert len(docs) == 2
    assert parse_mapping(docs[0]).columns.touchpoint.column == "touchpoint"
    config = PipelineConfig.model_validate(docs[1])
    assert config.data.mapping == "shop-events.mapping.yaml"  # "save the mapping as ..."


def test_init_refuses_to_overwrite_without_force(canonical_csv: Path, tmp_path: Path) -> None:
    mapping = tmp_path / "m.yaml"
    mapping.write_text("mine\n")
    code, out = invoke("init", str(canonical_csv), "--mapping-out", str(mapping))
    assert code == 2 and "--force" in out and mapping.read_text() == "mine\n"
    code, out = invoke("init", str(canonical_csv), "--mapping-out", str(mapping), "--force")
    assert code == 0, out
    assert yaml.safe_load(mapping.read_text())["columns"]["customer_id"] == "customer_id"


def test_init_on_something_that_is_not_an_event_log(tmp_path: Path) -> None:
    path = tmp_path / "summary.csv"
    path.write_text("ID,frequency,recency,T\n1,2,30.43,38.86\n2,1,1.71,38.86\n3,0,0.0,38.86\n")
    code, out = invoke("init", str(path))
    assert code == 2 and "expected a column of timestamps" in out and "Traceback" not in out


@pytest.mark.integration
def test_a_fresh_canonical_csv_goes_through_init_validate_train_score_and_report(
    canonical_csv: Path, tmp_path: Path
) -> None:
    """Issue 14's road with no hand-written file: init → validate → train → score → report,
    each as a user types it; the progress bars stay out of a non-terminal output."""
    config = tmp_path / "pipeline.yaml"
    code, out = invoke("init", str(canonical_csv), "--config-out", str(config))
    assert code == 0, out
    mapping = tmp_path / "shop-events.mapping.yaml"
    code, out = invoke("validate", str(canonical_csv), "--mapping", str(mapping))
    assert code == 0, out
    assert "rejected" in out
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    code, out = invoke("train", str(config), "--tracking-uri", uri)
    assert code == 0, out
    for task in ("conversion", "churn", "next_stage"):
        # champion, or kept out by the gate with the comparison that failed (300 customers:
        # the trees can trail logistic regression); then served by hand, as the run says
        if f"{task}: v1 champion" not in out:
            assert f"{task}: v1 challenger only — below the best baseline: challenger" in out, out
            assert f"journeyml models promote --project shop_events --task {task}" in out, out
            code, said = invoke(
                "models", "promote", "--project", "shop_events", "--task", task,
                "--tracking-uri", uri,
            )  # fmt: skip
            assert code == 0 and "champion - → v1" in said, said
    assert "━" not in out and "ETA" not in out  # no bars when not a terminal
    scores = tmp_path / "scores.jsonl"
    code, out = invoke(
        "score", str(canonical_csv), "--mapping", str(mapping), "--out", str(scores),
        "--tracking-uri", uri,
    )  # fmt: skip
    assert code == 0, out
    rows = [json.loads(line) for line in scores.read_text().splitlines()]
    assert len(rows) == pd.read_csv(canonical_csv)["customer_id"].nunique()
    assert {"conversion", "churn", "next_stage", "warnings", "model_versions"} <= set(rows[0])
    report = tmp_path / "report.html"
    code, out = invoke(
        "report", "--data", str(canonical_csv), "--mapping", str(mapping), "--out", str(report),
        "--tracking-uri", uri,
    )  # fmt: skip
    assert code == 0, out
    assert "<svg" in report.read_text()


def test_init_on_the_simulators_own_output(tmp_path: Path) -> None:
    """journeyml's parquet: canonical columns, its stage column, a repeated event kept; a
    canonical file without repeats needs no mapping, and the config says so."""
    from journeyml.sim import simulate, write_simulation

    with_repeat = tmp_path / "sim.parquet"
    write_simulation(simulate(300, seed=1, days=120), with_repeat)
    code, out = invoke("init", str(with_repeat), "--config-out", str(tmp_path / "a.yaml"))
    assert code == 0, out
    assert load_pipeline_config(tmp_path / "a.yaml").data.mapping == "sim.mapping.yaml"
    mapping = yaml.safe_load((tmp_path / "sim.mapping.yaml").read_text())
    assert mapping["duplicates"] == "keep" and mapping["columns"]["stage"] == "stage"
    assert mapping["customer_attributes"] == {"segment": "segment", "region": "region"}

    events = simulate(200, seed=5, days=100).events
    events = events.drop_duplicates(["customer_id", "timestamp", "touchpoint", "channel", "value"])
    clean = tmp_path / "clean.parquet"
    events.to_parquet(clean)
    code, out = invoke("init", str(clean), "--config-out", str(tmp_path / "b.yaml"))
    assert code == 0, out
    config = load_pipeline_config(tmp_path / "b.yaml")
    assert config.data.mapping is None and not (tmp_path / "clean.mapping.yaml").exists()
    from journeyml.lifecycle import load_data

    assert len(load_data(config).events) == len(events)


def _ad_log(path: Path, come_back: float) -> Path:
    """Customers shown ad impressions (the company's) who convert at most once, except a
    ``come_back`` share of converters who convert again days later."""
    rng = np.random.default_rng(0)
    rows = []
    start = pd.Timestamp("2024-01-01", tz="UTC")
    for i in range(400):
        days = np.sort(rng.uniform(0, 60, 6))
        rows += [(f"c{i}", start + pd.Timedelta(days=d), "impression") for d in days]
        if i % 2 == 0:  # half convert
            rows.append((f"c{i}", start + pd.Timedelta(days=days[-1] + 0.5), "conversion"))
            if rng.random() < come_back:
                rows.append((f"c{i}", start + pd.Timedelta(days=days[-1] + 9), "conversion"))
    pd.DataFrame(rows, columns=["user", "time", "interaction"]).to_csv(path, index=False)
    return path


def test_init_proposes_churn_only_where_customers_come_back_after_converting(
    tmp_path: Path,
) -> None:
    once = _ad_log(tmp_path / "ads.csv", come_back=0.05)
    code, out = invoke("init", str(once), "--config-out", str(tmp_path / "once.yaml"))
    assert code == 0, out
    assert set(load_pipeline_config(tmp_path / "once.yaml").tasks) == {"conversion", "next_stage"}
    said = " ".join(out.split())
    assert "churn left out" in said and "of 200 converted customers back" in said, said
    assert "customers start only conversion" in said and "trains conversion, next_stage" in said

    again = _ad_log(tmp_path / "ads_again.csv", come_back=0.6)
    code, out = invoke("init", str(again), "--config-out", str(tmp_path / "again.yaml"))
    assert code == 0, out
    assert "churn" in load_pipeline_config(tmp_path / "again.yaml").tasks
    assert "churn left out" not in out


def _policy_log(path: Path, cancel_unbought: float) -> Path:
    """Prospects who browse; half buy a policy, then log in; a third of the buyers cancel it
    later, and a ``cancel_unbought`` share of the others cancel without having bought."""
    rng = np.random.default_rng(1)
    rows = []
    start = pd.Timestamp("2024-01-01", tz="UTC")
    for i in range(300):
        days = np.sort(rng.uniform(0, 40, 4))
        rows += [(f"m{i}", start + pd.Timedelta(days=d), "browse") for d in days]
        t = days[-1] + 1
        if i % 2 == 0:
            rows.append((f"m{i}", start + pd.Timedelta(days=t), "purchase"))
            rows += [(f"m{i}", start + pd.Timedelta(days=t + k * 7), "login") for k in (1, 2, 3)]
            if i % 3 == 0:
                rows.append((f"m{i}", start + pd.Timedelta(days=t + 30), "cancellation"))
        elif rng.random() < cancel_unbought:
            rows.append((f"m{i}", start + pd.Timedelta(days=t), "cancellation"))
    pd.DataFrame(rows, columns=["member", "time", "action"]).to_csv(path, index=False)
    return path


def test_init_asks_churn_of_converted_customers_when_cancelling_needs_a_contract(
    tmp_path: Path,
) -> None:
    contract = _policy_log(tmp_path / "policies.csv", cancel_unbought=0.0)
    code, out = invoke("init", str(contract), "--config-out", str(tmp_path / "contract.yaml"))
    assert code == 0, out
    churn = load_pipeline_config(tmp_path / "contract.yaml").tasks["churn"]
    assert churn.eligibility == {"has_done": ["purchase"]}
    text = " ".join((tmp_path / "contract.yaml").read_text().split())
    assert "100% of the 50 customers who cancel had converted before" in text, text

    # some cancel without buying (a trial, say): churn stays a question for everyone active
    trials = _policy_log(tmp_path / "trials.csv", cancel_unbought=0.3)
    code, out = invoke("init", str(trials), "--config-out", str(tmp_path / "trials.yaml"))
    assert code == 0, out
    churn = load_pipeline_config(tmp_path / "trials.yaml").tasks["churn"]
    assert churn.eligibility is None
