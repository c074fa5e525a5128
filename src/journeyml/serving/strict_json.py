"""Strict JSON for request bodies: a duplicate key is an error naming the key (the last one
does not silently win), malformed or too deeply nested JSON is a 400, and the body must be
declared as JSON.

>>> parse_json(b'{"customer_id": "a", "events": []}')
{'customer_id': 'a', 'events': []}
>>> parse_json(b'{"events": [1], "events": []}')  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
journeyml.errors.RequestError: expected each key once in a JSON object, got "events" twice...
>>> check_content_type("application/json; charset=utf-8")
>>> check_content_type("text/plain")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
journeyml.errors.UnsupportedMediaTypeError: expected Content-Type: application/json, ...
"""

from __future__ import annotations

import json
from typing import Any

from journeyml.errors import RequestError, UnsupportedMediaTypeError


class _Duplicate(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) < len(pairs):  # a key repeated: name the first one seen twice
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise _Duplicate(k)
            seen.add(k)
    return out


def _constant(name: str) -> Any:
    return float(name)  # NaN / Infinity: kept as numbers, refused by the models' number checks


def parse_json(body: bytes) -> Any:
    """The JSON document in ``body``; an empty body is ``{}`` (its fields are then missing)."""
    if not body.strip():
        return {}
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _invalid(f"expected UTF-8 JSON, got undecodable bytes at {exc.start}") from exc
    try:
        return json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant)
    except _Duplicate as exc:
        err = RequestError(
            f'expected each key once in a JSON object, got "{exc.key[:100]}" twice. '
            "Send one value per key.",
            field=exc.key[:200],
        )
        err.code = "duplicate_key"
        err.http_status = 400
        raise err from None
    except RecursionError:
        raise _invalid("expected JSON nested less deeply, got too many levels") from None
    except ValueError as exc:
        raise _invalid(f"expected a JSON body, got malformed JSON: {exc}") from None


def _invalid(message: str) -> RequestError:
    err = RequestError(f"{message}. Send a JSON object.", field="body")
    err.code = "json_invalid"
    err.http_status = 400
    return err


def check_content_type(value: str | None) -> None:
    """Refuse bodies not declared as JSON (``application/json`` or ``application/*+json``)."""
    media = (value or "").split(";", 1)[0].strip().lower()
    if media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    ):
        return
    raise UnsupportedMediaTypeError(
        f"expected Content-Type: application/json, got {value or 'none'!r}. Send the body as "
        "JSON with that header.",
        field="content-type",
    )
