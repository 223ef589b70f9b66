"""The global decisions of a load, taken once for the whole table: :class:`LoadPlan`.

:func:`core.dataset.prepare` decides some things from the whole table (roles, tag columns,
number formats, class spellings, quantile edges...). An engine that counts batch by batch
takes them from a :class:`LoadPlan` built by :func:`build_plan` from the answers of a
:class:`~core.batches.source.BatchSource`, and prepares every batch with the loader's own
code and these decisions pinned (:mod:`core.batches.pins`), so each batch's rows mean
what they mean in the pandas engine.

A problem in the data is raised as the pandas loader raises it: when a batch fails, the
table's columns are read whole and :func:`core.dataset.prepare` (with the analysis steps
that check values) runs on them, so the error's class and message are the loader's
(:mod:`core.batches.refusals`; memory then grows with the table, only on this path).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from slicewise.core.batches.pins import Pins, prepare_pinned
from slicewise.core.batches.source import Batch, BatchSource, Progress
from slicewise.core.column_parsing import as_text, is_text, mask_na_tokens, writes_no
from slicewise.core.column_roles import NO_COLUMN, ROLES, ColumnMapping, is_boolean_like
from slicewise.core.dataset import Dataset
from slicewise.core.errors import MissingValuesError, RowNumbers, format_rows
from slicewise.core.prepare_steps import MissingPolicy, Rows, check_table, check_threshold
from slicewise.core.task import TaskSpec
from slicewise.core.values import NumberFormat, infer_number_format

if TYPE_CHECKING:
    from slicewise.core.batches.role_classes import RoleClasses

#: Rows :func:`build_plan` reads to find the roles (as the app's column picker does).
HEAD_ROWS = 10_000
#: Distinct values above which a column is not a true/false tag column (as detection says).
_TAG_VALUES = 6


@dataclass(frozen=True)
class SliceSpec:
    """The slices of one ``slice_by`` column, decided over the whole table.

    Attributes
    ----------
    column
        The column as the user named it; ``field`` the loader's frame column it reads.
    edges
        Quantile bin edges (ascending, distinct) when the column is cut into bins, else
        ``None``.
    values
        The column's distinct values in slice order (no bins), as the loader types them.
    names
        One slice name per code (bins or values, then ``(missing)`` when ``missing``).
    missing
        Whether a ``(missing)`` slice comes last.
    """

    column: str
    field: str
    edges: tuple[float, ...] | None
    values: tuple[Any, ...]
    names: tuple[str, ...]
    missing: bool


@dataclass(frozen=True)
class LoadPlan:
    """Every whole-table decision of a load and an analysis (frozen and picklable).

    Attributes
    ----------
    source_name
        The file name messages start with.
    mapping
        The resolved roles (:class:`core.column_roles.ColumnMapping`).
    columns
        The table columns a batch needs (the roles but the id, the sliced columns).
    load
        The :func:`core.dataset.prepare` options a batch is prepared with (``pins``
        included).
    task
        The task (given, else inferred as :func:`core.analysis.default_task` does).
    tags
        The tags, in the loader's order; ``blank_tags`` those whose "no" is a blank cell.
    slices
        One :class:`SliceSpec` per ``slice_by`` column; ``info`` the slice info of
        :func:`core.metrics.build_slices` (tags then column slices), ``same_as`` not yet set.
    rows, kept
        Rows of the table, and rows kept (not missing a label or prediction).
    warnings
        The load's warnings (rows left out, prediction from a score, ambiguous numbers).
    apart
        Role columns the plan checked whole and the counting passes leave out (a score no
        threshold reads and no slice cuts): ``count_columns`` and ``count_load`` omit them.
    bins
        ``(table column, edges)`` of the sliced metadata columns cut into bins whose cells
        the loader reads as plain numbers: a source may merge a bin's rows when counting.
    roles
        The role cells in classes of equal outcomes, for a source that merges the counting
        pass's rows by them (:mod:`core.batches.role_classes`), or ``None``.
    ids_later
        The id checks run in the background and end in
        :func:`core.batches.planning.check_plan_ids` (``build_plan(defer_ids=True)``).
    """

    source_name: str
    mapping: ColumnMapping
    columns: tuple[str, ...]
    load: dict[str, Any]
    task: TaskSpec
    tags: tuple[str, ...]
    blank_tags: tuple[str, ...]
    slices: tuple[SliceSpec, ...]
    info: pd.DataFrame
    rows: int
    kept: int
    warnings: tuple[str, ...] = field(default=())
    apart: tuple[str, ...] = field(default=())
    bins: tuple[tuple[str, tuple[float, ...]], ...] = field(default=())
    ids_later: bool = False
    roles: RoleClasses | None = None

    @property
    def pins(self) -> Pins:
        """The decisions a batch is prepared with."""
        return self.load["pins"]

    @property
    def count_load(self) -> dict[str, Any]:
        """:attr:`load` for the counting pass (the :attr:`apart` roles switched off)."""
        return without(self.apart, self.load, self.columns)[0]

    @property
    def count_columns(self) -> tuple[str, ...]:
        """:attr:`columns` the counting pass reads (not the :attr:`apart` ones)."""
        return without(self.apart, self.load, self.columns)[1]


def without(
    apart: Sequence[str], load: dict[str, Any], columns: Sequence[str]
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Return ``load`` and ``columns`` with the ``apart`` role columns left out."""
    if not apart:
        return load, tuple(columns)
    mapping = load["mapping"]
    off = {r: NO_COLUMN for r in ROLES if getattr(mapping, r) in apart}
    kept = tuple(c for c in columns if c not in apart)
    return {**load, "mapping": replace(mapping, **off)}, kept


