"""Task blocks as users write them (YAML) → :class:`TaskConfig`, with the kind's defaults and
the data's own (the mapping's ``outcomes:`` and ``company_sent:``). Errors name the key.

>>> t = task_from_block("churn_after_purchase", {"kind": "lapses", "horizon_days": 30,
...     "churn": ["cancellation"], "eligibility": {"has_done": ["purchase"]}},
...     DataDefaults(company_sent=("newsletter",)))
>>> e = t.rules
>>> e.has_done.touchpoints, e.not_yet.touchpoints, e.active_within_days, t.company_sent
(('purchase',), ('cancellation',), 30.0, ('newsletter',))
>>> task_from_block("x", {"kind": "occurs", "horizon_days": 7, "outcom": ["buy"]})
Traceback (most recent call last):
...
journeyml.errors.ConfigError: task 'x': unknown key 'outcom'; a occurs task takes kind, \
description, horizon_days, outcome, activity, company_sent, eligibility, cutoffs. See docs/tasks.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from journeyml.errors import ConfigError
from journeyml.events import Outcomes
from journeyml.tasks.definition import (
    ANYONE,
    KINDS,
    LEGACY_TASKS,
    Eligibility,
    EventMatch,
    TaskConfig,
    check_name,
    legacy_task,
)

_COMMON = ("kind", "description", "activity", "company_sent", "eligibility", "cutoffs")
KIND_KEYS: dict[str, tuple[str, ...]] = {
    "occurs": ("horizon_days", "outcome"),
    "lapses": ("horizon_days", "churn", "inactivity"),
    "case_outcome": ("outcome", "cut_before_outcome", "complete_after_days"),
    "next": ("horizon_days", "target", "end_of_case", "min_class_examples"),
}
ELIGIBILITY_KEYS = ("not_yet", "has_done", "active_within_days", "min_events")
#: keys of a pipeline's task entry that are not the task's (kept for the caller)
IGNORED_KEYS = ("defaults", "lightgbm")


@dataclass(frozen=True)
class DataDefaults:
    """What the data source says: outcome touchpoints (a mapping's ``outcomes:`` section, or
    the simulator's; None: not said, the built-in default applies; ``()``: none) and the
    touchpoints the company sends (not customer activity)."""

    conversion: tuple[str, ...] | None = None
    churn: tuple[str, ...] | None = None
    company_sent: tuple[str, ...] = ()
    source: str = "the data source"

    @classmethod
    def from_outcomes(
        cls, outcomes: Outcomes, company_sent: Iterable[str] = (), *, source: str
    ) -> DataDefaults:
        """From a mapping's ``outcomes:`` section (a list left out: not said) and its
        ``company_sent:`` list."""
        conv, churn = outcomes.conversion_touchpoints, outcomes.churn_touchpoints
        return cls(
            None if conv is None else tuple(conv),
            None if churn is None else tuple(churn),
            tuple(company_sent),
            source,
        )


def task_from_block(
    name: str,
    block: Mapping[str, Any],
    defaults: DataDefaults | None = None,
    *,
    field: str | None = None,
) -> TaskConfig:
    """One task from its YAML block; ``field`` (default ``tasks.<name>``) prefixes the key
    named in errors. ``company_sent`` stays unresolved (None) unless the block or
    ``defaults`` give it.

    >>> from journeyml import task_from_block
    >>> task = task_from_block("buys", {"kind": "occurs", "horizon_days": 30,
    ...                                 "outcome": ["purchase"]})
    >>> task.name, task.kind, task.outcome.touchpoints
    ('buys', 'occurs', ('purchase',))
    """
    where = field or f"tasks.{name}"
    check_name(name, field=where)
    d = defaults or DataDefaults()
    b = {k: v for k, v in block.items() if k not in IGNORED_KEYS}
    try:
        if "kind" not in b:
            return _legacy(name, b, d)
        return _parse(name, b, d).resolved(d.company_sent)
    except ConfigError as exc:
        prefix = f"task {name!r}: "
        msg = exc.message if exc.message.startswith(prefix) else prefix + exc.message
        key = f"{where}.{exc.field}" if exc.field else where
        raise ConfigError(msg, field=key) from None


def _legacy(name: str, b: dict[str, Any], d: DataDefaults) -> TaskConfig:
    if name == "conversion" and "conversion_touchpoints" not in b and d.conversion is not None:
        b["conversion_touchpoints"] = list(d.conversion)
    if name == "churn" and "churn_touchpoints" not in b and d.churn is not None:
        b["churn_touchpoints"] = list(d.churn)
    if name not in LEGACY_TASKS:
        raise ConfigError(
            f"expected a kind (one of {list(KINDS)}), got none. See docs/tasks.md.", field="kind"
        )
    return legacy_task({"name": name, **b}, company_sent=None).resolved(d.company_sent)


def _parse(name: str, b: dict[str, Any], d: DataDefaults) -> TaskConfig:
    kind = b["kind"]
    if kind not in KINDS:
        raise ConfigError(
            f"expected kind to be one of {list(KINDS)}, got {kind!r}. See docs/tasks.md.",
            field="kind",
        )
    allowed = (*_COMMON[:2], *KIND_KEYS[kind], *_COMMON[2:])
    unknown = [k for k in b if k not in allowed]
    if unknown:
        raise ConfigError(
            f"unknown key {unknown[0]!r}; a {kind} task takes {', '.join(allowed)}. "
            "See docs/tasks.md.",
            field=unknown[0],
        )
    args: dict[str, Any] = {
        k: b[k]
        for k in (
            "horizon_days",
            "inactivity",
            "target",
            "end_of_case",
            "min_class_examples",
            "cut_before_outcome",
            "complete_after_days",
        )
        if k in b
    }
    args["description"] = str(b.get("description") or "")
    args["cutoffs"] = b.get("cutoffs")
    if kind in ("occurs", "case_outcome"):
        args["outcome"] = _outcome(b, d)
    if kind == "lapses":
        churn = b.get("churn", list(d.churn or ()))
        args["churn"] = EventMatch.parse(churn, field="churn")
    args.update(_activity(b))
    task = TaskConfig(name, kind, **args)
    if "eligibility" in b:
        task = replace(task, eligibility=_eligibility(b["eligibility"], task.rules))
    return task


def _outcome(b: dict[str, Any], d: DataDefaults) -> EventMatch:
    if "outcome" in b:
        return EventMatch.parse(b["outcome"], field="outcome")
    if d.conversion:
        return EventMatch(d.conversion)
    raise ConfigError(
        f"expected an outcome (touchpoints, stages or {{attribute, values}}), got none, and "
        f"{d.source} gives no default (outcomes.conversion_touchpoints). Add outcome: [...].",
        field="outcome",
    )


def _activity(b: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    act = b.get("activity", "initiated")
    if act == "any":
        out["company_sent"] = ()
    elif act != "initiated":
        m = EventMatch.parse(act, field="activity")
        if m.empty:
            raise ConfigError(
                "expected activity to be initiated, any, or some touchpoints/stages, got an "
                "empty list (nothing would count as activity).",
                field="activity",
            )
        out["activity"] = m
    if "company_sent" in b:
        if not isinstance(b["company_sent"], list | tuple):
            raise ConfigError(
                f"expected a list of touchpoints for company_sent, got {b['company_sent']!r}",
                field="company_sent",
            )
        out["company_sent"] = tuple(str(x) for x in b["company_sent"])
    return out


def _eligibility(value: Any, default: Eligibility) -> Eligibility:
    if value == "any":
        return ANYONE
    if value is None or value == "default":
        return default
    if not isinstance(value, Mapping):
        raise ConfigError(
            "expected eligibility to be any, default, or a block with "
            f"{', '.join(ELIGIBILITY_KEYS)}, got {value!r}",
            field="eligibility",
        )
    unknown = [k for k in value if k not in ELIGIBILITY_KEYS]
    if unknown:
        raise ConfigError(
            f"unknown eligibility key {unknown[0]!r}; expected some of "
            f"{', '.join(ELIGIBILITY_KEYS)}",
            field=f"eligibility.{unknown[0]}",
        )
    args: dict[str, Any] = {}
    for k in ("not_yet", "has_done"):
        if k in value:
            args[k] = EventMatch.parse(value[k], field=f"eligibility.{k}")
    if "active_within_days" in value:
        args["active_within_days"] = value["active_within_days"]
    if "min_events" in value:
        args["min_events"] = value["min_events"]
    return replace(default, **args)
