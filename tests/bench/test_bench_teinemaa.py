"""Protocol teinemaa2019 on a hand-built log (split, dropped events, prefix lengths, weighting)
and config reach (features and model parameters in benchmark configs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from journeyml.bench.config import BenchmarkConfig, load_benchmark_config
from journeyml.bench.ordered import OrderedLog, load_ordered
from journeyml.bench.run import best_baseline_margin, run_benchmark
from journeyml.bench.teinemaa import positive_length_limit, prefix_auc, teinemaa_split
from journeyml.errors import ConfigError
from journeyml.events import CUSTOMER_ID, TIMESTAMP, TOUCHPOINT
from journeyml.features import N_EVENTS
from journeyml.tasks import task_from_block

CONFIGS = Path(__file__).resolve().parents[2] / "pipelines" / "benchmarks"
DAY = pd.Timedelta(days=1)
T0 = pd.Timestamp("2024-01-01", tz="UTC")

# case: (start day, touchpoints, gaps in days between events); W is the outcome
CASES = {
    "a": (0, ["x", "y", "W", "z"], 1),
    "b": (1, ["x", "y", "y"], 1),
    "c": (2, ["x", "W"], 1),
    "d": (3, ["x", "y", "z", "z"], 3),  # events on days 3, 6, 9, 12: the last two in test time
    "e": (4, ["x", "z"], 1),
    "f": (5, ["y", "y", "W"], 1),
    "g": (6, ["x", "y"], 1),
    "h": (7, ["y", "x", "x"], 1),
    "i": (8, ["x", "y", "W"], 1),  # test (starts day 8: test period from day 8)
    "j": (9, ["y", "z"], 1),  # test
}


def _log() -> OrderedLog:
    rows = []
    for c, (start, tps, gap) in CASES.items():
        for i, tp in enumerate(tps):
            rows.append((c, T0 + (start + i * gap) * DAY, tp))
    ev = pd.DataFrame(rows, columns=[CUSTOMER_ID, TIMESTAMP, TOUCHPOINT])
    ev["stage"] = ev[TOUCHPOINT]
    ev["channel"] = "web"
    g = ev.groupby(CUSTOMER_ID, sort=False)
    return OrderedLog(ev, list(CASES), g[TIMESTAMP].min(), g[TOUCHPOINT].size())


def _task(cut: bool = True):  # type: ignore[no-untyped-def]
    return task_from_block(
        "outcome", {"kind": "case_outcome", "outcome": ["W"], "cut_before_outcome": cut}
    )


def test_split_orders_by_start_drops_test_period_and_limits_prefixes() -> None:
    s = teinemaa_split(_log(), _task(), train_fraction=0.8)
    assert s.train_cases == list("abcdefgh") and s.test_cases == ["i", "j"]
    # positive cases' lengths before W: a 2, c 1, f 2, i 2 → p90 = 2 → prefixes 1, 2
    assert s.max_length == 2
    got = {(c, k): y for c, k, y in s.train[[CUSTOMER_ID, N_EVENTS, "label"]].itertuples(False)}
    assert got == {
        ("a", 1): 1, ("a", 2): 1,
        ("b", 1): 0, ("b", 2): 0,
        ("c", 1): 1,
        ("d", 1): 0, ("d", 2): 0,  # d's 3rd and 4th events (days 9, 12) are in test time
        ("e", 1): 0, ("e", 2): 0,
        ("f", 1): 1, ("f", 2): 1,
        ("g", 1): 0, ("g", 2): 0,
        ("h", 1): 0,  # h's 2nd event is on day 8, the test period's start
    }  # fmt: skip
    test = {(c, k): y for c, k, y in s.test[[CUSTOMER_ID, N_EVENTS, "label"]].itertuples(False)}
    assert test == {("i", 1): 1, ("i", 2): 1, ("j", 1): 0, ("j", 2): 0}
    assert (s.train_events[TIMESTAMP] < T0 + 8 * DAY).all()
    assert s.details["train_events_dropped"] == 4  # d's on days 9 and 12, h's on days 8 and 9
    assert set(s.train_events[CUSTOMER_ID]) == set("abcdefgh")


def test_without_cut_prefixes_may_hold_the_outcome() -> None:
    s = teinemaa_split(_log(), _task(cut=False), train_fraction=0.8)
    # positive lengths: a 4, c 2, f 3, i 3 → p90 = ceil(3.7) = 4
    assert s.max_length == 4
    assert ((s.train[CUSTOMER_ID] == "c") & (s.train[N_EVENTS] == 2)).any()


def test_positive_length_limit_rounds_up_the_quantile() -> None:
    lengths = pd.Series([3, 5, 8, 40, 2], index=list("abcde"))
    positive = pd.Series([True, True, True, True, False], index=list("abcde"))
    # the 0.9 quantile of 3, 5, 8, 40 (linear interpolation) is 8 + 0.7·32 = 30.4
    assert positive_length_limit(lengths, positive, 0.9) == 31
    assert positive_length_limit(lengths, positive & False, 0.9) == 1


def test_prefix_auc_weights_lengths_by_their_prefixes() -> None:
    k = np.array([1, 1, 1, 1, 2, 2, 2, 3, 3])
    y = np.array([0, 1, 0, 1, 0, 1, 1, 1, 1])  # length 3: one outcome only, no AUC
    p = np.array([0.1, 0.9, 0.2, 0.8, 0.6, 0.4, 0.7, 0.5, 0.5])
    r = prefix_auc(k, y, p)
    assert r["by_length"]["1"] == {"n": 4, "roc_auc": 1.0}
    assert r["by_length"]["2"] == {"n": 3, "roc_auc": 0.5}
    assert np.isnan(r["by_length"]["3"]["roc_auc"])
    assert r["roc_auc_weighted"] == pytest.approx((4 * 1.0 + 3 * 0.5) / 7)
    # pooled: all 9 prefixes ranked together
    from sklearn.metrics import roc_auc_score

    assert r["roc_auc_pooled"] == pytest.approx(roc_auc_score(y, p))


def test_margin_names_the_best_baseline() -> None:
    m = best_baseline_margin(
        {"roc_auc_weighted": 0.7},
        {"prior": {"roc_auc_weighted": 0.5}, "lr": {"roc_auc_weighted": 0.72}},
    )
    assert (m["best_baseline"], round(m["margin"], 3)) == ("lr", -0.02)


# --- configs ---------------------------------------------------------------------------------
def _config(tmp_path: Path, extra: str) -> Path:
    rng = np.random.default_rng(0)
    rows = []
    for c in range(240):
        n = int(rng.integers(2, 6))
        tps = rng.choice(["x", "y", "z", "W"], size=n, p=[0.4, 0.3, 0.2, 0.1])
        for i, tp in enumerate(tps):
            rows.append((f"c{c:03d}", T0 + pd.Timedelta(hours=12 * c + i), tp))
    pd.DataFrame(rows, columns=[CUSTOMER_ID, TIMESTAMP, TOUCHPOINT]).to_csv(
        tmp_path / "log.csv", index=False
    )
    f = tmp_path / "bench.yaml"
    f.write_text(
        "dataset: tiny\ndata: {path: log.csv, mapping: canonical}\ntask: case_outcome\n"
        "case_outcome: {outcome: [W], cut_before_outcome: true}\n"
        "protocol: {name: teinemaa2019}\nnum_boost_round: 30\n" + extra
    )
    return f


def test_config_reach_features_and_lightgbm(tmp_path: Path) -> None:
    few = run_benchmark(
        load_benchmark_config(_config(tmp_path, "features: {windows_days: [7], last_k: 1}\n"))
    )
    many = run_benchmark(
        load_benchmark_config(_config(tmp_path, "features: {windows_days: [1, 7], last_k: 2}\n"))
    )
    assert few["details"]["n_features"] < many["details"]["n_features"]
    assert few["margin"]["metric"] == "roc_auc_weighted"
    assert set(few["baselines"]) == {"prior", "last_activity", "prefix_sequence", "logistic"}
    # a leaf needs more rows than there are: the trees cannot split, every score is the same
    flat = run_benchmark(
        load_benchmark_config(
            _config(tmp_path, "lightgbm: {min_data_in_leaf: 100000}\nblend_linear: false\n")
        )
    )
    trees = flat["details"]["variants"]["lightgbm_only_uncalibrated"]
    assert trees["roc_auc_pooled"] == 0.5


def test_config_errors_name_the_key(tmp_path: Path) -> None:
    f = _config(tmp_path, "")
    f.write_text(f.read_text().replace("outcome: [W]", "outcom: [W]"))
    with pytest.raises(ConfigError, match="outcom"):
        load_benchmark_config(f)
    g = _config(tmp_path, "attributes: [a]\nfeatures: {attributes: [b]}\n")
    with pytest.raises(ConfigError, match="attributes once"):
        load_benchmark_config(g)
    with pytest.raises(ValueError, match="case_outcome"):
        BenchmarkConfig.model_validate(
            {
                "dataset": "d",
                "data": {"path": "x", "mapping": "helpdesk"},
                "task": "next_activity",
                "protocol": {"name": "teinemaa2019"},
            }
        )


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["helpdesk-wait-teinemaa", "bpic2013-wait-user-teinemaa"])
def test_teinemaa_configs_on_the_real_logs(shared_data: Path, name: str) -> None:
    cfg = load_benchmark_config(CONFIGS / f"{name}.yaml")
    log = load_ordered(cfg.resolved_path(), cfg.resolved_mapping())
    s = teinemaa_split(log, cfg.outcome_task())
    test_start = log.start[s.test_cases[0]]
    assert (log.start[s.train_cases] <= test_start).all()
    assert (s.train_events[TIMESTAMP] < test_start).all()
    assert 1 <= s.max_length <= 40
    assert s.train[N_EVENTS].max() <= s.max_length and s.test[N_EVENTS].max() <= s.max_length
    assert set(s.train["label"]) == {0, 1} and set(s.test["label"]) == {0, 1}
    assert not set(s.train[CUSTOMER_ID]) & set(s.test[CUSTOMER_ID])
