"""Turn :class:`ReportData` into HTML (Jinja2 template + inline SVG) and log it to MLflow."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd

from journeyml.explain import humanize
from journeyml.progress import NO_PROGRESS, Progress
from journeyml.report import svg
from journeyml.report.build import TOUCHPOINT_STEPS, ReportData, gather
from journeyml.scoring import Predictor

_TITLES = {"conversion": "Conversion", "churn": "Churn", "next_stage": "Next stage"}
_METRIC_NAMES = {
    "customers": "customers",
    "conversion_rate": "conversion rate",
    "cart_abandonment_rate": "cart-abandonment rate",
    "retention": "retention (converted, still active)",
    "repeat_purchase_rate": "repeat-purchase rate",
    "value_per_customer": "value per customer",
}


def _pct(v: Any) -> str:
    return "" if v is None or not np.isfinite(v) else f"{100 * float(v):.0f} %"


def _metric(name: str, v: float) -> str:
    if not np.isfinite(v):
        return "n/a"
    if name == "customers":
        return f"{v:,.0f}"
    if name == "value_per_customer":
        return f"{v:,.2f}"
    return _pct(v)


def render(data: ReportData) -> str:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("journeyml", "report/templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
    )
    drivers = []
    for t, d in data.drivers.items():
        items = [(r.label, float(r.mean_abs) * (1 if r.mean >= 0 else -1)) for r in d.itertuples()]
        m = data.matrices[t]
        cols = list(data.present[t].columns)
        pts = m.points[cols].rename(columns=lambda c: humanize(c.partition(":")[2]))
        pres = data.present[t].rename(columns=lambda c: humanize(c.partition(":")[2]))
        drivers.append(
            {
                "title": _TITLES.get(t, t),
                "bars": svg.bars(items[:10], unit="mean |points| (sign: mean direction)"),
                "swarm": svg.beeswarm(pts, pres, title=f"{t} beeswarm", width=540),
            }
        )
    segments = []
    for t, s in data.segments.items():
        rows = []
        for seg, g in s.groupby("segment"):
            rows.append(
                {
                    "segment": humanize(str(seg)),
                    "n": int(g["n"].iloc[0]),
                    "drivers": ", ".join(f"{r.label} ({r.mean:+.1f})" for r in g.itertuples()),
                }
            )
        segments.append({"title": _TITLES.get(t, t), "rows": rows})
    pain = data.pain_points
    pain_svg = (
        svg.bars(
            [(r.label, r.harm) for r in pain.itertuples()],
            errors=[(r.ci_low, r.ci_high) for r in pain.itertuples()],
            unit="harm in points (churn raised / conversion lowered)",
        )
        if len(pain)
        else "<p>No touchpoint hurts significantly.</p>"
    )
    mom = data.moments
    moments_svg = (
        svg.bars(
            [(r.moment, r.effect) for r in mom.itertuples()],
            errors=[(r.ci_low, r.ci_high) for r in mom.itertuples()],
            unit="effect on the chance of converting (points)",
        )
        if len(mom)
        else "<p>Not enough conversions to measure.</p>"
    )

    def path_rows(frame: Any) -> list[dict[str, Any]]:
        return [
            {
                "path": r["path"],
                "customers": int(r["customers"]),
                "share": _pct(r["share"]),
                "converted": _pct(r.get("converted")),
                "churned": _pct(r.get("churned")),
                "p_conversion": _pct(r.get("p_conversion")),
                "p_churn": _pct(r.get("p_churn")),
            }
            for r in frame.to_dict("records")
        ]

    paths = path_rows(data.paths)
    tp_paths = path_rows(data.touchpoint_paths)
    tpl = env.get_template("report.html.j2")
    return tpl.render(
        n_customers=f"{data.n_customers:,}",
        n_events=f"{data.n_events:,}",
        as_of=f"{data.as_of:%Y-%m-%d}",
        versions=", ".join(f"{t} v{v}" for t, v in data.versions.items()),
        metrics=[
            (_METRIC_NAMES.get(k, k), _metric(k, v))
            for k, v in data.metrics.items()
            if k in _METRIC_NAMES
        ],
        window=f"{data.window_days:g}",
        pain=pain.to_dict("records"),
        pain_svg=pain_svg,
        moments=mom.to_dict("records"),
        moments_svg=moments_svg,
        sankey_svg=svg.sankey(data.flow, title="journey flow"),
        paths=paths,
        tp_paths=tp_paths,
        tp_steps=TOUCHPOINT_STEPS,
        tp_sankey_svg=svg.sankey(data.touchpoint_flow, title="touchpoint flow")
        if len(data.touchpoint_flow)
        else "",
        drivers=drivers,
        segments=segments,
        reliability_svg=svg.reliability(
            {_TITLES.get(t, t): c for t, c in data.reliability.items()}
        ),
        examples=[_example(e) for e in data.examples],
    )


def _example(e: dict[str, Any]) -> dict[str, Any]:
    tasks = []
    for t in ("conversion", "churn", "next_stage"):
        r = e.get(t)
        if not r:
            continue
        if t == "next_stage":
            headline = (
                f"next stage most likely {humanize(r['predicted'])} ({_pct(r['probability'])})"
            )
        elif t == "churn":
            headline = f"churn risk {_pct(r['probability'])}"
        else:
            headline = f"chance of converting {_pct(r['probability'])}"
        tasks.append(
            {
                "title": _TITLES[t],
                "headline": headline,
                "base": _pct(r.get("base_rate")),
                "causes": [
                    {**c, "events": [s[:16].replace("T", " ") for s in c.get("events", [])[-2:]]}
                    for c in r.get("root_causes", [])
                ],
            }
        )
    return {**e, "tasks": tasks}


def render_report(
    predictor: Predictor, events: pd.DataFrame, out: Path, *, progress: Progress = NO_PROGRESS
) -> Path:
    """Build the report for ``events`` and write it to ``out`` (one HTML file); ``progress``
    hears its stages."""
    html = render(gather(predictor, events, progress=progress))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out


def log_report(
    path: Path, tasks: Sequence[str], alias: str = "champion", *, project: str | None = None
) -> list[str]:
    """Log the report as an artefact (``report/``) of each MLflow run that trained one of the
    ``alias`` models of ``tasks`` in ``project`` (None: the default project; the model
    version's ``run_id`` tag); returns the run ids."""
    from mlflow import MlflowClient

    from journeyml.lifecycle import registry

    client = MlflowClient()
    proj = registry.resolve_project(project)
    runs: list[str] = []
    for task in tasks:
        mv = client.get_model_version_by_alias(registry.model_name(proj, task), alias)
        run_id = str(mv.tags.get("run_id") or mv.run_id)
        if run_id not in runs:
            client.log_artifact(run_id, str(path), artifact_path="report")
            runs.append(run_id)
    return runs
