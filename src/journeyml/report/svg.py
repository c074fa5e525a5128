"""Inline SVG charts for the report: plain strings, no JavaScript, no external requests.

Hand-written SVG keeps the report one small self-contained file that opens offline, prints
well, stays sharp at any zoom and has selectable text (matplotlib PNGs would weigh ~10× more
and plotly would add 3–4 MB of JavaScript).

>>> "<svg" in bars([("support call", 4.2), ("login", -1.0)], unit="points")
True
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

import numpy as np
import pandas as pd

RED, BLUE, GREY, INK = "#c0392b", "#2e6da4", "#9aa5b1", "#1f2933"
STAGE_COLOURS = {
    "awareness": "#8e7cc3",
    "consideration": "#3d85c6",
    "conversion": "#6aa84f",
    "retention": "#e69138",
    "advocacy": "#c27ba0",
    "(left)": "#b7b7b7",
}


def _svg(w: float, h: float, body: str, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w:.0f} {h:.0f}" '
        f'width="{w:.0f}" height="{h:.0f}" role="img" aria-label="{escape(title)}" '
        f'font-family="system-ui, sans-serif" font-size="12">{body}</svg>'
    )


def _text(x: float, y: float, s: str, anchor: str = "start", **kw: str) -> str:
    extra = " ".join(f'{k.replace("_", "-")}="{v}"' for k, v in kw.items())
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" {extra}>{escape(s)}</text>'


#: characters of a label that fit the 190 px left of a bar chart or a beeswarm at 12 px
LABEL_CHARS = 28


def short_label(name: str, limit: int = LABEL_CHARS) -> str:
    """A label cut to ``limit`` characters so that it fits left of the chart instead of running
    off the picture (the full name stays in the element's tooltip); a stage transition keeps
    both ends.

    >>> short_label("support call")
    'support call'
    >>> short_label("assign seriousness → take in charge ticket")
    'assign seri… → take in cha…'
    >>> len(short_label("a very long touchpoint name that goes on and on"))
    28
    """
    if len(name) <= limit:
        return name
    a, sep, b = name.partition(" → ")
    if sep:
        half = (limit - len(sep)) // 2
        return short_label(a, half) + sep + short_label(b, half)
    return name[: limit - 1].rstrip() + "…"


def _label(x: float, y: float, name: str) -> str:
    """A chart's row label, right-aligned at ``x``, shortened to fit, full name on hover."""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="end" fill="{INK}">'
        f"<title>{escape(name)}</title>{escape(short_label(name))}</text>"
    )


def bars(
    items: Sequence[tuple[str, float]],
    *,
    unit: str = "points",
    width: int = 520,
    title: str = "drivers",
    errors: Sequence[tuple[float, float]] | None = None,
) -> str:
    """Horizontal bars, signed (red raises, blue lowers), with optional interval whiskers."""
    label_w, row = 190, 24
    h = row * len(items) + 34
    vals = [v for _, v in items] + [e for pair in (errors or []) for e in pair]
    lo, hi = min(0.0, *vals) if vals else 0.0, max(0.0, *vals) if vals else 1.0
    span = (hi - lo) or 1.0
    plot_w = width - label_w - 60

    def sx(v: float) -> float:
        return label_w + (v - lo) / span * plot_w

    body = [f'<line x1="{sx(0):.1f}" y1="4" x2="{sx(0):.1f}" y2="{h - 26}" stroke="{GREY}"/>']
    for k, (name, v) in enumerate(items):
        y = 8 + k * row
        x0, x1 = sorted((sx(0), sx(v)))
        colour = RED if v > 0 else BLUE
        body.append(_label(label_w - 8, y + 13, name))
        body.append(
            f'<rect x="{x0:.1f}" y="{y + 2}" width="{max(x1 - x0, 1):.1f}" height="{row - 8}" '
            f'fill="{colour}" opacity="0.85"/>'
        )
        if errors is not None:
            a, b = errors[k]
            body.append(
                f'<line x1="{sx(a):.1f}" y1="{y + row / 2 - 2}" x2="{sx(b):.1f}" '
                f'y2="{y + row / 2 - 2}" stroke="{INK}" stroke-width="1.5"/>'
            )
        right = max(v, errors[k][1]) if errors else v
        tx = sx(max(right, 0.0))  # values always right of the bar and the zero line
        body.append(_text(tx + 4, y + 13, f"{v:+.1f}"))
    # the caption under the whole chart (under the plot alone, a long one ran off the right)
    caption = short_label(unit, int((width - 20) / 6.5))
    body.append(_text(width / 2, h - 8, caption, "middle", fill="#52606d"))
    return _svg(width, h, "".join(body), title)