@dataclass(frozen=True)
class BatchRowNumbers(RowNumbers):
    """The file's numbering of a batch's rows: position ``p`` is the file's row ``at[p]``.

    ``at``: the 0-based positions in the file of the batch's rows (``Batch.first_rows``).
    """

    at: np.ndarray | None = field(default=None, compare=False)

    def of(self, positions: Sequence[int]) -> list[int]:
        """Return the file row numbers of 0-based positions in the batch."""
        at = self.at
        return super().of([int(at[int(p)]) if at is not None else int(p) for p in positions])


def batch_numbering(source: BatchSource, batch: Batch) -> RowNumbers:
    """How messages number ``batch``'s rows: the file's rows its ``first_rows`` name."""
    base = numbering_of(source)
    if batch.first_rows is None:
        return base
    return BatchRowNumbers(base.first, base.skipped, np.asarray(batch.first_rows))


def prepare_batch(
    rows: pd.DataFrame, plan_load: dict[str, Any], numbering: RowNumbers
) -> tuple[Dataset, Rows]:
    """Prepare a batch's cells with the loader's code and the plan's decisions pinned.

    ``plan_load``: :attr:`LoadPlan.load` (:func:`core.batches.pins.prepare_pinned`'s
    options). The dataset's ``id`` column holds each kept row's position in the batch.
    """
    rows = rows.copy(deep=False)
    numbering.attach(rows)
    return prepare_pinned(rows, **plan_load, numbering=numbering)


def numbering_of(source: BatchSource) -> RowNumbers:
    """How ``source`` numbers its rows in messages."""
    return RowNumbers(source.first_row_number, tuple(getattr(source, "skipped_rows", ())))


def resolve_roles(
    source: BatchSource,
    mapping: ColumnMapping | None,
    *,
    missing: MissingPolicy,
    na_values: Iterable[str],
    threshold: float | None,
) -> tuple[ColumnMapping, dict[str, list[Any]], tuple[str, ...]]:
    """Find the roles from the head and the tag columns from the whole table.

    Returns
    -------
    (the mapping, each tag column's distinct values over the table, the na-value texts)

    Raises
    ------
    DataError
        As :func:`core.column_roles.resolve_mapping` and
        :func:`core.prepare_steps.check_table` raise.
    """
    from slicewise.core.column_roles import resolve_mapping

    file = source.source_name
    head, na = check_table(source.head(HEAD_ROWS), file, missing=missing, na_values=na_values)
    threshold = check_threshold(threshold, mapping, file)
    resolved = resolve_mapping(head, mapping, file=file, require_prediction=threshold is None)
    detected = mapping is None or mapping.tag_columns is None
    if detected and resolved.tags_column is None:
        tag_cols = _tag_pool(head, resolved)  # the head may not show a tag's "true" yet
    else:
        tag_cols = list(resolved.tag_columns or ())
    counts = source.value_counts(tag_cols, limit=_TAG_VALUES + len(na) + 1) if tag_cols else {}
    distinct: dict[str, list[Any]] = {}
    for c in tag_cols:
        values = _present(counts.get(c), na)
        if values is not None:
            distinct[c] = values
    if detected and resolved.tags_column is None:
        kept = tuple(
            c
            for c in tag_cols
            if c in distinct
            and is_boolean_like(pd.Series(distinct[c], dtype=object, name=c))
            or pd.api.types.is_bool_dtype(head[c])
        )
        resolved = replace(resolved, tag_columns=kept)
    return resolved, distinct, na


