"""A shallow decision tree on "is this prediction an error?" over the slice search's metadata.

It complements :func:`core.discovery.find_error_slices`: the same columns, encoded the same
way (:func:`core.discovery.encode_conditions`), as a table of nodes; the chart is
:func:`core.charts.discovery.error_tree_chart`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from slicewise.core.discovery.conditions import (
    DEFAULT_BINS,
    DEFAULT_MAX_VALUES,
    Conditions,
    encode_conditions,
    fmt_number,
)
from slicewise.core.errors import count_of

#: Columns of :func:`compute_error_tree`'s table.
TREE_COLUMNS: tuple[str, ...] = (
    "node",
    "parent",
    "depth",
    "condition",
    "path",
    "n",
    "errors",
    "error_rate",
    "lift",
    "is_leaf",
)


def _tree_features(metadata: pd.DataFrame, cond: Conditions) -> tuple[np.ndarray, list[tuple]]:
    """Return the tree's input: numeric columns as numbers (NaN kept), the others one-hot.

    Returns the ``n × features`` float matrix and, per feature, ``("num", column, None)``
    or ``("cat", column, predicate)``.
    """
    feats, names = [], []
    for f, col in enumerate(cond.columns):
        preds = [p for p in cond.predicates if p.column == col]
        if any(p.op in ("<", ">=", "in") for p in preds):
            values = pd.to_numeric(metadata[col], errors="coerce")
            x = values.to_numpy(dtype=float, na_value=np.nan)
            feats.append(np.where(np.isfinite(x), x, np.nan)[:, None])
            names.append(("num", col, None))
        else:
            onehot = cond.codes[:, f][:, None] == np.arange(len(preds))[None, :]
            feats.append(onehot.astype(float))
            names.extend(("cat", col, p) for p in preds)
    return np.hstack(feats), names


def _node_conditions(
    t: Any, names: list[tuple], x: np.ndarray
) -> tuple[np.ndarray, list[str], list[str]]:
    """Each node's parent, the condition that leads to it, and its ``col =`` column.

    ``t`` is a fitted sklearn ``tree_``. The third list holds, for a ``col = value`` node,
    its column (so an earlier ``col ≠ other`` can be dropped from its path), else ``""``.
    """
    parent = np.full(t.node_count, -1)
    condition = [""] * t.node_count
    condition[0] = "All data"
    equals = [""] * t.node_count
    missing_left = getattr(t, "missing_go_to_left", np.zeros(t.node_count, dtype=bool))
    for node in range(t.node_count):
        left, right = t.children_left[node], t.children_right[node]
        if left < 0:
            continue
        parent[left] = parent[right] = node
        kind, col, pred = names[t.feature[node]]
        if kind == "num":
            thr = fmt_number(float(t.threshold[node]))
            has_nan = bool(np.isnan(x[:, t.feature[node]]).any())
            to_left = bool(missing_left[node])
            condition[left] = f"{col} <= {thr}" + (" or missing" if has_nan and to_left else "")
            condition[right] = f"{col} > {thr}" + (" or missing" if has_nan and not to_left else "")
        elif pred.op == "is missing":
            condition[left], condition[right] = f"{col} is not missing", pred.text
        else:
            condition[left], condition[right] = f"{col} ≠ {pred.value}", pred.text
            equals[right] = col
    return parent, condition, equals


def _node_paths(
    parent: np.ndarray, condition: list[str], equals: list[str]
) -> tuple[np.ndarray, list[list[str]]]:
    """Each node's depth and its conditions from the root (redundant ``≠`` dropped)."""
    count = len(parent)
    depth = np.zeros(count, dtype=np.int64)
    paths: list[list[str]] = [[] for _ in range(count)]
    for node in range(1, count):  # sklearn numbers nodes depth-first: parents first
        depth[node] = depth[parent[node]] + 1
        above = paths[parent[node]]
        if equals[node]:  # "camera = cam-2" makes an earlier "camera ≠ cam-3" redundant
            above = [c for c in above if not c.startswith(f"{equals[node]} ≠ ")]
        paths[node] = [*above, condition[node]]
    return depth, paths


