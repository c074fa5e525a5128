"""What a task predicts, for whom, and how it is worded: frozen dataclasses with an exact JSON
round trip (bundles are text + JSON).

Four kinds of task, each with a user-chosen name (a valid registry name):

- ``occurs``: any of the ``outcome`` events (touchpoints, stages or an attribute value) happens
  in ``[as_of, as_of + horizon)``.
- ``lapses``: an explicit ``churn`` event in the horizon, or (``inactivity``) no *activity* in
  it. Activity is ``activity`` when declared, else every touchpoint the customer initiates: all
  but the ``company_sent`` ones (resolved from the mapping or simulator at training time and
  saved with the task, so serving uses the same set).
- ``case_outcome``: the case eventually contains an ``outcome`` event (or its attribute has a
  value). With ``cut_before_outcome`` the prefixes end before the first outcome event.
- ``next``: the next stage or touchpoint (``target``); ``end`` of case for process logs.

Eligibility filters compose (:class:`Eligibility`): not yet X, has done Y, active within D
days, at least n events.

>>> t = TaskConfig("books_demo", "occurs", horizon_days=14, outcome=EventMatch(("product_demo",)))
>>> t.output, t.phrase(), TaskConfig.from_dict(t.to_dict()) == t
('binary', 'the chance of product_demo within 14 days', True)
>>> churn = TaskConfig("churn", "lapses", horizon_days=30, churn=EventMatch(("cancellation",)))
>>> churn.eligibility.active_within_days, churn.eligibility.not_yet.touchpoints
(30.0, ('cancellation',))
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, dataclass, fields, replace
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from journeyml.errors import ConfigError

Kind = Literal["occurs", "lapses", "case_outcome", "next"]
KINDS: tuple[Kind, ...] = get_args(Kind)
Output = Literal["binary", "multiclass"]
CutoffMode = Literal["prefix", "snapshot"]
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,39}")
NONE_CLASS = "none"
END_CLASS = "end"
#: next: the class that stands for every rare class of the training window
#: (journeyml.modeling.rare); its words: "a rare touchpoint" / "a rare stage"
RARE_CLASS = "other"

Words = Callable[[str], str]


def _plain(name: str) -> str:
    return name


def check_name(name: str, *, what: str = "task", field: str = "name") -> str:
    """``name`` if it is a valid registry name (``[a-z][a-z0-9_]{0,39}``), else a ConfigError.

    >>> check_name("books_demo")
    'books_demo'
    """
    if not isinstance(name, str) or NAME_PATTERN.fullmatch(name) is None:
        raise ConfigError(
            f"expected a {what} name of lowercase letters, digits and '_' starting with a letter "
            f"(at most 40 characters; it becomes part of registered model names), got {name!r}. "
            f"Rename it, e.g. {_suggest(str(name))!r}.",
            field=field,
        )
    return name


def _suggest(name: str) -> str:
    s = re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_")
    s = s if s and s[0].isalpha() else f"t_{s}".rstrip("_")
    return s[:40]


def _texts(v: Any) -> tuple[str, ...]:
    if v is None:
        return ()
    if isinstance(v, str):
        return (v,)
    return tuple(str(x) for x in v)


def isin(values: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """Boolean mask of ``values`` (object array, may hold None) equal to one of ``names``."""
    out = np.zeros(values.shape[0], dtype=bool)
    for n in names:
        out |= values == n
    return out


def _by_activity(touchpoints: tuple[str, ...]) -> list[tuple[str, list[str]]]:
    """Touchpoints grouped by the activity before their last ``|``, in order of first mention
    (``[]`` steps: a touchpoint without one, or the only one of its activity)."""
    groups: dict[str, list[str]] = {}
    for t in touchpoints:
        activity, sep, step = t.rpartition("|")
        groups.setdefault(activity if sep else t, []).append(step if sep else "")
    out: list[tuple[str, list[str]]] = []
    for activity, steps in groups.items():
        if len(steps) >= 2 and all(steps):
            out.append((activity, steps))
        else:
            out += [(f"{activity}|{s}" if s else activity, []) for s in steps]
    return out


def _activity_steps(words: Words, activity: str, steps: list[str]) -> str:
    return f"{words(activity)} ({' or '.join(steps)})" if steps else words(activity)


@dataclass(frozen=True)
class EventMatch:
    """A set of events: any of these touchpoints, any of these stages, or an attribute with one
    of these values (an empty match matches nothing).

    >>> m = EventMatch(("purchase",), ("conversion",))
    >>> m.mask(np.array(["visit", "purchase", "x"], dtype=object),
    ...        np.array([None, None, "conversion"], dtype=object), {}).tolist()
    [False, True, True]
    >>> m.describe(), EventMatch(attribute="status", values=("approved",)).describe()
    ('purchase or stage conversion', 'status = approved')
    """

    touchpoints: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    attribute: str | None = None
    values: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "touchpoints", _texts(self.touchpoints))
        object.__setattr__(self, "stages", _texts(self.stages))
        object.__setattr__(self, "values", _texts(self.values))
        if (self.attribute is None) != (not self.values):
            raise ConfigError(
                "expected an attribute together with its values ({attribute: name, values: "
                f"[...]}}), got attribute {self.attribute!r} and values {list(self.values)}",
                field="attribute",
            )

    @property
    def empty(self) -> bool:
        return not (self.touchpoints or self.stages or self.attribute)

    @property
    def has_events(self) -> bool:
        """Matches by touchpoint or stage (not only by an attribute)."""
        return bool(self.touchpoints or self.stages)

    def mask(
        self, touchpoint: np.ndarray, stage: np.ndarray, attributes: Mapping[str, np.ndarray]
    ) -> np.ndarray:
        """Which events match (arrays of equal length; ``attributes`` by column name)."""
        out = isin(touchpoint, self.touchpoints)
        if self.stages:
            out |= isin(stage, self.stages)
        if self.attribute is not None:
            col = attributes.get(self.attribute)
            if col is not None and len(col):
                codes, uniques = pd.factorize(np.asarray(col, dtype=object))
                hit = np.array([_attr_text(u) in self.values for u in uniques] + [False])
                out |= hit[codes]  # code -1 (missing) picks the last entry: False
        return out

    def describe(self, words: Words = _plain) -> str:
        """The events in words; transitions of one activity (a process log's activity and
        lifecycle joined with ``|``) are named once, with their transitions.

        >>> EventMatch(("Approved|start", "Approved|complete", "Paid")).describe()
        'Approved (start or complete) or Paid'
        """
        parts = [_activity_steps(words, a, steps) for a, steps in _by_activity(self.touchpoints)]
        parts += [f"stage {words(s)}" for s in self.stages]
        if self.attribute is not None:
            parts.append(f"{self.attribute} = {' or '.join(self.values)}")
        return " or ".join(parts) if parts else "nothing"

    def to_dict(self) -> dict[str, Any]:
        return {
            "touchpoints": list(self.touchpoints),
            "stages": list(self.stages),
            "attribute": self.attribute,
            "values": list(self.values),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> EventMatch:
        return cls(
            _texts(d.get("touchpoints")),
            _texts(d.get("stages")),
            d.get("attribute"),
            _texts(d.get("values")),
        )

    @classmethod
    def parse(cls, value: Any, *, field: str) -> EventMatch:
        """From YAML: a list of touchpoints, one touchpoint, or ``{touchpoints: [..], stages:
        [..]}`` / ``{attribute: name, values: [..]}`` (``value:`` for one value).

        >>> EventMatch.parse({"stages": ["conversion"]}, field="outcome").stages
        ('conversion',)
        """
        if value is None:
            return cls()
        if isinstance(value, str | list | tuple):
            return cls(_texts(value))
        if not isinstance(value, Mapping):
            raise ConfigError(
                f"expected a list of touchpoints or {{touchpoints, stages, attribute, values}} "
                f"for {field}, got {value!r}",
                field=field,
            )
        d = dict(value)
        if "value" in d:
            d["values"] = [*_texts(d.get("values")), *_texts(d.pop("value"))]
        unknown = sorted(set(d) - {"touchpoints", "stages", "attribute", "values"})
        if unknown:
            raise ConfigError(
                f"unknown key(s) {unknown} in {field}; expected touchpoints, stages, attribute, "
                "values (or value)",
                field=f"{field}.{unknown[0]}",
            )
        try:
            return cls.from_dict(d)
        except ConfigError as exc:
            raise ConfigError(exc.message, field=f"{field}.attribute") from None


def _attr_text(x: Any) -> str | None:
    if x is None or (isinstance(x, float) and x != x):
        return None
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


@dataclass(frozen=True)
class Eligibility:
    """Who is asked the question at ``as_of`` (from events before it only). Filters compose:

    - ``not_yet``: none of these events before ``as_of`` (e.g. not yet converted);
    - ``has_done``: at least one of these before ``as_of`` (e.g. churn among buyers only);
    - ``active_within_days``: an *activity* event (as the task defines it) in the D days before;
    - ``min_events``: at least n events before ``as_of``.
    """

    not_yet: EventMatch = EventMatch()
    has_done: EventMatch = EventMatch()
    active_within_days: float | None = None
    min_events: int = 1

    def __post_init__(self) -> None:
        if self.active_within_days is not None:
            d = float(self.active_within_days)
            if not d > 0:
                raise ConfigError(
                    f"expected active_within_days > 0 (or null to switch it off), got {d}",
                    field="eligibility.active_within_days",
                )
            object.__setattr__(self, "active_within_days", d)
        if int(self.min_events) < 1:
            raise ConfigError(
                f"expected min_events >= 1 (a prediction needs some history), got "
                f"{self.min_events}",
                field="eligibility.min_events",
            )
        object.__setattr__(self, "min_events", int(self.min_events))

    def to_dict(self) -> dict[str, Any]:
        return {
            "not_yet": self.not_yet.to_dict(),
            "has_done": self.has_done.to_dict(),
            "active_within_days": self.active_within_days,
            "min_events": self.min_events,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Eligibility:
        return cls(
            EventMatch.from_dict(d.get("not_yet") or {}),
            EventMatch.from_dict(d.get("has_done") or {}),
            d.get("active_within_days"),
            int(d.get("min_events", 1)),
        )


ANYONE = Eligibility()


@dataclass(frozen=True)
class TaskConfig:
    """One prediction task. ``eligibility=None`` takes the kind's default: ``lapses`` asks
    customers active within the horizon who have not churned explicitly; the other kinds
    ask anyone with at least one event.

    >>> from journeyml import task_from_block
    >>> task = task_from_block("churn", {"kind": "lapses", "horizon_days": 14,
    ...                                  "churn": ["cancellation"]})   # a TaskConfig
    >>> task.kind, task.horizon_days, task.output
    ('lapses', 14.0, 'binary')
    """

    name: str
    kind: Kind
    _: KW_ONLY
    horizon_days: float | None = None
    #: occurs / case_outcome: the events whose occurrence is predicted
    outcome: EventMatch = EventMatch()
    #: lapses: explicit churn events (e.g. cancellation)
    churn: EventMatch = EventMatch()
    #: lapses: no activity for the whole horizon also counts as lapsing
    inactivity: bool = True
    #: what counts as activity; None: every touchpoint except the company-sent ones
    activity: EventMatch | None = None
    #: touchpoints the company sends (not activity); None: not resolved yet (from the data)
    company_sent: tuple[str, ...] | None = None
    eligibility: Eligibility | None = None
    #: next: predict the next stage or the next touchpoint
    target: Literal["stage", "touchpoint"] = "stage"
    #: next: a cutoff after the case's last event is labelled "end" (process logs)
    end_of_case: bool = False
    #: next: classes with fewer training examples are grouped into one class, "other" (a rare
    #: touchpoint or stage; journeyml.modeling.rare); 0: never; None: the booster's
    #: min_data_in_leaf, when the training window has more than 30 classes
    min_class_examples: int | None = None
    #: case_outcome: prefixes end before the first outcome event (the honest variant)
    cut_before_outcome: bool = False
    #: case_outcome on open-ended journeys: a case counts as over (its outcome known) once
    #: its last event is this many days before the end of the data; None: every case is over
    complete_after_days: float | None = None
    #: "prefix" (a cutoff after each event) or "snapshot"; None: the kind's default
    cutoffs: CutoffMode | None = None
    #: the quantity a cause moves, in words ("churn risk"); next: "{class}" is the class
    description: str = ""

    def __post_init__(self) -> None:
        check_name(self.name)
        if self.kind not in KINDS:
            raise ConfigError(
                f"expected a task kind in {list(KINDS)}, got {self.kind!r}. See docs/tasks.md.",
                field="kind",
            )
        if self.company_sent is not None:
            object.__setattr__(self, "company_sent", _texts(self.company_sent))
        self._check_horizon()
        self._check_outcome()
        if self.target not in ("stage", "touchpoint"):
            raise ConfigError(
                f"expected target stage or touchpoint, got {self.target!r}", field="target"
            )
        if self.cutoffs not in (None, "prefix", "snapshot"):
            raise ConfigError(
                f"expected cutoffs prefix or snapshot (or none), got {self.cutoffs!r}",
                field="cutoffs",
            )
        self._check_min_class_examples()
        if self.eligibility is None:
            object.__setattr__(self, "eligibility", self._default_eligibility())

    def _check_min_class_examples(self) -> None:
        m = self.min_class_examples
        if m is None:
            return
        if self.kind != "next" or isinstance(m, bool) or not isinstance(m, int) or m < 0:
            raise ConfigError(
                f"expected min_class_examples as a whole number >= 0 on a next task (0: never "
                f"group rare classes; leave it out for the default), got {m!r} on a "
                f"{self.kind} task",
                field="min_class_examples",
            )

    def _check_horizon(self) -> None:
        h = self.horizon_days
        if self.kind == "case_outcome" and h is not None:
            raise ConfigError(
                "expected no horizon_days for a case_outcome task (the rest of the case counts, "
                f"however long), got {h}. For 'within H days' use kind: occurs.",
                field="horizon_days",
            )
        c = self.complete_after_days
        if c is not None:
            if self.kind != "case_outcome" or not float(c) > 0:
                raise ConfigError(
                    f"expected complete_after_days > 0 on a case_outcome task, got {c} on a "
                    f"{self.kind} task",
                    field="complete_after_days",
                )
            object.__setattr__(self, "complete_after_days", float(c))
        if self.kind in ("occurs", "lapses") and h is None:
            raise ConfigError(
                f"expected horizon_days for a {self.kind} task, got none.", field="horizon_days"
            )
        if h is not None:
            if not float(h) > 0:
                raise ConfigError(
                    f"expected a positive horizon_days, got {h}", field="horizon_days"
                )
            object.__setattr__(self, "horizon_days", float(h))

    def _check_outcome(self) -> None:
        if self.kind in ("occurs", "case_outcome") and self.outcome.empty:
            raise ConfigError(
                f"expected an outcome for a {self.kind} task (touchpoints, stages or "
                "{attribute, values}), got none.",
                field="outcome",
            )
        if self.kind == "lapses" and self.churn.empty and not self.inactivity:
            raise ConfigError(
                "expected churn events or inactivity: true for a lapses task, got neither "
                "(nothing could ever lapse).",
                field="churn",
            )
        if self.cut_before_outcome and (self.kind != "case_outcome" or not self.outcome.has_events):
            raise ConfigError(
                "expected cut_before_outcome only on a case_outcome task whose outcome names "
                f"touchpoints or stages, got kind {self.kind} with outcome "
                f"{self.outcome.describe()!r}. A case attribute is known from the first event, "
                "so cutting before it leaves no prefix.",
                field="cut_before_outcome",
            )

    def _default_eligibility(self) -> Eligibility:
        if self.kind == "lapses":
            return Eligibility(not_yet=self.churn, active_within_days=self.horizon_days)
        return ANYONE

    # --- what the task is ------------------------------------------------------------------
    @property
    def output(self) -> Output:
        """The model's output: one probability, or a distribution over classes."""
        return "multiclass" if self.kind == "next" else "binary"

    @property
    def rules(self) -> Eligibility:
        assert self.eligibility is not None  # set in __post_init__
        return self.eligibility

    def default_cutoffs(self, snapshot_mode: str) -> CutoffMode:
        """Prefix or snapshot cutoffs for this task, given the pipeline's ``snapshots.mode``."""
        if self.cutoffs is not None:
            return self.cutoffs
        if self.kind == "case_outcome" or snapshot_mode == "at_each_event":
            return "prefix"
        return "snapshot"

    @property
    def outcome_touchpoints(self) -> tuple[str, ...]:
        """Touchpoints whose occurrence sets the label (the outcome itself, not a cause)."""
        return (*self.outcome.touchpoints, *self.churn.touchpoints)

    def activity_mask(
        self, touchpoint: np.ndarray, stage: np.ndarray, attributes: Mapping[str, np.ndarray]
    ) -> np.ndarray:
        """Which events count as activity (for ``lapses`` and ``active_within_days``)."""
        if self.activity is not None:
            return self.activity.mask(touchpoint, stage, attributes)
        return ~isin(touchpoint, self.company_sent or ())

    def resolved(self, company_sent: tuple[str, ...]) -> TaskConfig:
        """This task with ``company_sent`` fixed (kept if the task declares its own)."""
        if self.company_sent is not None:
            return self
        return replace(self, company_sent=tuple(company_sent))

    # --- words -----------------------------------------------------------------------------
    def activity_text(self, words: Words = _plain) -> str:
        if self.activity is not None:
            return self.activity.describe(words)
        sent = self.company_sent or ()
        if not sent:
            return "any event"
        return f"any event except company-sent {', '.join(words(s) for s in sent)}"

    def phrase(self, class_name: str | None = None, words: Words = _plain) -> str:
        """The quantity an explanation's cause moves, e.g. ``"churn risk"``."""
        if self.description:
            return self.description.replace("{class}", words(class_name or ""))
        h = f" within {self.horizon_days:g} days" if self.horizon_days else ""
        if self.kind == "occurs":
            return f"the chance of {self.outcome.describe(words)}{h}"
        if self.kind == "lapses":
            return f"the risk of lapsing{h}"
        if self.kind == "case_outcome":
            if self.outcome.has_events:
                return f"the chance that the case reaches {self.outcome.describe(words)}"
            return f"the chance that {self.outcome.describe(words)}"
        if class_name == END_CLASS:
            return "the chance that the case ends next"
        if class_name == NONE_CLASS:
            return f"the chance of no further event{h}"
        if class_name == RARE_CLASS:
            return f"the chance that the next {self.target} is {self.class_text(RARE_CLASS)}"
        return f"the chance that the next {self.target} is {words(class_name or '')}"

    def class_text(self, class_name: str, words: Words = _plain) -> str:
        """A class of a next task in words: the grouped class is "a rare touchpoint" (or
        stage), any other class its own words.

        >>> t = TaskConfig("next_step", "next", target="touchpoint")
        >>> t.class_text("other"), t.class_text("support_call", lambda s: s.replace("_", " "))
        ('a rare touchpoint', 'support call')
        """
        if class_name == RARE_CLASS:
            return f"a rare {self.target}"
        return words(class_name)

    def population(self, words: Words = _plain) -> str:
        """Who the task's model is trained on, in words."""
        e = self.rules
        parts = []
        if not e.not_yet.empty:
            parts.append(f"no {e.not_yet.describe(words)} yet")
        if self.cut_before_outcome:
            parts.append(f"no {self.outcome.describe(words)} yet")
        if not e.has_done.empty:
            parts.append(f"some {e.has_done.describe(words)} already")
        if e.active_within_days is not None:
            parts.append(
                f"activity ({self.activity_text(words)}) in the last {e.active_within_days:g} days"
            )
        at_least = f"at least {e.min_events} events" if e.min_events > 1 else "some history"
        return "journeys with " + ", ".join([at_least, *parts])

    # --- persistence -----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; :meth:`from_dict` gives back an equal task."""
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "_":
                continue
            if isinstance(v, EventMatch | Eligibility):
                v = v.to_dict()
            elif isinstance(v, tuple):
                v = list(v)
            out[f.name] = v
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TaskConfig:
        """A task from :meth:`to_dict` output; dicts saved before task kinds existed (name
        conversion / churn / next_stage and their old fields) are mapped onto the kinds."""
        if "kind" not in d:
            return legacy_task(d)
        activity = d.get("activity")
        sent = d.get("company_sent")
        elig = d.get("eligibility")
        return cls(
            d["name"],
            d["kind"],
            horizon_days=d.get("horizon_days"),
            outcome=EventMatch.from_dict(d.get("outcome") or {}),
            churn=EventMatch.from_dict(d.get("churn") or {}),
            inactivity=bool(d.get("inactivity", True)),
            activity=None if activity is None else EventMatch.from_dict(activity),
            company_sent=None if sent is None else tuple(sent),
            eligibility=None if elig is None else Eligibility.from_dict(elig),
            target=d.get("target", "stage"),
            end_of_case=bool(d.get("end_of_case", False)),
            min_class_examples=d.get("min_class_examples"),
            cut_before_outcome=bool(d.get("cut_before_outcome", False)),
            complete_after_days=d.get("complete_after_days"),
            cutoffs=d.get("cutoffs"),
            description=str(d.get("description", "")),
        )


