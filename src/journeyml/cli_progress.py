"""The command line's view of library progress: one ``rich.progress`` bar per stage.

The library reports :class:`~journeyml.progress.ProgressUpdate` s to a listener and never
prints; :class:`RichProgress` is the listener the CLI gives it.

>>> import io
>>> console = Console(file=io.StringIO(), width=80)
>>> seen = []
>>> with RichProgress(console) as progress:
...     progress.listener = lambda u: seen.append(format_eta(u))
...     with progress.stage("validating", total=2_000) as stage:
...         stage.advance(1_000)
>>> seen[-1]
'done'
>>> format_count(ProgressUpdate("reading", 3_100_000, 40_000_000, "bytes", 1.0))
'3.1/40.0 MB'
"""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichBars

from journeyml.progress import Progress, ProgressUpdate


def format_count(update: ProgressUpdate) -> str:
    """``done/total unit`` in readable units (bytes as MB)."""
    done, total = update.done, update.total
    if update.unit == "bytes":
        mb = 1_000_000
        return f"{done / mb:.1f}/{total / mb:.1f} MB" if total else f"{done / mb:.1f} MB"
    return f"{done:,.0f}/{total:,.0f} {update.unit}" if total else f"{done:,.0f} {update.unit}"


def format_eta(update: ProgressUpdate) -> str:
    """``ETA 0:01:05`` from the library's estimate, ``failed``, or nothing when unknown."""
    if update.failed:
        return "failed"
    if update.finished:
        return "done"
    eta = update.eta
    if eta is None:
        return ""
    minutes, seconds = divmod(round(eta), 60)
    return f"ETA {minutes // 60}:{minutes % 60:02d}:{seconds:02d}"


class RichProgress:
    """A context manager that renders progress on ``console`` and yields the library's
    :class:`~journeyml.progress.Progress` to pass to the work. The bars are live while the
    work runs and cleared when it ends (what the work found is printed after them)."""

    def __init__(self, console: Console) -> None:
        self.bars = RichBars(
            SpinnerColumn(),
            TextColumn("{task.description:<11}"),
            BarColumn(bar_width=30),
            TextColumn("{task.fields[count]:>22}"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[eta]}"),
            console=console,
            transient=True,
        )
        self._open: dict[str, TaskID] = {}

    def __call__(self, update: ProgressUpdate) -> None:
        task = self._open.get(update.stage)
        count, eta = format_count(update), format_eta(update)
        if task is None:
            task = self.bars.add_task(update.stage, total=update.total, count=count, eta=eta)
            self._open[update.stage] = task
        self.bars.update(task, completed=update.done, total=update.total, count=count, eta=eta)
        if update.finished:
            self.bars.stop_task(task)
            del self._open[update.stage]

    def __enter__(self) -> Progress:
        self.bars.start()
        return Progress(self)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.bars.stop()
