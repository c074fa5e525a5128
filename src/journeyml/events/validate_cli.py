"""``journeyml validate``: load a log with a mapping, print the report, return an exit code.

Exit codes: 0 all rows accepted (or lenient with some accepted), 1 strict violations or no
usable event, 2 unreadable file or bad mapping. Errors print as messages, never tracebacks.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from journeyml.errors import ConfigError, JourneyMLError, ValidationFailedError
from journeyml.events.mapping import CANONICAL, EventMapping, load_events
from journeyml.events.report import ValidationReport
from journeyml.progress import NO_PROGRESS, Progress

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_UNUSABLE = 2


def _counts_table(title: str, counts: dict[str, int], limit: int = 20) -> Table:
    table = Table(show_edge=False, min_width=len(title))
    table.add_column("name")
    table.add_column("rows", justify="right")
    for key, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]:
        table.add_row(key, f"{n:,}")
    if len(counts) > limit:
        table.add_row(f"... {len(counts) - limit} more", "")
    return table


def print_report(report: ValidationReport, console: Console) -> None:
    """The summary of one load as rich tables."""
    console.print(f"[bold]validation of {escape(report.source)}[/]", highlight=False)
    overview = Table(show_edge=False)
    overview.add_column("measure")
    overview.add_column("value", justify="right")
    span = (
        f"{report.time_min:%Y-%m-%d %H:%M} → {report.time_max:%Y-%m-%d %H:%M} UTC"
        if report.time_min is not None and report.time_max is not None
        else "(no events)"
    )
    for label, value in (
        ("policy", report.policy),
        ("input rows", f"{report.n_input:,}"),
        ("accepted", f"{report.n_accepted:,}"),
        ("rejected", f"{report.n_rejected:,}"),
        ("customers", f"{report.n_customers:,}"),
        ("events", f"{report.n_events:,}"),
        ("touchpoints", f"{report.n_touchpoints:,}"),
        ("time span", span),
    ):
        overview.add_row(label, value)
    console.print(overview)
    for title, counts in (
        ("rejects by reason", report.rejects_by_reason),
        ("events by stage", report.events_by_stage),
        ("events by channel", report.events_by_channel),
        ("unmapped touchpoints (no stage)", report.unmapped_touchpoints),
        ("customer attributes varying within a customer", report.inconsistent_customer_attributes),
    ):
        if counts:
            console.print(f"[bold]{title}[/]")
            console.print(_counts_table(title, counts))
    if report.first_rejected_rows:
        console.print("first rejected rows (0-based data rows of the input file):")
        for rule, rows in report.first_rejected_rows.items():
            console.print(f"  {rule}: {rows}")
    if report.rejects_path:
        console.print(f"rejected rows written to {report.rejects_path}")


def describe_mapping(mapping: EventMapping) -> str:
    """One line on how the file was read: which mapping, and the reader options that matter.

    >>> from journeyml.events.mapping import canonical_mapping
    >>> from journeyml.events.readers import ReaderOptions
    >>> cols = ["customer_id", "timestamp", "touchpoint"]
    >>> describe_mapping(canonical_mapping(cols, reader=ReaderOptions(separator="tab")))
    "mapping: canonical (the file's own columns, no mapping needed); separator: tab (sniffed)"
    """
    if mapping.source == CANONICAL:
        text = "mapping: canonical (the file's own columns, no mapping needed)"
        if mapping.reader.separator != ",":
            text += f"; separator: {mapping.reader.separator} (sniffed)"
        return text
    return f"mapping: {mapping.source}"


def validate_command(
    path: Path,
    mapping: str | None,
    policy: str,
    rejects: Path | None,
    *,
    now: datetime | None = None,
    console: Console | None = None,
    progress: Progress = NO_PROGRESS,
) -> int:
    """Run ``journeyml validate``; ``now`` defaults to the current time (this is an entry point).

    ``mapping`` ``None`` (or ``"canonical"``) reads a file with the canonical columns.
    """
    out = console or Console()
    err = console or Console(stderr=True)
    moment = now or datetime.now(UTC)
    try:
        result = load_events(
            path, mapping, policy=policy, now=moment, rejects_path=rejects, progress=progress
        )
    except ValidationFailedError as exc:
        err.print(f"[bold red]validation failed[/]: {escape(exc.message)}", highlight=False)
        if rejects is not None:
            err.print(f"rejected rows written to {rejects}")
        return EXIT_INVALID
    except ConfigError as exc:
        err.print(f"[bold red]bad mapping or option[/]: {escape(exc.message)}", highlight=False)
        return EXIT_UNUSABLE
    except JourneyMLError as exc:
        err.print(f"[bold red]cannot load events[/]: {escape(exc.message)}", highlight=False)
        return EXIT_UNUSABLE
    out.print(describe_mapping(result.mapping), highlight=False)
    print_report(result.report, out)
    if result.report.n_accepted == 0:
        err.print("[bold red]no event passed validation[/]; see the rejects by reason above.")
        return EXIT_INVALID
    return EXIT_OK
