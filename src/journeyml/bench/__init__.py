"""Benchmarks against published results: configs (:mod:`.config`), file-order loading
(:mod:`.ordered`), protocols (:mod:`.prefixes` for ``tax2017`` and ``chronological``,
:mod:`.holdout` for ``calibration_holdout``) and the runner behind ``journeyml benchmark``
(:mod:`.run`)."""
