"""The monitoring page: one self-contained HTML file (inline SVG, no scripts), per task the
weekly series, the reliability diagram of matured predictions, and the causes whose share of
risk moved most since the first week."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from journeyml.monitor.compute import MonitorResult
from journeyml.report import svg_bars, svg_reliability

_COLOURS = ("#c0392b", "#2c7fb8", "#27ae60", "#8e44ad")


def lines(
    x: Sequence[str], series: dict[str, Sequence[float]], *, title: str, width: int = 520
) -> str:
    """A small line chart: one line per series over the weeks ``x`` (gaps where NaN)."""
    h, pad_l, pad_b, top = 170, 44, 26, 22
    vals = [v for s in series.values() for v in s if v is not None and np.isfinite(v)]
    lo, hi = (min(vals), max(vals)) if vals else (0.0, 1.0)
    lo, hi = (lo - 0.05, hi + 0.05) if hi - lo < 1e-9 else (lo, hi)
    n = max(len(x), 1)

    def px(i: int) -> float:
        return pad_l + (width - pad_l - 10) * (i / max(n - 1, 1))

    def py(v: float) -> float:
        return top + (h - top - pad_b) * (1 - (v - lo) / (hi - lo))

    body = [f'<text x="{pad_l}" y="14" font-weight="bold">{html.escape(title)}</text>']
    body.append(f'<text x="4" y="{py(hi) + 4:.0f}">{hi:.3g}</text>')
    body.append(f'<text x="4" y="{py(lo) + 4:.0f}">{lo:.3g}</text>')
    for i in (0, n - 1):
        if i < len(x):
            body.append(f'<text x="{px(i):.0f}" y="{h - 6}" text-anchor="middle">{x[i]}</text>')
    for k, (name, s) in enumerate(series.items()):
        colour = _COLOURS[k % len(_COLOURS)]
        pts = [(px(i), py(v)) for i, v in enumerate(s) if v is not None and np.isfinite(v)]
        if len(pts) > 1:
            path = " ".join(f"{a:.1f},{b:.1f}" for a, b in pts)
            body.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>'
            )
        body += [f'<circle cx="{a:.1f}" cy="{b:.1f}" r="2.5" fill="{colour}"/>' for a, b in pts]
        body.append(
            f'<text x="{width - 150}" y="{14 + 14 * k}" fill="{colour}">{html.escape(name)}</text>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {h}" width="{width}" '
        f'font-family="system-ui, sans-serif" font-size="11">{"".join(body)}</svg>'
    )


def _col(frame: pd.DataFrame, name: str) -> list[float]:
    return [float(v) for v in frame[name]] if name in frame else []


def render_page(result: MonitorResult, path: Path) -> Path:
    """Write the page for ``result`` to ``path``."""
    parts = [
        "<!doctype html><meta charset='utf-8'><title>journeyml monitoring</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1150px}"
        "td,th{padding:2px 8px;text-align:right}.bad{color:#c0392b}</style>",
        f"<h1>Monitoring — project {html.escape(str(result.project or 'all'))}</h1>",
        f"<p>{result.n_predictions:,} logged predictions; as of {result.now.isoformat()}.</p>",
    ]
    if result.breaches:
        items = "".join(f"<li>{html.escape(b)}</li>" for b in result.breaches)
        parts.append(f"<h2 class='bad'>Thresholds crossed</h2><ul class='bad'>{items}</ul>")
    else:
        parts.append("<p>No threshold crossed.</p>")
    weekly = result.weekly
    for task in dict.fromkeys(weekly["task"]) if not weekly.empty else []:
        w = weekly[weekly["task"] == task]
        x = [str(t.date()) for t in w["week"]]
        parts.append(f"<h2>{html.escape(task)}</h2>")
        charts = [
            lines(x, {"mean predicted": _col(w, "mean_prediction"),
                      "observed (matured)": _col(w, "observed_rate")}, title="rate"),
            lines(x, {"AUC": _col(w, "auc")}, title="realised AUC"),
            lines(x, {"ECE": _col(w, "ece"), "log loss": _col(w, "log_loss")}, title="calibration"),
            lines(x, {"prediction PSI": _col(w, "prediction_psi"),
                      "max feature PSI": _col(w, "max_feature_psi"),
                      "explanation shift": _col(w, "explanation_shift")}, title="drift"),
        ]  # fmt: skip
        if task in result.reliability:
            charts.append(svg_reliability({task: result.reliability[task]}))
        ex = result.explanations
        if not ex.empty and (ex["task"] == task).any():
            e = ex[ex["task"] == task]
            first, last = e["week"].min(), e["week"].max()
            a = e[e["week"] == first].set_index("cause")["share"]
            b = e[e["week"] == last].set_index("cause")["share"]
            delta = b.sub(a, fill_value=0.0).sort_values(key=np.abs, ascending=False)[:8]
            charts.append(
                svg_bars(
                    [(str(k), 100 * float(v)) for k, v in delta.items()],
                    unit="share points",
                    title=f"share of risk per cause: week {last.date()} vs {first.date()}",
                )
            )
        parts.append("".join(f"<div style='display:inline-block'>{c}</div>" for c in charts))
        parts.append(w.drop(columns="task").to_html(index=False, float_format="%.3f", na_rep=""))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
