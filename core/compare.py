"""Compare two iterations of a model or its data, slice by slice.

The data-centric loop changes one thing at a time (the model, or the data) and asks whether
every slice improved. :func:`compare_datasets` answers that from two prediction tables:
accuracy before and after on every tag (and every value of a ``slice_by`` column), the change,
the gap to human-level performance before and after, and whether the change is more than
chance.

Which test
----------
- **Paired** (McNemar's exact test): when the slice holds exactly the same examples (matched by
  id, compared as text) in both tables, only the examples whose outcome changed carry
  information: ``b`` right before and wrong after, ``c`` wrong before and right after;
  ``p = min(1, 2 · P[Binomial(b + c, 1/2) <= min(b, c)])``.
- **Unpaired**, otherwise (different or partly different examples): the pooled two-proportion
  z-test, ``z = (p_after − p_before) / sqrt(p (1 − p) (1/n_before + 1/n_after))`` with the
  pooled rate ``p``, two-sided; when an expected cell count ``n·p`` or ``n·(1 − p)`` is under 5
  the normal approximation is poor and Fisher's exact test on the 2×2 table of (right, wrong)
  × (before, after) is used instead.

The ``test`` column says which was used per slice: ``mcnemar``, ``two-proportion``,
``fisher``, or ``none`` when a side has no examples.

Tags of the comparison
----------------------
The slices are the union of both tables' tags. An example's value for a tag comes from the
AFTER table when AFTER has both the example and the tag, otherwise from BEFORE (``False``
when neither has it): tags are usually refined between iterations, so the newer tagging is
the better description of an example, and a slice then holds the same examples on both sides
whenever the ids match, which keeps the paired test available. ``slice_by`` columns follow
the same rule; a ``slice_by`` name may be a metadata column or the label, prediction or
human-label column under its file name (per-class rows, ``true_category = cat``), resolved
in each table on its own (:func:`core.slice_names.resolve_slice_column`). Rows are named
as in :func:`core.metrics.build_slices`: a tag called ``All data`` is the row
``All data (tag)``, never the overall row.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from slicewise.core.analysis import default_task, slice_kinds
from slicewise.core.charts import plot_text
from slicewise.core.dataset import ColumnMapping, Dataset
from slicewise.core.errors import InvalidValueError
from slicewise.core.metrics import (
    DEFAULT_MATRIX_CLASSES,
    build_slices,
    compute_class_report,
    compute_outcomes,
    compute_slice_counts,
    compute_slice_metrics,
    fold_classes,
    mcnemar_exact_p,
    sum_by_slice,
)
from slicewise.core.prioritize import display_name
from slicewise.core.slice_names import (
    OVERALL,
    UNTAGGED,
    resolve_slice_column,
    slice_by_choices,
    tag_rows,
)
from slicewise.core.tag_scope import infer_row_scopes
from slicewise.core.task import TaskSpec
from slicewise.core.values import class_key, class_keys

_erfc = np.frompyfunc(math.erfc, 1, 1)

if TYPE_CHECKING:  # plotly and scipy.stats load only when a chart or Fisher's test is needed
    import plotly.graph_objects as go

#: Values of the ``test`` column.
TESTS = ("mcnemar", "two-proportion", "fisher", "randomization", "welch", "none")
#: Below this expected cell count the two-proportion z-test gives way to Fisher's exact test.
MIN_EXPECTED = 5.0

#: Columns of :func:`compare_datasets` and :func:`compare_tables`, in order.
COMPARE_COLUMNS: tuple[str, ...] = (
    "kind",
    "n_before",
    "n_after",
    "n_paired",
    "accuracy_before",
    "accuracy_after",
    "delta",
    "hlp_before",
    "hlp_after",
    "gap_before",
    "gap_after",
    "right_to_wrong",
    "wrong_to_right",
    "test",
    "p_value",
    "significant",
    "regression",
    "improvement",
    "worse_while_overall_better",
    "scope",
)


# --------------------------------------------------------------------------- pairing


@dataclass(frozen=True)
class Pairing:
    """How the examples of two tables match by id.

    Attributes
    ----------
    n_before, n_after
        Examples in each table.
    n_matched
        Ids found in both.
    ids_are_row_numbers
        Whether either table has no id column (its ids are row numbers, so rows are
        matched by position).
    labels_changed
        Matched examples whose label differs between the tables
        (:func:`label_differences`); both sides are then scored against AFTER's label.
    """

    n_before: int
    n_after: int
    n_matched: int
    ids_are_row_numbers: bool
    labels_changed: int = 0

    @property
    def paired(self) -> bool:
        """Whether both tables hold exactly the same examples."""
        return self.n_matched == self.n_before == self.n_after

    def describe(self) -> str:
        """One sentence for a reader: how the examples were matched."""
        how = "by row position" if self.ids_are_row_numbers else "by id"
        if self.paired:
            text = (
                f"the same {self.n_matched:,} examples in both (matched {how}): "
                "paired tests (McNemar)"
            )
        elif self.n_matched == 0:
            text = (
                "no example id appears in both: unpaired tests (two-proportion z-test, "
                "Fisher's exact test for small counts)"
            )
        else:
            word = "example" if self.n_matched == 1 else "examples"
            text = (
                f"{self.n_matched:,} {word} in both, {self.n_before - self.n_matched:,} "
                f"only before, {self.n_after - self.n_matched:,} only after: paired tests "
                "where a slice holds the same examples on both sides, unpaired elsewhere"
            )
        if self.ids_are_row_numbers:
            text += "; a file has no id column, so rows were matched by their position"
        if self.labels_changed:
            word = "example has" if self.labels_changed == 1 else "examples have"
            text += (
                f"; {self.labels_changed:,} shared {word} a different label in the two "
                "files: both sides are scored against the after file's label (one label "
                "per example), so the change is the model's, not the labels'"
            )
        return text


def describe_pairing(before: Dataset, after: Dataset) -> Pairing:
    """Count how the examples of ``before`` and ``after`` match by id (compared as text)."""
    # Ids as Python strings: isin on pandas' Arrow-backed "str" dtype loops in Python
    # (5 s at 500,000 ids), on object dtype it hashes (0.2 s).
    ids_b = pd.Index(before.frame["id"].astype(str).astype(object))
    ids_a = pd.Index(after.frame["id"].astype(str).astype(object))
    return Pairing(
        len(ids_b),
        len(ids_a),
        int(ids_b.isin(ids_a).sum()),
        before.mapping.id is None or after.mapping.id is None,
        labels_changed=len(label_differences(before, after)),
    )


@dataclass(frozen=True)
class _Union:
    dataset: Dataset  # the union of the examples, with the union of the tags
    pos_before: np.ndarray  # row of each BEFORE example in the union
    pos_after: np.ndarray

    def present(self, side: str) -> np.ndarray:
        """Whether each union example is in ``side`` (``before`` or ``after``)."""
        out = np.zeros(len(self.dataset.frame), dtype=bool)
        out[self.pos_before if side == "before" else self.pos_after] = True
        return out

    def in_both(self) -> np.ndarray:
        """Whether each union example is in both files."""
        return self.present("before") & self.present("after")


def union_tag_names(before: Dataset, after: Dataset) -> list[str]:
    """Return the tags of a comparison: AFTER's, then those only BEFORE has (as text)."""
    return list(dict.fromkeys([*map(str, after.tags.columns), *map(str, before.tags.columns)]))


def _slice_column(dataset: Dataset, name: str) -> pd.Series | None:
    """Return the values ``slice_by=name`` means in ``dataset`` (None: no such column)."""
    column = resolve_slice_column(name, columns=dataset.frame.columns, mapping=dataset.mapping)
    return None if column is None else dataset.frame[column]


def _union(before: Dataset, after: Dataset, slice_by: Sequence[str]) -> _Union:
    """Stack the examples of both tables (AFTER first) with the union of their tags."""
    ids_a = after.frame["id"].astype(str).astype(object).reset_index(drop=True)
    ids_b = before.frame["id"].astype(str).astype(object).reset_index(drop=True)
    only_b = ~ids_b.isin(pd.Index(ids_a)).to_numpy()  # object dtype: see describe_pairing
    union_ids = pd.Index(pd.concat([ids_a, ids_b[only_b]], ignore_index=True))
    n_a, n = len(ids_a), len(union_ids)
    pos_a = np.arange(n_a)
    pos_b = union_ids.get_indexer(ids_b)
    matched_b = np.flatnonzero(~only_b)  # BEFORE rows whose example is also in AFTER

    tags_a = after.tags.reset_index(drop=True)
    tags_b = before.tags.reset_index(drop=True)
    names = union_tag_names(before, after)
    tags = np.zeros((n, len(names)), dtype=bool)
    for j, name in enumerate(names):
        if name in tags_a.columns:
            tags[:n_a, j] = tags_a[name].to_numpy(dtype=bool)
            rows = np.flatnonzero(only_b)  # BEFORE-only examples keep BEFORE's value
        else:
            rows = np.arange(len(ids_b))  # a tag only BEFORE has: BEFORE's value everywhere
        if name in tags_b.columns and len(rows):
            tags[pos_b[rows], j] = tags_b[name].to_numpy(dtype=bool)[rows]

    columns: dict[str, pd.Series] = {}
    # A column given twice is sliced once; names are stripped like the file's header.
    for col in dict.fromkeys(str(c).strip() for c in slice_by):
        values_a, values_b = _slice_column(after, col), _slice_column(before, col)
        if values_a is None and values_b is None:
            known = [
                *slice_by_choices(
                    after.metadata_columns, columns=after.frame.columns, mapping=after.mapping
                ),
                *slice_by_choices(
                    before.metadata_columns, columns=before.frame.columns, mapping=before.mapping
                ),
            ]
            raise InvalidValueError(
                f"cannot slice by {col!r}: neither {before.source_name} nor "
                f"{after.source_name} has that column; columns: "
                f"{', '.join(map(repr, dict.fromkeys(known)))}"
            )
        if values_a is not None:
            head = values_a.reset_index(drop=True).astype(object)
        else:  # only BEFORE has it: matched examples take BEFORE's value
            head = pd.Series([None] * n_a, dtype=object)
            head.iloc[pos_b[matched_b]] = values_b.to_numpy(dtype=object)[matched_b]
        tail = pd.Series([None] * int(only_b.sum()), dtype=object)
        if values_b is not None:
            tail[:] = values_b.to_numpy(dtype=object)[only_b]
        parts = [head, tail]
        columns[col] = pd.concat(parts, ignore_index=True).infer_objects()
    # The ids go in last: a slice-by column may be called "id" without replacing them.
    frame = pd.DataFrame({**columns, "id": pd.Series(union_ids, dtype=object)})
    union = Dataset(
        frame=frame,
        tags=pd.DataFrame(tags, columns=pd.Index(names, dtype=object)),
        mapping=ColumnMapping(),
        source_name=f"{before.source_name} + {after.source_name}",
    )
    return _Union(union, pos_b, pos_a)


