"""Suggest slices: conjunctions of metadata conditions where the model errs far more often.

The search follows SliceLine (Sagadeeva & Boehm, SIGMOD 2021):

1. Every usable metadata column becomes a set of disjoint conditions: one per value of a
   categorical column (``device = android``), one per quantile bin of a numeric column
   (``snr_db < 7.2``, ``snr_db in [7.2, 10)``, ``snr_db >= 13``), and ``col is missing``
   where values are missing. They are one-hot encoded into a sparse matrix ``X`` (one row
   per example, exactly one condition per column set in each row).
2. A slice is a conjunction of conditions on different columns, scored by

   ``score = α · (slice error rate / overall error rate − 1) − (1 − α) · (n / slice size − 1)``

   which rewards a high error rate and penalises small slices.
3. The lattice is enumerated level by level. The counts of every extension of the slices
   kept at level ``l`` by one more condition come from two sparse matrix products,
   ``Mₗᵀ X`` (sizes) and ``Mₗ[err]ᵀ X[err]`` (errors), where ``Mₗ`` is the membership matrix
   of the kept slices: no Python loop over rows. A slice is kept for extension only if it
   has at least ``min_support`` examples, some errors, and an upper bound of the score any
   sub-slice could reach (SliceLine's bound from its size and error count) above the
   current k-th best score; a new slice is a candidate only when all of its parents were
   kept.
4. Many slices are tried, so chance alone makes some look bad. Each evaluated slice (every
   conjunction whose counts were computed and that has at least ``min_support`` examples)
   gets a one-sided exact binomial p-value of its error count against the overall error
   rate, and the p-values are adjusted with Benjamini-Hochberg over all of them: a slice is
   ``significant`` when its q-value is at most ``fdr``, which keeps the expected share of
   false discoveries among the significant slices at or under ``fdr``. The family is the
   evaluated slices; sub-slices never enumerated because of pruning are not counted.

:func:`compute_error_tree` complements the search with a shallow decision tree on
"is this prediction an error?" over the same metadata, as a table of nodes and a chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from scipy import sparse, stats

from slicewise.core.charts import plot_text
from slicewise.core.dataset import Dataset
from slicewise.core.errors import InvalidValueError, count_of
from slicewise.core.metrics import compute_outcomes
from slicewise.core.task import TaskSpec, infer_task_kind

MAX_CONDITIONS = 3
DEFAULT_ALPHA = 0.95
DEFAULT_FDR = 0.05
DEFAULT_BINS = 4
DEFAULT_MAX_VALUES = 50
#: Largest key space matched through a dense lookup table (else by binary search).
LOOKUP_LIMIT = 4_000_000

#: Columns of :attr:`SliceSuggestions.slices`.
SLICE_COLUMNS: tuple[str, ...] = (
    "conditions",
    "n",
    "errors",
    "error_rate",
    "lift",
    "score",
    "p_value",
    "q_value",
    "significant",
)

Op = Literal["=", "<", ">=", "in", "is missing"]


# --------------------------------------------------------------------------- conditions


def _fmt(x: float) -> str:
    return f"{x:.4g}"


@dataclass(frozen=True)
class Predicate:
    """One condition on one metadata column.

    Attributes
    ----------
    column
        The metadata column.
    op
        ``=`` (the value), ``<`` / ``>=`` (numeric), ``in`` (``low <= x < high``; ``value``
        is ``(low, high)``) or ``is missing``.
    value
        The compared value; ``None`` for ``is missing``.
    """

    column: str
    op: Op
    value: Any = None

    @property
    def text(self) -> str:
        """The condition as ``"col op value"``, e.g. ``"device = android"``."""
        if self.op == "is missing":
            return f"{self.column} is missing"
        if self.op == "in":
            low, high = self.value
            return f"{self.column} in [{_fmt(low)}, {_fmt(high)})"
        if self.op in ("<", ">="):
            return f"{self.column} {self.op} {_fmt(self.value)}"
        return f"{self.column} = {self.value}"

    def mask(self, frame: pd.DataFrame) -> np.ndarray:
        """Return where the condition holds in ``frame`` (missing values never match)."""
        values = frame[self.column]
        if self.op == "is missing":
            return values.isna().to_numpy(dtype=bool)
        if self.op in ("<", ">=", "in"):
            x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            with np.errstate(invalid="ignore"):
                if self.op == "<":
                    return x < self.value
                if self.op == ">=":
                    return x >= self.value
                low, high = self.value
                return (x >= low) & (x < high)
        return values.eq(self.value).fillna(False).to_numpy(dtype=bool)


def slice_mask(frame: pd.DataFrame, predicates: Sequence[Predicate]) -> np.ndarray:
    """Return where every predicate holds (all rows for an empty conjunction)."""
    mask = np.ones(len(frame), dtype=bool)
    for p in predicates:
        mask &= p.mask(frame)
    return mask


@dataclass
class Conditions:
    """The metadata one-hot encoded into conditions.

    Attributes
    ----------
    matrix
        Sparse CSR ``n × m`` matrix of 0/1 (float64): ``matrix[i, j] = 1`` when example
        ``i`` meets condition ``j``.
    predicates
        The ``m`` conditions, grouped by column.
    feature
        For each condition, the index of its column in ``columns``.
    codes
        ``n × len(columns)`` int array: which condition of each column (0-based within the
        column) each example meets.
    columns
        The columns used, in order.
    skipped
        Columns left out, with the reason.
    """

    matrix: sparse.csr_matrix
    predicates: list[Predicate]
    feature: np.ndarray
    codes: np.ndarray
    columns: list[str]
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def offsets(self) -> np.ndarray:
        """Index of each column's first condition."""
        return np.searchsorted(self.feature, np.arange(len(self.columns)))

    @property
    def cardinality(self) -> np.ndarray:
        """Number of conditions per column."""
        return np.bincount(self.feature, minlength=len(self.columns))


