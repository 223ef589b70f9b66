"""SliceLine's level-wise enumeration of conjunctions, pruned by the score bound.

The counts of every extension of the slices kept at level ``l`` by one more condition come
from two sparse matrix products, ``Mₗᵀ X`` (sizes) and ``Mₗ[err]ᵀ X[err]`` (errors), where
``Mₗ`` is the membership matrix of the kept slices: no Python loop over rows. A slice is
kept for extension only if it has at least ``min_support`` examples, some errors, and an
upper bound of the score any sub-slice could reach above the current k-th best score; a new
slice is a candidate only when all of its parents were kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from slicewise.core.discovery.conditions import Conditions
from slicewise.core.discovery.scoring import score_upper_bound, slice_score

#: Largest key space matched through a dense lookup table (else by binary search).
LOOKUP_LIMIT = 4_000_000


def membership_matrix(cond: Conditions, slices: np.ndarray) -> sparse.csr_matrix:
    """Membership matrix ``n × len(slices)`` of conjunctions (rows of predicate indices).

    The slices sharing a set of columns are matched at once: each example's conditions on
    those columns form one mixed-radix key, looked up in a table of the slices' keys (a
    dense table up to :data:`LOOKUP_LIMIT` keys, else a binary search).
    """
    n = cond.codes.shape[0]
    feats = cond.feature[slices]
    card = cond.cardinality
    values = slices - cond.offsets[feats]
    groups, group_of = np.unique(feats, axis=0, return_inverse=True)
    group_of = group_of.ravel()
    rows, cols = [], []
    for g, fs in enumerate(groups):  # one pass per set of columns, vectorised over rows
        members = np.flatnonzero(group_of == g)
        strides = np.cumprod(np.r_[1, card[fs][:-1]])
        hit = _match_keys(cond.codes[:, fs] @ strides, values[members] @ strides, members, card[fs])
        r = np.flatnonzero(hit >= 0)
        rows.append(r)
        cols.append(hit[r])
    r = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    return sparse.csr_matrix((np.ones(len(r)), (r, c)), shape=(n, len(slices)))


def _match_keys(
    row_key: np.ndarray, slice_key: np.ndarray, members: np.ndarray, card: np.ndarray
) -> np.ndarray:
    """For each row key, the member slice with that key, or -1 (keys are distinct)."""
    if np.prod(card.astype(float)) <= LOOKUP_LIMIT:  # a direct lookup table
        lookup = np.full(int(np.prod(card)), -1, dtype=np.int64)
        lookup[slice_key] = members
        return lookup[row_key]
    # many values per column: binary search in the sorted slice keys
    order = np.argsort(slice_key)
    pos = np.minimum(np.searchsorted(slice_key[order], row_key), len(order) - 1)
    return np.where(slice_key[order][pos] == row_key, members[order][pos], -1)


def drop_refinements(
    order: np.ndarray, keys: list[tuple[int, ...]], limit: int | None
) -> np.ndarray:
    """Keep, in order, the slices that do not contain the conditions of an earlier one."""
    kept: list[int] = []
    seen: list[frozenset[int]] = []
    for o in order:  # a loop over ranked slices (not rows), stopped at ``limit``
        key = frozenset(keys[o])
        if any(s <= key for s in seen):
            continue
        seen.append(key)
        kept.append(int(o))
        if limit is not None and len(kept) >= limit:
            break
    return np.asarray(kept, dtype=np.int64)


@dataclass
class Evaluated:
    """Every slice whose counts were computed, level by level.

    Attributes
    ----------
    keys
        Per level ``l`` (1-based count of conditions), an ``m × l`` int array: each slice
        as its sorted predicate indices.
    sizes, errors
        Per level, the examples and the errors in each slice (float counts).
    """

    keys: list[np.ndarray] = field(default_factory=list)
    sizes: list[np.ndarray] = field(default_factory=list)
    errors: list[np.ndarray] = field(default_factory=list)

    def add(self, keys: np.ndarray, sizes: np.ndarray, errors: np.ndarray) -> None:
        """Record one level."""
        self.keys.append(keys)
        self.sizes.append(sizes)
        self.errors.append(errors)


def _threshold(found: Evaluated, k_best: float, score_kw: dict) -> float:
    """Return the k-th best positive score so far (0 until ``k_best`` slices score above 0)."""
    sc = slice_score(np.concatenate(found.sizes), np.concatenate(found.errors), **score_kw)
    sc = sc[sc > 0]
    if np.isfinite(k_best) and len(sc) >= k_best:
        return float(np.partition(sc, len(sc) - int(k_best))[len(sc) - int(k_best)])
    return 0.0


def _extend(
    cond: Conditions,
    parents: np.ndarray,
    err_rows: np.ndarray,
    x_err: sparse.csr_matrix,
    min_support: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Count every extension of ``parents`` by one condition on another column.

    Returns the distinct children (sorted predicate indices), their sizes and errors, and
    how many kept parents each child has; ``None`` when no child has ``min_support``.
    """
    m = membership_matrix(cond, parents)
    # Sizes and error counts of every extension of every kept slice: two products.
    ext = (m.T @ cond.matrix).tocoo()
    ext_err = (m[err_rows].T @ x_err).tocsr()
    big = ext.data >= min_support
    s_idx, j_idx, ext_size = ext.row[big], ext.col[big], ext.data[big]
    clash = (cond.feature[parents[s_idx]] == cond.feature[j_idx][:, None]).any(axis=1)
    s_idx, j_idx, ext_size = s_idx[~clash], j_idx[~clash], ext_size[~clash]
    if not len(s_idx):
        return None
    child = np.sort(np.column_stack([parents[s_idx], j_idx]), axis=1)
    keys, first, count = np.unique(child, axis=0, return_index=True, return_counts=True)
    errors = np.asarray(ext_err[s_idx[first], j_idx[first]]).ravel()
    return keys, ext_size[first], errors, count