#: the tasks journeyml had before task kinds, and the phrases their explanations used
LEGACY_TASKS = ("conversion", "churn", "next_stage")
_LEGACY_KEYS = frozenset(
    {
        "name",
        "horizon_days",
        "conversion_touchpoints",
        "churn_touchpoints",
        "inactivity",
        "eligibility",
        "target",
        "end_of_case",
    }
)


def legacy_task(d: Mapping[str, Any], *, company_sent: tuple[str, ...] | None = ()) -> TaskConfig:
    """A task saved (or configured) before task kinds: ``conversion`` → occurs, ``churn`` →
    lapses, ``next_stage`` → next. ``company_sent=()`` (saved models): any event is activity,
    as it was when they were trained; None (configs): resolved from the data like any task.

    >>> t = legacy_task({"name": "conversion", "horizon_days": 14,
    ...                  "conversion_touchpoints": ["purchase"], "eligibility": "not_converted"})
    >>> t.kind, t.outcome.touchpoints, t.rules.not_yet.touchpoints, t.phrase()
    ('occurs', ('purchase',), ('purchase',), 'the chance of converting')
    """
    name = str(d.get("name"))
    unknown = sorted(set(d) - _LEGACY_KEYS)
    if name not in LEGACY_TASKS or unknown:
        raise ConfigError(
            f"expected a kind for task {name!r} (one of {list(KINDS)}), got none"
            + (f" and keys {unknown}" if unknown else "")
            + ". See docs/tasks.md for each kind's keys.",
            field="kind",
        )
    h = float(d.get("horizon_days", 30.0))
    elig = d.get("eligibility")
    if name == "conversion":
        tps = _texts(d.get("conversion_touchpoints", ("purchase",)))
        not_yet = EventMatch(tps) if elig in (None, "not_converted") else EventMatch()
        return TaskConfig(
            name,
            "occurs",
            horizon_days=h,
            outcome=EventMatch(tps),
            company_sent=company_sent,
            eligibility=Eligibility(not_yet=not_yet),
            description="the chance of converting",
        )
    if name == "churn":
        churn = EventMatch(_texts(d.get("churn_touchpoints", ("cancellation",))))
        return TaskConfig(
            name,
            "lapses",
            horizon_days=h,
            churn=churn,
            inactivity=bool(d.get("inactivity", True)),
            company_sent=company_sent,
            eligibility=Eligibility(not_yet=churn, active_within_days=None if elig == "any" else h),
            description="churn risk",
        )
    return TaskConfig(
        name,
        "next",
        horizon_days=h,
        company_sent=company_sent,
        target=d.get("target", "stage"),
        end_of_case=bool(d.get("end_of_case", False)),
    )