def _is_numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def _encode_column(
    values: pd.Series, column: str, *, bins: int, max_values: int
) -> tuple[np.ndarray, list[Predicate]] | str:
    """Codes and conditions of one column, or the reason it cannot be used."""
    missing = values.isna().to_numpy(dtype=bool)
    if missing.all():
        return "every value is missing"
    if _is_numeric(values) and values.nunique() > bins:
        x = values.to_numpy(dtype=float, na_value=np.nan)
        finite = np.isfinite(x) | np.isnan(x)
        if not finite.all():
            x = np.where(finite, x, np.nan)
            missing = np.isnan(x)
        edges = np.unique(np.nanquantile(x, np.linspace(0, 1, bins + 1)))
        if len(edges) < 2:
            return "a single value"
        inner = edges[1:-1]
        codes = np.searchsorted(inner, x, side="right").astype(np.int64)
        k = len(edges) - 1
        preds: list[Predicate] = []
        for b in range(k):
            if k == 1:
                preds.append(Predicate(column, "in", (float(edges[0]), float(np.inf))))
            elif b == 0:
                preds.append(Predicate(column, "<", float(edges[1])))
            elif b == k - 1:
                preds.append(Predicate(column, ">=", float(edges[b])))
            else:
                preds.append(Predicate(column, "in", (float(edges[b]), float(edges[b + 1]))))
    else:
        try:
            codes, uniques = pd.factorize(values, sort=True, use_na_sentinel=True)
        except TypeError:
            return "holds lists or other compound values"
        if len(uniques) > max_values:
            return (
                f"{len(uniques):,} distinct values (over {max_values}): an id or free text; "
                "group its values into fewer categories to use it"
            )
        codes = codes.astype(np.int64)
        preds = [
            Predicate(column, "=", u.item() if isinstance(u, np.generic) else u) for u in uniques
        ]
        k = len(preds)
    if missing.any():
        codes = np.where(missing, k, codes)
        preds.append(Predicate(column, "is missing"))
    if len(preds) < 2:
        return "a single value"
    return codes, preds


