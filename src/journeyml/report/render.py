"""Turn :class:`ReportData` into HTML (Jinja2 template + inline SVG) and log it to MLflow."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd

from journeyml.explain import humanize
from journeyml.progress import NO_PROGRESS, Progress
from journeyml.report import svg
from journeyml.report.build import TOUCHPOINT_STEPS, ReportData, TaskSection, gather
from journeyml.scoring import Predictor

_METRIC_NAMES = {
    "customers": "customers",
    "conversion_rate": "conversion rate",
    "cart_abandonment_rate": "cart-abandonment rate",
    "retention": "retention (not lapsed)",
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


def _says_nothing(name: str, v: float) -> bool:
    """A metric left out because it says nothing: a repeat rate of exactly 0 (an outcome that
    happens once per customer, such as a signed contract, is never repeated).

    >>> _says_nothing("repeat_purchase_rate", 0.0), _says_nothing("repeat_purchase_rate", 0.3)
    (True, False)
    """
    return name == "repeat_purchase_rate" and v == 0


def _share(v: float) -> str:
    """A probability as a percentage with the decimals small values need.

    >>> [_share(v) for v in (0.123, 0.0042, 0.000031, 0.0)]
    ['12.3', '0.42', '0.0031', '0']
    """
    x = 100 * v
    if x == 0:
        return "0"
    if x >= 1:
        return f"{x:.1f}"
    return f"{x:.2g}"


def _title(name: str) -> str:
    return humanize(name).capitalize()


def _days(w: float | None) -> str:
    if w is None:
        return "so far in the journey"
    return "in the last day" if w == 1 else f"in the last {w:g} days"


def _effect_rows(frame: pd.DataFrame, sign: int = 0) -> list[dict[str, Any]]:
    """Rows of an effects table, each effect signed as it moves the task's outcome: ``sign``
    turns a harm column back into the effect (0: the frame has ``effect`` already)."""
    out = []
    for r in frame.to_dict("records"):
        if sign:
            e, lo, hi = sign * r["harm"], sign * r["ci_low"], sign * r["ci_high"]
            lo, hi = min(lo, hi), max(lo, hi)
        else:
            e, lo, hi = r["effect"], r["ci_low"], r["ci_high"]
        out.append(
            {
                "label": r["label"] if "label" in r else r["moment"],
                "kind": r.get("kind", "touchpoint"),
                "customers": int(r["exposed"] if "exposed" in r else r["customers"]),
                "effect": float(e),
                "low": float(lo),
                "high": float(hi),
                "ci": f"{lo:+.1f} to {hi:+.1f}",
            }
        )
    return out


def _outcome_text(sec: TaskSection) -> str:
    """What the task's observed rate counts, in its own definition."""
    t = sec.task
    h = f" within {t.horizon_days:g} days" if t.horizon_days else ""
    if t.kind == "lapses":
        parts = []
        if t.churn.touchpoints:
            parts.append(humanize(", ".join(t.churn.touchpoints)))
        if t.inactivity:
            parts.append(f"no activity of their own for {t.horizon_days:g} days")
        return f"lapsed{h} ({' or '.join(parts)})"
    if t.kind == "occurs":
        return f"had {t.outcome.describe(humanize)}{h}"
    return f"reached {t.outcome.describe(humanize)}"


def _unique_labels(labels: list[str]) -> list[str]:
    """Labels made unique (a stage and a touchpoint of a process log share names).

    >>> _unique_labels(["wait", "wait", "x"])
    ['wait', 'wait (2)', 'x']
    """
    seen: dict[str, int] = {}
    out = []
    for lab in labels:
        seen[lab] = seen.get(lab, 0) + 1
        out.append(lab if seen[lab] == 1 else f"{lab} ({seen[lab]})")
    return out


def _no_effect_why(no_effect: pd.DataFrame) -> str:
    """Why the touchpoints of the "no measurable effect" line are there, in the words of the
    tests they failed (:func:`journeyml.explain.insights.measurable`)."""
    why = ["interval covers zero", "under 0.05 points"]
    if "evidence_low" in no_effect.columns and no_effect["evidence_low"].notna().any():
        why.append("or no better predictions on the observed outcomes")
    else:
        why[-1] = "or " + why[-1]
    return ", ".join(why)


def _reliability_rows(r: dict[str, list[float]]) -> list[dict[str, str]]:
    """The reliability diagram's groups as table rows: the predictions' range, how many
    customers, the mean prediction and the observed rate (the labels on the chart overlap where
    the predictions crowd).

    >>> _reliability_rows({"predicted": [0.031], "observed": [0.0], "count": [212.0],
    ...                    "low": [0.004], "high": [0.052]})
    [{'range': '0.4–5.2 %', 'customers': '212', 'predicted': '3.1 %', 'observed': '0 %'}]
    """
    rows = []
    for i, n in enumerate(r.get("count", [])):
        lo, hi = r.get("low", [None] * (i + 1))[i], r.get("high", [None] * (i + 1))[i]
        rows.append(
            {
                "range": "" if lo is None or hi is None else f"{_share(lo)}–{_share(hi)} %",
                "customers": f"{int(n):,}",
                "predicted": f"{_share(r['predicted'][i])} %",
                "observed": f"{_share(r['observed'][i])} %",
            }
        )
    return rows