def _tag_pool(head: pd.DataFrame, mapping: ColumnMapping) -> list[str]:
    """Columns that may be tags over the whole table (file order), from the table's head.

    :func:`core.column_roles.detect_tag_columns`' rule but for the values: a column whose
    head holds only true/false words (or none) may still show its one "true" word later;
    a column with another word or too many values in its head cannot be a tag.
    """
    from slicewise.core.column_roles import find_role_candidates, is_tag_name

    cands = find_role_candidates(head)
    named = {c for role, cs in cands.items() if role != "tags_column" for c in cs}
    used = {getattr(mapping, r) for r in ROLES}
    return [
        c
        for c in head.columns
        if c not in used and c not in named and is_tag_name(c) and _may_be_tag(head[c])
    ]


def _may_be_tag(col: pd.Series) -> bool:
    """Whether ``col`` holds at most true/false words (:func:`is_boolean_like`'s tokens)."""
    from slicewise.core.column_parsing import FALSE_TOKENS, TRUE_TOKENS, distinct_present

    if pd.api.types.is_bool_dtype(col):
        return True
    try:
        uniques = distinct_present(col, limit=_TAG_VALUES)
    except TypeError:  # unhashable cells (lists from Parquet)
        return False
    if uniques is None:
        return False
    tokens = {str(v).strip().lower() for v in uniques}
    tokens = {t[:-2] if t in ("1.0", "0.0") else t for t in tokens}
    return tokens <= (TRUE_TOKENS | FALSE_TOKENS)


def _present(counts: pd.Series | None, na: tuple[str, ...]) -> list[Any] | None:
    """Return the distinct values of ``counts``' index that are not declared missing or blank."""
    if counts is None:
        return None
    cells = pd.DataFrame({"v": pd.Series(counts.index, dtype=object)})
    cells = mask_na_tokens(cells, na)["v"]
    return [v for v in cells if v is not None and not (isinstance(v, float) and v != v)]


def batch_mapping(mapping: ColumnMapping) -> ColumnMapping:
    """Return the mapping a batch is prepared with: every role decided, the id switched off."""
    roles = {r: (getattr(mapping, r) or NO_COLUMN) for r in ROLES if r not in ("label",)}
    roles["id"] = NO_COLUMN
    return replace(mapping, **roles, tag_columns=tuple(mapping.tag_columns or ()))


def needed_columns(mapping: ColumnMapping, sliced: Sequence[str]) -> tuple[str, ...]:
    """Return the table columns a batch needs: the roles (not the id) and the sliced columns."""
    roles = [getattr(mapping, r) for r in ROLES if r != "id"]
    wanted = [*roles, *(mapping.tag_columns or ()), *sliced]
    return tuple(dict.fromkeys(c for c in wanted if c))


def column_format(
    cells: pd.Series, *, decimal: str | None, thousands: str | None
) -> NumberFormat | str | None:
    """How a text column writes numbers, from its distinct cells (the loader's rule).

    :func:`core.values.infer_number_format` looks at each cell alone (which formats it fits,
    whether they read it alike), so the distinct cells decide as the whole column does.
    """
    text = as_text(cells).dropna()
    return infer_number_format(text, decimal=decimal, thousands=thousands)


def number_shapes(cells: pd.Series) -> pd.Series:
    """One cell per *shape* of ``cells`` (trimmed text): what decides its number format.

    A shape writes every digit as ``1`` but a ``0`` that starts a run of digits (the
    formats refuse leading zeros), so two cells of one shape fit the same formats; of
    each shape the greatest cell is kept (a non-zero one when there is one: ``0,000``
    reads alike in two formats, ``1,000`` does not). Returns the kept cells (object).
    """
    text = as_text(cells).dropna().astype(str)
    text = text[text != ""]
    if not len(text):
        return pd.Series([], dtype=object)
    kept = text.groupby(_shapes(text), sort=False).max()
    return pd.Series(kept.to_numpy(dtype=object), dtype=object)


def _shapes(text: pd.Series) -> np.ndarray:
    """Return each cell's shape (:func:`number_shapes`): on bytes when every cell is ASCII.

    Else pandas' regexes (whose digit class holds any Unicode digit, as bytes cannot).
    """
    fast = _ascii_shapes(text) if not text.str.contains("\x00", regex=False).any() else None
    if fast is not None:
        return fast
    ones = text.str.replace(r"[1-9]", "1", regex=True)
    return ones.str.replace(r"(?<=\d)0", "1", regex=True).to_numpy(dtype=object)