def encode_conditions(
    metadata: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    bins: int = DEFAULT_BINS,
    max_values: int = DEFAULT_MAX_VALUES,
) -> Conditions:
    """One-hot encode metadata columns into disjoint conditions.

    Parameters
    ----------
    metadata
        One row per example.
    columns
        Columns to use (default: all). A numeric column with more than ``bins`` distinct
        values is cut into ``bins`` quantile bins (fewer when quantiles coincide); any other
        column gives one condition per value, unless it has more than ``max_values``
        distinct values (ids, paths, free text), when it is skipped. Missing values form a
        ``col is missing`` condition. Constant columns are skipped.

    Raises
    ------
    InvalidValueError
        A named column does not exist.
    """
    if columns is None:
        columns = [str(c) for c in metadata.columns]
    missing_cols = [c for c in columns if c not in metadata.columns]
    if missing_cols:
        raise InvalidValueError(
            f"cannot suggest slices on {', '.join(map(repr, missing_cols))}: no such column; "
            f"columns: {', '.join(map(repr, map(str, metadata.columns)))}"
        )
    n = len(metadata)
    used, skipped, all_codes, preds, feature = [], {}, [], [], []
    for col in dict.fromkeys(columns):
        out = _encode_column(metadata[col], str(col), bins=bins, max_values=max_values)
        if isinstance(out, str):
            skipped[str(col)] = out
            continue
        codes, col_preds = out
        feature.extend([len(used)] * len(col_preds))
        used.append(str(col))
        all_codes.append(codes)
        preds.extend(col_preds)
    codes = np.column_stack(all_codes) if all_codes else np.zeros((n, 0), dtype=np.int64)
    feature_arr = np.asarray(feature, dtype=np.int64)
    offsets = np.searchsorted(feature_arr, np.arange(len(used)))
    f = len(used)
    indices = (codes + offsets[None, :]).ravel()
    indptr = np.arange(n + 1, dtype=np.int64) * f
    matrix = sparse.csr_matrix((np.ones(n * f), indices, indptr), shape=(n, len(preds)))
    return Conditions(matrix, preds, feature_arr, codes, used, skipped)


# --------------------------------------------------------------------------- scoring


