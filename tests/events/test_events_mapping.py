"""Mapping files: parsing, errors naming file and key, built-ins, column building."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from journeyml.errors import ConfigError
from journeyml.events.mapping import (
    apply_mapping,
    builtin_mapping,
    list_builtin_mappings,
    load_mapping,
    resolve_mapping,
)

VALID = """
columns:
  customer_id: cid
  timestamp: ts
  touchpoint: {join: [status, sub], sep: "|"}
  channel: {constant: desk}
event_attributes: [resource]
customer_attributes: {tier: customer tier}
stage_mode: activity
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(text)
    return path


def test_load_and_apply(tmp_path: Path) -> None:
    m = load_mapping(write(tmp_path, VALID))
    assert m.source.endswith("m.yaml") and m.resolved_stage_mode == "activity"
    raw = pd.DataFrame(
        {
            "cid": ["1", "2"],
            "ts": ["2024-01-01", "2024-01-02"],
            "status": ["Accepted", "Queued"],
            "sub": ["Wait", None],
            "resource": ["r1", "r2"],
            "customer tier": ["gold", "silver"],
        }
    )
    out = apply_mapping(raw, m)
    assert out["touchpoint"].fillna("<missing>").tolist() == ["Accepted|Wait", "<missing>"]
    assert out["channel"].tolist() == ["desk", "desk"]
    assert out["tier"].tolist() == ["gold", "silver"]
    assert list(out.columns) == [
        "customer_id",
        "timestamp",
        "touchpoint",
        "channel",
        "resource",
        "tier",
    ]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (VALID + "colour: blue\n", "colour"),
        (VALID.replace("  channel:", "  chanel:"), "columns.chanel"),
        (VALID + "reader: {format: csv, seperator: ';'}\n", "reader.seperator"),
        (VALID.replace("{constant: desk}", "{constant: desk, column: x}"), "columns.channel"),
        (VALID + "timezone: Mars/Olympus\n", "timezone"),
        (VALID.replace("stage_mode: activity", "stage_map: {a: purchase}"), "stage_map.a"),
        ("columns: {customer_id: a, timestamp: b}\n", "columns.touchpoint"),
    ],
)
def test_errors_name_file_and_key(tmp_path: Path, text: str, key: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_mapping(path)
    assert str(path) in str(info.value)
    assert repr(key) in str(info.value)
    assert info.value.field == key


def test_unknown_key_lists_allowed_keys(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="allowed keys: customer_id, timestamp, touchpoint"):
        load_mapping(write(tmp_path, VALID.replace("  channel:", "  chanel:")))


def test_not_yaml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="valid YAML"):
        load_mapping(write(tmp_path, "columns: [unclosed"))
    with pytest.raises(ConfigError, match="built-in mapping"):
        load_mapping(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="expected a YAML mapping"):
        load_mapping(write(tmp_path, "- just a list\n"))


def test_stage_mode_conflicts(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="stage_map is only used"):
        load_mapping(write(tmp_path, VALID + "stage_map: {a: conversion}\n"))


def test_builtins() -> None:
    names = list_builtin_mappings()
    assert {
        "helpdesk",
        "bpic2013-incidents",
        "tax-helpdesk",
        "tax-bpi13-incidents",
        "tax-env-permit",
        "cdnow-master",
        "attribution",
    } <= set(names)
    for name in names:
        m = builtin_mapping(name)
        assert m.source == f"builtin:{name}"
        for src in (m.columns.customer_id, m.columns.timestamp, m.columns.touchpoint):
            assert all(not Path(c).is_absolute() for c in src.source_columns)
    assert resolve_mapping("cdnow-master").outcomes.conversion_touchpoints == ["purchase"]
    with pytest.raises(ConfigError, match="built-in mapping name"):
        builtin_mapping("nope")


def test_company_sent_touchpoints(tmp_path: Path) -> None:
    f = tmp_path / "m.yaml"
    f.write_text(VALID + "company_sent: [newsletter, ad]\n")
    assert load_mapping(f).company_sent == ["newsletter", "ad"]
    assert builtin_mapping("attribution").company_sent == ["impression"]
    f.write_text(VALID + "touchpoints: [visit, newsletter]\ncompany_sent: [newsleter]\n")
    with pytest.raises(ConfigError, match="newsleter") as e:
        load_mapping(f)
    assert e.value.field is not None