def beeswarm(
    points: pd.DataFrame,
    present: pd.DataFrame,
    *,
    width: int = 620,
    max_dots: int = 400,
    seed: int = 0,
    title: str = "beeswarm",
) -> str:
    """One row per cause, one dot per customer at its contribution (points); red dots are
    customers who had the cause in their journey, grey those who did not."""
    label_w, row = 190, 30
    rng = np.random.default_rng(seed)
    take = rng.choice(len(points), size=min(max_dots, len(points)), replace=False)
    sub, pres = points.iloc[take], present.iloc[take]
    h = row * points.shape[1] + 34
    v = sub.to_numpy()
    lo, hi = float(min(v.min(initial=0), 0)), float(max(v.max(initial=0), 0))
    span = (hi - lo) or 1.0
    plot_w = width - label_w - 20

    def sx(x: float) -> float:
        return label_w + (x - lo) / span * plot_w

    body = [f'<line x1="{sx(0):.1f}" y1="4" x2="{sx(0):.1f}" y2="{h - 26}" stroke="{GREY}"/>']
    for k, col in enumerate(points.columns):
        y = 8 + k * row + row / 2
        body.append(_label(label_w - 8, y + 4, str(col)))
        jit = rng.uniform(-row * 0.35, row * 0.35, len(sub))
        for x, j, p in zip(sub[col].to_numpy(), jit, pres[col].to_numpy(bool), strict=True):
            body.append(
                f'<circle cx="{sx(float(x)):.1f}" cy="{y + j:.1f}" r="2.2" '
                f'fill="{RED if p else GREY}" opacity="0.6"/>'
            )
    body.append(
        _text(
            label_w + plot_w / 2,
            h - 8,
            "contribution (points) · red: in the customer's journey",
            "middle",
            fill="#52606d",
        )
    )
    return _svg(width, h, "".join(body), title)


def reliability(
    curves: dict[str, dict[str, list[float]]], *, size: int = 300, title: str = "reliability"
) -> str:
    """Predicted vs observed rate per probability bin, one line per task; each point is
    labelled with the number of customers in its bin."""
    pad = 40
    s = size - pad - 10

    def sx(v: float) -> float:
        return pad + v * s

    def sy(v: float) -> float:
        return 10 + (1 - v) * s

    body = [
        f'<rect x="{pad}" y="10" width="{s}" height="{s}" fill="none" stroke="{GREY}"/>',
        f'<line x1="{sx(0)}" y1="{sy(0)}" x2="{sx(1)}" y2="{sy(1)}" stroke="{GREY}" '
        'stroke-dasharray="4 3"/>',
    ]
    colours = [RED, BLUE, "#6aa84f"]
    for k, (name, c) in enumerate(curves.items()):
        pts = " ".join(
            f"{sx(p):.1f},{sy(o):.1f}" for p, o in zip(c["predicted"], c["observed"], strict=True)
        )
        col = colours[k % 3]
        body.append(f'<polyline points="{pts}" fill="none" stroke="{col}" stroke-width="2"/>')
        counts: list[float | None] = list(c.get("count", []))
        counts += [None] * (len(c["predicted"]) - len(counts))
        for p, o, n in zip(c["predicted"], c["observed"], counts, strict=True):
            body.append(f'<circle cx="{sx(p):.1f}" cy="{sy(o):.1f}" r="3" fill="{col}"/>')
            if n is not None:  # how many customers the point stands for
                body.append(
                    _text(sx(p) + 5, sy(o) - 5, f"{n:,.0f}", font_size="10", fill="#52606d")
                )
        body.append(_text(pad + 8, 26 + 16 * k, name, fill=col))
    for t in (0, 0.5, 1):
        body.append(_text(sx(t), size - 8 + 6, f"{t:g}", "middle", fill="#52606d"))
        body.append(_text(pad - 6, sy(t) + 4, f"{t:g}", "end", fill="#52606d"))
    body.append(_text(pad + s / 2, size + 12, "predicted probability", "middle"))
    return _svg(size + 10, size + 18, "".join(body), title)


