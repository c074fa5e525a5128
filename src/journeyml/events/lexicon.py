"""Words that hint at what a column or a touchpoint is, for ``journeyml init``'s guesses.

Names are split into lowercase words (``CaseID`` → ``case id``, ``email_sent`` → ``email
sent``); a word matches a stem when it starts with it (``cancel`` matches ``cancelled`` and
``cancellation``, but ``subscri`` does not match ``unsubscribe``). Each guess comes back with
the word that made it, so the user sees why.

>>> words("CompleteTimestamp"), words("case:concept:name")
(['complete', 'timestamp'], ['case', 'concept', 'name'])
>>> touchpoint_role("purchase"), touchpoint_role("payment_error"), touchpoint_role("unsubscribe")
(('conversion', 'purchase'), None, ('cancellation', 'unsubscribe'))
>>> touchpoint_role("ad_impression"), touchpoint_role("email_open")
(('company_sent', 'impression'), None)
>>> touchpoint_role("account_opened"), touchpoint_role("standing_order_setup")
(('conversion', 'opened account'), None)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final, Literal

TouchpointRole = Literal["conversion", "cancellation", "company_sent"]

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SPLIT = re.compile(r"[^0-9a-zA-Z]+")


def words(name: str) -> list[str]:
    """The lowercase words of a name (camel case, separators and digits split)."""
    spaced = _CAMEL.sub(" ", str(name))
    return [w.lower() for w in _SPLIT.split(spaced) if w]


def _first(tokens: Sequence[str], stems: Sequence[str]) -> str | None:
    """The first token matching a stem (stems of 3 letters or fewer match whole words only:
    ``ad`` is not ``add``)."""
    for token in tokens:
        for stem in stems:
            if token == stem or (len(stem) > 3 and token.startswith(stem)):
                return token
    return None


def _pair(tokens: Sequence[str], a: Sequence[str], b: Sequence[str]) -> str | None:
    first, second = _first(tokens, a), _first(tokens, b)
    return f"{first} {second}" if first and second else None


# --- touchpoints ---------------------------------------------------------------------------
CONVERSION_STEMS: Final = (
    "purchas", "buy", "bought", "order", "signup", "subscri", "convert", "conversion",
    "resolv", "approv", "won", "enrol", "registr", "register", "sale",
)  # fmt: skip
#: words that make a touchpoint a pain point, never a conversion (payment error, failed order)
NOT_CONVERSION_STEMS: Final = (
    "error", "fail", "declin", "abandon", "reject", "cancel", "return", "refund", "unsubscri",
)  # fmt: skip
#: an order that repeats by itself (a bank's standing order, a recurring order) is a setting,
#: not a conversion
RECURRING_ORDER: Final = (("standing", "recurring", "repeat"), ("order",))
CANCELLATION_STEMS: Final = (
    "cancel", "churn", "unsubscri", "optout", "terminat", "deactivat", "unregist",
)  # fmt: skip
COMPANY_SENT_STEMS: Final = (
    "newsletter", "impression", "campaign", "notif", "push", "reminder", "mailing", "mailer",
    "promo", "advert", "retarget", "outbound", "broadcast",
)  # fmt: skip
#: words of a customer's own action on something sent (email_open, ad_click, ad_watched)
CUSTOMER_ACTION_STEMS: Final = (
    "open", "click", "repl", "read", "view", "visit", "call", "watch",
)  # fmt: skip


def touchpoint_role(name: str) -> tuple[TouchpointRole, str] | None:
    """Whether a touchpoint looks like a conversion, a cancellation (explicit churn) or a
    touchpoint the company sends, and the word that says so; ``None`` when nothing does."""
    tokens = words(name)
    if not tokens:
        return None
    hit = (
        _first(tokens, CANCELLATION_STEMS)
        or _pair(tokens, ("opt",), ("out",))
        or _pair(tokens, ("clos", "delet"), ("account",))
    )
    if hit:
        return "cancellation", hit
    hit = (
        _first(tokens, CONVERSION_STEMS)
        or _pair(tokens, ("sign",), ("up",))
        or _pair(tokens, ("open", "creat", "activat"), ("account",))
    )
    if hit and not (_first(tokens, NOT_CONVERSION_STEMS) or _pair(tokens, *RECURRING_ORDER)):
        return "conversion", hit
    if not _first(tokens, CUSTOMER_ACTION_STEMS):
        hit = (
            _first(tokens, COMPANY_SENT_STEMS)
            or _pair(tokens, ("email", "mail", "sms", "message", "offer"), ("sent", "send"))
            or ("ad" if tokens[0] in ("ad", "ads") else None)
        )
        if hit:
            return "company_sent", hit
    return None


# --- stages ------------------------------------------------------------------------------
STAGE_STEMS: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    ("advocacy", ("referr", "refer", "share", "recommend", "testimonial", "written", "writ")),
    ("conversion", ("checkout", "payment", "pay")),
    (
        "awareness",
        ("impression", "ad", "ads", "advert", "banner", "awareness", "campaign", "social"),
    ),
    (
        "consideration",
        (
            "visit",
            "view",
            "brows",
            "search",
            "compar",
            "review",
            "demo",
            "cart",
            "wishlist",
            "open",
            "click",
        ),
    ),
    ("retention", ("login", "support", "call", "complain", "return", "loyal", "renew", "repeat")),
)


def stage_of(name: str) -> tuple[str, str] | None:
    """A canonical stage a touchpoint's words suggest, and the word; ``None`` when unsure.

    >>> stage_of("purchase"), stage_of("review_written"), stage_of("product_view")
    (('conversion', 'purchase'), ('advocacy', 'written'), ('consideration', 'view'))
    """
    role = touchpoint_role(name)
    if role is not None and role[0] == "conversion":
        return "conversion", role[1]
    if role is not None and role[0] == "cancellation":
        return "retention", role[1]
    tokens = words(name)
    for stage, stems in STAGE_STEMS:
        hit = _first(tokens, stems)
        if hit:
            return stage, hit
    return None


# --- column names -------------------------------------------------------------------------
#: canonical column → words in a source column's name that suggest it (exact XES keys first)
COLUMN_WORDS: Final[dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    # role: (exact names, words)
    "customer_id": (
        ("case:concept:name", "customer_id", "caseid", "case_id"),
        (
            "customer", "client", "user", "visitor", "cookie", "account", "member", "case",
            "ticket", "incident", "person", "buyer", "subscriber", "contact", "lead", "patient",
            "shopper", "id",
        ),
    ),
    "timestamp": (
        ("time:timestamp", "timestamp"),
        ("timestamp", "time", "date", "datetime", "ts", "when", "created", "occurred", "at"),
    ),
    "touchpoint": (
        ("concept:name", "touchpoint", "activity", "event"),
        ("touchpoint", "activity", "event", "action", "interaction", "type", "step", "status",
         "name", "page", "kind"),
    ),
    "channel": (("channel",), ("channel", "medium", "source", "platform", "device", "utm")),
    "value": (
        ("value",),
        ("value", "amount", "revenue", "price", "dollar", "spend", "total", "sales", "cost",
         "euro", "usd", "eur"),
    ),
    "stage": (("stage",), ("stage", "funnel")),
}  # fmt: skip


#: a word so common in names (``ActivityID``) that it is only a weak hint
WEAK_WORDS: Final = frozenset({"id", "name", "type", "at", "source", "status", "kind"})


def name_hint(column: str, role: str) -> tuple[int, str]:
    """How strongly a column's name suggests ``role`` (3 exact, 2 a telling word, 1 a weak
    word, 0 nothing) and why.

    >>> name_hint("CaseID", "customer_id"), name_hint("dollar_value", "value")
    ((3, "name 'CaseID'"), (2, "name 'dollar_value' (dollar)"))
    >>> name_hint("ActivityID", "customer_id")
    (1, "name 'ActivityID' (id)")
    """
    exact, stems = COLUMN_WORDS[role]
    if column.lower() in exact:
        return 3, f"name {column!r}"
    best: tuple[int, str] = (0, "")
    for token in words(column):
        if token in stems:
            score = 1 if token in WEAK_WORDS else 2
            if score > best[0]:
                best = (score, f"name {column!r} ({token})")
    return best
