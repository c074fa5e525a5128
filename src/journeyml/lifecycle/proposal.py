"""Propose a pipeline config for an inspected log: ``journeyml init``'s second file.

Everything is derived from the log: horizons and the snapshot cadence from its time span, the
cutoffs from its kind (snapshots for customer journeys, one cutoff per event for the cases of
a process), and the tasks from the outcomes found in its touchpoints. The task blocks are
written in one place, :func:`task_blocks`, so the task kinds of a later journeyml replace
them there. The text is a valid :class:`~journeyml.lifecycle.PipelineConfig`.

>>> nice_at_most(68), nice_at_most(0.4), nice_at_least(26)
(60, 1, 30)
"""

from __future__ import annotations

from dataclasses import dataclass

from journeyml.events import Inspection, plural, yaml_scalar

#: horizons and cadences people think in (days)
NICE_DAYS = (1, 2, 3, 7, 14, 30, 60, 90, 180, 365)
#: the most snapshot cutoffs a proposal samples (customers × snapshot dates)
MAX_CUTOFFS = 500_000
DEFAULT_WINDOWS = (1, 7, 30, 90)
#: the least share of converted customers who come back for activity of their own on a later
#: day for init to propose a lapse (churn) task. Below it nearly everyone "lapses" at once and
#: the task would ask who comes back at all (a repeat conversion in other words): on the
#: attribution sample 11 % of converters come back and 97 % of its churn labels were
#: "lapsed". Logs with lapse to predict are far above it (CDNOW 49 %, the simulated shop 96 %,
#: B2B 91 %).
MIN_RETURNING = 0.2
#: the least share of cancelling customers who had converted before cancelling for init to ask
#: churn of converted customers only (a cancellation that needs a contract)
CANCEL_AFTER_CONVERSION = 0.95


def nice_at_most(days: float) -> int:
    """The largest of :data:`NICE_DAYS` not above ``days`` (at least 1)."""
    return max([d for d in NICE_DAYS if d <= days] or [1])


def nice_at_least(days: float) -> int:
    """The smallest of :data:`NICE_DAYS` not below ``days`` (at most a year)."""
    return min([d for d in NICE_DAYS if d >= days] or [NICE_DAYS[-1]])


@dataclass
class Plan:
    """The choices behind a proposed pipeline, each with its reason."""

    horizon: int
    horizon_why: str
    snapshots: dict[str, object]
    snapshots_why: str
    windows: tuple[int, ...]


def plan_for(found: Inspection) -> Plan:
    """Horizon, cutoffs and feature windows for ``found``'s log."""
    shape = found.shape
    span = shape.span_days
    windows = tuple(w for w in DEFAULT_WINDOWS if w <= max(span / 3, 1))
    if shape.kind == "cases":
        cap = min(span / 8, max(shape.p75_days, 1.0))
        horizon = nice_at_most(cap)
        return Plan(
            horizon=horizon,
            horizon_why=(
                f"{horizon} days: about how long a case runs (75% end within "
                f"{shape.p75_days:.0f} days), at most an eighth of the {span:.0f}-day log; the "
                "split keeps this gap between training and test"
            ),
            snapshots={"mode": "at_each_event"},
            snapshots_why="a cutoff after each event of a case (prefixes): process monitoring",
            windows=windows,
        )
    horizon = nice_at_most(span / 8)
    every = max(nice_at_most(horizon / 2), nice_at_least(span * shape.n_customers / MAX_CUTOFFS), 1)
    return Plan(
        horizon=horizon,
        horizon_why=(
            f"{horizon} days: at most an eighth of the {span:.0f}-day log, so the test window "
            "holds observed outcomes"
        ),
        snapshots={"mode": "every_n_days", "every_days": every},
        snapshots_why=(
            f"a cutoff every {plural(every, 'day')} for each customer seen by then "
            f"(at most {shape.n_customers * span / every:,.0f} cutoffs)"
        ),
        windows=windows,
    )


