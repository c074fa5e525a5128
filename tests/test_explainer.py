"""The explanation entry point (:class:`journeyml.explain.Explainer`, called once per batch by
the Predictor) gives the root causes the three steps give one row at a time: full TreeSHAP of
the row → probability points → the row's own allocation → sentences, and the timestamps read
from the event frame itself. 300 journeys × every task (and two extra next-stage classes)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import pytest

from journeyml.explain import (
    Batch,
    Composition,
    Target,
    probability_points,
    root_causes,
)
from journeyml.features import build_features, encode_frame
from journeyml.scoring import Predictor, ScoreRequest

EXTRA = ("retention", "none")


@pytest.fixture(scope="module")
def journeys(small_simulation: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    ev = small_simulation.events
    ids = ev["customer_id"].drop_duplicates().sample(300, random_state=1).to_numpy()
    rng = np.random.default_rng(3)
    t0, t1 = ev["timestamp"].min(), ev["timestamp"].max()
    cut = pd.DataFrame({"customer_id": ids, "as_of": t0 + (t1 - t0) * rng.uniform(0.3, 1, 300)})
    return ev, cut


def _one_row(predictor: Predictor, ev: pd.DataFrame, cid: str, as_of: pd.Timestamp) -> dict:  # type: ignore[type-arg]
    """Root causes of one journey, each step done by hand for this row alone."""
    spec = predictor.spec
    cut = pd.DataFrame({"customer_id": [cid], "as_of": [as_of]})
    x = build_features(ev, cut, spec).to_numpy()
    hist = ev[(ev["customer_id"] == cid) & (ev["timestamp"] < as_of)].sort_values("timestamp")
    codes = encode_frame(hist, spec) if len(hist) else None
    comp = (
        Composition.from_codes(spec, codes.touchpoint, codes.channel, codes.stage)
        if codes is not None
        else None
    )
    out: dict[str, Any] = {}
    for t, b in predictor.bundles.items():
        full = np.asarray(b.booster.predict(x, pred_contrib=True))
        if b.kind == "binary":
            full = b.served_contributions(full, x)  # blended with the linear part as served
            phi, bias = full[:, :-1], full[:, -1]
            p = b.predict_proba(x)
            p0 = b.calibrator.apply(1 / (1 + np.exp(-bias)))
            wanted = [(None, 0)]
        else:
            full = full.reshape(1, len(b.classes), -1)
            # each class blended with the multinomial linear part as served
            full = np.stack(
                [
                    b.served_class_contributions(full[:, k], x, np.array([k]))
                    for k in range(len(b.classes))
                ],
                axis=1,
            )
            proba = b.predict_proba(x)[0]
            bias_all = full[0, :, -1]
            e0 = np.exp(bias_all - bias_all.max())
            best = int(np.argmax(proba))
            wanted = [(None, best)] + [(c, b.classes.index(c)) for c in EXTRA]
        for extra, k in wanted:
            if b.kind == "multiclass":
                phi = full[:, k, :-1]
                p = np.array([proba[k]])
                p0 = np.array([(e0 / e0.sum())[k]])
            psi = probability_points(phi, phi.sum(axis=1), p, p0)
            cls = None if b.kind == "binary" else b.classes[k]
            causes = root_causes(spec, x[0], psi[0], task=b.task, top_k=5, class_name=cls,
                                 composition=comp)  # fmt: skip
            rows = []
            for c in causes:
                d = c.to_dict()
                if c.kind in ("touchpoint", "channel", "stage"):
                    mine = hist[hist[c.kind] == c.name]
                    w = _window(d["sentence"]) if c.kind == "touchpoint" else None
                    if w is not None:  # the events the sentence counts
                        mine = mine[mine["timestamp"] >= as_of - pd.Timedelta(days=w)]
                    d["events"] = [pd.Timestamp(v).isoformat() for v in mine["timestamp"].tail(5)]
                rows.append(d)
            out[f"{t}:{extra}"] = (float(p[0]), float(p0[0]), rows)
    return out


def _window(sentence: str) -> float | None:
    m = re.match(r"^[\d.]+ .*? in the last (day|([\d.]+) days) ", sentence)
    if m is None:
        return None
    return 1.0 if m.group(1) == "day" else float(m.group(2))


def test_the_entry_point_gives_what_each_step_gives_row_by_row(
    predictor: Predictor, journeys: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    ev, cut = journeys
    got = predictor.score_frame(
        ev, cut, ScoreRequest(predictor.tasks, top_k=5, explain_classes=EXTRA)
    )
    n_causes = 0
    for r, row in zip(got, cut.itertuples(), strict=True):
        want = _one_row(predictor, ev, row.customer_id, row.as_of)
        for key, (p, p0, causes) in want.items():
            t, _, extra = key.partition(":")
            res = r[t]
            by_class = res.get("root_causes_by_class", {})
            got_causes = by_class[extra] if extra != "None" else res["root_causes"]
            if extra == "None":
                assert res["probability"] == pytest.approx(p, abs=1e-9)
                assert res["base_rate"] == pytest.approx(p0, abs=1e-12)
            assert [c["cause"] for c in got_causes] == [c["cause"] for c in causes]
            for a, b in zip(got_causes, causes, strict=True):
                assert a["points"] == pytest.approx(b["points"], abs=1e-6)
                assert a["sentence"] == b["sentence"]
                assert a["features"] == b["features"]
                if a["kind"] in ("touchpoint", "channel", "stage"):
                    assert a["events"] == b["events"]
                counted = re.match(r"^(\d+) .* in the last", a["sentence"])
                if a["kind"] == "touchpoint" and counted:  # the count agrees with the list
                    assert len(a["events"]) == min(int(counted.group(1)), 5), a
                assert not re.search(r"(?<![\d.])1 (events|sessions|times|days)\b", a["sentence"])
                n_causes += 1
    assert n_causes > 300 * 3 * 4


def test_population_matrix_goes_through_the_entry_point(
    predictor: Predictor, journeys: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    """Insights read every cause's total from the same entry point: totals add up to
    p − p₀ per row, and the top causes agree with the per-prediction ones."""
    from journeyml.explain import insights

    ev, cut = journeys
    cut = cut.head(60)
    spec = predictor.spec
    X = build_features(ev, cut, spec).to_numpy()
    arr = encode_frame(ev, spec)
    comp = Composition.from_codes(spec, arr.touchpoint, arr.channel, arr.stage)
    m = insights.matrix_of(predictor.explainer, Batch(X, composition=comp), Target("churn"))
    np.testing.assert_allclose(
        m.points.sum(axis=1).to_numpy(), 100 * (m.probability - m.base_rate), atol=1e-8
    )
    np.testing.assert_allclose(m.probability, predictor.bundles["churn"].predict_proba(X))
