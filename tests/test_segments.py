"""Metrics per segment / persona: computed on the test window and logged with every run."""

from __future__ import annotations

import numpy as np
import pytest

from journeyml.errors import ConfigError
from journeyml.lifecycle import segment_labels
from journeyml.modeling import binary_metrics, metrics_by_segment


def test_metrics_by_segment_equal_metrics_on_each_subset() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    p = np.clip(y * 0.3 + rng.random(300) * 0.7, 0, 1)
    seg = np.array(["a", "b", "c"])[rng.integers(0, 3, 300)]
    out = metrics_by_segment(y, p, seg)
    for s in ("a", "b", "c"):
        m = seg == s
        assert out[s] == pytest.approx(binary_metrics(y[m], p[m]), nan_ok=True)


def test_segments_decoded_from_the_attribute_feature(trained_store) -> None:  # type: ignore[no-untyped-def]
    _, result = trained_store
    spec = result.spec
    X = np.full((3, len(spec.names)), np.nan)
    j = spec.names.index("attr_segment")
    X[0, j] = 0
    X[1, j] = 1
    out = segment_labels(X, spec, "segment")
    assert out is not None
    vocab = spec.vocabulary("attribute:segment")
    assert out.tolist() == [vocab[0], vocab[1], "unknown"]
    assert segment_labels(X, spec, None) is None


def test_pipeline_reports_each_persona(trained_store) -> None:  # type: ignore[no-untyped-def]
    _, result = trained_store
    from journeyml.sim import SEGMENTS

    for task, res in result.results.items():
        assert set(res.segment_metrics) <= set(SEGMENTS) | {"unknown"}, task
        assert len(res.segment_metrics) >= 2, task
        total = sum(m["n"] for m in res.segment_metrics.values())
        assert total <= res.counts["test"]


def test_segment_attribute_must_be_a_feature(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from journeyml.lifecycle import load_pipeline_config

    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: t\ndata: {simulate: {customers: 10}}\ntasks: {churn: {}}\n"
        "segment_attribute: region\n"
    )
    with pytest.raises(ConfigError, match=r"bad\.yaml.*features\.attributes"):
        load_pipeline_config(path)