def slice_score(
    size: np.ndarray,
    errors: np.ndarray,
    *,
    n: int,
    overall_rate: float,
    alpha: float = DEFAULT_ALPHA,
) -> np.ndarray:
    """Compute the SliceLine score of slices from their sizes and error counts.

    ``α · (errors / size / overall_rate − 1) − (1 − α) · (n / size − 1)``; ``-inf`` for
    empty slices.
    """
    size = np.asarray(size, dtype=float)
    errors = np.asarray(errors, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        sc = alpha * (errors / size / overall_rate - 1) - (1 - alpha) * (n / size - 1)
    return np.where(size > 0, sc, -np.inf)


def score_upper_bound(
    size: np.ndarray,
    errors: np.ndarray,
    *,
    n: int,
    overall_rate: float,
    min_support: int,
    alpha: float = DEFAULT_ALPHA,
) -> np.ndarray:
    """Bound the score of every sub-slice of slices with these sizes and error counts.

    A sub-slice has at most ``size`` examples, at least ``min_support`` and at most
    ``min(errors, its size)`` errors (0/1 errors). The score is monotone in the size on
    each side of ``size = errors``, so its maximum is at ``min_support``,
    ``max(errors, min_support)`` or ``size`` (SliceLine, section 3.2).
    """
    size = np.asarray(size, dtype=float)
    errors = np.asarray(errors, dtype=float)
    best = np.full(size.shape, -np.inf)
    for sz in (np.full(size.shape, float(min_support)), np.maximum(errors, min_support), size):
        sz = np.minimum(sz, size)
        sc = slice_score(sz, np.minimum(errors, sz), n=n, overall_rate=overall_rate, alpha=alpha)
        best = np.maximum(best, sc)
    return best


def excess_error_p_value(errors: np.ndarray, size: np.ndarray, overall_rate: float) -> np.ndarray:
    """Compute the one-sided exact binomial p-value ``P[X >= errors]``, ``X ~ Bin(size, rate)``."""
    errors = np.asarray(errors, dtype=float)
    size = np.asarray(size, dtype=float)
    return np.clip(stats.binom.sf(errors - 1, size, overall_rate), 0.0, 1.0)


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Return Benjamini-Hochberg adjusted p-values (q-values) of a family of tests."""
    p = np.asarray(p_values, dtype=float)
    if p.size == 0:
        return p.copy()
    return stats.false_discovery_control(p, method="bh")


# --------------------------------------------------------------------------- search


@dataclass
class SliceSuggestions:
    """The result of :func:`find_error_slices`.

    Attributes
    ----------
    slices
        The best slices by score, best first (index 0..k-1), columns:

        - ``conditions``: list of ``"col op value"`` strings (the slice is their AND);
        - ``n``: examples in the slice; ``errors``: model errors among them;
        - ``error_rate`` = errors / n; ``lift`` = error_rate / overall error rate;
        - ``score``: SliceLine score (higher is a larger slice with a higher error rate);
        - ``p_value``: one-sided exact binomial test of the slice's errors against the
          overall error rate; ``q_value``: Benjamini-Hochberg adjusted over every
          evaluated slice (``n_tested``);
        - ``significant``: ``q_value <= fdr``.
    predicates
        For each row of ``slices``, its conditions as :class:`Predicate` objects (use
        :func:`slice_mask` to find the examples).
    n, errors, overall_error_rate
        The whole dataset.
    n_tested
        How many slices were evaluated (the Benjamini-Hochberg family).
    alpha, fdr, min_support, max_conditions
        The settings used.
    columns, skipped
        Columns searched; columns left out with the reason.
    warnings
        Legal but degenerate input (no errors, no usable column...).
    """

    slices: pd.DataFrame
    predicates: list[tuple[Predicate, ...]]
    n: int
    errors: int
    overall_error_rate: float
    n_tested: int
    alpha: float
    fdr: float
    min_support: int
    max_conditions: int
    columns: list[str]
    skipped: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def n_significant(self) -> int:
        """Slices among ``slices`` that are significant."""
        return int(self.slices["significant"].sum()) if len(self.slices) else 0

    def fdr_note(self) -> str:
        """One sentence on the multiple-testing guard, for the CLI and the page."""
        return (
            f"{self.n_tested:,} slices were evaluated, so some look bad by chance: each gets "
            "a one-sided exact binomial test of its error count against the overall error "
            f"rate ({100 * self.overall_error_rate:.1f}%), and the p-values are adjusted with "
            f"Benjamini-Hochberg over all {self.n_tested:,}. Slices with q ≤ {self.fdr:g} are "
            f"marked significant: among them, at most {100 * self.fdr:g}% are expected to be "
            "false discoveries."
        )


def _empty_slices() -> pd.DataFrame:
    out = pd.DataFrame({c: pd.Series(dtype=float) for c in SLICE_COLUMNS})
    out["conditions"] = pd.Series(dtype=object)
    out["n"] = pd.Series(dtype=np.int64)
    out["errors"] = pd.Series(dtype=np.int64)
    out["significant"] = pd.Series(dtype=bool)
    return out


def _membership(cond: Conditions, slices: np.ndarray) -> sparse.csr_matrix:
    """Membership matrix ``n × len(slices)`` of conjunctions (rows of predicate indices).

    The slices sharing a set of columns are matched at once: each example's conditions on
    those columns form one mixed-radix key, looked up in a table of the slices' keys.
    """
    n = cond.codes.shape[0]
    feats = cond.feature[slices]
    card = cond.cardinality
    offsets = cond.offsets
    values = slices - offsets[feats]
    groups, group_of = np.unique(feats, axis=0, return_inverse=True)
    group_of = group_of.ravel()
    rows, cols = [], []
    for g, fs in enumerate(groups):  # one pass per set of columns, vectorised over rows
        members = np.flatnonzero(group_of == g)
        strides = np.cumprod(np.r_[1, card[fs][:-1]])
        row_key = cond.codes[:, fs] @ strides
        slice_key = values[members] @ strides
        if np.prod(card[fs].astype(float)) <= LOOKUP_LIMIT:  # a direct lookup table
            lookup = np.full(int(np.prod(card[fs])), -1, dtype=np.int64)
            lookup[slice_key] = members
            hit = lookup[row_key]
        else:  # many values per column: binary search in the sorted slice keys
            order = np.argsort(slice_key)
            pos = np.minimum(np.searchsorted(slice_key[order], row_key), len(order) - 1)
            hit = np.where(slice_key[order][pos] == row_key, members[order][pos], -1)
        r = np.flatnonzero(hit >= 0)
        rows.append(r)
        cols.append(hit[r])
    r = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    return sparse.csr_matrix((np.ones(len(r)), (r, c)), shape=(n, len(slices)))


def _drop_refinements(
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


def find_error_slices(
    metadata: pd.DataFrame,
    errors: np.ndarray | pd.Series,
    *,
    columns: Sequence[str] | None = None,
    max_conditions: int = MAX_CONDITIONS,
    min_support: int | None = None,
    top: int | None = 20,
    alpha: float = DEFAULT_ALPHA,
    fdr: float = DEFAULT_FDR,
    bins: int = DEFAULT_BINS,
    max_values: int = DEFAULT_MAX_VALUES,
    distinct: bool = True,
) -> SliceSuggestions:
    """Find conjunctions of metadata conditions with an error rate well above the whole.

    Parameters
    ----------
    metadata
        One row per example (see :func:`encode_conditions` for how columns are used).
    errors
        Boolean (or 0/1) per example: whether the model's prediction is wrong.
    columns
        Columns to search (default: all of ``metadata``).
    max_conditions
        Most conditions in one slice (1 to 3).
    min_support
        Fewest examples in a slice; default ``max(30, 1% of the examples)``.
    top
        How many slices to return (``None``: every evaluated slice with a positive score).
    alpha
        SliceLine's weight of the error-rate term against the size term (0 < α ≤ 1).
    fdr
        False discovery rate at which slices are marked significant.
    distinct
        Leave out a slice that refines a better-ranked one (adds conditions to it): the
        extra condition lowers the score, so it says nothing new. The search then prunes
        against the ``5 × top`` best slices so that enough remain.

    Returns
    -------
    SliceSuggestions
        Ranked by score (ties: smaller p-value first).

    Raises
    ------
    InvalidValueError
        Bad settings or an unknown column.
    ValueError
        ``errors`` does not have one value per row of ``metadata``.
    """
    if not 1 <= int(max_conditions) <= MAX_CONDITIONS:
        raise InvalidValueError(
            f"max_conditions must be 1 to {MAX_CONDITIONS}, got {max_conditions!r}"
        )
    if not 0 < alpha <= 1:
        raise InvalidValueError(f"alpha must be in (0, 1], got {alpha!r}")
    if not 0 < fdr < 1:
        raise InvalidValueError(f"fdr must be between 0 and 1, got {fdr!r}")
    if top is not None and top < 1:
        raise InvalidValueError(f"top must be at least 1, got {top!r}")
    e = np.asarray(errors, dtype=float)
    if e.ndim != 1 or len(e) != len(metadata):
        raise ValueError(f"errors has {e.size} values for {len(metadata)} rows")
    if np.isnan(e).any() or not np.isin(e, (0.0, 1.0)).all():
        raise ValueError("errors must be true/false (or 0/1) for every example")
    n = len(metadata)
    if min_support is None:
        min_support = max(30, int(np.ceil(0.01 * n)))
    if int(min_support) < 1:
        raise InvalidValueError(f"min_support must be at least 1, got {min_support!r}")
    min_support = int(min_support)
    cond = encode_conditions(metadata, columns=columns, bins=bins, max_values=max_values)
    total_err = int(e.sum())
    rate = total_err / n if n else float("nan")
    result = SliceSuggestions(
        slices=_empty_slices(),
        predicates=[],
        n=n,
        errors=total_err,
        overall_error_rate=rate,
        n_tested=0,
        alpha=float(alpha),
        fdr=float(fdr),
        min_support=min_support,
        max_conditions=int(max_conditions),
        columns=cond.columns,
        skipped=cond.skipped,
    )
    if n == 0 or total_err == 0:
        result.warnings.append("the model makes no errors here: there is no slice to suggest")
        return result
    if total_err == n:
        result.warnings.append("every prediction is wrong: no slice can be worse than the whole")
        return result
    if not cond.columns:
        result.warnings.append(
            "no metadata column can be sliced (ids, free text, constants are left out)"
        )
        return result

    x = cond.matrix
    err_rows = np.flatnonzero(e > 0)
    x_err = x[err_rows]
    score_kw = {"n": n, "overall_rate": rate, "alpha": alpha}
    # Dropping refinements leaves room: prune against a longer list than is returned.
    k_best = (top * (1 + 4 * distinct)) if top is not None else np.inf

    # Level 1: every condition.
    size1 = np.asarray(x.sum(axis=0)).ravel()
    err1 = np.asarray(x_err.sum(axis=0)).ravel()
    ok1 = size1 >= min_support
    keys = [np.flatnonzero(ok1)[:, None]]  # per level: slices as sorted predicate indices
    sizes, errs = [size1[ok1]], [err1[ok1]]

    def threshold() -> float:
        sc = slice_score(np.concatenate(sizes), np.concatenate(errs), **score_kw)
        sc = sc[sc > 0]
        if np.isfinite(k_best) and len(sc) >= k_best:
            return float(np.partition(sc, len(sc) - int(k_best))[len(sc) - int(k_best)])
        return 0.0

    # Which slices of the current level are extended, and whether each was a candidate.
    level_keys, level_size, level_err = keys[0], sizes[0], errs[0]
    candidate = np.ones(len(level_keys), dtype=bool)
    for level in range(1, int(max_conditions)):
        ub = score_upper_bound(level_size, level_err, min_support=min_support, **score_kw)
        keep = candidate & (level_err > 0) & (ub > threshold())
        parents = level_keys[keep]
        if not len(parents):
            break
        m = _membership(cond, parents)
        # Sizes and error counts of every extension of every kept slice: two products.
        ext = (m.T @ x).tocoo()
        ext_err = (m[err_rows].T @ x_err).tocsr()
        big = ext.data >= min_support
        s_idx, j_idx, ext_size = ext.row[big], ext.col[big], ext.data[big]
        clash = (cond.feature[parents[s_idx]] == cond.feature[j_idx][:, None]).any(axis=1)
        s_idx, j_idx, ext_size = s_idx[~clash], j_idx[~clash], ext_size[~clash]
        if not len(s_idx):
            break
        child = np.sort(np.column_stack([parents[s_idx], j_idx]), axis=1)
        level_keys, first, count = np.unique(child, axis=0, return_index=True, return_counts=True)
        level_size = ext_size[first]
        level_err = np.asarray(ext_err[s_idx[first], j_idx[first]]).ravel()
        # SliceLine: a slice is a candidate only when all of its parents were kept.
        candidate = count == level + 1
        keys.append(level_keys)
        sizes.append(level_size)
        errs.append(level_err)

    size_all = np.concatenate(sizes)
    err_all = np.concatenate(errs)
    score_all = slice_score(size_all, err_all, **score_kw)
    p_all = excess_error_p_value(err_all, size_all, rate)
    q_all = benjamini_hochberg(p_all)
    result.n_tested = len(size_all)
    key_list = [tuple(int(i) for i in row) for k in keys for row in k]
    text = np.array(
        [" AND ".join(cond.predicates[i].text for i in key) for key in key_list], dtype=object
    )
    order = np.lexsort((text, p_all, -score_all))
    order = order[score_all[order] > 0]
    if distinct:
        order = _drop_refinements(order, key_list, top)
    if top is not None:
        order = order[:top]
    if not len(order):
        result.warnings.append(
            "no slice has a positive score: no slice of at least "
            f"{count_of(min_support, 'example')} has a clearly higher "
            "error rate"
        )
        return result
    result.predicates = [tuple(cond.predicates[i] for i in key_list[o]) for o in order]
    result.slices = pd.DataFrame(
        {
            "conditions": [[p.text for p in preds] for preds in result.predicates],
            "n": size_all[order].astype(np.int64),
            "errors": err_all[order].astype(np.int64),
            "error_rate": err_all[order] / size_all[order],
            "lift": err_all[order] / size_all[order] / rate,
            "score": score_all[order],
            "p_value": p_all[order],
            "q_value": q_all[order],
            "significant": q_all[order] <= fdr,
        }
    )
    return result


def format_suggestions(found: SliceSuggestions, *, source: str) -> str:
    """Render suggestions as plain text: a heading, the ranked table and the FDR note."""
    head = (
        f"{source}: {count_of(found.n, 'example')}, {count_of(found.errors, 'error')} "
        f"({100 * found.overall_error_rate:.1f}%); searched "
        f"{', '.join(found.columns) or 'no column'}"
        f" (up to {count_of(found.max_conditions, 'condition')}, at least "
        f"{count_of(found.min_support, 'example')} per slice)"
    )
    parts = [head]
    if found.skipped:
        parts.append("left out: " + "; ".join(f"{c} ({why})" for c, why in found.skipped.items()))
    s = found.slices
    if len(s):
        shown = pd.DataFrame(
            {
                "rank": range(1, len(s) + 1),
                "slice": [" AND ".join(c) for c in s["conditions"]],
                "n": s["n"].to_numpy(),
                "error rate": [f"{100 * v:.1f}%" for v in s["error_rate"]],
                "lift": [f"{v:.2f}x" for v in s["lift"]],
                "score": [f"{v:.2f}" for v in s["score"]],
                "q-value": [f"{v:.2g}" for v in s["q_value"]],
                "significant": s["significant"].map({True: "yes", False: "no"}).to_numpy(),
            }
        )
        parts += ["", shown.to_string(index=False)]
    else:
        parts += ["", "no slice stands out."]
    parts += ["", f"* {found.fdr_note()}"]
    return "\n".join(parts) + "\n"


# --------------------------------------------------------------------------- datasets


def error_indicator(dataset: Dataset, task: TaskSpec | None = None) -> np.ndarray:
    """Return whether each prediction of ``dataset`` is wrong (see :mod:`core.metrics`)."""
    task = task or TaskSpec(kind=infer_task_kind(dataset.frame["label"]))
    correct = compute_outcomes(dataset.frame, task, source=dataset.source_name)["correct"]
    correct = correct.to_numpy(dtype=float)
    return correct < 1


def candidate_columns(
    dataset: Dataset, *, bins: int = DEFAULT_BINS, max_values: int = DEFAULT_MAX_VALUES
) -> list[str]:
    """Metadata columns to search by default.

    All but per-class probability columns (:func:`core.label_issues.find_probability_columns`)
    and the columns :func:`encode_conditions` would skip (ids, free text, constants).
    """
    from slicewise.core.label_issues import find_probability_columns

    probs = set(find_probability_columns(dataset.frame).values())
    cols = [c for c in dataset.metadata_columns if c not in probs]
    return encode_conditions(dataset.frame, columns=cols, bins=bins, max_values=max_values).columns


def suggest_slices(
    dataset: Dataset,
    *,
    task: TaskSpec | None = None,
    columns: Sequence[str] | None = None,
    **options: Any,
) -> SliceSuggestions:
    """Run :func:`find_error_slices` on a dataset's metadata and model errors.

    ``columns`` defaults to :func:`candidate_columns`; ``options`` go to
    :func:`find_error_slices`.
    """
    cols = list(columns) if columns is not None else candidate_columns(dataset)
    return find_error_slices(dataset.frame, error_indicator(dataset, task), columns=cols, **options)


# --------------------------------------------------------------------------- error tree

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
    """
    from sklearn.tree import DecisionTreeClassifier

    e = np.asarray(errors, dtype=float) > 0
    if len(e) != len(metadata):
        raise ValueError(f"errors has {len(e)} values for {len(metadata)} rows")
    n = len(metadata)
    if min_samples_leaf is None:
        min_samples_leaf = max(30, int(np.ceil(0.01 * n)))
    cond = encode_conditions(metadata, columns=columns, bins=bins, max_values=max_values)
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in TREE_COLUMNS})
    if not n or not cond.columns or not e.any() or e.all():
        return empty
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
    x = np.hstack(feats)
    tree = DecisionTreeClassifier(
        max_depth=max_depth, min_samples_leaf=int(min_samples_leaf), random_state=random_state
    )
    tree.fit(x, e)
    t = tree.tree_
    path = tree.decision_path(x)
    node_n = np.asarray(path.sum(axis=0)).ravel()
    node_err = np.asarray(path[np.flatnonzero(e)].sum(axis=0)).ravel()
    rate = e.mean()
    parent = np.full(t.node_count, -1)
    condition = [""] * t.node_count
    condition[0] = "All data"
    equals = [""] * t.node_count  # the column of a "col = value" condition
    missing_left = getattr(t, "missing_go_to_left", np.zeros(t.node_count, dtype=bool))
    for node in range(t.node_count):
        left, right = t.children_left[node], t.children_right[node]
        if left < 0:
            continue
        parent[left] = parent[right] = node
        kind, col, pred = names[t.feature[node]]
        if kind == "num":
            thr = _fmt(float(t.threshold[node]))
            has_nan = bool(np.isnan(x[:, t.feature[node]]).any())
            to_left = bool(missing_left[node])
            condition[left] = f"{col} <= {thr}" + (" or missing" if has_nan and to_left else "")
            condition[right] = f"{col} > {thr}" + (" or missing" if has_nan and not to_left else "")
        elif pred.op == "is missing":
            condition[left], condition[right] = f"{col} is not missing", pred.text
        else:
            condition[left], condition[right] = f"{col} ≠ {pred.value}", pred.text
            equals[right] = col
    depth = np.zeros(t.node_count, dtype=np.int64)
    paths: list[list[str]] = [[] for _ in range(t.node_count)]
    for node in range(1, t.node_count):  # sklearn numbers nodes depth-first: parents first
        depth[node] = depth[parent[node]] + 1
        above = paths[parent[node]]
        if equals[node]:  # "camera = cam-2" makes an earlier "camera ≠ cam-3" redundant
            above = [c for c in above if not c.startswith(f"{equals[node]} ≠ ")]
        paths[node] = [*above, condition[node]]
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
            "lift": err_rate / rate,
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