def churn_left_out(found: Inspection) -> str | None:
    """Why init proposes no churn (lapses) task for ``found``'s journeys, in one line: what it
    looked for and what it found; None when it proposes one (a touchpoint looks like a
    cancellation, or at least :data:`MIN_RETURNING` of the customers come back for activity
    of their own after converting). Logs of cases get none anyway (a case ends, it does not
    lapse)."""
    if found.shape.kind == "cases" or found.outcomes("cancellation"):
        return None
    r = found.shape.returning
    if r.share >= MIN_RETURNING:
        return None
    who = "converted" if r.after_conversion else "active"
    since = "converting" if r.after_conversion else "their first own event"
    own = ", ".join(r.own[:3]) + (", ..." if len(r.own) > 3 else "") if r.own else "nothing"
    return (
        f"churn left out: looked for customers who come back for activity of their own (not "
        f"company-sent) on a later day after {since}, or a cancellation touchpoint; found "
        f"{r.share:.0%} of {plural(r.of, f'{who} customer')} back (at least "
        f"{MIN_RETURNING:.0%} needed), customers start only {own}, no cancellation"
    )


def churn_population(found: Inspection) -> tuple[str, str]:
    """Who a proposed churn task asks, as ``(YAML, why)`` to add to its block: customers who
    have converted, when nearly every cancellation (at least :data:`CANCEL_AFTER_CONVERSION`)
    follows a conversion (a cancellation needs a contract: before it, "lapsing" is a prospect
    going quiet, another question); nothing when customers start converted or nobody cancels."""
    shape = found.shape
    conv = found.outcomes("conversion")
    n, after = shape.cancelling, shape.cancelling_after_conversion
    if not conv or n == 0 or shape.first_is_conversion >= 0.5:
        return "", ""
    if after / n < CANCEL_AFTER_CONVERSION:
        return "", ""
    return (
        f", eligibility: {{has_done: {yaml_scalar(conv)}}}",
        f"asked of customers who have converted: {after / n:.0%} of the "
        f"{plural(n, 'customer')} who cancel had converted before (a cancellation needs a "
        "contract)",
    )


def task_blocks(found: Inspection, plan: Plan) -> tuple[list[str], list[str]]:
    """The ``tasks:`` section as commented YAML lines, one block per task in the declarative
    kinds of docs/tasks.md (occurs, lapses, case_outcome, next), and the names of the tasks
    it trains."""
    h = plan.horizon
    shape = found.shape
    conv = found.outcomes("conversion")
    cancel = found.outcomes("cancellation")
    lines = ["tasks:  # kinds and every key: docs/tasks.md"]
    tasks: list[str] = []
    if shape.kind == "cases":
        lines += [
            "  # the next activity of a case after each prefix, or 'end' (its activities are "
            "its stages)",
            "  next_stage: {kind: next, target: stage, end_of_case: true}",
        ]
        tasks.append("next_stage")
        if conv:
            lines += [
                f"  # {', '.join(conv)} looks like an outcome of a case. If only some cases "
                "reach it, ask",
                "  # whether a case will (prefixes end before it, so the model never sees the "
                "event it predicts):",
                f"  # reaches_outcome: {{kind: case_outcome, outcome: {yaml_scalar(conv)}, "
                "cut_before_outcome: true}",
            ]
        return lines, tasks
    if conv:
        repeat = shape.first_is_conversion >= 0.5
        eligibility = "any" if repeat else f"{{not_yet: {yaml_scalar(conv)}}}"
        why = (
            f"{shape.first_is_conversion:.0%} of customers start with a conversion, so "
            "'not converted yet' would leave almost no one: every customer is asked "
            "(a repeat conversion)"
            if repeat
            else "only customers who have not converted yet are asked (a first conversion)"
        )
        lines += [
            f"  # will the customer convert ({', '.join(conv)}) within {h} days? {why}",
            f"  conversion: {{kind: occurs, horizon_days: {h}, outcome: {yaml_scalar(conv)}, "
            f"eligibility: {eligibility}}}",
        ]
        tasks.append("conversion")
    else:
        lines += [
            "  # no touchpoint looks like a conversion; name yours to predict one:",
            f"  # conversion: {{kind: occurs, horizon_days: {h}, outcome: [<touchpoint>]}}",
        ]
    how = f"a cancellation ({', '.join(cancel)}) or " if cancel else ""
    churn = f", churn: {yaml_scalar(cancel)}" if cancel else ""
    left_out = churn_left_out(found)
    if left_out is None:
        customers, among = churn_population(found)
        lines += [
            f"  # will an active customer leave within {h} days: {how}no activity of their own "
            f"for {h} days (company-sent touchpoints do not count)?",
            *([f"  # {among}"] if among else []),
            f"  churn: {{kind: lapses, horizon_days: {h}{churn}, inactivity: true{customers}}}",
        ]
        tasks.append("churn")
    else:
        lines += [
            f"  # {left_out}",
            f"  # churn: {{kind: lapses, horizon_days: {h}, inactivity: true}}",
        ]
    own = (
        " of the customer's own (company-sent ones are not steps)"
        if found.outcomes("company_sent")
        else ""
    )
    if found.stage_coverage >= 0.9 and _n_stages(found) >= 2:
        lines += [
            f"  # which stage{own} comes next within {h} days (or none)?",
            f"  next_stage: {{kind: next, horizon_days: {h}, target: stage}}",
        ]
        tasks.append("next_stage")
    elif 2 <= shape.n_touchpoints <= 60:
        lines += [
            f"  # which touchpoint{own} comes next within {h} days (or none)? Stages are "
            "guessed for "
            f"{found.stage_coverage:.0%} of events only, so the touchpoint is predicted",
            f"  next_stage: {{kind: next, horizon_days: {h}, target: touchpoint}}",
        ]
        tasks.append("next_stage")
    else:
        lines.append(
            f"  # next_stage left out: {plural(shape.n_touchpoints, 'touchpoint')}, stages for "
            f"{found.stage_coverage:.0%} of events: nothing to choose between"
        )
    return lines, tasks


