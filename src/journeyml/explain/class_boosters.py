"""One LightGBM booster per class of a multiclass model, for explaining one class at a time.

A multiclass LightGBM model of K classes grows K trees per boosting round, tree ``i`` scoring
class ``i % K``. ``pred_contrib`` always runs TreeSHAP over every tree and returns the
contributions of all K classes, although an explanation needs one class (the predicted one).
TreeSHAP is the expensive part of serving, so we cut the model into K single-output boosters
that hold the trees of one class each: the contributions of class k from its own booster are
exactly the class-k slice of the full output (same trees, same algorithm), at 1/K of the cost.

>>> import lightgbm as lgb
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X, y = rng.random((300, 4)), rng.integers(0, 3, 300)
>>> params = {"objective": "multiclass", "num_class": 3, "verbose": -1, "num_threads": 1}
>>> full = lgb.train(params, lgb.Dataset(X, y), num_boost_round=5)
>>> parts = split_by_class(full)
>>> len(parts), parts[0].num_trees()
(3, 5)
>>> whole = full.predict(X[:2], pred_contrib=True).reshape(2, 3, 5)
>>> bool(np.allclose(parts[1].predict(X[:2], pred_contrib=True), whole[:, 1], atol=1e-12))
True
"""

from __future__ import annotations

import re

import lightgbm as lgb

_HEADER_KEYS = {"num_class", "num_tree_per_iteration", "objective", "tree_sizes"}


def split_by_class(booster: lgb.Booster) -> list[lgb.Booster]:
    """K boosters with the trees of one class each (raw-score output, no link function)."""
    text = booster.model_to_string()
    head, sep, rest = text.partition("\nTree=")
    if not sep:
        raise ValueError("expected a LightGBM model with trees, got a model string without any")
    trees_text, end_sep, tail = rest.partition("end of trees")
    k = int(_header_value(head, "num_tree_per_iteration"))
    blocks = [b.split("\n", 1)[1] for b in ("Tree=" + trees_text).split("Tree=")[1:]]
    out = []
    for c in range(k):
        mine = blocks[c::k]
        tree_strs = [f"Tree={i}\n{b}" for i, b in enumerate(mine)]
        lines = [ln for ln in head.splitlines() if ln.partition("=")[0] not in _HEADER_KEYS]
        at = next(i for i, ln in enumerate(lines) if ln.startswith("label_index="))
        lines[at:at] = ["num_class=1", "num_tree_per_iteration=1"]
        lines.insert(at + 3, "objective=regression")
        lines.append("tree_sizes=" + " ".join(str(len(s.encode())) for s in tree_strs))
        model = "\n".join(lines) + "\n\n" + "".join(tree_strs) + end_sep + tail
        out.append(lgb.Booster(model_str=model))
    return out


def _header_value(head: str, key: str) -> str:
    m = re.search(rf"^{key}=(\S+)", head, flags=re.MULTILINE)
    if m is None:
        raise ValueError(f"expected `{key}=` in the LightGBM model header, found none")
    return m.group(1)
