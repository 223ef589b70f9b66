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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from core.analysis import default_task, slice_kinds
from core.charts import plot_text
from core.dataset import ColumnMapping, Dataset
from core.errors import InvalidValueError
from core.metrics import (
    build_slices,
    compute_outcomes,
    compute_slice_counts,
    compute_slice_metrics,
    mcnemar_exact_p,
    sum_by_slice,
)
from core.prioritize import display_name
from core.slice_names import (
    OVERALL,
    UNTAGGED,
    resolve_slice_column,
    slice_by_choices,
    tag_rows,
)
from core.tag_scope import infer_row_scopes
from core.task import TaskSpec
from core.values import class_keys

_erfc = np.frompyfunc(math.erfc, 1, 1)

if TYPE_CHECKING:  # plotly and scipy.stats load only when a chart or Fisher's test is needed
    import plotly.graph_objects as go

#: Values of the ``test`` column.
TESTS = ("mcnemar", "two-proportion", "fisher", "none")
#: Below this expected cell count the two-proportion z-test gives way to Fisher's exact test.
MIN_EXPECTED = 5.0

#: Columns of :func:`compare_datasets` and :func:`compare_tables`, in order.
COMPARE_COLUMNS: tuple[str, ...] = (
    "kind", "n_before", "n_after", "n_paired", "accuracy_before", "accuracy_after", "delta",
    "hlp_before", "hlp_after", "gap_before", "gap_after", "right_to_wrong", "wrong_to_right",
    "test", "p_value", "significant", "regression", "improvement",
    "worse_while_overall_better", "scope",
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
            text = (f"the same {self.n_matched:,} examples in both (matched {how}): "
                    "paired tests (McNemar)")
        elif self.n_matched == 0:
            text = ("no example id appears in both: unpaired tests (two-proportion z-test, "
                    "Fisher's exact test for small counts)")
        else:
            word = "example" if self.n_matched == 1 else "examples"
            text = (f"{self.n_matched:,} {word} in both, {self.n_before - self.n_matched:,} "
                    f"only before, {self.n_after - self.n_matched:,} only after: paired tests "
                    "where a slice holds the same examples on both sides, unpaired elsewhere")
        if self.ids_are_row_numbers:
            text += "; a file has no id column, so rows were matched by their position"
        if self.labels_changed:
            word = "example has" if self.labels_changed == 1 else "examples have"
            text += (f"; {self.labels_changed:,} shared {word} a different label in the two "
                     "files: both sides are scored against the after file's label (one label "
                     "per example), so the change is the model's, not the labels'")
        return text


def describe_pairing(before: Dataset, after: Dataset) -> Pairing:
    """Count how the examples of ``before`` and ``after`` match by id (compared as text)."""
    ids_b = pd.Index(before.frame["id"].astype(str))
    ids_a = pd.Index(after.frame["id"].astype(str))
    return Pairing(len(ids_b), len(ids_a), int(ids_b.isin(ids_a).sum()),
                   before.mapping.id is None or after.mapping.id is None,
                   labels_changed=len(label_differences(before, after)))


@dataclass(frozen=True)
class _Union:
    dataset: Dataset  # the union of the examples, with the union of the tags
    pos_before: np.ndarray  # row of each BEFORE example in the union
    pos_after: np.ndarray


def union_tag_names(before: Dataset, after: Dataset) -> list[str]:
    """Return the tags of a comparison: AFTER's, then those only BEFORE has (as text)."""
    return list(dict.fromkeys([*map(str, after.tags.columns), *map(str, before.tags.columns)]))


def _slice_column(dataset: Dataset, name: str) -> pd.Series | None:
    """Return the values ``slice_by=name`` means in ``dataset`` (None: no such column)."""
    column = resolve_slice_column(name, columns=dataset.frame.columns, mapping=dataset.mapping)
    return None if column is None else dataset.frame[column]


def _union(before: Dataset, after: Dataset, slice_by: Sequence[str]) -> _Union:
    """Stack the examples of both tables (AFTER first) with the union of their tags."""
    ids_a = after.frame["id"].astype(str).reset_index(drop=True)
    ids_b = before.frame["id"].astype(str).reset_index(drop=True)
    only_b = ~ids_b.isin(pd.Index(ids_a)).to_numpy()
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
            known = [*slice_by_choices(after.metadata_columns, columns=after.frame.columns,
                                       mapping=after.mapping),
                     *slice_by_choices(before.metadata_columns, columns=before.frame.columns,
                                       mapping=before.mapping)]
            raise InvalidValueError(
                f"cannot slice by {col!r}: neither {before.source_name} nor "
                f"{after.source_name} has that column; columns: "
                f"{', '.join(map(repr, dict.fromkeys(known)))}")
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
    union = Dataset(frame=frame, tags=pd.DataFrame(tags, columns=pd.Index(names, dtype=object)),
                    mapping=ColumnMapping(), source_name=f"{before.source_name} + "
                                                          f"{after.source_name}")
    return _Union(union, pos_b, pos_a)


# --------------------------------------------------------------------------- tests


def two_proportion_p(k1: np.ndarray, n1: np.ndarray, k2: np.ndarray,
                     n2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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
) -> pd.DataFrame:
    """Compare two prediction tables slice by slice (see the module notes for the tests).

    Parameters
    ----------
    before, after
        The two iterations' predictions; examples are matched by id (as text).
    task
        How a prediction is judged (default: inferred from AFTER's labels).
    slice_by, bins
        Metadata columns to slice by, as in :func:`core.metrics.build_slices`.
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
    task = task or default_task(after)
    changed = label_differences(before, after)
    before = _labels_from(before, after, changed)
    union = _union(before, after, slice_by)
    membership, info = build_slices(union.dataset, slice_by=slice_by, bins=bins)
    tag_columns = tag_rows(info)
    m = membership.to_numpy(dtype=bool)

    sides = {}
    correct = {}
    for side, data, pos in (("before", before, union.pos_before),
                            ("after", after, union.pos_after)):
        outcomes = compute_outcomes(data.frame.reset_index(drop=True), task,
                                    source=data.source_name)
        part = pd.DataFrame(m[pos], columns=membership.columns)
        counts = compute_slice_counts(part, outcomes, tag_columns=tag_columns)
        sides[side] = compute_slice_metrics(counts, task=task, hlp=hlp, alpha=alpha)
        flags = np.zeros(len(union.dataset.frame))
        flags[pos] = outcomes["correct"].to_numpy(dtype=float)
        correct[side] = flags.astype(bool)

    in_both = np.zeros(len(union.dataset.frame), dtype=bool)
    in_both[union.pos_before[np.isin(union.pos_before, union.pos_after)]] = True
    cb, ca = correct["before"], correct["after"]
    paired = [in_both, in_both & cb & ~ca, in_both & ~cb & ca]  # build_slices puts tags first
    paired_sums = sum_by_slice(m, [v.astype(np.float32) for v in paired],
                               tag_positions=range(len(tag_columns)))[:, 1:]
    b, a = sides["before"], sides["after"]
    out = pd.DataFrame(index=b.index)
    out["kind"] = slice_kinds(out.index, info)
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
    on_errors = set()
    for side, data in (("before", before), ("after", after)):
        scopes = infer_row_scopes(sides[side], info, tag_scopes, blank_tags=data.blank_tags)
        on_errors |= {row for row, scope in scopes.items() if scope == "errors"}
    out["scope"] = np.where(out.index.isin(list(on_errors)), "errors", "all").astype(object)
    unknown = (out["scope"] == "errors").to_numpy()
    out.loc[unknown, ["accuracy_before", "accuracy_after", "delta", "gap_before",
                      "gap_after"]] = np.nan
    n_b, n_a, n_p = (out[c].to_numpy() for c in ("n_before", "n_after", "n_paired"))
    paired = (n_p == n_b) & (n_p == n_a) & (n_p > 0)
    k_b = n_b - b["errors"].to_numpy()
    k_a = n_a - a["errors"].to_numpy()
    p_unpaired, test_unpaired = two_proportion_p(k_b, n_b, k_a, n_a)
    p_paired = mcnemar_exact_p(out["right_to_wrong"].to_numpy(), out["wrong_to_right"].to_numpy())
    out["test"] = np.where(unknown, "none", np.where(paired, "mcnemar", test_unpaired)
                           ).astype(object)
    out["p_value"] = np.where(unknown, np.nan, np.where(paired, p_paired, p_unpaired))
    out = _finish(out, alpha)
    out.attrs["labels_changed"] = len(changed)
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
    return pd.DataFrame({"id": ids_a.iloc[rows_a[differ]].to_numpy(dtype=object),
                         "label_before": label_b.to_numpy(dtype=object)[differ],
                         "label_after": label_a.to_numpy(dtype=object)[differ]})


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


def compare_tables(before: pd.DataFrame, after: pd.DataFrame, *,
                   alpha: float = 0.05) -> pd.DataFrame:
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
            raise InvalidValueError(f"the {name} table has no {', '.join(missing)} column; "
                                    "give a table of core.analysis.analyze")
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
    out["worse_while_overall_better"] = [str(i) for i in
                                         worse.sort_values("delta", kind="stable").index]
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
        "delta", kind="stable")
    shown = set(worse.index) | set(regress.index)
    others = [i for i in rest.index if i not in shown]
    last = list(c.index[c["kind"] == "untagged"])
    return c.loc[first + list(worse.index) + list(regress.index) + others + last]


def find_regressions(comparison: pd.DataFrame, *, points: float = 0.0) -> pd.DataFrame:
    """Return the rows whose accuracy fell by more than ``points`` percentage points, significantly.

    ``All data`` counts like any slice. Worst first.
    """
    if points < 0:
        raise InvalidValueError(f"the regression threshold is in points and cannot be "
                                f"negative, got {points}")
    c = comparison
    hit = c["regression"].to_numpy(bool) & (c["delta"].to_numpy(float) < -points / 100)
    return c[hit].sort_values("delta", kind="stable")


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
        part = pd.DataFrame({c: (table[c].astype(float) if c in table.columns
                                 else pd.Series(np.nan, index=table.index)) for c in cols},
                            index=table.index)
        part.insert(0, "kind", table["kind"].astype(object) if "kind" in table.columns
                    else "tag")
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
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=("Accuracy (%)", "Gap to HLP (points)"))
    palette = ["#111827", "#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2",
               "#db2777", "#65a30d", "#9ca3af"]
    order = list(dict.fromkeys(h.sort_values("step")["iteration"]))
    for k, name in enumerate(slices):
        part = h[h["slice"] == name].sort_values("step")
        if part.empty:
            continue
        label = plot_text(name if name in (OVERALL, UNTAGGED) else display_name(name))
        color = palette[k % len(palette)]
        width = 3 if name == OVERALL else 2
        fig.add_scatter(x=part["iteration"], y=100 * part["accuracy"], mode="lines+markers",
                        name=label, legendgroup=label, line={"color": color, "width": width},
                        hovertemplate=f"{label}<br>%{{x}}: %{{y:.1f}}%<extra></extra>",
                        row=1, col=1)
        fig.add_scatter(x=part["iteration"], y=100 * part["gap"], mode="lines+markers",
                        name=label, legendgroup=label, showlegend=False,
                        line={"color": color, "width": width, "dash": "dot"},
                        hovertemplate=f"{label}<br>%{{x}}: %{{y:+.1f}} pts<extra></extra>",
                        row=2, col=1)
    fig.add_hline(y=0, line_dash="dot", line_color="#6b7280", row=2, col=1)
    fig.update_xaxes(categoryorder="array", categoryarray=order, type="category")
    fig.update_layout(title="Each slice across the project's iterations", height=560,
                      margin={"t": 70, "b": 40}, hovermode="x unified")
    return fig


def change_chart(comparison: pd.DataFrame) -> go.Figure:
    """Draw each slice's accuracy before and after as a dumbbell (red where it fell)."""
    import plotly.graph_objects as go

    c = comparison[comparison["kind"] != "untagged"]
    names = [plot_text(n if n == OVERALL else display_name(n)) for n in c.index]
    fig = go.Figure()
    for name, b, a, d in zip(names, c["accuracy_before"], c["accuracy_after"], c["delta"],
                             strict=True):
        color = "#dc2626" if d < 0 else "#16a34a"
        fig.add_scatter(x=[100 * b, 100 * a], y=[name, name], mode="lines",
                        line={"color": color, "width": 3}, showlegend=False, hoverinfo="skip")
    fig.add_scatter(x=100 * c["accuracy_before"], y=names, mode="markers", name="Before",
                    marker={"color": "#9ca3af", "size": 11},
                    hovertemplate="%{y}: %{x:.1f}%<extra>before</extra>")
    fig.add_scatter(x=100 * c["accuracy_after"], y=names, mode="markers", name="After",
                    marker={"color": "#2563eb", "size": 11},
                    hovertemplate="%{y}: %{x:.1f}%<extra>after</extra>")
    fig.update_layout(title="Accuracy before → after", xaxis_title="Accuracy (%)",
                      yaxis_autorange="reversed", height=120 + 40 * len(c),
                      margin={"t": 60, "b": 40})
    return fig