def _fit(
    x: np.ndarray, e: np.ndarray, max_depth: int, min_samples_leaf: int, random_state: int
) -> tuple[Any, np.ndarray, np.ndarray]:
    """Fit the tree on ``x`` (n × features) and ``e`` (n, bool).

    Returns sklearn's fitted ``tree_`` and the examples and errors in each node.
    """
    from sklearn.tree import DecisionTreeClassifier

    tree = DecisionTreeClassifier(
        max_depth=max_depth, min_samples_leaf=min_samples_leaf, random_state=random_state
    )
    tree.fit(x, e)
    path = tree.decision_path(x)
    node_n = np.asarray(path.sum(axis=0)).ravel()
    node_err = np.asarray(path[np.flatnonzero(e)].sum(axis=0)).ravel()
    return tree.tree_, node_n, node_err


def compute_error_tree(
    metadata: pd.DataFrame,
    errors: np.ndarray | pd.Series,
    *,
    columns: Sequence[str] | None = None,
    max_depth: int = 3,
    min_samples_leaf: int | None = None,
    bins: int = DEFAULT_BINS,
    max_values: int = DEFAULT_MAX_VALUES,
    random_state: int = 0,
) -> pd.DataFrame:
    """Fit a shallow decision tree on "is this prediction an error?" over the metadata.

    Numeric columns (more than ``bins`` distinct values) enter as numbers (missing values
    allowed); the others one-hot, one indicator per condition of :func:`encode_conditions`.
    ``min_samples_leaf`` defaults to ``max(30, 1% of the rows)``.

    Returns
    -------
    DataFrame, one row per node in depth-first order, columns:

    - ``node`` (0 is the root), ``parent`` (-1 for the root), ``depth``;
    - ``condition``: the split that leads to the node (``"All data"`` at the root), e.g.
      ``"device = old"``, ``"device ≠ old"``, ``"snr_db <= 9.95"``, ``"snr_db > 9.95"``
      (``" or missing"`` when missing values follow that branch);
    - ``path``: the conditions from the root (an earlier ``col ≠ a`` is dropped once
      ``col = b`` follows);
    - ``n``, ``errors``, ``error_rate``, ``lift`` (error rate / overall);
    - ``is_leaf``.

    An empty table when there is no usable column or no error.

    Raises
    ------
    ValueError
        ``errors`` does not have one value per row of ``metadata``.
    InvalidValueError
        A named column does not exist.
    """
    e = np.asarray(errors, dtype=float) > 0
    if len(e) != len(metadata):
        raise ValueError(f"errors has {len(e)} values for {len(metadata)} rows")
    n = len(metadata)
    if min_samples_leaf is None:
        min_samples_leaf = max(30, int(np.ceil(0.01 * n)))
    cond = encode_conditions(metadata, columns=columns, bins=bins, max_values=max_values)
    if not n or not cond.columns or not e.any() or e.all():
        return pd.DataFrame({c: pd.Series(dtype=object) for c in TREE_COLUMNS})
    x, names = _tree_features(metadata, cond)
    t, node_n, node_err = _fit(x, e, max_depth, int(min_samples_leaf), random_state)
    parent, condition, equals = _node_conditions(t, names, x)
    depth, paths = _node_paths(parent, condition, equals)
    with np.errstate(divide="ignore", invalid="ignore"):
        err_rate = node_err / node_n
    return pd.DataFrame(
        {
            "node": np.arange(t.node_count),
            "parent": parent,
            "depth": depth,
            "condition": condition,
            "path": paths,
            "n": node_n.astype(np.int64),
            "errors": node_err.astype(np.int64),
            "error_rate": err_rate,
            "lift": err_rate / e.mean(),
            "is_leaf": t.children_left < 0,
        }
    )


def describe_error_tree(tree: pd.DataFrame, *, top: int = 5) -> list[str]:
    """Describe the leaves with the highest error rates, one sentence each."""
    leaves = tree[tree["is_leaf"].astype(bool)].sort_values(
        ["error_rate", "n"], ascending=[False, False]
    )
    out = []
    for row in leaves.head(top).itertuples():
        rule = " AND ".join(row.path) if row.path else "All data"
        out.append(
            f"{rule}: {count_of(row.n, 'example')}, {100 * row.error_rate:.1f}% errors "
            f"({row.lift:.1f}× overall)"
        )
    return out