def _n_stages(found: Inspection) -> int:
    mode = found.mapping.resolved_stage_mode
    if mode == "map":
        return len(set(found.mapping.stage_map.values()))
    return found.shape.n_touchpoints if mode == "activity" else 5


def pipeline_yaml(
    found: Inspection,
    *,
    name: str,
    data_path: str,
    mapping: str | None,
    command: str = "",
) -> str:
    """The proposed pipeline config as commented YAML.

    ``data_path`` and ``mapping`` are written as given (relative paths resolve against the
    config file's folder); ``mapping`` ``None`` leaves it out (canonical columns).
    """
    plan = plan_for(found)
    lines = [
        f"# Pipeline proposed by `{command or 'journeyml init ' + found.source}`.",
        "# Derived from the log; check it, then `journeyml train <this file>`. Every key is",
        "# described in docs/reference.md (Pipeline config).",
        f"name: {yaml_scalar(name)}",
        "data:",
        f"  path: {yaml_scalar(data_path)}  # relative paths resolve against this file's folder",
    ]
    if mapping is not None:
        lines.append(f"  mapping: {yaml_scalar(mapping)}")
    else:
        lines.append("  # no mapping: the file has the canonical columns")
    lines += [
        "  policy: lenient  # rows that break a rule are left out (journeyml validate lists them)",
        f"# the log: {found.shape.kind} ({found.shape.kind_evidence})",
        "features:",
        f"  windows_days: {yaml_scalar(list(plan.windows))}  # counts over the last 1, 7, ... days",
    ]
    attrs = list(found.mapping.customer_attributes)
    if attrs:
        lines += [
            f"  # attributes: {yaml_scalar(attrs)}  # customer attributes the model could use: add",
            "  # those known from a journey's start (not filled in at its end, which leaks)",
        ]
    lines += [
        f"snapshots: {yaml_scalar(plan.snapshots)}  # {plan.snapshots_why}",
        f"# horizon: {plan.horizon_why}",
    ]
    lines += task_blocks(found, plan)[0]
    return "\n".join(lines) + "\n"
