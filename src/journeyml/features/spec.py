"""FeatureSpec: what the features are, how they were encoded, and a fingerprint.

A spec is learned by :class:`journeyml.features.FeatureBuilder` at training time and saved with
every model. It owns the categorical encoding (vocabularies learned from the training events,
anything unseen maps to ``"other"``), so models only ever receive numbers and nothing depends on
pandas ``category`` surviving JSON or MLflow. Each :class:`FeatureDef` records its family and the
touchpoint / channel / stage it is about, which is what lets explanations group contributions
into root causes.

>>> params = FeatureParams(windows_days=(7,))
>>> spec = FeatureSpec(params=params, touchpoints=("visit",), channels=("web",),
...                    stages=("awareness",), features=())
>>> len(spec.fingerprint)
16
>>> FeatureSpec.from_dict(spec.to_dict()).fingerprint == spec.fingerprint
True
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, TypeVar

from journeyml.errors import ConfigError

#: Bumped whenever the meaning of any feature changes: models built by other code are refused.
#: 2: exact ties (same customer, time and touchpoint) ordered by the encoded channel, stage, value
#: and attributes, so the row order of the input never matters.
FEATURE_CODE_VERSION = "5"

OTHER = "other"

_T = TypeVar("_T")
#: per-spec lookups (vocabulary maps, column plans), keyed by ``id(spec)``; the spec itself is
#: kept alive with its entries so an id is never reused while cached
_CACHE: dict[int, tuple[object, dict[str, Any]]] = {}
_CACHE_MAX = 32


def spec_cache(spec: object, key: str, make: Callable[[], _T]) -> _T:
    """``make()`` computed once per (spec object, key): lookups the hot paths reuse.

    >>> calls = []
    >>> spec = object()
    >>> spec_cache(spec, "k", lambda: calls.append(1) or 5), spec_cache(spec, "k", lambda: 6)
    (5, 5)
    """
    entry = _CACHE.get(id(spec))
    if entry is None or entry[0] is not spec:
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.pop(next(iter(_CACHE)))
        entry = (spec, {})
        _CACHE[id(spec)] = entry
    store = entry[1]
    if key not in store:
        store[key] = make()
    out: _T = store[key]
    return out


SourceType = Literal["touchpoint", "channel", "stage", "transition", "attribute", "journey"]


def slug(text: str) -> str:
    """A feature-name-safe form of a vocabulary value.

    >>> slug("Wait - User"), slug("support_call"), slug("Queued|Awaiting Assignment")
    ('wait_user', 'support_call', 'queued_awaiting_assignment')
    """
    out = re.sub(r"[^0-9a-zA-Z]+", "_", str(text)).strip("_").lower()
    return out or "x"


def window_label(days: float | None) -> str:
    """``7`` → ``'7d'``, ``None`` (all history) → ``'all'``.

    >>> window_label(7), window_label(0.5), window_label(None)
    ('7d', '0.5d', 'all')
    """
    if days is None:
        return "all"
    return f"{days:g}d"


@dataclass(frozen=True)
class FeatureParams:
    """The knobs of the feature engine (all parameters; nothing learned)."""

    windows_days: tuple[float, ...] = (1, 7, 30, 90)
    last_k: int = 3
    session_gap_minutes: float = 30.0
    top_n_transitions: int = 20
    max_touchpoints: int = 60
    max_channels: int = 20
    max_attribute_levels: int = 20
    trend_days: float = 7.0
    attributes: tuple[str, ...] = ()
    stage_order: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if any(w <= 0 for w in self.windows_days):
            raise ConfigError(
                f"expected positive feature windows in days, got {self.windows_days}",
                field="windows_days",
            )
        if self.last_k < 0 or self.session_gap_minutes <= 0:
            raise ConfigError(
                "expected last_k >= 0 and session_gap_minutes > 0, got "
                f"{self.last_k} and {self.session_gap_minutes}",
                field="last_k",
            )


@dataclass(frozen=True)
class FeatureDef:
    """One feature column: its name, family, kind and what it is about."""

    name: str
    family: str
    kind: Literal["numeric", "categorical"] = "numeric"
    source_type: SourceType = "journey"
    #: the touchpoint/channel/stage/attribute value the feature is about; ``None`` when the
    #: feature's subject is its value in the row (e.g. ``last_touchpoint_1``).
    source: str | None = None
    window_days: float | None = None
    #: for categorical features: the vocabulary its codes index into
    vocabulary: str | None = None
    #: a plain-words template; ``{value}`` is the feature value in the row
    template: str = ""


@dataclass(frozen=True)
class FeatureSpec:
    """Everything needed to rebuild a model's features exactly: params, vocabularies, defs.

    >>> from journeyml import FeatureBuilder, FeatureSpec, toy
    >>> spec = FeatureBuilder(windows_days=(7,)).fit(toy.journeys()).spec_
    >>> spec.touchpoints
    ('ad_impression', 'site_visit', 'cancellation', 'cart_add', 'product_view', 'purchase')
    >>> FeatureSpec.from_json(spec.to_json()).fingerprint == spec.fingerprint
    True
    """

    params: FeatureParams
    touchpoints: tuple[str, ...]
    channels: tuple[str, ...]
    stages: tuple[str, ...]
    features: tuple[FeatureDef, ...]
    transitions: tuple[tuple[str, str], ...] = ()
    #: touchpoint pairs ``(a, b)`` where, in the training events, at least 75 % of ``b`` events
    #: come right after an ``a`` (a payment error right after a checkout): the features cannot
    #: tell them apart, so explanations credit ``a`` to ``b``. Learned from the population at
    #: fit time, never from the one journey being explained.
    coupled: tuple[tuple[str, str], ...] = ()
    #: each touchpoint's share of the training events (the touchpoint vocabulary with "other"),
    #: learned at fit time: what a touchpoint count "should" be for a given volume of events,
    #: so explanations can tell volume from the touchpoint's own signal. Empty: not learned.
    touchpoint_share: tuple[float, ...] = ()
    #: the touchpoints the company sends (the mapping's or simulator's ``company_sent``, in
    #: vocabulary order): not the customer's activity. With any, the generic activity and
    #: journey-position features read the customer's own events only (:mod:`.own`), and
    #: ``touchpoint_share`` is each touchpoint's share of the customers' own events.
    company_sent: tuple[str, ...] = ()
    #: per touchpoint (the vocabulary with "other"): how many events of a company-sent
    #: touchpoint the company's schedule delivers per customer-day since first contact in the
    #: training events (0 for the customer's own touchpoints); empty without ``company_sent``
    sent_rate: tuple[float, ...] = ()
    attribute_kinds: dict[str, str] = field(default_factory=dict)
    attribute_levels: dict[str, tuple[str, ...]] = field(default_factory=dict)
    code_version: str = FEATURE_CODE_VERSION

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def categorical_indices(self) -> list[int]:
        return [i for i, f in enumerate(self.features) if f.kind == "categorical"]

    @property
    def stages_are_touchpoints(self) -> bool:
        """Every touchpoint is its own stage: a process log (``stage_mode: activity``), whose
        stages are not data of their own. A journey given without stages gets them from its
        touchpoints when encoded, exactly as in training.

        >>> from dataclasses import replace
        >>> spec = FeatureSpec(FeatureParams(), ("a", "b"), (), ("b", "a"), ())
        >>> spec.stages_are_touchpoints, replace(spec, stages=("awareness",)).stages_are_touchpoints
        (True, False)
        """
        return len(self.stages) >= 2 and set(self.stages) == set(self.touchpoints)

    def vocabulary(self, name: str) -> tuple[str, ...]:
        """The values behind the codes of a categorical feature's vocabulary."""
        if name == "touchpoint":
            return (*self.touchpoints, OTHER)
        if name == "channel":
            return (*self.channels, OTHER)
        if name == "stage":
            return (*self.stages, OTHER)
        if name.startswith("attribute:"):
            return (*self.attribute_levels[name.split(":", 1)[1]], OTHER)
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["transitions"] = [list(t) for t in self.transitions]
        d["coupled"] = [list(t) for t in self.coupled]
        d["touchpoint_share"] = list(self.touchpoint_share)
        if self.company_sent:
            d["company_sent"] = list(self.company_sent)
            d["sent_rate"] = list(self.sent_rate)
        else:  # a log without company-sent touchpoints: the spec (and fingerprint) of before
            del d["company_sent"], d["sent_rate"]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FeatureSpec:
        p = dict(d["params"])
        p["windows_days"] = tuple(p["windows_days"])
        p["attributes"] = tuple(p.get("attributes", ()))
        if p.get("stage_order") is not None:
            p["stage_order"] = tuple(p["stage_order"])
        return cls(
            params=FeatureParams(**p),
            touchpoints=tuple(d["touchpoints"]),
            channels=tuple(d["channels"]),
            stages=tuple(d["stages"]),
            features=tuple(FeatureDef(**f) for f in d["features"]),
            transitions=tuple((a, b) for a, b in d.get("transitions", ())),
            coupled=tuple((a, b) for a, b in d.get("coupled", ())),
            touchpoint_share=tuple(float(v) for v in d.get("touchpoint_share", ())),
            company_sent=tuple(str(v) for v in d.get("company_sent", ())),
            sent_rate=tuple(float(v) for v in d.get("sent_rate", ())),
            attribute_kinds=dict(d.get("attribute_kinds", {})),
            attribute_levels={k: tuple(v) for k, v in d.get("attribute_levels", {}).items()},
            code_version=str(d.get("code_version", "")),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, indent=1)

    @classmethod
    def from_json(cls, text: str) -> FeatureSpec:
        return cls.from_dict(json.loads(text))

    @property
    def fingerprint(self) -> str:
        """A short stable hash of everything that defines the features."""
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]
