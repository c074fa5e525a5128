"""Task blocks as users write them: kinds' defaults, data defaults, errors naming the key,
an exact JSON round trip, tasks saved before task kinds, and the example files in models/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from journeyml.errors import ConfigError
from journeyml.explain import task_phrase
from journeyml.tasks import (
    DataDefaults,
    Eligibility,
    EventMatch,
    TaskConfig,
    legacy_task,
    task_from_block,
)

MODELS = Path(__file__).resolve().parents[2] / "models"


def test_every_example_in_models_is_a_valid_task_and_round_trips() -> None:
    files = sorted(MODELS.glob("*.yaml"))
    kinds = set()
    for f in files:
        task = task_from_block(f.stem, yaml.safe_load(f.read_text()))
        kinds.add(task.kind)
        again = TaskConfig.from_dict(json.loads(json.dumps(task.to_dict())))
        assert again == task, f.name
    assert {"conversion", "churn", "next_stage", "books_demo"} <= {f.stem for f in files}
    assert kinds == {"occurs", "lapses", "case_outcome", "next"}


def test_pipeline_task_entries_take_every_block_key() -> None:
    from journeyml.lifecycle.config import TaskEntry
    from journeyml.tasks.blocks import _COMMON, KIND_KEYS

    keys = set(_COMMON).union(*KIND_KEYS.values())
    assert keys <= set(TaskEntry.model_fields)


def test_kind_defaults_and_data_defaults() -> None:
    data = DataDefaults(("purchase",), ("cancellation",), ("newsletter",), "the mapping (x)")
    churn = task_from_block("churn", {"kind": "lapses", "horizon_days": 21}, data)
    assert churn.churn.touchpoints == ("cancellation",)  # from the mapping's outcomes
    assert churn.company_sent == ("newsletter",)  # resolved now, saved with the task
    assert churn.rules == Eligibility(not_yet=EventMatch(("cancellation",)), active_within_days=21)
    conv = task_from_block("conversion_x", {"kind": "occurs", "horizon_days": 7}, data)
    assert conv.outcome.touchpoints == ("purchase",) and conv.rules == Eligibility()
    own = task_from_block("t", {"kind": "lapses", "horizon_days": 7, "company_sent": ["ad"]}, data)
    assert own.company_sent == ("ad",)
    anyact = task_from_block("t", {"kind": "lapses", "horizon_days": 7, "activity": "any"}, data)
    assert anyact.company_sent == () and anyact.activity is None
    listed = task_from_block(
        "t", {"kind": "lapses", "horizon_days": 7, "activity": {"stages": ["retention"]}}, data
    )
    assert listed.activity == EventMatch(stages=("retention",))
    with pytest.raises(ConfigError, match=r"outcomes\.conversion_touchpoints") as e:
        task_from_block("t", {"kind": "occurs", "horizon_days": 7}, DataDefaults())
    assert e.value.field == "tasks.t.outcome"


def test_eligibility_blocks_merge_over_the_kind_default() -> None:
    t = task_from_block(
        "buyers_churn",
        {
            "kind": "lapses",
            "horizon_days": 30,
            "churn": ["cancellation"],
            "eligibility": {"has_done": {"touchpoints": ["purchase"]}, "min_events": 3},
        },
    )
    assert t.rules == Eligibility(
        not_yet=EventMatch(("cancellation",)),
        has_done=EventMatch(("purchase",)),
        active_within_days=30.0,
        min_events=3,
    )
    off = task_from_block(
        "t",
        {"kind": "lapses", "horizon_days": 30, "eligibility": {"active_within_days": None}},
    )
    assert off.rules.active_within_days is None
    anyone = task_from_block("t", {"kind": "lapses", "horizon_days": 30, "eligibility": "any"})
    assert anyone.rules == Eligibility()
    attr = task_from_block(
        "approved",
        {"kind": "case_outcome", "outcome": {"attribute": "status", "value": "approved"}},
    )
    assert attr.outcome == EventMatch(attribute="status", values=("approved",))


@pytest.mark.parametrize(
    ("block", "field", "words"),
    [
        (
            {"kind": "occurs", "horizon_days": 7, "outcome": ["x"], "churn": ["y"]},
            "churn",
            "occurs task takes",
        ),
        ({"kind": "sometimes"}, "kind", "one of"),
        (
            {"kind": "occurs", "horizon_days": 7, "outcome": {"touchpoint": ["x"]}},
            "outcome.touchpoint",
            "unknown key",
        ),
        (
            {
                "kind": "occurs",
                "horizon_days": 7,
                "outcome": ["x"],
                "eligibility": {"not_yet_": ["x"]},
            },
            "eligibility.not_yet_",
            "unknown eligibility key",
        ),
        (
            {"kind": "occurs", "horizon_days": 7, "outcome": ["x"], "eligibility": "everyone"},
            "eligibility",
            "any, default",
        ),
        ({"kind": "occurs", "horizon_days": -1, "outcome": ["x"]}, "horizon_days", "positive"),
        ({"kind": "lapses", "horizon_days": 7, "activity": []}, "activity", "nothing would count"),
        (
            {"kind": "lapses", "horizon_days": 7, "inactivity": False},
            "churn",
            "nothing could ever lapse",
        ),
        (
            {"kind": "occurs", "horizon_days": 7, "outcome": {"attribute": "s"}},
            "outcome.attribute",
            "values",
        ),
        ({"horizon_days": 7}, "kind", "expected a kind"),
    ],
)
def test_block_errors_name_the_key(block: dict, field: str, words: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ConfigError, match=words) as e:
        task_from_block("t", block)
    assert e.value.field == f"tasks.t.{field}"
    assert e.value.message.startswith("task 't': ")


def test_names_must_be_registry_names() -> None:
    for bad in ("Books", "1st", "books-demo", "x" * 41, "with space", ""):
        with pytest.raises(ConfigError, match="lowercase") as e:
            task_from_block(bad, {"kind": "next", "horizon_days": 7})
        assert e.value.field == f"tasks.{bad}"
    assert task_from_block("b2b_demo_2", {"kind": "next"}).name == "b2b_demo_2"


def test_tasks_saved_before_task_kinds_load_onto_the_kinds() -> None:
    # what bundle.json held for each task before task kinds (TaskConfig.__dict__)
    old = {
        "horizon_days": 14.0,
        "conversion_touchpoints": ["purchase"],
        "churn_touchpoints": ["cancellation"],
        "inactivity": True,
        "eligibility": "not_converted",
        "target": "stage",
        "end_of_case": False,
    }
    conv = TaskConfig.from_dict({**old, "name": "conversion"})
    assert (conv.kind, conv.output, conv.outcome.touchpoints) == ("occurs", "binary", ("purchase",))
    assert conv.rules == Eligibility(not_yet=EventMatch(("purchase",)))
    churn = TaskConfig.from_dict({**old, "name": "churn", "horizon_days": 30.0})
    assert (churn.kind, churn.churn.touchpoints, churn.company_sent) == (
        "lapses",
        ("cancellation",),
        (),  # any event was activity when these models were trained
    )
    assert churn.rules.active_within_days == 30.0
    churn_any = TaskConfig.from_dict({**old, "name": "churn", "eligibility": "any"})
    assert churn_any.rules.active_within_days is None
    assert churn_any.rules.not_yet.touchpoints == ("cancellation",)
    nxt = TaskConfig.from_dict({**old, "name": "next_stage", "end_of_case": True})
    assert (nxt.kind, nxt.output, nxt.end_of_case, nxt.horizon_days) == (
        "next",
        "multiclass",
        True,
        14.0,
    )
    # the explanation sentences keep their words
    assert task_phrase(conv) == "the chance of converting" and task_phrase(churn) == "churn risk"
    assert task_phrase(nxt, "retention") == "the chance that the next stage is retention"
    with pytest.raises(ConfigError, match="kind"):
        legacy_task({"name": "upsell", "horizon_days": 3})


def test_phrases_from_kind_and_outcome_or_description() -> None:
    occurs = TaskConfig("t", "occurs", horizon_days=14, outcome=EventMatch(("product_demo",)))
    assert task_phrase(occurs) == "the chance of product demo within 14 days"
    desc = TaskConfig(
        "t",
        "occurs",
        horizon_days=14,
        outcome=EventMatch(("x",)),
        description="the chance of a demo",
    )
    assert task_phrase(desc) == "the chance of a demo"
    case = TaskConfig("t", "case_outcome", outcome=EventMatch(("Accepted|Wait - User",)))
    assert task_phrase(case) == "the chance that the case reaches accepted / wait user"
    attr = TaskConfig(
        "t", "case_outcome", outcome=EventMatch(attribute="loan", values=("approved",))
    )
    assert task_phrase(attr) == "the chance that loan = approved"
    nxt = TaskConfig("t", "next", target="touchpoint", description="the odds that {class} is next")
    assert task_phrase(nxt, "support_call") == "the odds that support call is next"
    plain = TaskConfig("t", "next", horizon_days=7, end_of_case=True)
    assert task_phrase(plain, "end") == "the chance that the case ends next"
    assert task_phrase(plain, "none") == "the chance of no further event within 7 days"
    lapses = TaskConfig("t", "lapses", horizon_days=30)
    assert task_phrase(lapses) == "the risk of lapsing within 30 days"


def test_the_demo_pipeline_asks_what_it_asked_before_task_kinds() -> None:
    from journeyml.lifecycle import load_pipeline_config

    demo = load_pipeline_config(MODELS.parent / "pipelines" / "demo.yaml")
    got = demo.task_configs(DataDefaults(("purchase",), ("cancellation",), ()))
    before = {
        "conversion": {"horizon_days": 14, "conversion_touchpoints": ["purchase"]},
        "churn": {"horizon_days": 30, "churn_touchpoints": ["cancellation"], "inactivity": True},
        "next_stage": {"horizon_days": 14, "target": "stage"},
    }
    for name, old in before.items():
        assert got[name] == legacy_task({"name": name, **old}), name
