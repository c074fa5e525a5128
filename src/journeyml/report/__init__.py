"""The analysts' report: one self-contained HTML file (inline SVG, inline CSS, no scripts,
no external requests) built from a Predictor and an event log; see :func:`render_report`."""

from journeyml.report.build import ReportData, gather
from journeyml.report.render import log_report, render, render_report

__all__ = ["ReportData", "gather", "log_report", "render", "render_report"]
