"""Progress of long work: named stages with counts and an ETA, reported to a listener.

The library never prints. Long work takes a :class:`Progress` and reports each stage to it
(``reading`` 3.1 of 40 MB, ``validating`` 1.2 M rows...); whoever runs the work listens: the
CLI renders the updates with ``rich.progress``, a notebook may print them, a test records them.
:data:`NO_PROGRESS` (the default everywhere) listens to nothing and costs next to nothing.

>>> seen = []
>>> seconds = iter(range(100))  # a clock that ticks one second per reading
>>> progress = Progress(seen.append, clock=lambda: float(next(seconds)))
>>> with progress.stage("reading", total=10, unit="rows") as stage:
...     stage.advance(5)
...     stage.advance(5)
>>> [(u.done, u.total, u.finished) for u in seen]
[(0, 10, False), (5, 10, False), (10, 10, False), (10, 10, True)]
>>> seen[1].elapsed, seen[1].eta  # 5 of 10 rows in 2 s: 2 s to go
(2.0, 2.0)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class ProgressUpdate:
    """Where one stage stands. ``total`` is ``None`` when the amount of work is unknown."""

    stage: str
    done: float
    total: float | None
    unit: str
    elapsed: float
    finished: bool = False
    failed: bool = False

    @property
    def fraction(self) -> float | None:
        """Share of the stage done, in [0, 1], or ``None`` without a total."""
        if not self.total:
            return None
        return min(1.0, self.done / self.total)

    @property
    def eta(self) -> float | None:
        """Seconds left at the rate so far (``None`` until there is a rate and a total).

        >>> ProgressUpdate("s", done=25, total=100, unit="rows", elapsed=5.0).eta
        15.0
        """
        if self.finished:
            return 0.0
        if self.total is None or self.done <= 0 or self.elapsed <= 0:
            return None
        return max(0.0, (self.total - self.done) * self.elapsed / self.done)


Listener = Callable[[ProgressUpdate], None]


class Stage:
    """One running stage: advance its count, or learn its total on the way."""

    def __init__(
        self, progress: Progress, name: str, total: float | None, unit: str, start: float
    ) -> None:
        self._progress = progress
        self.name = name
        self.total = total
        self.unit = unit
        self.done: float = 0
        self._start = start

    def advance(self, amount: float = 1) -> None:
        """``amount`` more units done."""
        self.update(self.done + amount)

    def update(self, done: float, *, total: float | None = None) -> None:
        """Set the count done so far (and the total, when it becomes known)."""
        self.done = done
        if total is not None:
            self.total = total
        self._emit()

    def _emit(self, *, finished: bool = False, failed: bool = False) -> None:
        self._progress.emit(
            ProgressUpdate(
                stage=self.name,
                done=self.done,
                total=self.total,
                unit=self.unit,
                elapsed=self._progress.clock() - self._start,
                finished=finished,
                failed=failed,
            )
        )


class Progress:
    """Reports stages of work to ``listener`` (none: the work runs silently).

    ``clock`` gives seconds (monotonic); tests pass their own.

    >>> from journeyml import Progress
    >>> seen = []
    >>> progress = Progress(seen.append)
    >>> with progress.stage("reading", total=3, unit="rows") as stage:
    ...     stage.advance(2)
    ...     stage.advance(1)
    >>> [(u.stage, u.done, u.total, u.finished) for u in seen]  # doctest: +NORMALIZE_WHITESPACE
    [('reading', 0, 3, False), ('reading', 2, 3, False), ('reading', 3, 3, False),
     ('reading', 3, 3, True)]
    """

    def __init__(
        self, listener: Listener | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.listener = listener
        self.clock = clock

    def emit(self, update: ProgressUpdate) -> None:
        """Pass ``update`` to the listener."""
        if self.listener is not None:
            self.listener(update)

    @contextmanager
    def stage(self, name: str, total: float | None = None, unit: str = "rows") -> Iterator[Stage]:
        """Run one stage: an update when it starts, on each advance, and when it ends.

        A stage that ends normally is reported complete (its count set to its total when the
        total is known); one left by an exception is reported ``failed``.
        """
        if self.listener is None:
            yield _SILENT_STAGE
            return
        stage = Stage(self, name, total, unit, self.clock())
        stage._emit()
        try:
            yield stage
        except BaseException:
            stage._emit(finished=True, failed=True)
            raise
        if stage.total is not None:
            stage.done = stage.total
        else:
            stage.total = stage.done
        stage._emit(finished=True)


class _SilentStage(Stage):
    def __init__(self) -> None:
        self.name, self.total, self.unit, self.done = "", None, "", 0

    def update(self, done: float, *, total: float | None = None) -> None:
        return None


_SILENT_STAGE = _SilentStage()


def silent_stage() -> Stage:
    """A stage nobody listens to, for code that reports to a stage it was not given."""
    return _SILENT_STAGE


#: Progress that nobody listens to: the default of every function that reports progress.
NO_PROGRESS = Progress()
