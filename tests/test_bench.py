"""Benchmark protocols on the real logs (fast: splits and counts only, no model), BG/NBD."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from journeyml.bench.config import load_benchmark_config
from journeyml.bench.ordered import load_ordered
from journeyml.bench.prefixes import chronological_split, tax2017_split
from journeyml.errors import ConfigError
from journeyml.events.schema import CUSTOMER_ID, TIMESTAMP
from journeyml.modeling import bgnbd
from journeyml.tasks import END_CLASS

CONFIGS = Path(__file__).resolve().parents[1] / "pipelines" / "benchmarks"


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.stem)
def test_benchmark_configs_validate(path: Path) -> None:
    cfg = load_benchmark_config(path)
    assert cfg.dataset and cfg.protocol.name


def test_benchmark_config_errors_name_file_and_key(tmp_path: Path) -> None:
    f = tmp_path / "b.yaml"
    f.write_text(
        "dataset: x\ndata: {path: a.csv, mapping: helpdesk}\ntask: next_activity\n"
        "protocol: {name: tax2017, fraction: 1}\n"
    )
    with pytest.raises(ConfigError, match=r"b\.yaml: protocol\.fraction"):
        load_benchmark_config(f)


@pytest.mark.realdata
def test_tax2017_helpdesk_scores_1993_prefixes(shared_data: Path) -> None:
    log = load_ordered(shared_data / "tax2017" / "helpdesk.csv.gz", "tax-helpdesk")
    split = tax2017_split(log)
    assert (len(split.train_cases), len(split.test_cases)) == (2536, 1268)
    assert len(split.test) == 1993
    assert (split.test["n_events"] >= 2).all() and END_CLASS not in set(split.test["label"])
    # training: every prefix of every training case, end of case a class
    assert len(split.train) == log.length[split.train_cases].sum()
    assert (split.train["label"] == END_CLASS).sum() == 2536
    assert split.train_cases == log.file_order[:2536]


@pytest.mark.realdata
def test_chronological_drops_training_events_in_the_test_period(shared_data: Path) -> None:
    log = load_ordered(shared_data / "helpdesk-full" / "Helpdesk.events.csv.gz", "helpdesk")
    split = chronological_split(log, train_fraction=0.8)
    assert (len(split.train_cases), len(split.test_cases)) == (3664, 916)
    test_start = log.start[split.test_cases[0]]
    assert (log.start[split.train_cases] <= test_start).all()
    assert (split.train_events[TIMESTAMP] < test_start).all()
    assert split.details["train_events_dropped"] > 0
    assert (split.train["as_of"] <= test_start).all()
    assert not set(split.train[CUSTOMER_ID]) & set(split.test[CUSTOMER_ID])


@pytest.mark.realdata
def test_bgnbd_reproduces_fader_hardie_lee(shared_data: Path) -> None:
    s = pd.read_csv(shared_data / "cdnow" / "cdnow_customers_summary.csv.gz")
    p = bgnbd.fit(s["frequency"], s["recency"], s["T"])
    assert (round(p.r, 3), round(p.alpha, 3), round(p.a, 3), round(p.b, 3)) == (
        0.243,
        4.414,
        0.793,
        2.426,
    )
    assert p.log_likelihood == pytest.approx(-9582.4, abs=0.1)


@pytest.mark.realdata
def test_rfm_summary_matches_the_published_sample_summary(shared_data: Path) -> None:
    from journeyml.events.mapping import load_events

    ev = load_events(shared_data / "cdnow" / "CDNOW_sample.txt.gz", "cdnow-sample").events
    rfm = bgnbd.rfm_summary(ev, pd.Timestamp("1997-09-30", tz="UTC"))
    ref = pd.read_csv(shared_data / "cdnow" / "cdnow_customers_summary.csv.gz")
    assert len(rfm) == len(ref) == 2357
    assert rfm["frequency"].sum() == ref["frequency"].sum()
    np.testing.assert_allclose(np.sort(rfm["T"]), np.sort(ref["T"]), atol=0.01)


def test_end_never_predicted_variant_isolates_end_of_case_errors() -> None:
    """Two thirds of the cases end after "a b", the others go on "c d": after "a b" the model
    says end of case, which the tax2017 protocol never has as truth. The variant reports how
    often that happens and the accuracy without it (a diagnosis, not a result)."""
    from journeyml.bench.next_activity import run_next_activity
    from journeyml.bench.ordered import OrderedLog
    from journeyml.events.schema import to_canonical

    rows = []
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    cases = [f"case{i:03d}" for i in range(150)]
    for i, case in enumerate(cases):
        steps = "ab" if i % 3 else "abcd"
        for k, tp in enumerate(steps):
            rows.append(
                {
                    CUSTOMER_ID: case,
                    TIMESTAMP: t0 + pd.Timedelta(hours=i * 10 + k),
                    "touchpoint": tp,
                }
            )
    ev = to_canonical(pd.DataFrame(rows))
    size = ev.groupby(CUSTOMER_ID).size()
    log = OrderedLog(ev, cases, ev.groupby(CUSTOMER_ID)[TIMESTAMP].min(), size)
    res = run_next_activity(tax2017_split(log), ev, num_boost_round=30, early_stopping_rounds=5)
    v = res.variants["end_never_predicted"]
    assert res.metrics["accuracy"] == pytest.approx(0.5)  # "a b" → end (wrong), "a b c" → d
    assert v["share_predicted_end"] == pytest.approx(0.5)
    assert v["lightgbm_accuracy"] == pytest.approx(1.0)


def test_benchmark_next_activity_groups_the_rare_classes_of_its_training_prefixes() -> None:
    """150 cases "a b d" or "a c d", and 5 early cases "a r0 d" … "a r4 d" (training cases):
    with min_class_examples 2 the five rare activities are one class for the booster, and the
    scores still cover every training class."""
    from journeyml.bench.next_activity import run_next_activity
    from journeyml.bench.ordered import OrderedLog
    from journeyml.events.schema import to_canonical

    rows = []
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    cases = [f"case{i:03d}" for i in range(150)]
    for i, case in enumerate(cases):
        steps = ["a", f"r{i // 10}" if i < 50 and i % 10 == 0 else "bc"[i % 2], "d"]
        for k, tp in enumerate(steps):
            rows.append(
                {
                    CUSTOMER_ID: case,
                    TIMESTAMP: t0 + pd.Timedelta(hours=i * 10 + k),
                    "touchpoint": tp,
                }
            )
    ev = to_canonical(pd.DataFrame(rows))
    size = ev.groupby(CUSTOMER_ID).size()
    log = OrderedLog(ev, cases, ev.groupby(CUSTOMER_ID)[TIMESTAMP].min(), size)
    res = run_next_activity(
        tax2017_split(log), ev, num_boost_round=20, early_stopping_rounds=5, min_class_examples=2
    )
    assert res.info["rare_classes"]["members"] == ["r0", "r1", "r2", "r3", "r4"]
    assert res.info["booster_classes"] == 5  # b, c, d, end, other
    assert res.info["classes"] == ["b", "c", "d", "end", "r0", "r1", "r2", "r3", "r4"]
    assert res.metrics["accuracy"] == pytest.approx(1.0)  # "a b" / "a c" → d
    default = run_next_activity(tax2017_split(log), ev, num_boost_round=20, early_stopping_rounds=5)
    assert default.info["booster_classes"] == 9 and default.info["rare_classes"]["members"] == []


def test_ceiling_lookups_count_end_only_where_the_protocol_trains_it() -> None:
    """benchmarks/ceilings.py: after "a b", 2 of 3 cases end and 1 goes on with "c". Fitted with
    end a class the lookup answers end (wrong on every scored prefix after "a b"); fitted on the
    scored prefixes only it answers "c"."""
    import importlib
    import sys

    sys.path.insert(0, str(CONFIGS.parents[1] / "benchmarks"))
    try:
        ceilings = importlib.import_module("ceilings")
    finally:
        sys.path.pop(0)
    seqs = {"x": list("ab"), "y": list("ab"), "z": list("abcd")}
    cases = ["x", "y", "z"]
    with_end = ceilings.lookup_table(seqs, cases, 2, with_end=True)
    assert with_end[("a", "b")] == {END_CLASS: 2, "c": 1}
    assert with_end[("a",)] == {"b": 3}
    scored_only = ceilings.lookup_table(seqs, cases, 2, with_end=False)
    assert ("a",) not in scored_only  # k = 1 is never scored
    assert scored_only[("a", "b")] == {"c": 1}
    # scored prefixes of z: "a b" (→ c) and "a b c" (→ d)
    fallback = ceilings.lookup_table(seqs, cases, 1, with_end=True)
    assert ceilings.lookup_accuracy(with_end, fallback, seqs, cases, 2) == (0.5, 0.5)
    assert ceilings.lookup_accuracy(scored_only, fallback, seqs, cases, 2) == (1.0, 0.0)


def test_holdout_chain_covers_the_holdout_in_aged_steps_and_keeps_the_first_steps_order() -> None:
    """A holdout four steps long: each step is scored on the journey aged by whole steps (the
    step probability here falls with age, as for lapsing buyers), no purchase in the holdout
    is no purchase in any step, and the result ranks as the first step does."""
    from journeyml.bench.holdout import chain_steps, chained_probability

    n, step = chain_steps(pd.Timedelta(days=273), pd.Timedelta(days=273))
    assert (n, step.days) == (4, 68)
    assert chain_steps(pd.Timedelta(days=60), pd.Timedelta(days=365)) == (1, pd.Timedelta(60, "D"))
    start = pd.Timestamp("1997-10-01", tz="UTC")
    base = np.array([0.05, 0.1, 0.2, 0.4, 0.6])
    seen: list[int] = []

    def step_p(t: pd.Timestamp) -> np.ndarray:
        age = (t - start) // step
        seen.append(age)
        return base / (1 + age)

    out, p0, chain = chained_probability(step_p, start, step, n)
    assert seen == [0, 1, 2, 3]
    expected = 1 - np.prod([1 - base / (1 + s) for s in range(4)], axis=0)
    np.testing.assert_allclose(chain, expected)
    np.testing.assert_allclose(p0, base)
    assert np.all(np.diff(out) > 0)  # the first step's order
    assert out.mean() == pytest.approx(chain.mean(), abs=0.02)  # the chain's level
    assert np.all(out > p0)  # a longer window: more likely