def error_tree_chart(
    tree: pd.DataFrame, *, title: str = "Where the errors are: error tree"
) -> go.Figure:
    """Draw the error tree as an icicle: width = examples, colour = error rate."""
    fig = go.Figure()
    if len(tree):
        labels = [
            f"{plot_text(c)}<br>{n:,} · {100 * r:.1f}% errors"
            for c, n, r in zip(tree["condition"], tree["n"], tree["error_rate"], strict=True)
        ]
        fig.add_trace(
            go.Icicle(
                ids=tree["node"].astype(str),
                parents=[("" if p < 0 else str(p)) for p in tree["parent"]],
                labels=labels,
                values=tree["n"],
                branchvalues="total",
                marker={
                    "colors": tree["error_rate"],
                    "colorscale": "Reds",
                    "cmin": 0,
                    "cmax": float(tree["error_rate"].max()),
                    "colorbar": {"title": {"text": "error rate"}, "tickformat": ".0%"},
                    "showscale": True,
                },
                customdata=np.column_stack([tree["errors"], tree["lift"]]),
                hovertemplate=(
                    "%{label}<br>errors: %{customdata[0]:,}<br>"
                    "lift: %{customdata[1]:.2f}×<extra></extra>"
                ),
                tiling={"orientation": "v"},
                root={"color": "white"},
            )
        )
    fig.update_layout(
        title={"text": title}, margin={"t": 50, "l": 10, "r": 10, "b": 10}, height=480
    )
    return fig
