"""Benchmarks against published results: configs (:mod:`.config`), file-order loading
(:mod:`.ordered`), protocols (:mod:`.prefixes` for ``tax2017`` and ``chronological``,
:mod:`.holdout` for ``calibration_holdout``) and the runner behind ``journeyml benchmark``
(:mod:`.run`)."""

from journeyml.bench.config import BenchmarkConfig, load_benchmark_config
from journeyml.bench.run import run_benchmark, write_result

__all__ = ["BenchmarkConfig", "load_benchmark_config", "run_benchmark", "write_result"]
