"""The analysts' report: one self-contained HTML file (inline SVG, inline CSS, no scripts,
no external requests) built from a Predictor and an event log; see :func:`render_report`."""

from journeyml.report.build import ReportData, gather
from journeyml.report.render import log_report, render, render_report
from journeyml.report.svg import bars as svg_bars
from journeyml.report.svg import reliability as svg_reliability

__all__ = [
    "ReportData",
    "gather",
    "log_report",
    "render",
    "render_report",
    "svg_bars",
    "svg_reliability",
]
