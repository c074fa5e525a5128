"""The real BentoML server: the bad-input catalogue over HTTP (parsing, limits, never a 500,
the worker survives), probes, metadata, 200 journeys equal to offline scoring, the API key,
the bundled fallback, refusing mismatched models, and ``bentoml build``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from journeyml.modeling import META_FILE, MODEL_FILE, write_checksums
from journeyml.serving import requests_from_frame

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("bento")]

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = json.loads((REPO / "service" / "example_request.json").read_text())
RAW_VALUE = (
    b'{"customer_id": "x", "events": '
    b'[{"timestamp": "2024-01-01T00:00:00Z", "touchpoint": "a", "value": %s}]}'
)
EV = {"timestamp": "2024-01-01T00:00:00Z", "touchpoint": "site_visit"}


def post(url: str, path: str, body: Any, **kw: Any) -> httpx.Response:
    if isinstance(body, bytes | str):
        headers = {"content-type": "application/json", **kw.pop("headers", {})}
        return httpx.post(url + path, content=body, headers=headers, timeout=60, **kw)
    return httpx.post(url + path, json=body, timeout=60, **kw)


CATALOGUE: list[tuple[str, Any, int, str | None]] = [
    ("malformed JSON", b'{"customer_id": "x", "events": [}', 400, "body"),
    ("not an object", b"[1, 2]", 400, None),
    ("missing field", {"events": []}, 400, "customer_id"),
    ("wrong type", {"customer_id": "x", "events": "many"}, 400, "events"),
    (
        "wrong event type",
        {"customer_id": "x", "events": [{"timestamp": 5.5e20, "touchpoint": 1}]},
        400,
        "events.0.timestamp",
    ),
    ("unknown field", {"customer_id": "x", "events": [], "evnts": []}, 400, "evnts"),
    (
        "unparseable timestamp",
        {"customer_id": "x", "events": [{**EV, "timestamp": "soon"}]},
        400,
        "events.0.timestamp",
    ),
    (
        "far-future timestamp",
        {"customer_id": "x", "events": [{**EV, "timestamp": "9999-01-01T00:00:00"}]},
        400,
        "events.0.timestamp",
    ),
    (
        "NaN literal",
        RAW_VALUE % b"NaN",
        400,
        "events.0.value",
    ),
    (
        "Infinity literal",
        RAW_VALUE % b"-Infinity",
        400,
        "events.0.value",
    ),
    (
        "huge number",
        RAW_VALUE % b"1e999",
        400,
        "events.0.value",
    ),
    (
        "huge integer",
        {"customer_id": "x", "events": [{**EV, "value": 10**40}]},
        400,
        "events.0.value",
    ),
    ("over-long string", {"customer_id": "x" * 5000, "events": []}, 400, "customer_id"),
    ("top_k out of range", {"customer_id": "x", "events": [], "top_k": 10**6}, 400, "top_k"),
    ("unknown task", {"customer_id": "x", "events": [], "tasks": ["bogus"]}, 422, "tasks"),
    (
        "unknown class",
        {"customer_id": "x", "events": [], "explain_classes": ["bogus"]},
        422,
        "explain_classes",
    ),
    ("too many events", {"customer_id": "x", "events": [EV] * 10_001}, 413, "events"),
    ("empty body", b"", 400, "customer_id"),
]


@pytest.mark.parametrize(
    ("name", "body", "status", "field"), CATALOGUE, ids=[c[0] for c in CATALOGUE]
)
def test_bad_input_is_a_4xx_naming_the_field(
    bento_server: Any, name: str, body: Any, status: int, field: str | None
) -> None:
    r = post(bento_server.url, "/predict", body)
    assert r.status_code == status, r.text
    out = r.json()
    assert isinstance(out["error"], str) and out["message"]
    if field is not None:
        assert out["field"] == field, out


def test_accepted_with_warnings_over_http(bento_server: Any) -> None:
    body = {
        "customer_id": "x",
        "as_of": "2024-05-03T00:00:00",
        "events": [
            {"timestamp": "2024-05-02T10:00:00", "touchpoint": "hologram", "channel": "vr"},
            {"timestamp": "2024-05-01T10:00:00Z", "touchpoint": "site_visit", "channel": "web"},
            {"timestamp": "2024-05-01T10:00:00Z", "touchpoint": "site_visit", "channel": "web"},
            {"timestamp": "2024-06-01T10:00:00Z", "touchpoint": "site_visit"},
        ],
    }
    r = post(bento_server.url, "/predict", body)
    assert r.status_code == 200, r.text
    got = {w["code"] for w in r.json()["warnings"]}
    assert {
        "naive_timestamp",
        "unknown_touchpoint",
        "unknown_channel",
        "events_after_as_of",
        "unsorted_events",
        "duplicate_events",
    } <= got
    r = post(bento_server.url, "/predict", {"customer_id": "new", "events": []})
    assert r.status_code == 200 and "no_events" in {w["code"] for w in r.json()["warnings"]}
    assert r.headers["x-request-id"] == r.json()["request_id"]


def test_what_if_over_http(bento_server: Any) -> None:
    """``POST /whatif``: both answers side by side, said to be model sensitivity; a bad edit is
    a 4xx naming its field, like any bad ``/predict`` input."""
    r = post(bento_server.url, "/whatif", {**EXAMPLE, "remove": 9})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["edit"]["removed"]["touchpoint"] == EXAMPLE["events"][9]["touchpoint"]
    assert set(out["change"]) == set(out["before"]) & {"conversion", "churn", "next_stage"}
    assert "not causal effect" in out["meaning"]
    assert r.headers["x-request-id"] == out["request_id"]
    for body, status, field in (
        ({**EXAMPLE, "remove": 1, "add": {"touchpoint": "x"}}, 422, "remove"),
        ({**EXAMPLE, "remove": 99}, 422, "remove"),
        ({**EXAMPLE, "add": {"touchpoint": ""}}, 400, "add.touchpoint"),
        ({**EXAMPLE, "add": {"touchpoint": "x", "when": "now"}}, 400, "add.when"),
    ):
        r = post(bento_server.url, "/whatif", body)
        assert r.status_code == status, r.text
        assert r.json()["field"] == field, r.json()


def test_batch_limits_and_probes(bento_server: Any) -> None:
    r = post(
        bento_server.url,
        "/predict_batch",
        {"journeys": [{"customer_id": "a", "events": []}] * 1001},
    )
    assert r.status_code == 413 and r.json()["field"] == "journeys"
    assert r.json()["details"] == {"limit": 1000, "got": 1001}
    r = post(
        bento_server.url,
        "/predict_batch",
        {"journeys": [EXAMPLE, {"customer_id": "b", "events": []}]},
    )
    assert r.status_code == 200 and len(r.json()["results"]) == 2
    for path in ("/healthz", "/livez", "/readyz"):
        assert httpx.get(bento_server.url + path, timeout=10).status_code == 200
    meta = httpx.get(bento_server.url + "/metadata", timeout=10).json()
    assert set(meta["tasks"]) == {"conversion", "churn", "next_stage"}
    assert meta["tasks"]["churn"]["horizon_days"] == 30
    # after the whole catalogue the worker still answers
    assert post(bento_server.url, "/predict", EXAMPLE).status_code == 200


def test_http_answers_equal_offline_scoring(
    bento_server: Any, predictor: Any, small_simulation: Any
) -> None:
    from tests_support import cutoffs_for, same  # type: ignore[import-not-found]

    cut = cutoffs_for(small_simulation, 200, seed=3)
    bodies = requests_from_frame(
        small_simulation.events, cut, attributes=list(predictor.spec.params.attributes)
    )
    offline = predictor.score_frame(small_simulation.events, cut)
    online = []
    for i in range(0, 200, 100):
        r = post(bento_server.url, "/predict_batch", {"journeys": bodies[i : i + 100]})
        assert r.status_code == 200, r.text
        online.extend(r.json()["results"])
    for b, off in zip(bodies[:10], offline[:10], strict=True):  # and /predict one at a time
        r = post(bento_server.url, "/predict", b)
        assert not same(r.json(), off)
    diffs = [i for i, (a, b) in enumerate(zip(online, offline, strict=True)) if same(a, b)]
    assert not diffs


def test_api_key_fallback_and_limits_from_env(
    trained_store: Any, predictor: Any, tmp_path: Path
) -> None:
    from journey_servers import start_bento_server, stop_server

    bundled = predictor.save(tmp_path / "bundled")
    env = {
        "JOURNEYML_TRACKING_URI": "http://127.0.0.1:9",  # nothing listens: use the bundled copies
        "JOURNEYML_REGISTRY_TIMEOUT": "2",
        "JOURNEYML_MODEL_DIR": str(bundled),
        "JOURNEYML_API_KEY": "s3cret",
        "JOURNEYML_MAX_EVENTS": "5",
        "JOURNEYML_MAX_BATCH": "2",
    }
    h = start_bento_server(env, tmp_path / "server.log")
    try:
        assert post(h.url, "/predict", EXAMPLE).status_code == 401
        r = post(h.url, "/predict", b"{bad", headers={"x-api-key": "wrong"})
        assert r.status_code == 401 and r.json()["error"] == "unauthorized"
        assert post(h.url, "/predict_batch", {"journeys": []}).status_code == 401
        ok = {"authorization": "Bearer s3cret"}
        r = post(h.url, "/predict", EXAMPLE, headers=ok)
        assert r.status_code == 413 and r.json()["details"]["limit"] == 5
        small = dict(EXAMPLE, events=EXAMPLE["events"][:5])
        assert post(h.url, "/predict", small, headers=ok).status_code == 200
        r = post(h.url, "/predict_batch", {"journeys": [small] * 3}, headers=ok)
        assert r.status_code == 413 and r.json()["details"]["limit"] == 2
        assert httpx.get(h.url + "/metadata", timeout=10).status_code == 200  # open
        assert "bundled" in h.log.read_text()
    finally:
        stop_server(h.proc)


def test_refuses_to_start_on_feature_mismatch(predictor: Any, tmp_path: Path) -> None:
    from journey_servers import start_bento_server

    bundled = predictor.save(tmp_path / "bundled")
    meta = bundled / "conversion" / "bundle.json"
    d = json.loads(meta.read_text())
    d["spec"]["code_version"] = "0"
    meta.write_text(json.dumps(d))
    write_checksums(meta.parent, [MODEL_FILE, META_FILE])  # a consistent bundle of another version
    with pytest.raises(RuntimeError, match=r"server exited(.|\n)*feature code version"):
        start_bento_server(
            {"JOURNEYML_MODEL_DIR": str(bundled), "JOURNEYML_TRACKING_URI": ""},
            tmp_path / "server.log",
            timeout=60,
        )


def test_bentoml_build(predictor: Any, tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    shutil.copytree(
        REPO / "service", ctx, ignore=shutil.ignore_patterns("__pycache__", "bundled", "wheels")
    )
    predictor.save(ctx / "bundled")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "-w",
            str(ctx / "wheels"),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    env = {**os.environ, "BENTOML_HOME": str(tmp_path / "home"), "BENTOML_DO_NOT_TRACK": "true"}
    r = subprocess.run(
        [sys.executable, "-m", "bentoml", "build", ".", "-o", "tag"],
        cwd=ctx,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    (bento,) = [
        p for p in (tmp_path / "home" / "bentos" / "journeyml").iterdir() if p.name != "latest"
    ]
    assert (bento / "src" / "bundled" / "churn" / "model.txt").exists()
    assert (bento / "src" / "service.py").exists()
    assert list((bento / "env" / "python" / "wheels").glob("journeyml-*.whl"))
