"""``journeyml init LOG``: inspect a log, print what was guessed and why, and propose a mapping
and a pipeline config (written to the files given, or printed).

Exit codes: 0 proposed, 2 the file cannot be read as an event log or a file would be
overwritten. Errors print as messages, never tracebacks.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from journeyml.errors import JourneyMLError
from journeyml.events import Inspection, inspect_log, mapping_yaml, plural
from journeyml.lifecycle.proposal import churn_left_out, pipeline_yaml, plan_for, task_blocks
from journeyml.progress import NO_PROGRESS, Progress

EXIT_OK = 0
EXIT_UNUSABLE = 2


def default_name(log: Path) -> str:
    """A project name from a log's file name: lowercase words joined by ``-``.

    >>> default_name(Path("data/CDNOW_master.txt.gz")), default_name(Path("Helpdesk.xes"))
    ('cdnow-master', 'helpdesk')
    """
    stem = log.name
    while Path(stem).suffix:
        stem = Path(stem).stem
    return re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-") or "log"


def relative_to(path: Path, folder: Path) -> str:
    """``path`` as a file in ``folder`` would name it (relative when that is possible)."""
    try:
        return os.path.relpath(path.resolve(), folder.resolve())
    except ValueError:  # another drive
        return str(path.resolve())


def print_findings(found: Inspection, console: Console) -> None:
    """What was guessed, and why: the reading, the columns, the log, the touchpoints."""
    shape = found.shape
    console.print(
        f"[bold]{escape(found.source)}[/]: {escape(found.reader_note)}; "
        f"{found.n_rows:,} rows → {plural(shape.n_events, 'event')} of "
        f"{plural(shape.n_customers, 'case' if shape.kind == 'cases' else 'customer')}, "
        f"{shape.start:%Y-%m-%d} → {shape.end:%Y-%m-%d}",
        highlight=False,
    )
    table = Table(title="columns", title_justify="left", show_edge=False)
    table.add_column("column")
    table.add_column("role")
    table.add_column("evidence")
    for g in found.guesses:
        style = "dim" if g.role == "ignored" else ""
        table.add_row(escape(g.column), g.role, escape(g.evidence), style=style)
    console.print(table)
    console.print(f"[bold]log[/]: {shape.kind} ({escape(shape.kind_evidence)})", highlight=False)
    console.print(f"[bold]time zone[/]: {escape(found.timezone_note)}", highlight=False)
    if found.touchpoints:
        tps = Table(title="touchpoints", title_justify="left", show_edge=False)
        for col in ("touchpoint", "looks like", "because of", "events"):
            tps.add_column(col, justify="right" if col == "events" else "left")
        for t in found.touchpoints:
            tps.add_row(escape(t.touchpoint), t.role.replace("_", " "), t.word, f"{t.events:,}")
        console.print(tps)
    else:
        console.print(
            "[bold]touchpoints[/]: none looks like a conversion, a cancellation or a "
            "message the company sends"
        )
    if shape.duplicates:
        console.print(
            f"[bold]repeats[/]: {plural(shape.duplicates, 'row')} "
            f"repeat{'s' if shape.duplicates == 1 else ''} an earlier event exactly: kept "
            "(duplicates: keep)",
            highlight=False,
        )
    if found.rejects:
        reasons = ", ".join(f"{k} {v:,}" for k, v in found.rejects.items())
        console.print(
            f"[yellow]rows the mapping rejects[/]: {reasons}; `journeyml validate` lists them "
            "(the pipeline's lenient policy leaves them out)",
            highlight=False,
        )


def init_command(
    log: Path,
    *,
    mapping_out: Path | None = None,
    config_out: Path | None = None,
    name: str | None = None,
    force: bool = False,
    console: Console | None = None,
    out: Console | None = None,
    progress: Progress = NO_PROGRESS,
) -> int:
    """Run ``journeyml init``. ``console`` gets the findings, ``out`` the YAML of whatever is
    not written to a file."""
    say = console or Console(stderr=True)
    show = out or Console(soft_wrap=True, highlight=False)
    project = name or default_name(log)
    for target in (mapping_out, config_out):
        if target is not None and target.exists() and not force:
            say.print(
                f"[bold red]error[/]: {escape(str(target))} exists; expected a new file. Choose "
                "another path or pass --force to overwrite it."
            )
            return EXIT_UNUSABLE
    try:
        found = inspect_log(log, progress=progress)
    except JourneyMLError as exc:
        say.print(f"[bold red]cannot propose a mapping[/]: {escape(exc.message)}", highlight=False)
        return EXIT_UNUSABLE
    print_findings(found, say)
    left_out = churn_left_out(found)
    if left_out is not None:
        say.print(f"[bold]{escape(left_out)}[/]", highlight=False)
    folder = config_out.parent if config_out is not None else Path.cwd()
    if mapping_out is None and config_out is not None and found.needs_mapping:
        mapping_out = config_out.parent / f"{project}.mapping.yaml"
        if mapping_out.exists() and not force:
            say.print(
                f"[bold red]error[/]: the config needs a mapping and {escape(str(mapping_out))} "
                "exists; pass --mapping-out or --force."
            )
            return EXIT_UNUSABLE
    command = f"journeyml init {log}"
    mapping_text = mapping_yaml(found, name=project, command=command)
    if mapping_out is not None:
        mapping_ref: str | None = relative_to(mapping_out, folder)
    elif found.needs_mapping:
        mapping_ref = f"{project}.mapping.yaml"
    else:
        mapping_ref = None
    config_text = pipeline_yaml(
        found,
        name=project,
        data_path=relative_to(log, folder),
        mapping=mapping_ref,
        command=command,
    )
    written = []
    for target, text, what in (
        (mapping_out, mapping_text, "mapping"),
        (config_out, config_text, "pipeline config"),
    ):
        if target is None:
            if what == "mapping" and not found.needs_mapping:
                show.print(
                    "# (no mapping needed: the file has the canonical columns; here is "
                    "the one journeyml reads it with)"
                )
            elif what == "mapping":
                show.print(f"# save as {mapping_ref} beside the pipeline config")
            show.print(text, end="", markup=False)
            show.print("---" if what == "mapping" else "", markup=False)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            written.append(f"{what} → {target}")
    for line in written:
        say.print(f"[green]wrote[/] {escape(line)}", highlight=False)
    _next_steps(
        say,
        log,
        mapping_out,
        mapping_ref,
        config_out,
        found,
        task_blocks(found, plan_for(found))[1],
    )
    return EXIT_OK


def _next_steps(
    say: Console,
    log: Path,
    mapping_out: Path | None,
    mapping_ref: str | None,
    config_out: Path | None,
    found: Inspection,
    tasks: list[str],
) -> None:
    mapping_arg = ""
    if mapping_out is not None:
        mapping_arg = f" --mapping {mapping_out}"
    elif mapping_ref is not None:
        mapping_arg = f" --mapping {mapping_ref}"
    config = config_out if config_out is not None else "<pipeline config>"
    policy = " --policy lenient" if found.rejects else ""
    say.print("[bold]next[/]:", highlight=False)
    say.print(f"  journeyml validate {log}{mapping_arg}{policy}", highlight=False, markup=False)
    say.print(
        f"  journeyml train {config}    # trains {', '.join(tasks)}", highlight=False, markup=False
    )