#: touchpoint paths whose most common ones together hold less than this share of customers
#: are too varied to say where customers are: one sentence instead of a chart and a table
MIN_PATH_COVER = 1 / 3


def _paths_note(shown: pd.DataFrame, customers: int, steps: int) -> str:
    """One sentence when the most common touchpoint paths hold few customers, else "".

    >>> shown = pd.DataFrame({"path": ["a › b", "b › a"], "customers": [18, 17]})
    >>> _paths_note(shown, 641, 2)
    'No sequence of the last 2 touchpoints is common: the 2 most common hold 5 % of the 641 \
customers (a › b, the first, 3 %); they do not say where customers are'
    >>> _paths_note(shown, 60, 2)
    ''
    >>> _paths_note(shown.head(1), 18, 2)
    "Every customer's last touchpoints are the same (a › b): there are no paths to compare"
    """
    if shown.empty or customers <= 0:
        return ""
    if len(shown) == 1:
        return (
            f"Every customer's last touchpoints are the same ({shown.iloc[0]['path']}): there "
            "are no paths to compare"
        )
    cover = float(shown["customers"].sum()) / customers
    if cover >= MIN_PATH_COVER:
        return ""
    top = shown.iloc[0]
    return (
        f"No sequence of the last {steps} touchpoints is common: the {len(shown)} most common "
        f"hold {_pct(cover)} of the {customers:,} customers ({top['path']}, the first, "
        f"{_pct(top['customers'] / customers)}); they do not say where customers are"
    )


def _several_stages(paths: pd.DataFrame) -> bool:
    """Whether the stage map has anything to draw: some main path goes through two stages or
    more (a log whose journeys all sit in one stage would draw one bar and its "(left)").

    >>> _several_stages(pd.DataFrame({"path": ["conversion"], "customers": [23570]}))
    False
    >>> _several_stages(pd.DataFrame({"path": ["awareness › consideration", "awareness"]}))
    True
    """
    return bool(len(paths)) and bool(paths["path"].astype(str).str.contains(" › ").any())


def _single_steps_note(shown: pd.DataFrame) -> str:
    """Under the touchpoint flow: the customers of the paths shown with one touchpoint so far,
    which draw no link (the chart's first column then counts fewer than the table), else "".

    >>> shown = pd.DataFrame({"path": ["1", "1 › 8", "8 › 9"], "customers": [33, 25, 7]})
    >>> _single_steps_note(shown)
    'The chart leaves out the 33 customers with one touchpoint so far (1: 33); the table lists them'
    """
    single = shown[~shown["path"].astype(str).str.contains(" › ", regex=False)]
    n = int(single["customers"].sum()) if len(single) else 0
    if n == 0:
        return ""
    which = ", ".join(f"{r.path}: {int(r.customers):,}" for r in single.itertuples())
    return (
        f"The chart leaves out the {n:,} customer{'s' if n != 1 else ''} with one touchpoint so "
        f"far ({which}); the table lists them"
    )


def _task_block(sec: TaskSection) -> dict[str, Any]:
    phrase = sec.task.phrase(None, humanize)
    window = _days(sec.window_days)
    d = sec.drivers
    items = [(r.label, float(r.mean_abs) * (1 if r.mean >= 0 else -1)) for r in d.itertuples()]
    cols = list(sec.present.columns)
    names = _unique_labels([dict(zip(d["cause"], d["label"], strict=True)).get(c, c) for c in cols])
    pts = sec.matrix.points[cols].set_axis(names, axis=1)
    pres = sec.present.set_axis(names, axis=1)
    if sec.pain_sign is None:
        pain_title = f"Touchpoints that raise {phrase}"
        helps_title = f"Touchpoints that lower {phrase}"
    else:
        pain_title = "Pain points"
        helps_title = "Touchpoints that help"

    def effect_svg(rows: list[dict[str, Any]]) -> str:
        if not rows:
            return ""
        return svg.bars(
            [(r["label"], r["effect"]) for r in rows],
            errors=[(r["low"], r["high"]) for r in rows],
            unit=f"effect on {phrase} (points)",
        )

    way = sec.pain_sign or 1
    pain, helps = _effect_rows(sec.pain, way), _effect_rows(sec.helps, -way)
    moments = _effect_rows(sec.moments)
    segments = []
    for attr, s in sec.segments.items():
        rows = []
        for seg, g in s.groupby("segment", sort=False):
            rows.append(
                {
                    "segment": str(seg),
                    "n": int(g["n"].iloc[0]),
                    "drivers": ", ".join(f"{r.label} ({r.mean:+.1f})" for r in g.itertuples()),
                }
            )
        segments.append({"attribute": humanize(attr), "rows": rows})
    n_no = len(sec.no_effect)
    no_effect = ", ".join(
        f"{r.label} ({r.exposed:,} customer{'s' if r.exposed != 1 else ''})"
        for r in sec.no_effect.head(12).itertuples()
    ) + (f" and {n_no - 12} more" if n_no > 12 else "")
    return {
        "name": sec.name,
        "title": _title(sec.name),
        "phrase": phrase,
        "kpi": {
            "rate": _pct(sec.observed_rate),
            "outcome": _outcome_text(sec),
            "eligible": f"{sec.eligible:,}",
            "population": sec.task.population(humanize),
            "predicted": _pct(sec.mean_predicted),
        },
        "window": window,
        "pain_title": pain_title,
        "helps_title": helps_title,
        "pain": pain,
        "pain_svg": effect_svg(pain),
        "helps": helps,
        "helps_svg": effect_svg(helps),
        "no_effect": no_effect,
        "no_effect_why": _no_effect_why(sec.no_effect),
        "n_effects": len(sec.effects),
        "note": sec.note[:1].upper() + sec.note[1:],
        "evidence": sec.evidence,
        "moments": moments,
        "moments_svg": effect_svg(moments),
        "bars": svg.bars(items[:10], unit="mean |points| (sign: mean direction)"),
        "swarm": svg.beeswarm(pts, pres, title=f"{sec.name} beeswarm", width=540),
        "segments": segments,
        "reliability_svg": svg.reliability({_title(sec.name): sec.reliability}),
        "n_bins": len(sec.reliability.get("count", [])),
        "reliability": _reliability_rows(sec.reliability),
    }


