"""The progress interface: stages with counts and an ETA, reported to a listener; the CLI's
rich rendering of it."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from journeyml.cli_progress import RichProgress, format_count, format_eta
from journeyml.progress import NO_PROGRESS, Progress, ProgressUpdate


def recording() -> tuple[Progress, list[ProgressUpdate]]:
    seen: list[ProgressUpdate] = []
    ticks = iter(float(t) for t in range(1_000))
    return Progress(seen.append, clock=lambda: next(ticks)), seen


def test_a_stage_reports_start_each_advance_and_its_end() -> None:
    progress, seen = recording()
    with progress.stage("mapping", total=100, unit="rows") as stage:
        stage.advance(30)
        stage.advance(30)
    assert [(u.done, u.finished) for u in seen] == [
        (0, False),
        (30, False),
        (60, False),
        (100, True),
    ]
    assert {u.stage for u in seen} == {"mapping"} and {u.unit for u in seen} == {"rows"}
    assert seen[-1].fraction == 1.0 and seen[-1].eta == 0.0


def test_eta_is_the_time_left_at_the_rate_so_far() -> None:
    update = ProgressUpdate("reading", done=40, total=100, unit="bytes", elapsed=8.0)
    assert update.eta == pytest.approx(12.0)
    assert ProgressUpdate("reading", 0, 100, "bytes", 3.0).eta is None  # no rate yet
    assert ProgressUpdate("reading", 5, None, "bytes", 3.0).eta is None  # no total


def test_a_total_learnt_on_the_way_and_an_unknown_total_end_at_the_count() -> None:
    progress, seen = recording()
    with progress.stage("reading", unit="bytes") as stage:
        stage.update(10, total=50)
    assert seen[-1].total == 50 and seen[-1].done == 50
    with progress.stage("counting") as stage:
        stage.advance(7)
    assert (seen[-1].done, seen[-1].total, seen[-1].finished) == (7, 7, True)


def test_a_stage_left_by_an_error_is_reported_failed_and_the_error_propagates() -> None:
    progress, seen = recording()
    with pytest.raises(ValueError, match="boom"), progress.stage("validating", total=3):
        raise ValueError("boom")
    assert seen[-1].failed and seen[-1].finished


def test_nobody_listening_costs_nothing_and_reports_nothing() -> None:
    with NO_PROGRESS.stage("reading", total=5) as stage:
        stage.advance(5)
        assert stage.done == 0  # the silent stage keeps no count


def test_rich_rendering_counts_units_and_eta() -> None:
    assert format_count(ProgressUpdate("r", 2_500_000, 10_000_000, "bytes", 1.0)) == "2.5/10.0 MB"
    assert format_count(ProgressUpdate("v", 1_234, 5_000, "rows", 1.0)) == "1,234/5,000 rows"
    assert format_eta(ProgressUpdate("v", 25, 100, "rows", 10.0)) == "ETA 0:00:30"
    assert format_eta(ProgressUpdate("v", 25, 100, "rows", 10.0, failed=True)) == "failed"


def test_rich_progress_follows_stages_to_the_end() -> None:
    console = Console(file=io.StringIO(), width=100)
    view = RichProgress(console)
    with view as progress:
        with progress.stage("reading", total=10, unit="bytes") as stage:
            stage.advance(10)
        with progress.stage("reading", total=4) as stage:  # the same name again: a new bar
            stage.advance(2)
    tasks = view.bars.tasks
    assert [t.description for t in tasks] == ["reading", "reading"]
    assert all(t.finished for t in tasks) and view._open == {}


def test_training_reports_its_stages_with_counts(training_stages: list[ProgressUpdate]) -> None:
    """``run_training`` (the session's trained store) says where it is: each stage starts and
    ends, features count cutoffs, training counts tasks (so the ETA is per task)."""
    ends = {u.stage: u for u in training_stages if u.finished}
    assert list(ends) == ["simulating", "labels", "features", "training"]
    assert not any(u.failed for u in training_stages)
    assert ends["training"].total == 3 and ends["training"].unit == "tasks"
    assert ends["features"].unit == "cutoffs" and ends["features"].total > 1_000
    steps = [u.done for u in training_stages if u.stage == "training"]
    assert steps == sorted(steps) and set(steps) >= {0, 1, 2, 3}


def test_rich_progress_is_quiet_when_not_a_terminal() -> None:
    """Piped to a file (CI, a log), the bars draw nothing: only what the work printed."""
    out = io.StringIO()
    console = Console(file=out, width=100)
    assert not console.is_terminal
    with RichProgress(console) as progress, progress.stage("training", total=3) as stage:
        stage.advance()
        console.print("conversion: AUC 0.81")
        stage.advance(2)
    assert out.getvalue().split() == ["conversion:", "AUC", "0.81"]