def sankey(links: pd.DataFrame, *, width: int = 1100, height: int = 380, title: str = "") -> str:
    r"""Flow between (step, stage) nodes; band widths are numbers of customers. The last
    column's labels fit inside the picture:

    >>> import re
    >>> links = pd.DataFrame({"step": [0, 0], "source": ["assign seriousness"] * 2,
    ...     "target": ["take in charge ticket", "resolve ticket"], "customers": [30, 200]})
    >>> svg = sankey(links)
    >>> x = max(float(v) for v in re.findall(r'<text x="([\d.]+)"', svg))
    >>> x + 7 * len("take in charge ticket (30)") <= 1100
    True

    A label of an earlier column stops before the next column (full name on hover):

    >>> steps = ["accepted / in progress", "queued / awaiting assignment"] * 3
    >>> links = pd.DataFrame({"step": range(5), "source": steps[:5], "target": steps[1:],
    ...                       "customers": 59})
    >>> re.findall(r"</title>([^<]*)</text>", sankey(links))[1]
    'queued / await… (59)'
    """
    if links.empty:
        return _svg(width, 40, _text(10, 24, "no journeys to map"), title)
    steps = int(links["step"].max()) + 2
    node_w, gap = 14, 10
    # node sizes: inflow (or outflow for step 0)
    size: dict[tuple[int, str], int] = {}
    for r in links.itertuples():
        size[(r.step, r.source)] = size.get((r.step, r.source), 0)
        size[(r.step + 1, r.target)] = size.get((r.step + 1, r.target), 0) + int(r.customers)
    for (st, node), _ in list(size.items()):
        if st == 0:
            size[(0, node)] = int(links[(links.step == 0) & (links.source == node)].customers.sum())
    # room right of the last column for its labels (they ran off the picture: "take in charge
    # ticket (30)" lost its count), about 7 px a character at 12 px
    last = [f"{n} ({v:,})" for (st, n), v in size.items() if st == steps - 1]
    room = max(140, 7 * max((len(t) for t in last), default=0) + 10)
    col_w = (width - 20 - node_w - room) / max(steps - 1, 1)
    total = max(
        sum(v for (st, _), v in size.items() if st == k) for k in range(steps)
    )  # busiest column
    scale = (height - 40 - gap * 6) / max(total, 1)
    order = list(STAGE_COLOURS)
    ypos: dict[tuple[int, str], float] = {}
    body = []
    for k in range(steps):
        y = 20.0
        nodes = sorted(
            (n for (st, n) in size if st == k),
            key=lambda n: order.index(n) if n in order else 99,
        )
        for n in nodes:
            hgt = max(size[(k, n)] * scale, 1.0)
            ypos[(k, n)] = y
            x = 20 + k * col_w
            colour = STAGE_COLOURS.get(n, GREY)
            body.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{node_w}" height="{hgt:.1f}" '
                f'fill="{colour}"/>'
            )
            if hgt > 11:
                count = f" ({size[(k, n)]:,})"
                # a label left of the last column stops before the next column's nodes
                fits = int((col_w - node_w - 10) / 7) - len(count) if k < steps - 1 else 200
                body.append(
                    f'<text x="{x + node_w + 4:.1f}" y="{y + 11:.1f}" fill="{INK}">'
                    f"<title>{escape(n + count)}</title>{escape(short_label(n, max(fits, 6)))}"
                    f"{escape(count)}</text>"
                )
            y += hgt + gap
    out_off: dict[tuple[int, str], float] = {}
    in_off: dict[tuple[int, str], float] = {}
    for r in links.sort_values(["step", "customers"], ascending=[True, False]).itertuples():
        a, b = (r.step, r.source), (r.step + 1, r.target)
        w = int(r.customers) * scale
        y0 = ypos[a] + out_off.get(a, 0.0) + w / 2
        y1 = ypos[b] + in_off.get(b, 0.0) + w / 2
        out_off[a] = out_off.get(a, 0.0) + w
        in_off[b] = in_off.get(b, 0.0) + w
        x0, x1 = 20 + r.step * col_w + node_w, 20 + (r.step + 1) * col_w
        xm = (x0 + x1) / 2
        colour = STAGE_COLOURS.get(r.target, GREY)
        body.append(
            f'<path d="M{x0:.1f},{y0:.1f} C{xm:.1f},{y0:.1f} {xm:.1f},{y1:.1f} {x1:.1f},{y1:.1f}" '
            f'stroke="{colour}" stroke-opacity="0.35" stroke-width="{max(w, 0.5):.1f}" '
            f'fill="none"><title>{escape(f"{r.source} → {r.target}: {r.customers:,}")}</title>'
            "</path>"
        )
    return _svg(width, height, "".join(body), title or "journey flow")