def render(data: ReportData) -> str:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("journeyml", "report/templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
    )
    tasks = [_task_block(sec) for sec in data.tasks]
    outcome_cols = [c for c in data.paths.columns if c not in ("path", "customers", "share")]

    def path_rows(frame: Any) -> list[dict[str, Any]]:
        return [
            {
                "path": r["path"],
                "customers": int(r["customers"]),
                "share": _pct(r["share"]),
                "values": [_pct(r.get(c)) for c in outcome_cols],
            }
            for r in frame.to_dict("records")
        ]

    def col_name(c: str) -> str:
        return f"mean predicted {humanize(c[2:])}" if c.startswith("p_") else humanize(c)

    tpl = env.get_template("report.html.j2")
    return tpl.render(
        n_customers=f"{data.n_customers:,}",
        n_events=f"{data.n_events:,}",
        as_of=f"{data.as_of:%Y-%m-%d}",
        versions=", ".join(f"{t} v{v}" for t, v in data.versions.items()),
        metrics=[
            (_METRIC_NAMES.get(k, k), _metric(k, v), data.metric_notes.get(k, ""))
            for k, v in data.metrics.items()
            if k in _METRIC_NAMES and not _says_nothing(k, v)
        ],
        tasks=tasks,
        skipped=[(_title(t), why) for t, why in data.skipped.items()],
        has_stages=data.has_stages and _several_stages(data.paths),
        sankey_svg=svg.sankey(data.flow, title="journey flow") if len(data.flow) else "",
        outcome_cols=[col_name(c) for c in outcome_cols],
        paths=path_rows(data.paths),
        tp_paths=path_rows(data.touchpoint_paths),
        tp_steps=TOUCHPOINT_STEPS,
        tp_note=_paths_note(data.touchpoint_paths, data.touchpoint_customers, TOUCHPOINT_STEPS),
        tp_single=_single_steps_note(data.touchpoint_paths) if len(data.touchpoint_paths) else "",
        tp_sankey_svg=svg.sankey(data.touchpoint_flow, title="touchpoint flow")
        if len(data.touchpoint_flow)
        else "",
        examples=[_example(e, data) for e in data.examples],
    )


def _example(e: dict[str, Any], data: ReportData) -> dict[str, Any]:
    tasks: list[dict[str, Any]] = []
    for t in data.versions:
        r = e.get(t)
        if not isinstance(r, dict):
            continue
        why = e.get("not_eligible", {}).get(t)
        if why:
            tasks.append({"title": _title(t), "headline": f"not eligible: {why}", "causes": []})
            continue
        if "distribution" in r:
            d = data.definitions.get(t)
            nxt = d.class_text(r["predicted"], humanize) if d else humanize(r["predicted"])
            headline = f"most likely next: {nxt} ({_pct(r['probability'])})"
        else:
            headline = f"{_pct(r['probability'])}"
        tasks.append(
            {
                "title": _title(t),
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
    predictor: Predictor,
    events: pd.DataFrame,
    out: Path,
    *,
    progress: Progress = NO_PROGRESS,
    absent: Mapping[str, str] | None = None,
) -> Path:
    """Build the report for ``events`` and write it to ``out`` (one HTML file); ``progress``
    hears its stages. ``absent``: tasks of the project the predictor does not serve, and why
    (a task whose version stayed challenger): the report names them instead of leaving them out
    without a word.

    >>> import pathlib, tempfile
    >>> from journeyml import render_report, toy
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "report.html"
    >>> render_report(toy.predictor(), toy.journeys(), out) == out
    True
    >>> "<svg" in out.read_text()
    True
    """
    data = gather(predictor, events, progress=progress)
    data.skipped.update({t: why for t, why in (absent or {}).items() if t not in data.skipped})
    html = render(data)
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