@dataclass(frozen=True)
class _Prepared:
    """Both tables on the union of their examples, with the slices and outcomes of each side."""

    before: Dataset  # scored against AFTER's labels on shared examples (_labels_from)
    after: Dataset
    task: TaskSpec
    union: _Union
    membership: np.ndarray  # union examples x slices (tags first), boolean
    info: pd.DataFrame  # build_slices' description of the slices
    tag_positions: tuple[int, ...]  # membership columns that are tags
    outcomes: dict[str, pd.DataFrame]  # compute_outcomes per side, in that side's row order
    sides: dict[str, pd.DataFrame]  # compute_slice_metrics per side
    in_both: np.ndarray  # union examples present on both sides
    labels_changed: int

    @property
    def n(self) -> int:
        """Examples in the union."""
        return len(self.union.dataset.frame)

    def positions(self, side: str) -> np.ndarray:
        """Row of each of ``side``'s examples in the union."""
        return self.union.pos_before if side == "before" else self.union.pos_after

    def on_union(self, side: str, values: pd.Series | np.ndarray) -> np.ndarray:
        """Place one side's per-example numbers on the union's rows (0 where it lacks one)."""
        out = np.zeros(self.n)
        out[self.positions(side)] = np.asarray(values, dtype=float)
        return out

    def present(self, side: str) -> np.ndarray:
        """Whether each union example is in ``side``."""
        return self.union.present(side)

    def rows_on_errors(self, tag_scopes: str | Mapping[str, str]) -> set[str]:
        """Rows known only on errors on either side (read as ``analyze`` reads them)."""
        rows: set[str] = set()
        for side, data in (("before", self.before), ("after", self.after)):
            scopes = infer_row_scopes(
                self.sides[side], self.info, tag_scopes, blank_tags=data.blank_tags
            )
            rows |= {row for row, scope in scopes.items() if scope == "errors"}
        return rows


def _prepare(
    before: Dataset,
    after: Dataset,
    *,
    task: TaskSpec | None,
    slice_by: Sequence[str],
    bins: int,
    hlp: Mapping[str, float] | None = None,
    alpha: float = 0.05,
    max_slices: int | None = None,
) -> _Prepared:
    """Match the examples, build the slices of the union and score each side."""
    task = task or default_task(after)
    changed = label_differences(before, after)
    before = _labels_from(before, after, changed)
    union = _union(before, after, slice_by)
    membership, info = build_slices(
        union.dataset, slice_by=slice_by, bins=bins, max_slices=max_slices
    )
    tag_columns = tag_rows(info)
    m = membership.to_numpy(dtype=bool)
    sides, outcomes = {}, {}
    for side, data, pos in (
        ("before", before, union.pos_before),
        ("after", after, union.pos_after),
    ):
        outcomes[side] = compute_outcomes(
            data.frame.reset_index(drop=True), task, source=data.source_name
        )
        part = pd.DataFrame(m[pos], columns=membership.columns)
        counts = compute_slice_counts(part, outcomes[side], tag_columns=tag_columns)
        sides[side] = compute_slice_metrics(counts, task=task, hlp=hlp, alpha=alpha)
    return _Prepared(
        before,
        after,
        task,
        union,
        m,
        info,
        tuple(membership.columns.get_loc(c) for c in tag_columns),
        outcomes,
        sides,
        union.in_both(),
        len(changed),
    )


# --------------------------------------------------------------------------- tests