def _ascii_shapes(text: pd.Series) -> np.ndarray | None:
    """Shapes of ASCII cells as bytes, on a byte matrix (``None`` when a cell is not ASCII)."""
    try:
        cells = text.to_numpy(dtype=object).astype("S")
    except UnicodeEncodeError:
        return None
    width = cells.dtype.itemsize
    b = cells.view(np.uint8).reshape(len(cells), width)
    digit = (b >= ord("0")) & (b <= ord("9"))
    after = np.zeros_like(digit)
    after[:, 1:] = digit[:, :-1]
    ones = np.where(digit & ((b != ord("0")) | after), np.uint8(ord("1")), b)
    return ones.reshape(-1).view(f"S{width}")


def distinct_cells(source: BatchSource, column: str, na: tuple[str, ...]) -> pd.Series:
    """Return the distinct present cells of ``column`` over the whole table (object dtype)."""
    counts = source.value_counts([column], limit=1_000_000).get(column)
    if counts is None:
        seen: list[np.ndarray] = []
        for batch in source.batches([column], group=True):
            seen.append(pd.unique(batch.rows[column].dropna().to_numpy(dtype=object)))
        values = pd.unique(np.concatenate(seen)) if seen else np.array([], dtype=object)
        counts = pd.Series(1, index=pd.Index(values, dtype=object))
    return pd.Series(_present(counts, na) or [], dtype=object)


def each_batch(
    source: BatchSource,
    plan_load: dict[str, Any],
    columns: Sequence[str],
    *,
    group: bool = True,
    progress: Progress | None = None,
) -> Iterable[tuple[Batch, Dataset, Rows]]:
    """Yield every batch of ``source`` with its prepared dataset (batches losing all rows too)."""
    for batch in source.batches(columns, group=group, progress=progress):
        if not len(batch.rows):
            continue
        yield batch, *prepare_batch(batch.rows, plan_load, batch_numbering(source, batch))


def drop_warning(file: str, dropped: list[int], n_dropped: int, rows: int, numbering: Any) -> str:
    """Return the loader's warning for rows left out (:func:`core.prepare_steps.drop_rows`)."""
    listed = format_rows(dropped + [-1] * (n_dropped - len(dropped)), numbering=numbering)
    return (
        f"{file}: left out {n_dropped} of {rows} rows with a missing label or prediction ({listed})"
    )


def check_kept(file: str, kept: int) -> None:
    """Refuse a table where every row misses a label or a prediction."""
    if not kept:
        raise MissingValuesError(f"{file}: every row misses a label or a prediction")


def blank_tag_names(
    head: pd.DataFrame, mapping: ColumnMapping, distinct: dict[str, list[Any]], tags: Sequence[str]
) -> tuple[str, ...]:
    """Return the tags whose "no" is a blank cell (:func:`core.prepare_steps.read_tags`' rule)."""
    blank = set(tags) - set(mapping.tag_columns or ())
    for c in mapping.tag_columns or ():
        bool_col = c in head.columns and pd.api.types.is_bool_dtype(head[c])
        if bool_col or writes_no(distinct.get(c, ())):
            blank.discard(c)
        else:
            blank.add(c)
    return tuple(t for t in tags if t in blank)


def metadata_kind(fmt: NumberFormat | str | None) -> str:
    """``float`` for a numeric column (``int`` is decided once its values are seen)."""
    return "float" if isinstance(fmt, NumberFormat) else "text"


def is_text_column(head: pd.DataFrame, column: str) -> bool:
    """Whether the reader holds ``column`` as text (else it keeps its types)."""
    return is_text(head[column])


def weighted_quantiles(values: np.ndarray, weights: np.ndarray, qs: np.ndarray) -> np.ndarray:
    """``np.nanquantile`` (linear rule) of the column whose distinct values are ``values``.

    ``values``: sorted distinct floats (no NaN), each standing for ``weights`` rows; the
    order statistics are found from the cumulative weights and interpolated with numpy's
    own arithmetic, so the result is numpy's on the whole column, bit for bit.
    """
    from numpy.lib._function_base_impl import _compute_virtual_index, _lerp

    n = int(weights.sum())
    ends = np.cumsum(weights)
    virtual = np.asanyarray(_compute_virtual_index(n, qs, 1, 1))
    previous = np.floor(virtual).astype(np.intp)
    nxt = previous + 1
    above = virtual >= n - 1
    previous[above], nxt[above] = n - 1, n - 1
    below = virtual < 0
    previous[below], nxt[below] = 0, 0
    gamma = np.asanyarray(virtual - np.where(above, -1, previous))
    at = values[np.searchsorted(ends, previous, side="right")]
    after = values[np.searchsorted(ends, nxt, side="right")]
    return np.asarray(_lerp(at, after, gamma), dtype=float)


