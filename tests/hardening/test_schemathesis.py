"""Proof that stays (issues 14 item 8, 15): the OpenAPI document validates, and schemathesis
sends ≥ 2,000 generated requests to the real server: no server error, every answer matches
the documented status, content type and schema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("bento")]


@pytest.fixture(scope="module")
def full_server(trained_store: Any, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The service as `journeyml serve` runs it: champions and an event store."""
    from journey_servers import start_bento_server, stop_server

    folder = tmp_path_factory.mktemp("st-server")
    env = {
        "JOURNEYML_TRACKING_URI": trained_store[0],
        "JOURNEYML_STORE_URI": f"sqlite:///{folder / 'journeyml.db'}",
    }
    h = start_bento_server(env, folder / "server.log")
    yield h
    stop_server(h.proc)


CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance"
)


def test_openapi_document_is_a_product(full_server: Any) -> None:
    doc = httpx.get(full_server.url + "/docs.json", timeout=30).json()
    assert doc["openapi"].startswith("3.1")
    assert doc["info"]["title"] == "journeyml" and doc["info"]["version"] not in ("", "None")
    assert "BentoML" not in json.dumps(doc)
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op["summary"] and op["description"], (method, path)
            for status, resp in op["responses"].items():
                if status != "200":
                    ref = resp["content"]["application/json"]["schema"]["$ref"]
                    assert ref.endswith("/ErrorResponse"), (method, path, status)
            if "requestBody" in op:
                assert op["requestBody"]["content"]["application/json"]["example"]
    predict = doc["paths"]["/predict"]["post"]["responses"]
    assert {"200", "400", "413", "415", "422", "503"} <= set(predict)
    pred = doc["components"]["schemas"]["PredictResponse"]
    assert pred["properties"]["churn"]["$ref"].endswith("/TaskPrediction")
    html = httpx.get(full_server.url + "/docs", timeout=30)
    assert html.status_code == 200 and "swagger-ui" in html.text
    assert httpx.get(full_server.url + "/docs/swagger-ui-bundle.js").status_code == 200


def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    full_server: Any, tmp_path: Path
) -> None:
    har = tmp_path / "run.har"
    cmd = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        f"{full_server.url}/docs.json",
        "--checks",
        CHECKS,
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        "280",
        "--workers",
        "2",
        "--seed",
        "1",
        "--request-timeout",
        "60",
        "--continue-on-failure",
        "--report",
        "har",
        "--report-har-path",
        str(har),
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-6000:]
    entries = json.loads(har.read_text())["log"]["entries"]
    statuses = [e["response"]["status"] for e in entries]
    assert len(entries) >= 2000, (len(entries), r.stdout[-2000:])
    assert not [s for s in statuses if s >= 500 and s != 503]
