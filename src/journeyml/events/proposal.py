"""Write an :class:`~journeyml.events.inspect.Inspection` as a commented mapping YAML file:
every key ``journeyml init`` set, with the evidence behind it as a comment, and what it left
out. The text parses back to exactly the proposed mapping.

>>> import pandas as pd, yaml
>>> from journeyml.events.inspect import inspect_frame
>>> from journeyml.events.mapping import parse_mapping
>>> raw = pd.DataFrame({"user": ["a", "a", "b", "b"],
...     "time": ["2024-01-01", "2024-01-02", "2024-01-01", "2024-01-03"],
...     "event": ["visit", "purchase", "visit", "visit"]})
>>> found = inspect_frame(raw, source="log.csv")
>>> text = mapping_yaml(found, name="log")
>>> back = parse_mapping(yaml.safe_load(text))
>>> back.name, back.model_dump(exclude={"name", "description"}) == found.mapping.model_dump(
...     exclude={"name", "description"})
('log', True)
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from journeyml.events.inspect import Guess, Inspection, plural
from journeyml.events.mapping import ColumnSource, EventMapping

#: the canonical stages, for the comment next to touchpoints without a guessed stage
STAGE_CHOICES = "awareness | consideration | conversion | retention | advocacy"


def yaml_scalar(value: Any) -> str:
    """``value`` as one line of YAML (quoted only when YAML needs it).

    >>> [yaml_scalar(v) for v in ("case:concept:name", "%Y%m%d", ["a b", "yes"], "on")]
    ['case:concept:name', "'%Y%m%d'", "[a b, 'yes']", "'on'"]
    """
    text = yaml.safe_dump(
        value, default_flow_style=True, width=10_000, allow_unicode=True, sort_keys=False
    )
    return text.strip().removesuffix("...").strip()


def _source(src: ColumnSource) -> Any:
    if src.column is not None:
        return src.column
    if src.constant is not None:
        return {"constant": src.constant}
    return {"join": src.join, "sep": src.sep}


def _comment(text: str) -> str:
    return f"  # {text}" if text else ""


def _evidence(guesses: list[Guess], role: str) -> str:
    return "; ".join(f"{g.column}: {g.evidence}" for g in guesses if g.role == role)


def mapping_yaml(found: Inspection, *, name: str, command: str = "") -> str:
    """The proposed mapping as commented YAML (``name`` becomes its ``name:``)."""
    m: EventMapping = found.mapping
    shape = found.shape
    by_column = {g.column: g for g in found.guesses}
    lines = [
        f"# Mapping proposed by `{command or 'journeyml init ' + found.source}`.",
        "# Every value below is a guess from the file, with its evidence as a comment: check",
        "# them, then `journeyml validate <log> --mapping <this file>`. Every key is described",
        "# in docs/reference.md (Mapping).",
        f"name: {yaml_scalar(name)}",
        "description: "
        + yaml_scalar(
            f"{plural(shape.n_customers, 'case' if shape.kind == 'cases' else 'customer')}, "
            f"{plural(shape.n_events, 'event')}, {plural(shape.n_touchpoints, 'touchpoint')}, "
            f"{shape.start:%Y-%m-%d} → {shape.end:%Y-%m-%d}"
        ),
    ]
    reader = m.reader.model_dump(exclude_defaults=True)
    if reader:
        lines.append(f"reader: {yaml_scalar(reader)}{_comment(found.reader_note)}")
    elif found.reader_note:
        lines.append(f"# reader: defaults ({found.reader_note})")
    lines.append("columns:")
    for role, src in m.columns.sources():
        if src is None:
            if role == "channel":
                lines.append(
                    "  # channel: no column is named like a channel (events get 'unknown')"
                )
            continue
        if src.column is not None:
            why = by_column[src.column].evidence if src.column in by_column else ""
        elif src.join is not None:
            why = _evidence(found.guesses, role)
        else:
            why = "; ".join(g.evidence for g in found.guesses if g.role == role)
        lines.append(f"  {role}: {yaml_scalar(_source(src))}{_comment(why)}")
    for section, attrs in (
        ("event_attributes", m.event_attributes),
        ("customer_attributes", m.customer_attributes),
    ):
        if attrs:
            lines.append(f"{section}:")
            for attr, src in attrs.items():
                col = src.column or ""
                why = by_column[col].evidence if col in by_column else ""
                why = re.sub(r" \(as [^)]*\)$", "", why)
                lines.append(f"  {yaml_scalar(attr)}: {yaml_scalar(_source(src))}{_comment(why)}")
    ignored = [g for g in found.guesses if g.role == "ignored"]
    if ignored:
        lines.append("# not mapped:")
        lines.extend(f"#   {g.column}: {g.evidence}" for g in ignored)
    if m.timestamp_format:
        lines.append(f"timestamp_format: {yaml_scalar(m.timestamp_format)}")
    if found.mixed_zones:  # the user's question: left open, so validate asks it
        lines.append(f"# timezone: <IANA zone>{_comment(found.timezone_note)}")
    else:
        lines.append(f"timezone: {yaml_scalar(m.timezone)}{_comment(found.timezone_note)}")
    lines.extend(_stage_lines(found))
    lines.extend(_duplicates_lines(found))
    lines.extend(_outcome_lines(found))
    return "\n".join(lines) + "\n"


def _stage_lines(found: Inspection) -> list[str]:
    m = found.mapping
    mode = m.resolved_stage_mode
    if mode == "column":
        return ["# stages: the log's own stage column (columns.stage)"]
    if mode == "activity":
        return [
            f"stage_mode: activity  # {found.shape.kind_evidence}: each activity is its own stage"
        ]
    lines = []
    if m.stage_map:
        lines.append("stage_map:  # guessed from the touchpoints' names; check each")
        for tp, (stage, word) in found.stages.items():
            lines.append(f"  {yaml_scalar(tp)}: {stage}  # {word}")
    missing = [tp for tp in found.touchpoint_counts if tp not in found.stages]
    if missing:
        if not m.stage_map:
            lines.append("# stage_map: no touchpoint name suggests a stage; map them yourself:")
        else:
            lines.append("  # no guess for these (events without a stage until you map them):")
        lines.extend(f"  # {yaml_scalar(tp)}: {STAGE_CHOICES}" for tp in missing[:60])
        if len(missing) > 60:
            lines.append(f"  # ... and {len(missing) - 60} more")
    return lines


def _duplicates_lines(found: Inspection) -> list[str]:
    n = found.shape.duplicates
    if not n:
        return ["duplicates: reject  # no row repeats an earlier event"]
    return [
        f"duplicates: keep  # {plural(n, 'row')} repeat{'s' if n == 1 else ''} an earlier event "
        "(same customer, time,",
        "  # touchpoint, channel, value). Kept as separate events: logs repeat events for real",
        "  # (two identical orders on one day, clicks within one recorded second). Set reject",
        "  # to count them once.",
    ]


def _outcome_lines(found: Inspection) -> list[str]:
    conv = found.outcomes("conversion")
    cancel = found.outcomes("cancellation")
    sent = found.outcomes("company_sent")

    def words_of(role: str) -> str:
        return ", ".join(
            sorted({t.word for t in found.touchpoints if t.role == role and t.signal == "name"})
        )

    lines = ["outcomes:  # the defaults of tasks that name no outcome touchpoints of their own"]
    why = f"names say {words_of('conversion')}" if conv else "no touchpoint looks like one"
    lines.append(f"  conversion_touchpoints: {yaml_scalar(conv)}  # {why}")
    said = [f"names say {words_of('cancellation')}"] if words_of("cancellation") else []
    said += [
        f"{t.touchpoint} {t.word}"
        for t in found.touchpoints
        if t.role == "cancellation" and t.signal == "ending"
    ]
    why = "; ".join(said) if cancel else "none looks like a cancellation: churn is inactivity only"
    lines.append(f"  churn_touchpoints: {yaml_scalar(cancel)}  # {why}")
    if sent:
        said = []
        if words_of("company_sent"):
            said.append(f"names say {words_of('company_sent')}")
        timed = [t.touchpoint for t in found.touchpoints if t.signal == "timing"]
        if timed:
            said.append(f"{', '.join(timed)} arrive{'s' if len(timed) == 1 else ''} in bursts")
        why = f"sent by the company, not the customer ({'; '.join(said)})"
        if "company_sent" in EventMapping.model_fields:
            lines.append(f"company_sent: {yaml_scalar(sent)}  # {why}")
        else:
            lines.append(
                f"# company_sent: {yaml_scalar(sent)}  # {why}; this journeyml has no such key"
            )
    return lines
