"""Strict JSON bodies, in the process: a repeated key at any depth is refused naming the first
key seen twice; everything else parses as ``json.loads`` parses it."""

from __future__ import annotations

import json

import pytest

from journeyml.errors import RequestError
from journeyml.serving.strict_json import parse_json


@pytest.mark.parametrize(
    ("body", "key"),
    [
        (b'{"a": 1, "b": 2, "b": 3, "a": 4}', "b"),
        (b'{"a": 1, "a": 2, "b": 3, "b": 4}', "a"),
        (b'{"events": [{"t": 1}, {"t": 1, "u": 2, "t": 3}]}', "t"),
        (b'{"x": {"y": {"z": 1, "z": 1}}}', "z"),
    ],
)
def test_a_repeated_key_is_refused_naming_it(body: bytes, key: str) -> None:
    with pytest.raises(RequestError) as info:
        parse_json(body)
    assert info.value.code == "duplicate_key" and info.value.field == key


def test_bodies_without_repeats_parse_as_json_does() -> None:
    doc = {
        "customer_id": "c",
        "events": [{"timestamp": "2024-01-01T00:00:00Z", "touchpoint": "a", "value": 1.5}] * 3,
        "nested": {"a": {"b": [1, {"c": None}]}, "d": []},
        "unicode": "é ✓",
    }
    body = json.dumps(doc).encode()
    assert parse_json(body) == json.loads(body)
    assert list(parse_json(body)) == list(doc)  # key order kept
