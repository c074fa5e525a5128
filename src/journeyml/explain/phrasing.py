"""Step 3 of an explanation: root causes in words. The largest causes of one row's
:class:`~journeyml.explain.allocation.Allocation` become :class:`RootCause` entries, each with a
sentence in the customer's own touchpoints ("2 support calls in the last 30 days raised churn
risk by 9 points"), the features behind it and the timestamps of the events behind it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from journeyml.explain.allocation import JOURNEY_LABELS, Allocation, _Index, _index, _label
from journeyml.features import OTHER, EventArrays, FeatureDef, FeatureSpec, spec_cache
from journeyml.tasks import LEGACY_TASKS, TaskConfig, legacy_task

#: timestamps given per cause (the latest events behind it)
MAX_EVIDENCE = 5


def humanize(name: str) -> str:
    """A vocabulary value in plain words.

    >>> humanize("support_call"), humanize("Queued|Awaiting Assignment"), humanize("call_center")
    ('support call', 'queued / awaiting assignment', 'call center')
    """
    text = str(name).replace("|", " / ").replace("_", " ").replace("-", " ")
    return re.sub(r"\s+", " ", text).strip().lower()


def plural(name: str, n: float = 2) -> str:
    """``n`` events of a touchpoint, in words (English plural of the last word).

    >>> plural("support_call"), plural("complaint", 1), plural("brand_survey"), plural("search")
    ('support calls', 'complaint', 'brand surveys', 'searches')
    >>> plural("8", 1), plural("8", 3)
    ("'8' event", "'8' events")
    """
    words = humanize(name)
    if name == OTHER:  # the bucket of rare touchpoints
        return "other touchpoint" + ("" if n == 1 else "s")
    if words and not re.search(r"[a-z]", words):
        # an activity code ("8"): "1 '8' event", "2 '8' events", never "1 8"
        return f"'{words}' event" + ("" if n == 1 else "s")
    if n == 1 or not words:
        return words
    if re.search(r"(s|x|z|ch|sh)$", words):
        return words + "es"
    if re.search(r"[^aeiou]y$", words):
        return words[:-1] + "ies"
    return words + "s"


def span(days: float | None) -> str:
    """``7`` → ``'in the last 7 days'``; ``None`` → ``'so far'``.

    >>> span(1), span(30), span(None)
    ('in the last day', 'in the last 30 days', 'so far')
    """
    if days is None:
        return "so far"
    return "in the last day" if days == 1 else f"in the last {days:g} days"


def format_points(points: float) -> str:
    """Probability points (0–100 scale, unsigned) with sensible precision.

    >>> format_points(9.04), format_points(0.42), format_points(0.004)
    ('9 points', '0.4 points', 'less than 0.1 point')
    """
    a = abs(points)
    if a >= 1.5:
        return f"{a:.0f} points"
    if a >= 0.95:
        return "1 point"
    if a >= 0.05:
        return f"{a:.1f} points"
    return "less than 0.1 point"


@dataclass
class RootCause:
    """One root cause of one prediction."""

    cause: str  # e.g. "touchpoint:support_call"
    kind: str  # touchpoint | channel | stage | transition | attribute | journey
    name: str  # e.g. "support_call"
    points: float  # contribution in probability points (0-100 scale), signed
    sentence: str
    features: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    #: the sentence counts the cause's events in the last this many days (None: all of them)
    window_days: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "cause": self.cause,
            "kind": self.kind,
            "name": self.name,
            "label": JOURNEY_LABELS.get(self.name, humanize(self.name))
            if self.kind == "journey"
            else humanize(self.name),
            "points": round(self.points, 4),
            "direction": "raises" if self.points > 0 else "lowers",
            "sentence": self.sentence,
            "features": self.features,
            "events": self.events,
        }


def _describe(spec: FeatureSpec, f: FeatureDef, x: float) -> str:
    lab = _label(spec, f, x)
    if not np.isfinite(x):
        if f.family == "recency":
            return f"no {plural(f.source, 1) if f.source else 'event'} so far"
        nth = re.fullmatch(r"last_(?:touchpoint|stage|channel)_(\d+)", f.name)
        if nth:  # the k-th last event of a journey shorter than k
            k = int(nth.group(1))
            return "no event so far" if k == 1 else f"fewer than {k} events so far"
        if f.family == "value":
            return f"no valued events {span(f.window_days)}"
        if f.kind == "numeric":
            return f"{humanize(f.name)}: not known yet"
    if f.source_type == "transition" and f.source and " → " in f.source:
        a, b = f.source.split(" → ", 1)
        return transition_words(humanize(a), humanize(b), x)
    template = re.sub(r"\{value:\.[01]f\} days", "{days}", f.template)
    try:
        text = template.format(
            value=x,
            days=whole_days(x),
            label=humanize(lab) if lab is not None else "none",
        )
    except (ValueError, KeyError):
        return f"{f.name} = {x:g}"
    text = text.replace("3th-last", "third-last").replace("2th-last", "second-last")
    return counted(text)


def times(n: float) -> str:
    """How often, in words: ``'once'``, ``'twice'``, ``'3 times'`` (``'0 times'``: say
    *never* instead, see :func:`transition_words`).

    >>> times(1), times(2), times(3), times(2.5)
    ('once', 'twice', '3 times', '2.5 times')
    """
    if n == 1:
        return "once"
    return "twice" if n == 2 else f"{n:g} times"


def transition_words(a: str, b: str, n: float) -> str:
    """A count of moves from ``a`` to ``b``; none is phrased as absence.

    >>> transition_words("consideration", "awareness", 0)
    'never moved from consideration to awareness'
    >>> transition_words("consideration", "awareness", 1)
    'moved from consideration to awareness once'
    >>> transition_words("visit", "cart", 2), transition_words("visit", "cart", 7)
    ('moved from visit to cart twice', 'moved from visit to cart 7 times')
    """
    if n == 0:
        return f"never moved from {a} to {b}"
    return f"moved from {a} to {b} {times(n)}"


def whole_days(days: float) -> str:
    """Elapsed time in whole days (half up), as every sentence says it: 10.5 days read "11
    days" in "11 days in current stage" and in "first contact 11 days ago" alike (the feature
    keeps its precision).

    >>> whole_days(0.4), whole_days(1.2), whole_days(1.7), whole_days(10.5)
    ('less than a day', '1 day', '2 days', '11 days')
    """
    if days < 1:
        return "less than a day"
    n = int(np.floor(days + 0.5))
    return f"{n} day{'s' if n != 1 else ''}"


def _ago(days: float) -> str:
    return "today" if days < 1 else f"{whole_days(days)} ago"


def _journey_phrase(spec: FeatureSpec, x: np.ndarray, name: str, lead: FeatureDef) -> str | None:
    """Activity and tenure in their own words ("3 events in the last 7 days", "first contact
    120 days ago"), whatever feature carried them (a touchpoint's count is also volume)."""
    pos = _index(spec).pos
    if name == "tenure" and "tenure_days" in pos:
        t = float(x[pos["tenure_days"]])
        return f"first contact {_ago(t)}" if np.isfinite(t) else None
    if name != "activity":
        return None
    if lead.family == "count" or lead.name.startswith("transition_"):
        w = lead.window_days if lead.family == "count" else None
        i = pos.get(f"count_events_{'all' if w is None else f'{w:g}d'}")
        if i is not None:
            n = float(x[i])
            return counted(f"{n:g} events {span(w)}")
    # a sequence feature is activity's when its event is a send with nothing of the customer's
    # own after it (allocation.quiet_sends): it says when the customer last acted
    if lead.family in ("recency", "sequence") and "days_since_last_event" in pos:
        d = float(x[pos["days_since_last_event"]])
        return f"last event {_ago(d)}" if np.isfinite(d) else "no event so far"
    return None


_ONE = re.compile(r"(?<![\d.])1 ((?:[\w'-]+ )*?)(events|sessions|days|switches|times)\b")
_SINGULAR = {"events": "event", "sessions": "session", "days": "day", "switches": "switch"}
_ZERO_TIMES = re.compile(r"(?<![\d.])(\w+(?: \w+)??) 0 times\b")
_ZERO = re.compile(r"(?<![\d.])0 ((?:[\w'-]+ )*?)(events|sessions|switches)\b")
_TWO_TIMES = re.compile(r"(?<![\d.])2 times\b")


def singular_one(text: str) -> str:
    """Counts of one read in the singular ("1 events" → "1 event", "1 times" → "once").

    >>> singular_one("1 events in the last 90 days"), singular_one("fell back 1 times")
    ('1 event in the last 90 days', 'fell back once')
    >>> singular_one("1 retention stage events, 11 events, 0.1 days, 21 sessions")
    '1 retention stage event, 11 events, 0.1 days, 21 sessions'
    """

    def fix(m: re.Match[str]) -> str:
        if m.group(2) == "times":
            return "once" if not m.group(1) else f"1 {m.group(1)}time"
        return f"1 {m.group(1)}{_SINGULAR[m.group(2)]}"

    return _ONE.sub(fix, text)


def counted(text: str) -> str:
    """Counts in a feature's sentence read as English: none as absence, one in the singular,
    two as "twice" (:func:`singular_one` for one).

    >>> counted("fell back 0 times"), counted("fell back 1 times"), counted("fell back 2 times")
    ('never fell back', 'fell back once', 'fell back twice')
    >>> counted("0 events in the last 30 days"), counted("0 channel switches")
    ('no events in the last 30 days', 'no channel switches')
    >>> counted("0 Facebook channel events"), counted("1 Facebook channel events")
    ('no Facebook channel events', '1 Facebook channel event')
    >>> counted("active on 0 days"), counted("active on 1 days"), counted("10 events so far")
    ('not active on any day', 'active on 1 day', '10 events so far')
    """
    text = text.replace("active on 0 days", "not active on any day")
    text = _ZERO_TIMES.sub(lambda m: f"never {m.group(1)}", text)
    text = _ZERO.sub(lambda m: f"no {m.group(1)}{m.group(2)}", text)
    text = _TWO_TIMES.sub("twice", text)
    return singular_one(text)


def _touchpoint_phrase(
    spec: FeatureSpec, ix: _Index, x: np.ndarray, tp: str
) -> tuple[str, float | None]:
    """ "2 support calls in the last 7 days" / "last support call 45 days ago" / "no …", and
    the window the sentence counts in (its events are those the cause lists)."""
    j = ix.touchpoints.index(tp) if tp in ix.touchpoints else -1
    if j < 0:
        return humanize(tp), None
    for w in sorted(spec.params.windows_days):
        c = ix.tp_count(x, w)[j]
        if np.isfinite(c) and c > 0:
            return f"{c:g} {plural(tp, c)} {span(w)}", float(w)
    d = ix.tp_days_since(x)[j]
    if np.isfinite(d):
        ago = _ago(d)
        c_all = ix.tp_count(x, None)[j]
        n = f" ({c_all:g} in all)" if np.isfinite(c_all) and c_all > 1 else ""
        return f"last {plural(tp, 1)} {ago}{n}", None
    c_all = ix.tp_count(x, None)[j]
    if np.isfinite(c_all) and c_all == 0:
        return f"no {plural(tp, 1)} so far", None
    return f"{humanize(tp)} in the journey", None


def task_phrase(task: TaskConfig | str, class_name: str | None = None) -> str:
    """The quantity a cause moves, in words: the task's ``description``, else a phrase from
    its kind and outcome (a name alone: the demo's three tasks).

    >>> from journeyml.tasks import EventMatch
    >>> demo = TaskConfig("books_demo", "occurs", horizon_days=14,
    ...                   outcome=EventMatch(("product_demo",)))
    >>> task_phrase(demo), task_phrase("churn")
    ('the chance of product demo within 14 days', 'churn risk')
    >>> task_phrase("next_stage", "retention")
    'the chance that the next stage is retention'
    """
    if isinstance(task, str):
        if task not in LEGACY_TASKS:
            return f"the {humanize(task)} prediction"
        task = legacy_task({"name": task})
    return task.phrase(class_name, humanize)


def phrase(
    spec: FeatureSpec,
    x: np.ndarray,
    allocation: Allocation,
    *,
    task: TaskConfig | str,
    top_k: int = 3,
    class_name: str | None = None,
) -> list[RootCause]:
    """The ``top_k`` largest causes of one row (feature values ``x``) in words.
    ``task``: its :class:`TaskConfig` words the sentences (see :func:`task_phrase`)."""
    ix = _index(spec)
    moved = task_phrase(task, class_name)
    out: list[RootCause] = []
    for (kind, name), total, parts in allocation.top(top_k):
        window = None
        if kind == "touchpoint":
            what, window = _touchpoint_phrase(spec, ix, x, name)
        else:
            lead = max(parts, key=lambda i: abs(parts[i]))
            f = spec.features[lead]
            said = _journey_phrase(spec, x, name, f) if kind == "journey" else None
            what = said or _describe(spec, f, float(x[lead]))
        verb = "raised" if total > 0 else "lowered"
        sentence = f"{what} {verb} {moved} by {format_points(total * 100)}"
        out.append(
            RootCause(
                f"{kind}:{name}",
                kind,
                name,
                total * 100,
                sentence[0].upper() + sentence[1:],
                [spec.features[i].name for i in sorted(parts, key=lambda i: -abs(parts[i]))],
                window_days=window,
            )
        )
    return out


def evidence(
    spec: FeatureSpec,
    arr: EventArrays,
    lo: int,
    hi: int,
    kind: str,
    name: str,
    since: int | None = None,
) -> list[str]:
    """Timestamps (ISO, UTC) of the latest events ``arr[lo:hi]`` behind a touchpoint, channel
    or stage cause (none for other kinds); ``since`` (ns): only events at or after it — those
    the cause's sentence counts."""
    if hi <= lo or kind not in ("touchpoint", "channel", "stage"):
        return []
    pos = _vocab_codes(spec)[kind].get(name)
    if pos is None:
        return []
    codes = {"touchpoint": arr.touchpoint, "channel": arr.channel, "stage": arr.stage}[kind]
    idx = lo + np.flatnonzero(codes[lo:hi] == pos)
    if since is not None:
        idx = idx[arr.ts[idx] >= since]
    return iso_utc(arr.ts[idx[-MAX_EVIDENCE:]])


def _vocab_codes(spec: FeatureSpec) -> dict[str, dict[str, int]]:
    return spec_cache(
        spec,
        "vocab_codes",
        lambda: {
            d: {v: j for j, v in reversed(list(enumerate(spec.vocabulary(d))))}
            for d in ("touchpoint", "channel", "stage")
        },
    )


def iso_utc(ns: np.ndarray) -> list[str]:
    """Nanosecond epoch times as ISO strings in UTC, exactly as ``pd.Timestamp.isoformat``
    writes them (the fast path for whole seconds skips one Timestamp per value).

    >>> iso_utc(np.array([0, 1_700_000_000_000_000_000, 1_500_000_000]))
    ['1970-01-01T00:00:00+00:00', '2023-11-14T22:13:20+00:00', '1970-01-01T00:00:01.500000+00:00']
    """
    ns = np.asarray(ns, dtype=np.int64)
    if not (ns % 1_000_000_000).any():
        return [datetime.fromtimestamp(s, UTC).isoformat() for s in (ns // 10**9).tolist()]
    out = []
    for t in ns.tolist():  # exact integer arithmetic; pandas' nanosecond digits appended
        us, sub = divmod(t, 1000)
        d = _EPOCH + timedelta(microseconds=us)
        out.append(
            f"{d.isoformat(timespec='microseconds')[:-6]}{sub:03d}+00:00" if sub else d.isoformat()
        )
    return out


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
