"""LightGBM datasets binned from some rows of a feature matrix, a block of rows at a time.

``lgb.Dataset(X[rows])`` needs a raw copy of every selected row (at 10 M events, a task's
training rows are over a gigabyte in float32) before LightGBM bins them. Here the rows are
read from ``X`` in blocks instead, the way LightGBM's own in-memory path reads them:

1. LightGBM draws its sample of rows (``bin_construct_sample_cnt``, with the dataset seed the
   training parameters give), and the bin boundaries are found from those rows' non-zero and
   missing values, as ``LGBM_DatasetCreateFromMat`` does;
2. every row is then pushed into the binned dataset, a block at a time.

``X`` may also be rows computed as they are read (:class:`journeyml.features.ChunkedRows`):
only the sampled rows are computed first, then every row once, pushed as it comes.

The bins, and so the booster and its predictions, are those of ``lgb.Dataset(X[rows])`` with
the same parameters (tested bit for bit). A validation set takes the training set's bins
(``reference``), as ``lgb.Dataset(..., reference=)`` does.

LightGBM's Python layer keeps only its "dataset parameters" when it samples (its
``Dataset.get_params``): the seed that picks the sample and ``min_data_in_leaf`` (which
features can split at all) would be dropped, and the bins would differ from the in-memory
path's. :class:`_EveryParam` hands LightGBM every training parameter instead.
"""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np

from journeyml.features import FeatureRows, as_rows

#: rows pushed into a dataset at a time (≈ 40 MB of float32 at 300 features)
PUSH_ROWS = 32_768
#: columns of the sample read at a time while finding bins
SAMPLE_COLUMNS = 32
#: LightGBM's kZeroThreshold (a C++ float): smaller magnitudes are zeros, left out of the
#: sample it bins from
ZERO = float(np.float32(1e-35))


class _EveryParam(lgb.Dataset):
    """A dataset whose sampling and binning see every training parameter (see above)."""

    def get_params(self) -> dict[str, Any]:
        return dict(self.params or {})


def _new(params: dict[str, Any], categorical: list[int]) -> _EveryParam:
    p = dict(params)
    if categorical:
        p["categorical_column"] = sorted(categorical)  # as lgb.Dataset records them
    ds = _EveryParam(None, params=p, free_raw_data=True)
    ds.params = p
    return ds


def _push(ds: lgb.Dataset, rows: np.ndarray) -> None:
    if rows.dtype not in (np.float32, np.float64):
        rows = rows.astype(np.float64)
    ds._push_rows(np.ascontiguousarray(rows))


def _sample(X: np.ndarray, columns: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Each column's non-zero (or missing) values among the sampled rows ``X``, in float64,
    and their positions in the sample: what LightGBM finds bins from."""
    values: list[np.ndarray] = []
    where: list[np.ndarray] = []
    for j in range(0, X.shape[1], columns):
        part = X[:, j : j + columns].astype(np.float64)
        for col in part.T:
            keep = (np.abs(col) > ZERO) | np.isnan(col)
            values.append(np.ascontiguousarray(col[keep]))
            where.append(np.flatnonzero(keep).astype(np.int32))
    return values, where


def _indices(rows: np.ndarray) -> np.ndarray:
    return np.flatnonzero(rows) if rows.dtype == bool else np.asarray(rows, dtype=np.int64)


def _binned(
    params: dict[str, Any], X: FeatureRows, idx: np.ndarray, categorical: list[int]
) -> lgb.Dataset:
    """An empty dataset for the rows ``idx`` of ``X``, binned from LightGBM's own sample of
    them (only the sampled rows are read)."""
    ds = _new(params, categorical)
    sample = idx[ds._create_sample_indices(total_nrow=len(idx))]
    values, where = _sample(X.take(sample), SAMPLE_COLUMNS)
    ds._init_from_sample(values, where, len(sample), len(idx))
    return ds


def _referenced(
    params: dict[str, Any], reference: lgb.Dataset, n_rows: int, categorical: list[int]
) -> lgb.Dataset:
    """An empty dataset of ``n_rows`` rows binned with ``reference``'s bins."""
    ds = _new(params, categorical)
    handle = reference.construct()._handle
    assert handle is not None  # constructed just now
    ds._init_from_ref_dataset(n_rows, handle)
    ds.reference = reference
    return ds


def rows_dataset(
    params: dict[str, Any],
    X: np.ndarray | FeatureRows,
    rows: np.ndarray,
    y: np.ndarray,
    categorical: list[int],
    *,
    reference: lgb.Dataset | None = None,
    block: int = PUSH_ROWS,
) -> lgb.Dataset:
    """The constructed dataset of ``X[rows]`` with labels ``y[rows]`` (``rows`` a boolean
    mask or row numbers, in order), binned with ``params`` — or with ``reference``'s bins —
    without a copy of the selected rows.

    >>> X = np.random.default_rng(0).normal(size=(500, 3)).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(int)
    >>> p = {"objective": "binary", "verbose": -1, "seed": 3, "min_data_in_leaf": 5}
    >>> ds = rows_dataset(p, X, y == 1, y, [])
    >>> (ds.num_data() == int((y == 1).sum()), ds.num_feature(), float(ds.get_label().min()))
    (True, 3, 1.0)
    """
    src, idx = as_rows(X), _indices(rows)
    if reference is not None:
        ds = _referenced(params, reference, len(idx), categorical)
    else:
        ds = _binned(params, src, idx, categorical)
    for part in src.blocks(idx, block):
        _push(ds, part)
    ds.set_label(y[idx])
    return ds


def train_valid_datasets(
    params: dict[str, Any],
    X: np.ndarray | FeatureRows,
    train: np.ndarray,
    valid: np.ndarray,
    y: np.ndarray,
    categorical: list[int],
    *,
    block: int = PUSH_ROWS,
) -> tuple[lgb.Dataset, lgb.Dataset]:
    """``rows_dataset`` of the training rows, and of the validation rows with its bins, both
    filled in one read of their rows (``train``, ``valid``: disjoint masks or row numbers):
    rows computed as they are read (:class:`journeyml.features.ChunkedRows`) are computed
    once, after the sampled training rows that give the bins."""
    src, tr, va = as_rows(X), _indices(train), _indices(valid)
    dtrain = _binned(params, src, tr, categorical)
    dvalid = _referenced(params, dtrain, len(va), categorical)
    both = np.union1d(tr, va)
    in_train = np.isin(both, tr, assume_unique=True)
    at = 0
    for part in src.blocks(both, block):
        mine = in_train[at : at + part.shape[0]]
        at += part.shape[0]
        if mine.any():
            _push(dtrain, part[mine])
        if not mine.all():
            _push(dvalid, part[~mine])
    dtrain.set_label(y[tr])
    dvalid.set_label(y[va])
    return dtrain, dvalid