def evaluate_lattice(
    cond: Conditions,
    errors: np.ndarray,
    *,
    max_conditions: int,
    min_support: int,
    k_best: float,
    score_kw: dict,
) -> Evaluated:
    """Count the slices of up to ``max_conditions`` conditions that survive pruning.

    Parameters
    ----------
    cond
        The encoded conditions (``n × m``).
    errors
        0/1 per example (length ``n``).
    max_conditions, min_support
        Most conditions per slice; fewest examples per evaluated slice.
    k_best
        Prune against the ``k_best``-th best score (``inf``: against 0 only).
    score_kw
        ``n``, ``overall_rate`` and ``alpha`` for :func:`slice_score`.

    Returns
    -------
    Evaluated
        Level 1 holds every condition with ``min_support`` examples; each further level the
        extensions of the slices kept at the level before.
    """
    x = cond.matrix
    err_rows = np.flatnonzero(errors > 0)
    x_err = x[err_rows]
    size1 = np.asarray(x.sum(axis=0)).ravel()
    err1 = np.asarray(x_err.sum(axis=0)).ravel()
    ok1 = size1 >= min_support
    found = Evaluated()
    found.add(np.flatnonzero(ok1)[:, None], size1[ok1], err1[ok1])
    level_keys, level_size, level_err = found.keys[0], found.sizes[0], found.errors[0]
    candidate = np.ones(len(level_keys), dtype=bool)
    for level in range(1, int(max_conditions)):
        ub = score_upper_bound(level_size, level_err, min_support=min_support, **score_kw)
        keep = candidate & (level_err > 0) & (ub > _threshold(found, k_best, score_kw))
        parents = level_keys[keep]
        if not len(parents):
            break
        step = _extend(cond, parents, err_rows, x_err, min_support)
        if step is None:
            break
        level_keys, level_size, level_err, count = step
        # SliceLine: a slice is a candidate only when all of its parents were kept.
        candidate = count == level + 1
        found.add(level_keys, level_size, level_err)
    return found
