"""Connecting to a Dask cluster: an existing scheduler by address, or a LocalCluster.

An unreachable scheduler fails within ``timeout`` seconds with an error naming the address
(not after Dask's default of half a minute, and not as a bare ``OSError``).
"""

from __future__ import annotations

from typing import Any

from journeyml.errors import EngineUnavailableError

INSTALL_HINT = "Install the Dask engine: pip install 'journeyml[dask]'."


def connect(
    address: str | None = None,
    *,
    n_workers: int = 2,
    threads_per_worker: int = 1,
    timeout: float = 10.0,
    **local_kwargs: Any,
) -> Any:
    """A ``dask.distributed.Client``: connected to the scheduler at ``address`` (e.g.
    ``tcp://scheduler:8786``), or to a new LocalCluster of ``n_workers`` worker processes when
    ``address`` is None. Close it (``with connect() as client:``) to stop a LocalCluster."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - dask is a dev dependency
        raise EngineUnavailableError(
            f"expected dask.distributed to be installed, got {exc}. {INSTALL_HINT}",
            field="engine",
        ) from exc
    if address is None:
        cluster = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=threads_per_worker,
            processes=True,
            dashboard_address=":0",  # a free port: several clusters may run at once
            **local_kwargs,
        )
        return Client(cluster)
    try:
        return Client(address, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise EngineUnavailableError(
            f"expected a Dask scheduler at {address}, got no answer within {timeout:g}s "
            f"({type(exc).__name__}). Start the scheduler (dask scheduler) or fix "
            "engine.scheduler in the pipeline config; leave it empty for a LocalCluster.",
            field="engine.scheduler",
        ) from exc