def two_proportion_p(
    k1: np.ndarray, n1: np.ndarray, k2: np.ndarray, n2: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Compute two-sided p-values for ``k1/n1`` vs ``k2/n2`` from independent samples.

    Returns
    -------
    (p_value, test)
        The pooled two-proportion z-test where every expected cell count is at least
        :data:`MIN_EXPECTED`, Fisher's exact test elsewhere; ``test`` names the one used
        (``two-proportion`` or ``fisher``; ``none`` with NaN where a side is empty). Where
        both samples are all right (or all wrong) the proportions cannot differ: p = 1.
    """
    k1, n1, k2, n2 = (np.asarray(v, dtype=float) for v in (k1, n1, k2, n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = (k1 + k2) / (n1 + n2)
        se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        z = (k2 / n2 - k1 / n1) / se
        # Two-sided normal tail, 2·Φ(-|z|) = erfc(|z| / √2) (math.erfc: no scipy import).
        p_z = np.where(se > 0, _erfc(np.abs(z) / np.sqrt(2)).astype(float), 1.0)
        expected = np.minimum(np.minimum(n1, n2) * pooled, np.minimum(n1, n2) * (1 - pooled))
    empty = (n1 <= 0) | (n2 <= 0)
    small = ~empty & (expected < MIN_EXPECTED) & (se > 0)
    p = np.where(empty, np.nan, p_z)
    if small.any():
        from scipy import stats
    for i in np.flatnonzero(small):
        table = [[int(k1[i]), int(n1[i] - k1[i])], [int(k2[i]), int(n2[i] - k2[i])]]
        p[i] = stats.fisher_exact(table).pvalue
    test = np.where(empty, "none", np.where(small, "fisher", "two-proportion"))
    return p, test.astype(object)


#: Random relabellings drawn by the approximate randomization tests (seeded, see below).
RANDOMIZATION_DRAWS = 1999
#: Seed of those draws: the same files always give the same p-value.
RANDOMIZATION_SEED = 0
#: Paired randomization enumerates every relabelling (an exact p-value) up to this many
#: examples whose contribution changed (2**12 = 4,096 relabellings).
EXACT_PAIRED_LIMIT = 12
_DRAW_CELLS = 1 << 21  # relabelling matrix cells per block of draws (16 MB of float64)


def _ratio(num: np.ndarray | float, den: np.ndarray | float) -> np.ndarray:
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def _extreme(stat: np.ndarray, observed: float) -> int:
    """Count relabelled statistics at least as far from 0 as the observed one (two-sided)."""
    tol = 1e-9 * max(1.0, abs(observed))  # the identity relabelling must count as a hit
    return int(np.count_nonzero(np.abs(stat) >= abs(observed) - tol))  # NaN never counts


def paired_randomization_p(
    num_before: np.ndarray,
    den_before: np.ndarray,
    num_after: np.ndarray,
    den_after: np.ndarray,
    *,
    draws: int = RANDOMIZATION_DRAWS,
    seed: int = RANDOMIZATION_SEED,
) -> float:
    """Compute the two-sided paired approximate randomization p-value of a ratio-of-sums metric.

    Approximate randomization (Noreen, *Computer-Intensive Methods for Testing Hypotheses*,
    1989; Yeh, "More accurate tests for the statistical significance of result
    differences", COLING 2000): under the null hypothesis the two iterations are
    exchangeable on each example, so each example's before and after contributions may be
    swapped. The statistic is ``Σnum_after/Σden_after − Σnum_before/Σden_before`` (F1 =
    2TP / (2TP + FP + FN), corpus WER = word edits / reference words, MAE = |error| sum /
    examples); the p-value is the share of relabellings whose statistic is at least as far
    from 0 as the observed one. Only examples whose contribution differs matter: with at
    most :data:`EXACT_PAIRED_LIMIT` of them every relabelling is enumerated (exact p);
    otherwise ``draws`` relabellings are drawn (seeded, examples in a canonical order so
    the row order of the files does not matter) and ``p = (1 + hits) / (draws + 1)``.

    Parameters
    ----------
    num_before, den_before, num_after, den_after
        Per-example numerator and denominator contributions of the same examples, in the
        same order.
    draws, seed
        Number of random relabellings and their seed.

    Returns
    -------
    float
        The p-value; NaN when the metric is undefined on a side (a zero denominator).
    """
    nb, db, na, da = (
        np.asarray(v, dtype=float) for v in (num_before, den_before, num_after, den_after)
    )
    big_nb, big_db, big_na, big_da = nb.sum(), db.sum(), na.sum(), da.sum()
    observed = float(_ratio(big_na, big_da) - _ratio(big_nb, big_db))
    if np.isnan(observed):
        return float("nan")
    moved = (nb != na) | (db != da)
    dn, dd = (nb - na)[moved], (db - da)[moved]
    order = np.lexsort((dd, dn))
    delta = np.column_stack([dn[order], dd[order]])  # swapping example i moves these to AFTER
    m = len(delta)

    def hits(swaps: np.ndarray) -> int:
        moved_n, moved_d = (swaps @ delta).T
        stat = _ratio(big_na + moved_n, big_da + moved_d) - _ratio(
            big_nb - moved_n, big_db - moved_d
        )
        return _extreme(stat, observed)

    if m <= EXACT_PAIRED_LIMIT:
        swaps = ((np.arange(2**m)[:, None] >> np.arange(m)) & 1).astype(float)
        return hits(swaps) / 2**m
    rng = np.random.default_rng(seed)
    found = 0
    block = max(1, _DRAW_CELLS // m)
    for start in range(0, draws, block):
        found += hits((rng.random((min(block, draws - start), m)) < 0.5).astype(float))
    return (found + 1) / (draws + 1)


def unpaired_randomization_p(
    num_before: np.ndarray,
    den_before: np.ndarray,
    num_after: np.ndarray,
    den_after: np.ndarray,
    *,
    draws: int = RANDOMIZATION_DRAWS,
    seed: int = RANDOMIZATION_SEED,
) -> float:
    """Compute the two-sided unpaired approximate randomization p-value of a ratio-of-sums metric.

    As :func:`paired_randomization_p`, for two independent sets of examples: under the null
    hypothesis every example could have come from either set, so the pooled examples are
    dealt at random into sets of the observed sizes (Noreen, 1989). Examples with the same
    ``(num, den)`` are interchangeable, so a deal is a multivariate hypergeometric draw over
    the distinct contributions (the same distribution as shuffling the examples, at a cost
    that does not grow with the number of examples). ``p = (1 + hits) / (draws + 1)``
    with ``draws`` seeded deals.

    Returns
    -------
    float
        The p-value; NaN when a side is empty or the metric is undefined on a side.
    """
    nb, db, na, da = (
        np.asarray(v, dtype=float) for v in (num_before, den_before, num_after, den_after)
    )
    observed = float(_ratio(na.sum(), da.sum()) - _ratio(nb.sum(), db.sum()))
    if np.isnan(observed) or not len(nb) or not len(na):
        return float("nan")
    pooled = np.column_stack([np.concatenate([nb, na]), np.concatenate([db, da])])
    values, counts = np.unique(pooled, axis=0, return_counts=True)
    total_n, total_d = pooled.sum(axis=0)
    rng = np.random.default_rng(seed)
    found = 0
    block = max(1, _DRAW_CELLS // len(values))
    for start in range(0, draws, block):
        dealt = rng.multivariate_hypergeometric(
            counts.astype(np.int64), len(na), size=min(block, draws - start)
        )
        n_after, d_after = (dealt @ values).T
        found += _extreme(
            _ratio(n_after, d_after) - _ratio(total_n - n_after, total_d - d_after), observed
        )
    return (found + 1) / (draws + 1)


def welch_p(before: np.ndarray, after: np.ndarray) -> float:
    """Compute the two-sided p-value of Welch's unequal-variances t-test of two means.

    Welch (1947), "The generalization of 'Student's' problem when several different
    population variances are involved", as ``scipy.stats.ttest_ind(equal_var=False)``;
    used for MAE (a mean of absolute errors) on two independent sets of examples. NaN
    with fewer than two examples on a side; where both sides have no spread, 1 for equal
    means and 0 otherwise.
    """
    b, a = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    if len(b) < 2 or len(a) < 2:
        return float("nan")
    if b.var() == 0 and a.var() == 0:
        return 1.0 if b.mean() == a.mean() else 0.0
    from scipy import stats

    return float(stats.ttest_ind(a, b, equal_var=False).pvalue)


# --------------------------------------------------------------------------- compare


def compare_datasets(
    before: Dataset,
    after: Dataset,
    *,
    task: TaskSpec | None = None,
    slice_by: Sequence[str] = (),
    bins: int = 4,
    hlp: Mapping[str, float] | None = None,
    alpha: float = 0.05,
    tag_scopes: str | Mapping[str, str] = "auto",
    max_slices: int | None = None,
) -> pd.DataFrame:
    """Compare two prediction tables slice by slice (see the module notes for the tests).

    Parameters
    ----------
    before, after
        The two iterations' predictions; examples are matched by id (as text).
    task
        How a prediction is judged (default: inferred from AFTER's labels).
    slice_by, bins, max_slices
        Metadata columns to slice by, as in :func:`core.metrics.build_slices` (at most
        ``max_slices`` slices: :func:`core.limits.max_slices`).
    hlp
        Human-level performance per row name, used on both sides (else the human-label
        column of each table); settings kept per tag are re-keyed with
        :func:`core.slice_names.settings_by_row` over :func:`union_tag_names`.
    alpha
        Significance level.
    tag_scopes
        Where tags are known, as :func:`core.analysis.analyze` takes it (``auto`` reads a
        blank-for-no tag only errors carry as filled on errors only).

    Returns
    -------
    DataFrame indexed by slice (``All data``, the tags, the ``slice_by`` values, ``No tag``)
    with columns :data:`COMPARE_COLUMNS`:

    - ``kind``: ``overall``, ``tag``, ``column`` or ``untagged``.
    - ``n_before``, ``n_after``: examples in the slice on each side; ``n_paired``: examples
      present on both sides.
    - ``accuracy_before``, ``accuracy_after`` (NaN for an empty side); ``delta`` = after −
      before.
    - ``hlp_before``, ``hlp_after``, ``gap_before``, ``gap_after``: human-level performance
      and HLP − accuracy on each side (NaN without HLP).
    - ``right_to_wrong``, ``wrong_to_right``: paired examples whose outcome changed (McNemar's
      ``b`` and ``c``).
    - ``test``, ``p_value``: the test used and its two-sided p-value; ``significant``:
      ``p_value < alpha``.
    - ``regression``: ``delta < 0`` and significant; ``improvement``: ``delta > 0`` and
      significant.
    - ``worse_while_overall_better``: the slice got worse (``delta < 0``, significant or not)
      while all data improved — the slices to look at first.
    - ``scope``: ``errors`` for a tag known only on errors on either side (and ``No tag``
      then): its accuracies, change, gaps and test are left empty (``test`` ``none``), as
      its accuracy is unknown; ``all`` elsewhere.
    """
    if not 0 < alpha < 1:
        raise InvalidValueError(f"alpha must be between 0 and 1, got {alpha}")
    prep = _prepare(
        before,
        after,
        task=task,
        slice_by=slice_by,
        bins=bins,
        hlp=hlp,
        alpha=alpha,
        max_slices=max_slices,
    )
    before, after, sides, m = prep.before, prep.after, prep.sides, prep.membership
    cb = prep.on_union("before", prep.outcomes["before"]["correct"]).astype(bool)
    ca = prep.on_union("after", prep.outcomes["after"]["correct"]).astype(bool)
    in_both = prep.in_both
    paired = [in_both, in_both & cb & ~ca, in_both & ~cb & ca]  # build_slices puts tags first
    paired_sums = sum_by_slice(
        m, [v.astype(np.float32) for v in paired], tag_positions=prep.tag_positions
    )[:, 1:]
    b, a = sides["before"], sides["after"]
    out = pd.DataFrame(index=b.index)
    out["kind"] = slice_kinds(out.index, prep.info)
    out["n_before"] = b["n"].astype(np.int64)
    out["n_after"] = a["n"].astype(np.int64)
    out["n_paired"] = paired_sums[:, 0].astype(np.int64)
    out["accuracy_before"] = b["accuracy"]
    out["accuracy_after"] = a["accuracy"]
    out["delta"] = out["accuracy_after"] - out["accuracy_before"]
    out["hlp_before"] = b["hlp"]
    out["hlp_after"] = a["hlp"]
    out["gap_before"] = b["gap"]
    out["gap_after"] = a["gap"]
    out["right_to_wrong"] = paired_sums[:, 1].astype(np.int64)
    out["wrong_to_right"] = paired_sums[:, 2].astype(np.int64)

    # A tag only errors carry (on either side, read as `analyze` reads it) has no accuracy
    # to compare: its rows say so instead of comparing 0% with 0%.
    out["scope"] = np.where(
        out.index.isin(list(prep.rows_on_errors(tag_scopes))), "errors", "all"
    ).astype(object)
    unknown = (out["scope"] == "errors").to_numpy()
    out.loc[unknown, ["accuracy_before", "accuracy_after", "delta", "gap_before", "gap_after"]] = (
        np.nan
    )
    n_b, n_a, n_p = (out[c].to_numpy() for c in ("n_before", "n_after", "n_paired"))
    paired = (n_p == n_b) & (n_p == n_a) & (n_p > 0)
    k_b = n_b - b["errors"].to_numpy()
    k_a = n_a - a["errors"].to_numpy()
    p_unpaired, test_unpaired = two_proportion_p(k_b, n_b, k_a, n_a)
    p_paired = mcnemar_exact_p(out["right_to_wrong"].to_numpy(), out["wrong_to_right"].to_numpy())
    out["test"] = np.where(unknown, "none", np.where(paired, "mcnemar", test_unpaired)).astype(
        object
    )
    out["p_value"] = np.where(unknown, np.nan, np.where(paired, p_paired, p_unpaired))
    out = _finish(out, alpha)
    out.attrs["labels_changed"] = prep.labels_changed
    return out


def label_differences(before: Dataset, after: Dataset) -> pd.DataFrame:
    """List the examples both tables hold whose label differs (a relabelling between them).

    Labels are compared by their class key (:func:`core.values.class_keys`: ``1`` and
    ``1.0`` are one label, ``01`` and ``1`` are not). Returns a DataFrame with columns
    ``id`` (text), ``label_before``, ``label_after``, in AFTER's row order.
    """
    ids_a = after.frame["id"].astype(str).reset_index(drop=True)
    ids_b = before.frame["id"].astype(str).reset_index(drop=True)
    pos_b = pd.Index(ids_b).get_indexer(ids_a)
    rows_a = np.flatnonzero(pos_b >= 0)
    label_a = after.frame["label"].reset_index(drop=True).iloc[rows_a]
    label_b = before.frame["label"].reset_index(drop=True).iloc[pos_b[rows_a]]
    key_a = class_keys(label_a.astype(object)).to_numpy(dtype=object)
    key_b = class_keys(label_b.astype(object)).to_numpy(dtype=object)
    differ = key_a != key_b
    return pd.DataFrame(
        {
            "id": ids_a.iloc[rows_a[differ]].to_numpy(dtype=object),
            "label_before": label_b.to_numpy(dtype=object)[differ],
            "label_after": label_a.to_numpy(dtype=object)[differ],
        }
    )


def _labels_from(before: Dataset, after: Dataset, changed: pd.DataFrame) -> Dataset:
    """Score BEFORE's shared examples against AFTER's labels: one label per id.

    A relabelled example would otherwise count as a model change on one side and a label
    change on the other, and the paired test would compare two different questions.
    """
    if not len(changed):
        return before
    frame = before.frame.copy()
    pos = pd.Index(frame["id"].astype(str)).get_indexer(changed["id"].astype(str))
    labels = frame["label"].astype(object).to_numpy(copy=True)
    labels[pos] = changed["label_after"].to_numpy(dtype=object)
    frame["label"] = pd.Series(labels, index=frame.index).infer_objects()
    return replace(before, frame=frame)


def _finish(out: pd.DataFrame, alpha: float) -> pd.DataFrame:
    p = out["p_value"].to_numpy(dtype=float)
    delta = out["delta"].to_numpy(dtype=float)
    significant = ~np.isnan(p) & (p < alpha)
    out["significant"] = significant
    out["regression"] = significant & (delta < 0)
    out["improvement"] = significant & (delta > 0)
    is_overall = (out["kind"] == "overall").to_numpy(dtype=bool)
    overall = delta[is_overall][0] if is_overall.any() else np.nan
    worse = (delta < 0) & bool(overall > 0) & ~is_overall
    out["worse_while_overall_better"] = worse
    return out[list(COMPARE_COLUMNS)]


def compare_tables(
    before: pd.DataFrame, after: pd.DataFrame, *, alpha: float = 0.05
) -> pd.DataFrame:
    """Compare two stored per-slice tables when the examples themselves are not at hand.

    Without the examples nothing can be paired, so every slice gets the unpaired test (the
    pooled two-proportion z-test, or Fisher's exact test for small counts); prefer
    :func:`compare_datasets`, whose paired test is more powerful on the same examples.

    Parameters
    ----------
    before, after
        Tables of :func:`core.analysis.analyze` (indexed by slice, with ``n``, ``accuracy``,
        ``hlp``, ``gap`` and ``kind``), e.g. saved with an iteration.
    alpha
        Significance level.

    Returns
    -------
    DataFrame like :func:`compare_datasets`, over the union of both tables' slices;
    ``n_paired``, ``right_to_wrong`` and ``wrong_to_right`` are 0.
    """
    if not 0 < alpha < 1:
        raise InvalidValueError(f"alpha must be between 0 and 1, got {alpha}")
    for name, table in (("before", before), ("after", after)):
        missing = [c for c in ("n", "accuracy") if c not in table.columns]
        if missing:
            raise InvalidValueError(
                f"the {name} table has no {', '.join(missing)} column; "
                "give a table of core.analysis.analyze"
            )
    index = list(before.index) + [i for i in after.index if i not in set(before.index)]
    order = [OVERALL] if OVERALL in index else []
    order += [i for i in index if i not in (OVERALL, UNTAGGED)]
    order += [UNTAGGED] if UNTAGGED in index else []
    b = before.reindex(order)
    a = after.reindex(order)
    out = pd.DataFrame(index=pd.Index(order, dtype=object))

    def col(t: pd.DataFrame, c: str) -> pd.Series:
        return t[c].astype(float) if c in t.columns else pd.Series(np.nan, index=t.index)

    kind = pd.Series(None, index=out.index, dtype=object)
    for t in (a, b):  # AFTER's kind first; tables without one: by name, else "tag"
        if "kind" in t.columns:
            kind = kind.combine_first(t["kind"].astype(object))
    kind[(kind.index == OVERALL) & kind.isna()] = "overall"
    kind[(kind.index == UNTAGGED) & kind.isna()] = "untagged"
    out["kind"] = kind.fillna("tag").astype(object)
    out["n_before"] = col(b, "n").fillna(0).astype(np.int64)
    out["n_after"] = col(a, "n").fillna(0).astype(np.int64)
    out["n_paired"] = 0
    out["accuracy_before"] = col(b, "accuracy").where(out["n_before"] > 0)
    out["accuracy_after"] = col(a, "accuracy").where(out["n_after"] > 0)
    out["delta"] = out["accuracy_after"] - out["accuracy_before"]
    out["hlp_before"] = col(b, "hlp")
    out["hlp_after"] = col(a, "hlp")
    out["gap_before"] = col(b, "gap")
    out["gap_after"] = col(a, "gap")
    out["right_to_wrong"] = 0
    out["wrong_to_right"] = 0
    n_b, n_a = out["n_before"].to_numpy(), out["n_after"].to_numpy()
    k_b = np.round(out["accuracy_before"].fillna(0).to_numpy() * n_b)
    k_a = np.round(out["accuracy_after"].fillna(0).to_numpy() * n_a)
    out["p_value"], out["test"] = two_proportion_p(k_b, n_b, k_a, n_a)
    # A row either table knows only on errors (no accuracy) is not compared.
    unknown = np.zeros(len(out), dtype=bool)
    for t in (a, b):
        if "scope" in t.columns:
            unknown |= (t["scope"].reindex(out.index) == "errors").to_numpy(dtype=bool)
    unknown |= out["accuracy_before"].isna().to_numpy() & (n_b > 0)
    unknown |= out["accuracy_after"].isna().to_numpy() & (n_a > 0)
    out["scope"] = np.where(unknown, "errors", "all").astype(object)
    out.loc[unknown, ["accuracy_before", "accuracy_after", "delta", "p_value"]] = np.nan
    out.loc[unknown, "test"] = "none"
    return _finish(out, alpha)


def compare_overall(comparison: pd.DataFrame) -> dict:
    """Summarise a comparison: the ``All data`` row and the slices that changed.

    Returns
    -------
    dict
        The ``All data`` row's columns (plain Python values, ``None`` for NaN) plus
        ``improved`` and ``regressed`` (slice names with a significant change) and
        ``worse_while_overall_better`` (slices that got worse while all data improved,
        worst first).
    """
    row = comparison.loc[OVERALL]
    out = {k: _plain(v) for k, v in row.items()}
    slices = comparison[comparison["kind"] != "overall"]
    out["improved"] = [str(i) for i in slices.index[slices["improvement"].to_numpy(bool)]]
    out["regressed"] = [str(i) for i in slices.index[slices["regression"].to_numpy(bool)]]
    worse = slices[slices["worse_while_overall_better"].to_numpy(bool)]
    out["worse_while_overall_better"] = [
        str(i) for i in worse.sort_values("delta", kind="stable").index
    ]
    return out


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def review_order(comparison: pd.DataFrame) -> pd.DataFrame:
    """Reorder a comparison for a reader: all data, then what got worse, then the rest.

    Order: ``All data``; slices that got worse while all data improved (worst first);
    other significant regressions (worst first); every other slice in its original order;
    ``No tag`` last.
    """
    c = comparison
    first = list(c.index[c["kind"] == "overall"])
    rest = c[~c["kind"].isin(["overall", "untagged"])]
    worse = rest[rest["worse_while_overall_better"]].sort_values("delta", kind="stable")
    regress = rest[rest["regression"] & ~rest["worse_while_overall_better"]].sort_values(
        "delta", kind="stable"
    )
    shown = set(worse.index) | set(regress.index)
    others = [i for i in rest.index if i not in shown]
    last = list(c.index[c["kind"] == "untagged"])
    return c.loc[first + list(worse.index) + list(regress.index) + others + last]


# --------------------------------------------------------------------------- other metrics


@dataclass(frozen=True)
class Metric:
    """A metric a comparison can follow: a ratio of per-example sums, ``Σnum / Σden``.

    Attributes
    ----------
    name
        Its key (the CLI's ``--metric``).
    label
        Its short name for a reader.
    higher_is_better
        Whether a rise is an improvement (accuracy) or a regression (FPR).
    tasks
        Task kinds whose slices have it (per class: :data:`CLASS_METRICS`).
    proportion
        Each example adds 0 or 1 to both sums, so the exact tests of a proportion apply
        (McNemar, two-proportion, Fisher); else approximate randomization (and Welch's
        t-test for MAE on independent examples).
    percent
        Shown in percent, with changes in percentage points (else in the label's units).
    definition
        What it is, in one line.
    """

    name: str
    label: str
    higher_is_better: bool
    tasks: tuple[str, ...]
    proportion: bool
    percent: bool
    definition: str


_CLASSIFY = ("binary", "classification")
#: The metrics a comparison (and the CLI's regression gate) can follow.
METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric(
            "accuracy",
            "accuracy",
            True,
            (*_CLASSIFY, "text", "regression"),
            True,
            True,
            "correct / examples (a class's accuracy is its recall)",
        ),
        Metric(
            "recall",
            "recall",
            True,
            ("binary",),
            True,
            True,
            "TP / (TP + FN), among examples labelled positive",
        ),
        Metric(
            "precision",
            "precision",
            True,
            ("binary",),
            True,
            True,
            "TP / (TP + FP), among examples predicted positive",
        ),
        Metric("f1", "F1", True, ("binary",), False, True, "2TP / (2TP + FP + FN)"),
        Metric(
            "fpr",
            "FPR",
            False,
            ("binary",),
            True,
            True,
            "false positive rate FP / (FP + TN), among examples labelled negative",
        ),
        Metric(
            "fnr",
            "FNR",
            False,
            ("binary",),
            True,
            True,
            "false negative rate FN / (FN + TP), among examples labelled positive",
        ),
        Metric(
            "wer",
            "WER",
            False,
            ("text",),
            False,
            True,
            "word error rate: word edits / reference words (jiwer's corpus WER)",
        ),
        Metric(
            "mae",
            "MAE",
            False,
            ("regression",),
            False,
            False,
            "mean absolute error, in the label's units",
        ),
    )
}
#: Metrics a class has, one class against the rest (for a class, accuracy is recall).
CLASS_METRICS: tuple[str, ...] = ("accuracy", "recall", "precision", "f1", "fpr", "fnr")
#: The per-class table's metrics unless told otherwise.
DEFAULT_CLASS_METRICS: tuple[str, ...] = ("precision", "recall", "f1")

#: Columns of each table of :func:`compare_slice_metrics` and :func:`compare_classes`.
CHANGE_COLUMNS: tuple[str, ...] = (
    "kind",
    "metric",
    "n_before",
    "n_after",
    "n_paired",
    "before",
    "after",
    "delta",
    "worse_by",
    "test",
    "p_value",
    "significant",
    "regression",
    "improvement",
    "scope",
    "before_ci_low",
    "before_ci_high",
    "after_ci_low",
    "after_ci_high",
)


def check_metric(metric: str, task_kind: str, *, per_class: bool = False) -> Metric:
    """Return the :class:`Metric` called ``metric`` after checking it fits the task.

    Raises
    ------
    core.errors.InvalidValueError
        An unknown metric, one the task's slices do not have (FPR of a text task), or a
        per-class metric of a task without classes.
    """
    if metric not in METRICS:
        raise InvalidValueError(f"unknown metric {metric!r}; metrics: {', '.join(METRICS)}")
    spec = METRICS[metric]
    if per_class:
        if task_kind not in _CLASSIFY:
            raise InvalidValueError(
                f"per-class results need a classification task; this is a {task_kind} task"
            )
        if metric not in CLASS_METRICS:
            raise InvalidValueError(
                f"a class has no {spec.label}; per class: {', '.join(CLASS_METRICS)}"
            )
    elif task_kind not in spec.tasks:
        hint = (
            f"; to follow the {spec.label} of one class name it (CLI: --class NAME), or "
            "make the task binary (CLI: --positive CLASS)"
            if task_kind == "classification" and "binary" in spec.tasks
            else ""
        )
        raise InvalidValueError(
            f"{spec.label} needs a {' or '.join(spec.tasks)} task; this is a {task_kind} task{hint}"
        )
    return spec


def slice_metric_names(task_kind: str) -> list[str]:
    """Return the metrics of :data:`METRICS` that the slices of a ``task_kind`` task have."""
    return [name for name, spec in METRICS.items() if task_kind in spec.tasks]


def _parts(
    metric: str, columns: Mapping[str, np.ndarray], present: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-example ``(num, den, use)`` of ``metric``; ``use`` marks the examples it counts."""
    one = np.asarray(present, dtype=float)
    if metric == "accuracy":
        return columns["correct"], one, one
    if metric == "wer":
        return columns["word_errors"], columns["ref_words"], one
    if metric == "mae":
        return columns["abs_error"], one, one
    tp, fp, fn, tn = (np.asarray(columns[k], dtype=float) for k in ("tp", "fp", "fn", "tn"))
    num, den = {
        "recall": (tp, tp + fn),
        "fnr": (fn, tp + fn),
        "fpr": (fp, fp + tn),
        "precision": (tp, tp + fp),
        "f1": (2 * tp, 2 * tp + fp + fn),
    }[metric]
    return num, den, ((den > 0).astype(float) if METRICS[metric].proportion else one)


def _metric_change(
    membership: np.ndarray,
    tag_positions: Sequence[int],
    in_both: np.ndarray,
    before: tuple[np.ndarray, ...],
    after: tuple[np.ndarray, ...],
    *,
    spec: Metric,
    draws: int,
    seed: int,
) -> pd.DataFrame:
    """Compare one metric on all data, each slice and (with tags) the untagged examples.

    ``before`` and ``after`` are :func:`_parts` on the union's rows (0 where a side lacks
    the example). A slice is paired when the examples the metric counts (``use``) are the
    same on both sides; then a proportion gets McNemar's exact test on those examples and
    another metric paired randomization; otherwise the two-proportion (or Fisher's) test,
    Welch's t-test for MAE and unpaired randomization for the rest.
    """
    num_b, den_b, use_b = before
    num_a, den_a, use_a = after
    both = (in_both & (use_b > 0) & (use_a > 0)).astype(float)
    columns = [use_b, num_b, den_b, use_a, num_a, den_a, both]
    if spec.proportion:  # McNemar's discordant pairs
        columns += [both * num_b * (1 - num_a), both * (1 - num_b) * num_a]
    sums = sum_by_slice(
        membership, [np.asarray(c, dtype=np.float64) for c in columns], tag_positions=tag_positions
    )[:, 1:]
    n_b, big_nb, big_db, n_a, big_na, big_da, n_p = sums[:, :7].T
    value_b, value_a = _ratio(big_nb, big_db), _ratio(big_na, big_da)
    if spec.name == "wer":  # as compute_slice_metrics: no reference words -> the insertions
        value_b = np.where((big_db == 0) & (n_b > 0), big_nb, value_b)
        value_a = np.where((big_da == 0) & (n_a > 0), big_na, value_a)
    paired = (n_p == n_b) & (n_p == n_a) & (n_p > 0)
    if spec.proportion:
        p_unpaired, test_unpaired = two_proportion_p(big_nb, big_db, big_na, big_da)
        p = np.where(paired, mcnemar_exact_p(sums[:, 7], sums[:, 8]), p_unpaired)
        test = np.where(paired, "mcnemar", test_unpaired).astype(object)
    else:
        p = np.full(len(sums), np.nan)
        test = np.full(len(sums), "none", dtype=object)
        n, k = membership.shape
        untagged = ~membership[:, list(tag_positions)].any(axis=1) if len(tag_positions) else None
        for j in range(len(sums)):
            if np.isnan(value_b[j]) or np.isnan(value_a[j]):
                continue
            mask = (
                np.ones(n, dtype=bool) if j == 0 else membership[:, j - 1] if j <= k else untagged
            )
            if paired[j]:
                rows = mask & (both > 0)
                p[j] = paired_randomization_p(
                    num_b[rows], den_b[rows], num_a[rows], den_a[rows], draws=draws, seed=seed
                )
                test[j] = "randomization"
                continue
            rows_b, rows_a = mask & (use_b > 0), mask & (use_a > 0)
            if spec.name == "mae":
                p[j] = welch_p(num_b[rows_b], num_a[rows_a])
                test[j] = "welch"
            else:
                p[j] = unpaired_randomization_p(
                    num_b[rows_b],
                    den_b[rows_b],
                    num_a[rows_a],
                    den_a[rows_a],
                    draws=draws,
                    seed=seed,
                )
                test[j] = "randomization"
            if np.isnan(p[j]):
                test[j] = "none"
    return pd.DataFrame(
        {
            "n_before": _counts(n_b),
            "n_after": _counts(n_a),
            "n_paired": _counts(n_p),
            "before": value_b,
            "after": value_a,
            "delta": value_a - value_b,
            "test": test,
            "p_value": p,
        }
    )


def _counts(x: np.ndarray) -> np.ndarray:
    return np.rint(x).astype(np.int64)


def _finish_change(out: pd.DataFrame, spec: Metric, alpha: float) -> pd.DataFrame:
    """Add the metric, how much worse, the verdict columns; order as CHANGE_COLUMNS."""
    out["metric"] = spec.name
    worse = (-1 if spec.higher_is_better else 1) * (100 if spec.percent else 1) * out["delta"]
    out["worse_by"] = worse.astype(float) + 0.0  # no -0.0 where nothing changed
    p = out["p_value"].to_numpy(dtype=float)
    significant = ~np.isnan(p) & (p < alpha)
    out["significant"] = significant
    out["regression"] = significant & (out["worse_by"].to_numpy(dtype=float) > 0)
    out["improvement"] = significant & (out["worse_by"].to_numpy(dtype=float) < 0)
    for column in ("before_ci_low", "before_ci_high", "after_ci_low", "after_ci_high"):
        if column not in out.columns:
            out[column] = np.nan
    return out[list(CHANGE_COLUMNS)]


def _intervals(table: pd.DataFrame, metric: str, side: str) -> dict[str, pd.Series]:
    """``<side>_ci_low/high`` from a per-slice table's ``<metric>_ci_low/high``, if it has them."""
    return {
        f"{side}_ci_{end}": table[f"{metric}_ci_{end}"].astype(float)
        for end in ("low", "high")
        if f"{metric}_ci_{end}" in table.columns
    }


def compare_slice_metrics(
    before: Dataset,
    after: Dataset,
    *,
    metrics: Sequence[str],
    task: TaskSpec | None = None,
    slice_by: Sequence[str] = (),
    bins: int = 4,
    alpha: float = 0.05,
    tag_scopes: str | Mapping[str, str] = "auto",
    draws: int = RANDOMIZATION_DRAWS,
    seed: int = RANDOMIZATION_SEED,
    max_slices: int | None = None,
) -> dict[str, pd.DataFrame]:
    """Compare any metric of :data:`METRICS` slice by slice (FPR and FNR by race, WER...).

    The slices, the matching of examples and the relabelled examples are those of
    :func:`compare_datasets`. Each metric is a ratio of per-example sums (see
    :class:`Metric`) counted on its own examples: FPR among the examples labelled negative,
    FNR and recall among those labelled positive, precision among those predicted positive.

    Which test
    ----------
    - Proportions (accuracy, recall, precision, FPR, FNR): where the slice's counted
      examples are the same on both sides (matched by id) McNemar's exact test on them,
      e.g. for FPR the negatives flagged before but not after (and the reverse); otherwise
      the pooled two-proportion z-test, or Fisher's exact test for small counts
      (:func:`two_proportion_p`). Precision counts the examples predicted positive, which a
      new model changes, so its test is usually unpaired.
    - F1 and WER: approximate randomization (:func:`paired_randomization_p` on the same
      examples, else :func:`unpaired_randomization_p`), seeded.
    - MAE: paired randomization on the same examples, else Welch's t-test (:func:`welch_p`).

    Parameters
    ----------
    before, after
        The two iterations' predictions; examples are matched by id (as text).
    metrics
        Names from :data:`METRICS` that the task's slices have (:func:`check_metric`).
    task, slice_by, bins, alpha, tag_scopes, max_slices
        As :func:`compare_datasets` takes them.
    draws, seed
        Random relabellings of the randomization tests and their seed.

    Returns
    -------
    dict
        One DataFrame per metric, indexed by slice like :func:`compare_datasets`, with
        columns :data:`CHANGE_COLUMNS`: ``kind``; ``metric``; ``n_before``, ``n_after``
        (examples the metric counts on each side; all the slice's examples for F1, WER and
        MAE), ``n_paired`` (of those, present on both sides); ``before``, ``after``,
        ``delta`` = after − before (fractions; MAE in the label's units); ``worse_by``:
        how much worse, in percentage points (MAE: label units), negative when better;
        ``test`` and ``p_value``; ``significant`` (``p_value < alpha``); ``regression``
        and ``improvement`` (significant and worse, or better); ``scope`` (``errors`` for a
        row known only on errors: no values, no test); ``before_ci_low`` ... ``after_ci_high``:
        the interval of each side's value where :func:`core.metrics.compute_slice_metrics`
        gives one as ``<metric>_ci_low/high``, else NaN.

    Raises
    ------
    core.errors.InvalidValueError
        ``alpha`` outside (0, 1), or a metric the task does not have.
    """
    if not 0 < alpha < 1:
        raise InvalidValueError(f"alpha must be between 0 and 1, got {alpha}")
    task = task or default_task(after)
    specs = [check_metric(m, task.kind) for m in dict.fromkeys(metrics)]
    prep = _prepare(
        before, after, task=task, slice_by=slice_by, bins=bins, alpha=alpha, max_slices=max_slices
    )
    names = prep.sides["after"].index
    kinds = slice_kinds(names, prep.info)
    unknown = names.isin(list(prep.rows_on_errors(tag_scopes)))
    present = {side: prep.present(side) for side in ("before", "after")}
    out = {}
    for spec in specs:
        parts = {}
        for side in ("before", "after"):
            columns = {
                c: prep.on_union(side, prep.outcomes[side][c]) for c in prep.outcomes[side].columns
            }
            parts[side] = _parts(spec.name, columns, present[side])
        t = _metric_change(
            prep.membership,
            prep.tag_positions,
            prep.in_both,
            parts["before"],
            parts["after"],
            spec=spec,
            draws=draws,
            seed=seed,
        )
        t.index = names
        t.insert(0, "kind", kinds.to_numpy(dtype=object))
        t["scope"] = np.where(unknown, "errors", "all").astype(object)
        for side in ("before", "after"):
            for column, values in _intervals(prep.sides[side], spec.name, side).items():
                t[column] = values.to_numpy()
        hidden = ["before", "after", "delta", "p_value"] + [
            c for c in t.columns if c.endswith(("_ci_low", "_ci_high"))
        ]
        t.loc[unknown, hidden] = np.nan
        t.loc[unknown, "test"] = "none"
        out[spec.name] = _finish_change(t, spec, alpha)
    return out


# --------------------------------------------------------------------------- per class


@dataclass(frozen=True)
class ClassComparison:
    """Per-class results of two iterations (:func:`compare_classes`).

    Attributes
    ----------
    table
        One row per class (index ``class``, rare classes first): ``support_before``,
        ``support_after`` (examples labelled with it), then for each metric ``m`` asked
        for ``m_before``, ``m_after``, ``m_delta``, ``m_test``, ``m_p_value``,
        ``m_significant``.
    changes
        Per metric, a DataFrame indexed by class with :data:`CHANGE_COLUMNS` (``kind``
        ``class``), the form :func:`find_regressions` reads.
    confusion_before, confusion_after
        Confusion matrices (rows: label, columns: prediction) over the classes of both
        sides, in sorted order; each side's labels as scored (AFTER's label for an example
        both hold). Both have the same rows and columns: with more than
        :data:`core.metrics.DEFAULT_MATRIX_CLASSES` classes, the most frequent over both
        sides and an ``(other)`` row and column summing the rest
        (:func:`core.metrics.fold_classes`), so their size is bounded.
    """

    table: pd.DataFrame
    changes: dict[str, pd.DataFrame]
    confusion_before: pd.DataFrame
    confusion_after: pd.DataFrame


def _class_codes(union: _Union, before: Dataset, after: Dataset) -> tuple[list[str], dict]:
    """Give the classes of both sides (matched by class key) numbers on the union's rows.

    Returns the class names (AFTER's spelling first) and, per side, ``(label, prediction)``
    code arrays on the union's rows (-1 where the side lacks the example).
    """
    cells = {
        (side, role): data.frame[role].reset_index(drop=True).astype(object)
        for side, data in (("after", after), ("before", before))
        for role in ("label", "prediction")
    }
    spelled = pd.concat(list(cells.values()), ignore_index=True)
    keys = class_keys(spelled)
    first = pd.DataFrame({"key": keys, "text": spelled.map(str)}).dropna().drop_duplicates("key")
    order = first.sort_values("text", kind="stable")
    names = order["text"].tolist()
    code_of = pd.Index(order["key"].to_numpy(dtype=object))
    n = len(union.dataset.frame)
    codes: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    start = 0
    for side in ("after", "before"):
        pos = union.pos_after if side == "after" else union.pos_before
        pair = []
        for role in ("label", "prediction"):
            size = len(cells[(side, role)])
            arr = np.full(n, -1, dtype=np.int64)
            arr[pos] = code_of.get_indexer(keys.iloc[start : start + size])
            start += size
            pair.append(arr)
        codes[side] = (pair[0], pair[1])
    return names, codes


@dataclass(frozen=True)
class _ClassCells:
    """The outcomes of every class, one against the rest, without an examples x classes matrix.

    An example enters the one-against-the-rest counts of class ``c`` as TP, FP or FN only
    when ``c`` is its label or prediction on a side, so at most four classes per example;
    for every other class it is a true negative on each side that has it. The pairs
    (example, class) of the first kind are listed (``cls`` with per-side ``columns``); the
    rest is kept as counts per class (``rest``), which is all the sums and the tests need.
    """

    k: int  # classes
    cls: np.ndarray  # class of each listed pair
    columns: dict[str, dict[str, np.ndarray]]  # side -> tp, fp, fn, tn of each pair (0/1)
    live: dict[str, np.ndarray]  # side -> whether the pair's example is in that side
    in_both: np.ndarray  # whether the pair's example is in both sides
    rest: dict[str, np.ndarray]  # before, after, both -> per class, examples not listed


def _class_cells(
    codes: Mapping[str, tuple[np.ndarray, np.ndarray]],
    present: Mapping[str, np.ndarray],
    in_both: np.ndarray,
    k: int,
) -> _ClassCells:
    """List the (example, class) pairs where the class is a label or prediction of the example."""
    n = len(in_both)
    every = np.concatenate([codes[side][role] for side in ("before", "after") for role in (0, 1)])
    rows = np.tile(np.arange(n, dtype=np.int64), 4)
    keep = every >= 0
    row, cls = np.divmod(np.unique(rows[keep] * max(k, 1) + every[keep]), max(k, 1))
    columns, live, rest = {}, {}, {}
    for side in ("before", "after"):
        y, p = codes[side][0][row] == cls, codes[side][1][row] == cls
        live[side] = present[side][row]
        columns[side] = {
            "tp": y & p,
            "fp": live[side] & ~y & p,
            "fn": y & ~p,
            "tn": live[side] & ~y & ~p,
        }
        rest[side] = int(present[side].sum()) - np.bincount(cls[live[side]], minlength=k)
    rest["both"] = int(in_both.sum()) - np.bincount(cls[in_both[row]], minlength=k)
    return _ClassCells(k, cls, columns, live, in_both[row], rest)


def _two_proportion_once(
    k1: np.ndarray, n1: np.ndarray, k2: np.ndarray, n2: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`two_proportion_p`, run once per distinct ``(k1, n1, k2, n2)`` (Fisher is slow)."""
    cells = np.column_stack([k1, n1, k2, n2]).astype(float)
    if not len(cells):
        return np.zeros(0), np.zeros(0, dtype=object)
    unique, inverse = np.unique(cells, axis=0, return_inverse=True)
    p, test = two_proportion_p(*unique.T)
    inverse = inverse.reshape(-1)
    return p[inverse], test[inverse]


def _relabellings(m: int, draws: int, seed: int) -> Iterator[np.ndarray]:
    """Yield, block by block, the relabellings :func:`paired_randomization_p` uses for ``m``."""
    if m <= EXACT_PAIRED_LIMIT:
        yield ((np.arange(2**m)[:, None] >> np.arange(m)) & 1).astype(float)
        return
    rng = np.random.default_rng(seed)
    block = max(1, _DRAW_CELLS // m)
    for start in range(0, draws, block):
        yield (rng.random((min(block, draws - start), m)) < 0.5).astype(float)


def _paired_randomization_many(
    delta: np.ndarray, totals: np.ndarray, observed: np.ndarray, *, draws: int, seed: int
) -> np.ndarray:
    """:func:`paired_randomization_p` for many metrics with the same number of moved examples.

    ``delta`` is ``(metrics, m, 2)``: each metric's moved examples' ``(num_before −
    num_after, den_before − den_after)`` in the canonical order (sorted by those values);
    ``totals`` is ``(metrics, 4)``: ``Σnum_before, Σden_before, Σnum_after, Σden_after``.
    The relabellings depend only on ``m``, ``draws`` and ``seed``, so they are drawn once
    for all the metrics and give each the p-value the one-metric function gives.
    """
    count, m = delta.shape[:2]
    found = np.zeros(count, dtype=np.int64)
    tol = 1e-9 * np.maximum(1.0, np.abs(observed))
    nb, db, na, da = (t[:, None] for t in totals.T)
    relabellings = 0
    for swaps in _relabellings(m, draws, seed):
        relabellings += len(swaps)
        step = max(1, _DRAW_CELLS // max(1, len(swaps)))
        for lo in range(0, count, step):
            part = slice(lo, lo + step)
            moved = np.matmul(swaps, delta[part])  # (metrics, relabellings, 2)
            stat = _ratio(na[part] + moved[..., 0], da[part] + moved[..., 1]) - _ratio(
                nb[part] - moved[..., 0], db[part] - moved[..., 1]
            )
            limit = (np.abs(observed[part]) - tol[part])[:, None]
            found[part] += np.count_nonzero(np.abs(stat) >= limit, axis=1)
    if m <= EXACT_PAIRED_LIMIT:
        return found / relabellings
    return (found + 1) / (draws + 1)


def _dealt_p(
    values: np.ndarray, counts: np.ndarray, n_after: int, observed: float, *, draws: int, seed: int
) -> float:
    """:func:`unpaired_randomization_p` from the distinct pooled contributions and their counts."""
    total_n, total_d = counts @ values
    rng = np.random.default_rng(seed)
    found = 0
    block = max(1, _DRAW_CELLS // len(values))
    for start in range(0, draws, block):
        dealt = rng.multivariate_hypergeometric(counts, n_after, size=min(block, draws - start))
        n_a, d_a = (dealt @ values).T
        found += _extreme(_ratio(n_a, d_a) - _ratio(total_n - n_a, total_d - d_a), observed)
    return (found + 1) / (draws + 1)


def _class_randomization(
    cells: _ClassCells,
    parts: Mapping[str, tuple[np.ndarray, ...]],
    rest: Mapping[str, tuple[float, ...]],
    both: np.ndarray,
    sums: np.ndarray,
    paired: np.ndarray,
    *,
    draws: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Randomization p-values of a ratio metric (F1) for every class, as ``_metric_change``.

    Paired classes: only the examples whose contribution to the class changed can be
    swapped, so the exact or drawn relabellings are applied to those alone, for all the
    classes with the same number of them at once (:func:`_paired_randomization_many`).
    Unpaired classes: the pooled contributions take at most a few distinct values per
    class, counted without building per-example arrays; classes with the same counts and
    observed difference share one p-value (:func:`_dealt_p`). Either way each class gets
    the p-value :func:`paired_randomization_p` or :func:`unpaired_randomization_p` gives it.
    """
    k = cells.k
    (num_b, den_b, _), (num_a, den_a, _) = parts["before"], parts["after"]
    big_nb, big_db, big_na, big_da, n_a, n_b = sums.T
    observed = _ratio(big_na, big_da) - _ratio(big_nb, big_db)
    defined = ~np.isnan(observed)
    p = np.full(k, np.nan)
    test = np.full(k, "none", dtype=object)

    todo = defined & paired
    moved = (both > 0) & ((num_b != num_a) | (den_b != den_a)) & todo[cells.cls]
    c, dn, dd = cells.cls[moved], (num_b - num_a)[moved], (den_b - den_a)[moved]
    order = np.lexsort((dd, dn, c))
    c, dn, dd = c[order], dn[order], dd[order]
    m = np.bincount(c, minlength=k)
    offset = np.concatenate([[0], np.cumsum(m)[:-1]]).astype(np.int64)
    for size in np.unique(m[todo]):
        group = np.flatnonzero(todo & (m == size))
        at = offset[group][:, None] + np.arange(size)
        delta = np.stack([dn[at], dd[at]], axis=-1).reshape(len(group), size, 2)
        totals = np.column_stack([big_nb[group], big_db[group], big_na[group], big_da[group]])
        p[group] = _paired_randomization_many(
            delta, totals, observed[group], draws=draws, seed=seed
        )
    test[todo] = "randomization"

    todo = defined & ~paired & (n_b > 0) & (n_a > 0)
    if todo.any():
        pooled = [
            (cells.cls[use > 0], num[use > 0], den[use > 0], np.ones(int((use > 0).sum())))
            for num, den, use in (parts["before"], parts["after"])
        ]
        pooled += [
            (
                np.arange(k),
                np.full(k, side_rest[0]),
                np.full(k, side_rest[1]),
                cells.rest[side].astype(float),
            )
            for side, side_rest in rest.items()
            if side_rest[2] > 0
        ]
        cls, vn, vd, weight = (np.concatenate(column) for column in zip(*pooled, strict=True))
        keep = todo[cls] & (weight > 0)
        cls, vn, vd, weight = cls[keep], vn[keep], vd[keep], weight[keep]
        order = np.lexsort((vd, vn, cls))
        cls, vn, vd, weight = cls[order], vn[order], vd[order], weight[order]
        start = np.flatnonzero(
            np.r_[True, (np.diff(cls) != 0) | (np.diff(vn) != 0) | (np.diff(vd) != 0)]
        )
        counts = (
            np.rint(np.add.reduceat(weight, start)).astype(np.int64)
            if len(start)
            else np.zeros(0, dtype=np.int64)
        )
        cls, values = cls[start], np.column_stack([vn[start], vd[start]])
        bounds = np.searchsorted(cls, np.arange(k + 1))
        seen: dict[tuple, float] = {}
        for j in np.flatnonzero(todo):
            lo, hi = bounds[j], bounds[j + 1]
            key = (
                values[lo:hi].tobytes(),
                counts[lo:hi].tobytes(),
                int(n_a[j]),
                float(observed[j]),
            )
            if key not in seen:
                seen[key] = _dealt_p(
                    values[lo:hi],
                    counts[lo:hi],
                    int(n_a[j]),
                    float(observed[j]),
                    draws=draws,
                    seed=seed,
                )
            p[j] = seen[key]
        test[todo] = "randomization"
    return p, test


def _class_metric_change(
    cells: _ClassCells, spec: Metric, *, draws: int, seed: int
) -> pd.DataFrame:
    """Compare one metric for every class at once: ``_metric_change`` on all data, per class.

    The per-class sums are ``np.bincount`` over the listed (example, class) pairs plus the
    contribution of the examples that are a true negative of the class on a side (the same
    for all of them: :func:`_parts` of one such example, times their count). The tests are
    those of ``_metric_change``, run on arrays: McNemar's exact test where the class's
    counted examples are the same on both sides, else the two-proportion or Fisher's test,
    and randomization for F1 (:func:`_class_randomization`).
    """
    k = cells.k
    tn_only = {name: np.array([1.0 if name == "tn" else 0.0]) for name in ("tp", "fp", "fn", "tn")}
    parts, rest = {}, {}
    for side in ("before", "after"):
        parts[side] = tuple(
            np.asarray(v, dtype=float)
            for v in _parts(spec.name, cells.columns[side], cells.live[side])
        )
        rest[side] = tuple(float(v[0]) for v in _parts(spec.name, tn_only, np.ones(1)))

    def total(values: np.ndarray, each: float, count: np.ndarray) -> np.ndarray:
        return np.bincount(cells.cls, weights=values, minlength=k) + each * count

    (num_b, _, use_b), (num_a, _, use_a) = parts["before"], parts["after"]
    (nb0, _, ub0), (na0, _, ua0) = rest["before"], rest["after"]
    both = (cells.in_both & (use_b > 0) & (use_a > 0)).astype(float)
    both0 = float(ub0 > 0 and ua0 > 0)
    big_nb, big_db, n_b = (
        total(v, r, cells.rest["before"])
        for v, r in zip(parts["before"], rest["before"], strict=True)
    )
    big_na, big_da, n_a = (
        total(v, r, cells.rest["after"]) for v, r in zip(parts["after"], rest["after"], strict=True)
    )
    n_p = total(both, both0, cells.rest["both"])
    value_b, value_a = _ratio(big_nb, big_db), _ratio(big_na, big_da)
    paired = (n_p == n_b) & (n_p == n_a) & (n_p > 0)
    if spec.proportion:
        p = np.full(k, np.nan)
        test = np.full(k, "none", dtype=object)
        b = total(both * num_b * (1 - num_a), both0 * nb0 * (1 - na0), cells.rest["both"])
        c = total(both * (1 - num_b) * num_a, both0 * (1 - nb0) * na0, cells.rest["both"])
        p[paired] = mcnemar_exact_p(b[paired], c[paired])
        test[paired] = "mcnemar"
        p[~paired], test[~paired] = _two_proportion_once(
            big_nb[~paired], big_db[~paired], big_na[~paired], big_da[~paired]
        )
    else:
        sums = np.column_stack([big_nb, big_db, big_na, big_da, n_a, n_b])
        p, test = _class_randomization(
            cells, parts, rest, both, sums, paired, draws=draws, seed=seed
        )
    return pd.DataFrame(
        {
            "n_before": _counts(n_b),
            "n_after": _counts(n_a),
            "n_paired": _counts(n_p),
            "before": value_b,
            "after": value_a,
            "delta": value_a - value_b,
            "test": test,
            "p_value": p,
        }
    )


def compare_classes(
    before: Dataset,
    after: Dataset,
    *,
    metrics: Sequence[str] = DEFAULT_CLASS_METRICS,
    task: TaskSpec | None = None,
    alpha: float = 0.05,
    draws: int = RANDOMIZATION_DRAWS,
    seed: int = RANDOMIZATION_SEED,
) -> ClassComparison:
    """Compare two iterations class by class: precision, recall, F1 and the confusion matrices.

    Each class is scored one against the rest (TP: labelled and predicted it; FP: predicted
    it, labelled another; FN: labelled it, predicted another), on all examples, with the
    examples matched and relabelled examples scored as in :func:`compare_datasets`. Classes
    are matched across the files by :func:`core.values.class_keys` (``1`` and ``1.0`` are
    one class). The tests are those of :func:`compare_slice_metrics`: recall (the class's
    accuracy) and FNR get McNemar's exact test on the examples of the class where those
    examples are in both files, else the two-proportion (or Fisher's) test; FPR the same on
    the examples of the other classes; precision, counted on the examples predicted as the
    class, is paired only where those are the same examples; F1 approximate randomization.

    All classes are scored at once (:func:`_class_metric_change`): the counts come from
    ``np.bincount`` over the (example, class) pairs where the class is a label or
    prediction, the exact tests run on arrays, and Fisher's test once per distinct table.
    F1's randomization keeps its definition and seed: a paired class swaps only the
    examples whose contribution to it changed (enumerated up to
    :data:`EXACT_PAIRED_LIMIT`, else the seeded draws, shared by every class with the same
    number of them); an unpaired class deals its few distinct contributions, once per
    distinct set of counts. Each class gets the p-value :func:`paired_randomization_p` or
    :func:`unpaired_randomization_p` gives it; 10,000 classes take about a second.

    Parameters
    ----------
    before, after
        The two iterations' predictions (a binary or multiclass task).
    metrics
        Names from :data:`CLASS_METRICS` (``accuracy`` is the class's recall).
    task
        The task (default: inferred from AFTER's labels).
    alpha
        Significance level.
    draws, seed
        Random relabellings of the randomization tests and their seed.

    Returns
    -------
    ClassComparison

    Raises
    ------
    core.errors.InvalidValueError
        A task without classes (text, regression), a metric a class does not have, or
        ``alpha`` outside (0, 1).
    """
    if not 0 < alpha < 1:
        raise InvalidValueError(f"alpha must be between 0 and 1, got {alpha}")
    task = task or default_task(after)
    specs = [check_metric(m, task.kind, per_class=True) for m in dict.fromkeys(metrics)]
    before = _labels_from(before, after, label_differences(before, after))
    union = _union(before, after, ())
    names, codes = _class_codes(union, before, after)
    in_both = union.in_both()
    present = {side: union.present(side) for side in ("before", "after")}
    k = len(names)
    support = {
        side: np.bincount(codes[side][0][present[side]], minlength=k)
        for side in ("before", "after")
    }

    # All classes at once (_class_metric_change): a loop over classes costs seconds at 10,000.
    cells = _class_cells(codes, present, in_both, k)
    rows = {
        spec.name: _class_metric_change(
            cells,
            METRICS["recall" if spec.name == "accuracy" else spec.name],
            draws=draws,
            seed=seed,
        )
        for spec in specs
    }
    index = pd.Index(names, dtype=object, name="class")
    order = np.argsort(support["after"], kind="stable")  # rare classes first
    changes = {}
    reports = {
        side: compute_class_report(data.frame)
        for side, data in (("before", before), ("after", after))
    }
    for spec in specs:
        t = rows[spec.name]
        t.index = index
        t.insert(0, "kind", "class")
        t["scope"] = "all"
        metric = "recall" if spec.name == "accuracy" else spec.name
        for side, report in reports.items():
            report = report.set_axis(
                pd.Index(
                    class_keys(pd.Series(report.index.map(str), dtype=object)).to_numpy(
                        dtype=object
                    )
                )
            )
            keyed = pd.Index(class_keys(pd.Series(names, dtype=object)).to_numpy(dtype=object))
            for column, values in _intervals(report, metric, side).items():
                t[column] = values.reindex(keyed).to_numpy()
        changes[spec.name] = _finish_change(t, spec, alpha).iloc[order]
    table = pd.DataFrame(
        {"support_before": support["before"], "support_after": support["after"]}, index=index
    )
    for spec in specs:
        t = changes[spec.name].reindex(index)
        for column in ("before", "after", "delta", "test", "p_value", "significant"):
            table[f"{spec.name}_{column}"] = t[column].to_numpy()
    # Both matrices on the same classes, at most DEFAULT_MATRIX_CLASSES of them: the most
    # frequent over both sides, the others summed in "(other)" (core.metrics.fold_classes).
    sides = {
        side: (codes[side][0][present[side]], codes[side][1][present[side]])
        for side in ("before", "after")
    }
    totals = sum(np.bincount(v, minlength=k) for pair in sides.values() for v in pair)
    slot, shown = fold_classes(names, np.asarray(totals), max_classes=DEFAULT_MATRIX_CLASSES)
    m = len(shown)
    matrices = [
        pd.DataFrame(
            np.bincount(slot[y] * m + slot[p], minlength=m * m).reshape(m, m),
            index=pd.Index(shown, name="label"),
            columns=pd.Index(shown, name="prediction"),
        )
        for y, p in sides.values()
    ]
    return ClassComparison(table.iloc[order], changes, matrices[0], matrices[1])


# --------------------------------------------------------------------------- the gate


def _pick_rows(index: pd.Index, names: Sequence[str]) -> list:
    """Return the rows of ``index`` that ``names`` name (exactly, else by class key)."""
    keys = class_keys(pd.Series([str(i) for i in index], dtype=object)).tolist()
    picked: list = []
    for name in names:
        if name in index:
            picked.append(name)
            continue
        key = class_key(name)
        hits = [i for i, k in zip(index, keys, strict=True) if k is not None and k == key]
        if not hits:
            shown = ", ".join(repr(str(i)) for i in index[:15])
            more = f" and {len(index) - 15} more" if len(index) > 15 else ""
            raise InvalidValueError(
                f"{name!r} is not a row of the comparison; its rows are "
                f"{shown}{more} (write the name as the table shows it)"
            )
        picked += hits
    return list(dict.fromkeys(picked))


def find_regressions(
    comparison: pd.DataFrame, *, points: float = 0.0, names: Sequence[str] | None = None
) -> pd.DataFrame:
    """Return the rows that got worse by more than ``points`` and significantly so.

    Parameters
    ----------
    comparison
        A table of :func:`compare_datasets` or :func:`compare_tables` (accuracy: a row
        fails when its accuracy fell by more than ``points`` percentage points), or one
        metric's table of :func:`compare_slice_metrics` or :func:`compare_classes` (a row
        fails when ``worse_by`` exceeds ``points``: percentage points, label units for MAE;
        for FPR, FNR, WER and MAE a rise is worse).
    points
        The tolerated worsening, >= 0.
    names
        Only these rows (slice or class names as the table shows them; a class may be
        written in any spelling of it, ``1.0`` for ``1``); default: every row, ``All
        data`` included.

    Returns
    -------
    The failing rows, worst first.

    Raises
    ------
    core.errors.InvalidValueError
        A negative ``points``, or a name that is no row of the table.
    """
    if points < 0:
        raise InvalidValueError(
            f"the regression threshold is in points and cannot be negative, got {points}"
        )
    c = comparison if names is None else comparison.loc[_pick_rows(comparison.index, names)]
    if "worse_by" in c.columns:
        hit = c["regression"].to_numpy(bool) & (c["worse_by"].to_numpy(float) > points)
        return c[hit].sort_values("worse_by", ascending=False, kind="stable")
    hit = c["regression"].to_numpy(bool) & (c["delta"].to_numpy(float) < -points / 100)
    return c[hit].sort_values("delta", kind="stable")


def describe_regression(name: str, row: pd.Series) -> str:
    """One line for a row :func:`find_regressions` returned: what got worse, by how much, p.

    ``{name} fell 8.0 points (70.0% -> 62.0%, mcnemar p=0.00223)`` for accuracy tables;
    ``FPR of race = African-American rose 11.6 points (44.8% -> 56.4%, mcnemar
    p=2.1e-22)`` for a metric's table (``class 1`` for a class's row).
    """
    if "metric" not in row.index:
        return (
            f"{name} fell {-100 * row['delta']:.1f} points "
            f"({100 * row['accuracy_before']:.1f}% -> {100 * row['accuracy_after']:.1f}%, "
            f"{row['test']} p={row['p_value']:.3g})"
        )
    spec = METRICS[str(row["metric"])]
    who = f"class {name}" if row["kind"] == "class" else name
    verb = "fell" if (row["worse_by"] > 0) == spec.higher_is_better else "rose"
    if spec.percent:
        amount = f"{abs(row['worse_by']):.1f} points"
        values = f"{100 * row['before']:.1f}% -> {100 * row['after']:.1f}%"
    else:
        amount = f"{abs(row['worse_by']):.4g}"
        values = f"{row['before']:.4g} -> {row['after']:.4g}"
    return f"{spec.label} of {who} {verb} {amount} ({values}, {row['test']} p={row['p_value']:.3g})"


# --------------------------------------------------------------------------- history


def iteration_history(tables: Sequence[tuple[str, pd.DataFrame]]) -> pd.DataFrame:
    """Stack per-slice tables of successive iterations into one long table for a chart.

    Parameters
    ----------
    tables
        ``(iteration label, analysis table)`` pairs, oldest first; labels must be unique.

    Returns
    -------
    DataFrame with one row per (iteration, slice): ``iteration`` (the label), ``step``
    (0, 1, ... in the given order), ``slice``, ``kind``, ``n``, ``accuracy``, ``hlp``,
    ``gap`` (NaN where a table lacks a value).
    """
    labels = [label for label, _ in tables]
    if len(set(labels)) != len(labels):
        raise InvalidValueError("iteration labels must be unique to draw their history")
    cols = ["n", "accuracy", "hlp", "gap"]
    frames = []
    for step, (label, table) in enumerate(tables):
        part = pd.DataFrame(
            {
                c: (
                    table[c].astype(float)
                    if c in table.columns
                    else pd.Series(np.nan, index=table.index)
                )
                for c in cols
            },
            index=table.index,
        )
        part.insert(0, "kind", table["kind"].astype(object) if "kind" in table.columns else "tag")
        part.insert(0, "slice", [str(i) for i in table.index])
        part.insert(0, "step", step)
        part.insert(0, "iteration", label)
        frames.append(part.reset_index(drop=True))
    if not frames:
        return pd.DataFrame(columns=["iteration", "step", "slice", "kind", *cols])
    return pd.concat(frames, ignore_index=True)


def history_chart(history: pd.DataFrame, *, slices: Sequence[str] | None = None) -> go.Figure:
    """Draw each slice's accuracy (top) and gap to HLP (bottom) across iterations.

    ``history`` is :func:`iteration_history`'s output; ``slices`` limits the lines (default:
    all data and every tag).
    """
    from plotly.subplots import make_subplots

    h = history
    if slices is None:  # all data first (drawn thick and dark), then every tag
        slices = list(dict.fromkeys(h.loc[h["kind"] == "overall", "slice"]))
        slices += list(dict.fromkeys(h.loc[h["kind"] == "tag", "slice"]))
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08,
        subplot_titles=("Accuracy (%)", "Gap to HLP (points)"),
    )
    palette = [
        "#111827",
        "#2563eb",
        "#dc2626",
        "#16a34a",
        "#d97706",
        "#7c3aed",
        "#0891b2",
        "#db2777",
        "#65a30d",
        "#9ca3af",
    ]
    order = list(dict.fromkeys(h.sort_values("step")["iteration"]))
    for k, name in enumerate(slices):
        part = h[h["slice"] == name].sort_values("step")
        if part.empty:
            continue
        label = plot_text(name if name in (OVERALL, UNTAGGED) else display_name(name))
        color = palette[k % len(palette)]
        width = 3 if name == OVERALL else 2
        fig.add_scatter(
            x=part["iteration"],
            y=100 * part["accuracy"],
            mode="lines+markers",
            name=label,
            legendgroup=label,
            line={"color": color, "width": width},
            hovertemplate=f"{label}<br>%{{x}}: %{{y:.1f}}%<extra></extra>",
            row=1,
            col=1,
        )
        fig.add_scatter(
            x=part["iteration"],
            y=100 * part["gap"],
            mode="lines+markers",
            name=label,
            legendgroup=label,
            showlegend=False,
            line={"color": color, "width": width, "dash": "dot"},
            hovertemplate=f"{label}<br>%{{x}}: %{{y:+.1f}} pts<extra></extra>",
            row=2,
            col=1,
        )
    fig.add_hline(y=0, line_dash="dot", line_color="#6b7280", row=2, col=1)
    fig.update_xaxes(categoryorder="array", categoryarray=order, type="category")
    fig.update_layout(
        title="Each slice across the project's iterations",
        height=560,
        margin={"t": 70, "b": 40},
        hovermode="x unified",
    )
    return fig


def change_chart(comparison: pd.DataFrame) -> go.Figure:
    """Draw each slice's metric before and after as a dumbbell (red where it got worse).

    ``comparison`` is a table of :func:`compare_datasets` (accuracy) or one metric's table
    of :func:`compare_slice_metrics` (FPR, FNR, WER...: red where it rose).
    """
    import plotly.graph_objects as go

    c = comparison[comparison["kind"] != "untagged"]
    if "metric" in c.columns:
        spec = METRICS[str(c["metric"].iloc[0])] if len(c) else METRICS["accuracy"]
        before, after = c["before"], c["after"]
        worse = c["worse_by"].to_numpy(dtype=float) > 0
    else:
        spec = METRICS["accuracy"]
        before, after = c["accuracy_before"], c["accuracy_after"]
        worse = c["delta"].to_numpy(dtype=float) < 0
    scale, unit = (100, "%") if spec.percent else (1, "")
    names = [plot_text(n if n == OVERALL else display_name(n)) for n in c.index]
    fig = go.Figure()
    for name, b, a, bad in zip(names, before, after, worse, strict=True):
        color = "#dc2626" if bad else "#16a34a"
        fig.add_scatter(
            x=[scale * b, scale * a],
            y=[name, name],
            mode="lines",
            line={"color": color, "width": 3},
            showlegend=False,
            hoverinfo="skip",
        )
    fig.add_scatter(
        x=scale * before,
        y=names,
        mode="markers",
        name="Before",
        marker={"color": "#9ca3af", "size": 11},
        hovertemplate=f"%{{y}}: %{{x:.{1 if spec.percent else 3}f}}{unit}<extra>before</extra>",
    )
    fig.add_scatter(
        x=scale * after,
        y=names,
        mode="markers",
        name="After",
        marker={"color": "#2563eb", "size": 11},
        hovertemplate=f"%{{y}}: %{{x:.{1 if spec.percent else 3}f}}{unit}<extra>after</extra>",
    )
    label = spec.label[0].upper() + spec.label[1:]
    fig.update_layout(
        title=f"{label} before → after",
        xaxis_title=f"{label} (%)" if spec.percent else label,
        yaxis_autorange="reversed",
        height=120 + 40 * len(c),
        margin={"t": 60, "b": 40},
    )
    return fig