def slice_spec(
    column: str, field: str, values: pd.Series, *, bins: int, cap: int, before: int, file: str
) -> SliceSpec:
    """Decide one ``slice_by`` column's slices from its weighted distinct values.

    ``values``: the loader's typed values of the kept rows (index, NaN/None included) with
    their row counts; the rules are :func:`core.metrics.build_slices`'.
    """
    from slicewise.core import limits
    from slicewise.core.metrics.slices import infinite_ends
    from slicewise.core.slice_names import bin_slice_names, missing_slice_name, value_slice_name

    present = values[values.index.notna()]
    has_missing = bool(len(present) < len(values))
    index = present.index
    numeric = pd.api.types.is_numeric_dtype(index) and not pd.api.types.is_bool_dtype(index)
    if numeric and len(present) > bins:
        order = np.argsort(index.to_numpy(dtype=float), kind="stable")
        sorted_values = index.to_numpy(dtype=float)[order]
        weights = present.to_numpy()[order]
        finite = np.isfinite(sorted_values)
        qs = np.linspace(0, 1, bins + 1)
        edges = (
            weighted_quantiles(sorted_values[finite], weights[finite], qs)
            if finite.any()
            else np.array([np.nan])
        )
        edges = infinite_ends(np.unique(edges), sorted_values)
        names = bin_slice_names(column, edges)
        spec_edges: tuple[float, ...] | None = tuple(float(e) for e in edges)
        kept: tuple[Any, ...] = ()
    else:
        limits.check_slice_count(
            len(present) + int(has_missing), column=column, source=file, cap=cap, before=before
        )
        _, uniques = pd.factorize(pd.Series(index.to_numpy()), sort=True)
        kept = tuple(uniques)
        names = [value_slice_name(column, u) for u in kept]
        spec_edges = None
    if has_missing:
        names = [*names, missing_slice_name(column)]
    limits.check_slice_count(len(names), column=column, source=file, cap=cap, before=before)
    return SliceSpec(column, field, spec_edges, kept, tuple(names), has_missing)


def slice_codes(values: pd.Series, spec: SliceSpec) -> np.ndarray:
    """Each row's slice code under ``spec`` (int64, shape ``(n_rows,)``; -1: no slice)."""
    if spec.edges is not None:
        arr = values.to_numpy(dtype=float)
        edges = np.asarray(spec.edges)
        codes = np.searchsorted(edges[1:-1], arr, side="right").astype(np.int64)
        missing = np.isnan(arr)
    else:
        if isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype(object)
        codes = pd.Index(pd.Series(spec.values, dtype=values.dtype)).get_indexer(values)
        codes = codes.astype(np.int64)
        missing = values.isna().to_numpy(dtype=bool)
    if spec.missing:
        codes[missing] = len(spec.names) - 1
    return codes


def build_plan(
    source: BatchSource,
    *,
    mapping: ColumnMapping | None = None,
    missing: MissingPolicy = "fail",
    positive: str | None = None,
    threshold: float | None = None,
    na_values: Iterable[str] = (),
    decimal: str | None = None,
    thousands: str | None = None,
    task: str | None = None,
    spec: TaskSpec | None = None,
    slice_by: Sequence[str] = (),
    bins: int = 4,
    max_slices: int | None = None,
    progress: Progress | None = None,
    defer_ids: bool = False,
) -> LoadPlan:
    """Take every whole-table decision of loading and analysing ``source``.

    Parameters are :func:`core.dataset.load_dataset`'s (``task`` the load's task kind),
    ``spec`` :func:`core.analysis.analyze`'s task (inferred from the first 50,000 kept
    labels when ``None``, as :func:`core.analysis.default_task`), and ``slice_by``,
    ``bins``, ``max_slices`` :func:`core.metrics.build_slices`'. One grouped pass over the
    needed columns (``progress(rows, total)``) finds class spellings and sliced values.
    ``defer_ids``: a source that can scan ids in the background does, and the caller ends
    the id checks with :func:`core.batches.planning.check_plan_ids` (``ids_later``).

    Raises
    ------
    DataError
        The pandas engine's error for the same table, class and message
        (:func:`raise_as_loaded`).
    """
    options = dict(
        mapping=mapping, missing=missing, positive=positive, threshold=threshold,
        na_values=tuple(na_values), decimal=decimal, thousands=thousands, task=task,
        spec=spec, slice_by=tuple(slice_by), bins=bins, max_slices=max_slices,
    )  # fmt: skip
    from slicewise.core.batches.planning import plan_table
    from slicewise.core.batches.refusals import guarded

    return guarded(source, options, lambda: plan_table(source, options, progress, defer_ids))
