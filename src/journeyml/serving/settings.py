"""Settings of the prediction service, read from ``JOURNEYML_*`` environment variables once,
at start-up (the library itself never reads the environment).

>>> s = ServiceSettings.from_env({"JOURNEYML_MAX_BATCH": "50", "JOURNEYML_API_KEY": "k"})
>>> s.max_batch, s.api_key, s.max_events
(50, 'k', 10000)
>>> ServiceSettings.from_env({"JOURNEYML_MAX_BATCH": "many"})
Traceback (most recent call last):
...
journeyml.errors.ConfigError: expected an integer >= 1 in JOURNEYML_MAX_BATCH, got 'many'.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from journeyml.errors import ConfigError
from journeyml.store import normalize_uri
from journeyml.tasks import check_name

PREFIX = "JOURNEYML_"


@dataclass(frozen=True)
class ServiceSettings:
    """What the service needs to know; every field has a ``JOURNEYML_<FIELD>`` variable."""

    #: MLflow tracking/registry URI of the champions; None = use the bundled copies only
    tracking_uri: str | None = None
    #: the project whose champions are served; None: ``demo``, or the store's only project
    project: str | None = None
    #: bundled copies (``journeyml export-models --out DIR``), used when the registry is down
    model_dir: Path | None = None
    #: seconds to wait for the tracking server before falling back to the bundled copies
    registry_timeout: int = 10
    #: when set, prediction endpoints need ``Authorization: Bearer <key>`` or ``X-API-Key``
    api_key: str | None = None
    max_events: int = 10_000
    max_batch: int = 1_000
    #: largest request body accepted (bytes); larger bodies get 413 before parsing
    max_body_bytes: int = 20_000_000
    workers: int = 1
    #: requests being computed at once per worker (predictions); more get 503 + Retry-After
    max_inflight: int = 32
    #: a journey of at most this many events (no store) is computed on the event loop;
    #: bigger requests (and batches) in one of ``compute_processes`` processes, each holding a
    #: copy of the models (about 150-200 MB each: docs/hardening.md); 0: in one of
    #: ``compute_threads`` threads instead (no extra memory, but probes wait for the GIL)
    inline_events: int = 256
    compute_processes: int = 2
    compute_threads: int = 2
    #: seconds a connection has to send a complete request head (slow-header clients)
    header_timeout: int = 10
    #: seconds a request's whole body has to arrive once its head is complete (slow-body
    #: clients get 408); at the default body limit (20 MB) it asks for about 0.7 MB/s
    body_timeout: int = 30
    #: where a worker that refuses to start writes its reason (set by ``journeyml serve``)
    refusal_file: Path | None = None
    #: the event store (``JOURNEYML_STORE_URI``); None = no store: nothing is logged and the
    #: store endpoints answer 501 (``journeyml serve`` sets it to ./store/journeyml.db)
    store_uri: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ServiceSettings:
        e = os.environ if env is None else env

        def num(name: str, default: int, least: int = 1) -> int:
            raw = e.get(PREFIX + name)
            if raw is None or raw == "":
                return default
            try:
                v = int(raw)
            except ValueError:
                v = least - 1
            if v < least:
                raise ConfigError(
                    f"expected an integer >= {least} in {PREFIX}{name}, got {raw!r}.",
                    field=PREFIX + name,
                )
            return v

        model_dir = e.get(PREFIX + "MODEL_DIR")
        store = e.get(PREFIX + "STORE_URI") or None
        return cls(
            tracking_uri=e.get(PREFIX + "TRACKING_URI") or None,
            project=_project(e.get(PREFIX + "PROJECT") or None),
            model_dir=Path(model_dir) if model_dir else None,
            registry_timeout=num("REGISTRY_TIMEOUT", cls.registry_timeout),
            api_key=e.get(PREFIX + "API_KEY") or None,
            max_events=num("MAX_EVENTS", cls.max_events),
            max_batch=num("MAX_BATCH", cls.max_batch),
            max_body_bytes=num("MAX_BODY_BYTES", cls.max_body_bytes),
            workers=num("WORKERS", cls.workers),
            max_inflight=num("MAX_INFLIGHT", cls.max_inflight),
            inline_events=num("INLINE_EVENTS", cls.inline_events),
            compute_processes=num("COMPUTE_PROCESSES", cls.compute_processes, least=0),
            compute_threads=num("COMPUTE_THREADS", cls.compute_threads),
            header_timeout=num("HEADER_TIMEOUT", cls.header_timeout),
            body_timeout=num("BODY_TIMEOUT", cls.body_timeout),
            refusal_file=Path(refusal) if (refusal := e.get(PREFIX + "REFUSAL_FILE")) else None,
            store_uri=normalize_uri(store) if store else None,
        )


def _project(raw: str | None) -> str | None:
    if raw is None:
        return None
    return check_name(raw, what="project", field=PREFIX + "PROJECT")
