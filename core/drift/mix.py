"""Production slice mix: each slice's share in production, and the accuracy to expect there.

A *production sample* is a table of predictions (labels optional) from the traffic a model
now serves, with the columns of a labelled *reference* :class:`~core.dataset.Dataset`. Three
steps, each a function:

1. :func:`read_production` reads the sample's cells exactly as the loader reads the
   reference's (the same helpers of :mod:`core.prepare_steps` and :mod:`core.column_parsing`,
   with the reference's column mapping and number format), so a metadata value or a tag
   means the same in both tables.
2. :func:`production_memberships` applies the reference's slices to it: the reference's
   tags, the values of its slice-by columns and its quantile bin *edges*
   (:func:`core.metrics.slices.quantile_edges`), never the production's own quantiles.
3. :func:`slice_mix` puts each slice's reference share beside its production share and
   their change, the slices that moved most first, with the reference accuracy, the
   accuracy to expect on production traffic and, when the sample is labelled, the accuracy
   measured on it; and the L-infinity distance of the whole slice mix
   (:func:`mix_linf_distance`).

The expected accuracy is a post-stratified estimate (Cochran, *Sampling Techniques*, 3rd
ed., 1977, ch. 5, the stratified mean with weights taken from another sample, §5.3 and
§12.2): the strata are the distinct combinations of slice memberships (with one slice-by
column and no tags, the slices themselves), each stratum's reference accuracy weighted by
its production share. For overlapping tags this is the importance-weighted reference
accuracy with weight ``production share / reference share`` of the row's combination.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd

from slicewise.core.analysis import correct_mask, default_task
from slicewise.core.column_parsing import missing_mask, parse_score
from slicewise.core.column_roles import quoted_list
from slicewise.core.dataset import Dataset
from slicewise.core.drift.strata import expected_accuracy, mix_linf_distance, strata_codes
from slicewise.core.errors import (
    MissingColumnError,
    MissingValuesError,
    RowNumbers,
    format_rows,
)
from slicewise.core.metrics.slices import bin_codes, build_slices, quantile_edges
from slicewise.core.prepare_steps import Rows, build_frame, check_table, read_tags
from slicewise.core.score_threshold import prediction_from_score
from slicewise.core.slice_names import OVERALL, UNTAGGED, format_edges, resolve_slice_column
from slicewise.core.task import TaskSpec
from slicewise.core.values import as_text, class_keys

__all__ = [
    "MIX_COLUMNS",
    "OutsideRange",
    "ProductionSample",
    "SliceMemberships",
    "expected_accuracy",
    "mix_linf_distance",
    "production_columns",
    "production_memberships",
    "read_production",
    "slice_mix",
]

#: The columns of :func:`slice_mix`, in order.
MIX_COLUMNS = (
    "kind",
    "reference_n",
    "reference_share",
    "production_n",
    "production_share",
    "share_change",
    "accuracy",
    "expected_accuracy",
    "expected_low",
    "expected_high",
    "uncovered_n",
    "production_labelled_n",
    "production_accuracy",
)


@dataclass
class ProductionSample:
    """A production sample read with its reference's column roles.

    Attributes
    ----------
    frame
        One row per production row, as the loader builds a dataset's frame: ``id`` (the
        row's 0-based position), ``label`` (``None`` where unlabelled, everywhere without a
        label column), ``prediction``, ``score`` when the reference has one and the sample
        holds its column, then the metadata columns (numbers where they hold only numbers).
    tags
        Boolean, aligned with ``frame``, one column per reference tag, same order.
    source_name
        The file name used in messages.
    warnings
        Legal but notable facts found while reading.
    """

    frame: pd.DataFrame
    tags: pd.DataFrame
    source_name: str = "production"
    warnings: list[str] = field(default_factory=list)

    @property
    def labelled(self) -> np.ndarray:
        """Bool array ``(n,)``: the rows that hold a label."""
        return ~missing_mask(self.frame["label"])

    @property
    def n(self) -> int:
        """Number of production rows."""
        return len(self.frame)


class OutsideRange(NamedTuple):
    """Production rows of a binned slice-by column outside the reference's range.

    ``below``/``above``: rows whose value is less than ``low`` (the reference's minimum,
    its first bin edge) or greater than ``high`` (its maximum, its last bin edge).
    """

    below: int
    above: int
    low: float
    high: float


class SliceMemberships(NamedTuple):
    """The reference's slices on both tables (:func:`production_memberships`).

    ``reference`` (n_reference x n_slices) and ``production`` (n_production x n_slices)
    are boolean with the same columns, in the order of ``info`` (:func:`core.metrics.
    build_slices`' slice info: ``kind``, ``source``); ``unseen`` counts, per slice-by
    column, the production rows whose value no slice of the reference holds (a new
    category, or missing where the reference never is); ``outside``, per slice-by column
    cut into bins, its :class:`OutsideRange`: the production rows below the reference's
    first bin edge or above its last, which are counted in the first or last bin
    (:func:`core.metrics.slices.bin_codes`), as the reference's own extremes are.
    """

    reference: pd.DataFrame
    production: pd.DataFrame
    info: pd.DataFrame
    unseen: dict[str, int]
    sample: ProductionSample
    outside: dict[str, OutsideRange]


def production_columns(reference: Dataset) -> tuple[list[str], list[str]]:
    """Return the columns a production file needs, and those it may have, by their names there.

    A production file is read with the reference's column roles (:func:`read_production`):
    it needs the reference's prediction column (its score column when predictions come from
    a score threshold) and tag columns, by the names they have in the reference's file; it
    may hold the label and the score columns.

    Returns
    -------
    tuple of list of str
        ``(needed, optional)``, each in role order, without repeats. E.g.:

    >>> from slicewise.core.dataset import ColumnMapping, dataset_from_frame
    >>> ref = dataset_from_frame(
    ...     pd.DataFrame({"truth": [0, 1], "guess": [0, 1]}),
    ...     ColumnMapping(label="truth", prediction="guess"),
    ... )
    >>> production_columns(ref)
    (['guess'], ['truth'])
    """
    mapping, threshold = reference.mapping, reference.options.get("threshold")
    pred_col = mapping.score if threshold is not None else mapping.prediction
    needed = [pred_col, mapping.tags_column, *(mapping.tag_columns or ())]
    needed = list(dict.fromkeys(c for c in needed if c is not None))
    optional = [c for c in (mapping.label, mapping.score) if c is not None and c not in needed]
    return needed, list(dict.fromkeys(optional))


def read_production(
    reference: Dataset, table: pd.DataFrame, *, source_name: str = "production"
) -> ProductionSample:
    """Read a production table with the reference's column roles and number format.

    The cells are read by the loader's own steps (:func:`core.prepare_steps.check_table`,
    :func:`~core.prepare_steps.read_tags`, :func:`~core.column_parsing.parse_score`,
    :func:`~core.prepare_steps.build_frame`); only the label is optional. When the
    reference predicts from a score threshold, so does the sample, with the reference's
    classes.

    Parameters
    ----------
    reference
        The labelled reference.
    table
        The raw production table (:func:`core.reading.read_table`), shape (n, n_columns).
    source_name
        The production file's name, for messages.

    Raises
    ------
    EmptyFileError, DuplicateColumnError
        No rows; blank or repeated column names.
    MissingColumnError
        The sample lacks the prediction column (the score column when predictions come
        from a threshold) or a tag column of the reference.
    MissingValuesError
        Predictions missing in some rows.
    InvalidValueError
        A tag or score column whose cells cannot be read.
    """
    file, mapping, options = source_name, reference.mapping, reference.options
    numbering = RowNumbers.of_frame(table)
    df, _ = check_table(table, file, missing="fail", na_values=options.get("na_values", ()))
    threshold = options.get("threshold")
    pred_col = mapping.score if threshold is not None else mapping.prediction
    absent = [c for c in production_columns(reference)[0] if c not in df.columns]
    if absent:
        raise MissingColumnError(
            f"{file}: has no column {quoted_list(absent)}, which the reference "
            f"{reference.source_name} has (prediction, score or tags); production rows need "
            f"the reference's columns; this file has {quoted_list(df.columns)}"
        )
    decimal, thousands = options.get("number_format", (None, None))
    where = {"file": file, "numbering": numbering}
    score = None
    if mapping.score is not None and mapping.score in df.columns:
        score = parse_score(
            df[mapping.score], column=mapping.score, decimal=decimal, thousands=thousands, **where
        )
    n = len(df)
    if mapping.label is not None and mapping.label in df.columns:
        label = df[mapping.label]
    else:
        label = pd.Series([None] * n, dtype=object)
    if threshold is not None:
        classes = _reference_classes(reference)
        prediction = prediction_from_score(
            score, label, options.get("positive"), threshold,
            file=file, label_col=str(mapping.label), classes=classes,
        )  # fmt: skip
    else:
        prediction = df[pred_col]
    miss = missing_mask(prediction)
    if miss.any():
        raise MissingValuesError(
            f"{file}: the prediction column {pred_col!r} is missing in "
            f"{format_rows(np.flatnonzero(miss), numbering=numbering)}; every production row "
            "needs a prediction"
        )
    tags, _ = read_tags(df, mapping, {}, **where)
    tags = tags.reindex(columns=reference.tags.columns, fill_value=False).astype(bool)
    positions = np.arange(n)
    rows = Rows(df, label, prediction, None, score, None, None, tags, positions)
    warnings: list[str] = []
    frame = build_frame(
        rows, pd.Series(positions, name="id"), mapping, file=file,
        text_task=options.get("task") == "text", number_format=(decimal, thousands),
        warnings=warnings,
    )  # fmt: skip
    return ProductionSample(frame=frame, tags=tags, source_name=file, warnings=warnings)


def _reference_classes(reference: Dataset) -> dict[str, str]:
    """Map each class key of the reference's labels to its spelling there."""
    labels = reference.frame["label"].dropna()
    keys = class_keys(as_text(labels))
    return {str(k): str(v) for k, v in zip(keys, labels, strict=True) if k is not None}


def production_memberships(
    reference: Dataset,
    production: pd.DataFrame | ProductionSample,
    *,
    slice_by: Sequence[str] = (),
    bins: int = 4,
    max_slices: int | None = None,
    source_name: str = "production",
) -> SliceMemberships:
    """Apply the reference's slices to the production rows.

    Tag slices take the sample's tag columns. A slice-by column's slices are the
    reference's: one per value the reference holds (compared as numbers when both columns
    are numeric, else as the loader's text), its ``(missing)`` slice when the reference has
    missing values, and for a numeric column cut into bins the reference's bin edges
    (:func:`core.metrics.slices.quantile_edges`), the first and last bins open outwards
    (:func:`core.metrics.slices.bin_codes`). A production value no reference slice holds
    puts its row in none of that column's slices; :attr:`SliceMemberships.unseen` counts
    them.

    Parameters
    ----------
    reference
        The labelled reference; its slices come from :func:`core.metrics.build_slices`.
    production
        The raw production table (read by :func:`read_production`) or a sample already read.
    slice_by, bins, max_slices
        As for :func:`core.metrics.build_slices`.

    Returns
    -------
    SliceMemberships

    Raises
    ------
    MissingColumnError
        The sample lacks a slice-by column (or the label, when slicing by it).
    InvalidValueError, TooManySlicesError
        From :func:`core.metrics.build_slices` (a slice-by column the reference lacks...).
    DataError
        From :func:`read_production`.
    """
    sample = production
    if not isinstance(sample, ProductionSample):
        sample = read_production(reference, production, source_name=source_name)
    ref_membership, info = build_slices(
        reference, slice_by=slice_by, bins=bins, max_slices=max_slices
    )
    blocks = [sample.tags.to_numpy(dtype=bool)]
    unseen: dict[str, int] = {}
    outside: dict[str, OutsideRange] = {}
    for col in dict.fromkeys(str(c).strip() for c in slice_by):
        column = resolve_slice_column(
            col, columns=reference.frame.columns, mapping=reference.mapping
        )
        block, unseen[col], out = _column_block(reference, sample, col, str(column), bins)
        if out is not None:
            outside[col] = out
        blocks.append(block)
    matrix = np.concatenate(blocks, axis=1) if blocks else np.zeros((sample.n, 0), dtype=bool)
    if matrix.shape[1] != len(info):  # the two tables must name the same slices
        raise AssertionError("production slices do not line up with the reference's")
    prod_membership = pd.DataFrame(matrix, columns=info.index.copy())
    return SliceMemberships(ref_membership, prod_membership, info, unseen, sample, outside)


def _column_block(
    reference: Dataset, sample: ProductionSample, col: str, column: str, bins: int
) -> tuple[np.ndarray, int, OutsideRange | None]:
    """Return the production rows' membership in ``col``'s reference slices, and the unseen.

    The slices are in :func:`core.metrics.build_slices`' order: values sorted (or bins
    ascending), then ``(missing)`` when the reference has missing values. The third item
    is, for a column cut into bins, its :class:`OutsideRange` (those rows are kept in the
    first and last bin); ``None`` otherwise.

    Raises
    ------
    MissingColumnError
        The sample has no column ``column`` (or no label at all, for the label column).
    """
    if column not in sample.frame.columns or (column == "label" and not sample.labelled.any()):
        raise MissingColumnError(
            f"{sample.source_name}: has no column {col!r}, which the reference "
            f"{reference.source_name} is sliced by; add it to the production file, or slice "
            "by other columns"
        )
    ref_values, prod_values = reference.frame[column], sample.frame[column]
    edges = quantile_edges(ref_values, bins)
    outside = None
    if edges is not None:
        numbers = pd.to_numeric(prod_values, errors="coerce")
        prod_codes = bin_codes(numbers, edges)
        n_values = len(edges) - 1
        low, high = float(edges[0]), float(edges[-1])
        outside = OutsideRange(int((numbers < low).sum()), int((numbers > high).sum()), low, high)
    else:
        codes, uniques = pd.factorize(ref_values, sort=True)
        n_values = len(uniques)
        both_numeric = all(
            pd.api.types.is_numeric_dtype(v) and not pd.api.types.is_bool_dtype(v)
            for v in (ref_values, prod_values)
        )
        if both_numeric:
            known, wanted = pd.Index(np.asarray(uniques, dtype=float)), prod_values.astype(float)
        else:
            known, wanted = pd.Index(as_text(pd.Series(uniques))), as_text(prod_values)
        prod_codes = known.get_indexer(wanted.to_numpy()).astype(np.int64)
    missing = missing_mask(prod_values)
    has_missing_slice = bool(missing_mask(ref_values).any())
    prod_codes = np.where(missing, n_values if has_missing_slice else -1, prod_codes)
    n_slices = n_values + int(has_missing_slice)
    block = prod_codes[:, None] == np.arange(n_slices)[None, :]
    return block, int((prod_codes < 0).sum()), outside


def slice_mix(
    reference: Dataset,
    production: pd.DataFrame | ProductionSample,
    *,
    slice_by: Sequence[str] = (),
    bins: int = 4,
    task: TaskSpec | None = None,
    max_slices: int | None = None,
    source_name: str = "production",
    warnings: list[str] | None = None,
) -> pd.DataFrame:
    """Each slice's reference and production share, and the accuracy to expect in production.

    Slices are the reference's (:func:`production_memberships`). The expected accuracy is
    :func:`expected_accuracy` with strata the combinations of slice memberships: with one
    slice-by column and no tags they are the slices, so the overall estimate is
    ``sum_s accuracy_s * production_share_s``; with overlapping tags each combination of
    tags is a stratum (importance weights ``production share / reference share`` of the
    combination). A slice's own estimate post-stratifies its rows the same way (for a
    slice that is a stratum it is the slice's reference accuracy). Production rows whose
    combination the reference never holds are counted in ``uncovered_n`` and left out of
    the estimate, with a warning.

    Parameters
    ----------
    reference
        The labelled reference.
    production
        The raw production table or a :class:`ProductionSample`.
    slice_by, bins, max_slices
        As for :func:`core.metrics.build_slices`.
    task
        How a prediction is judged correct; default :func:`core.analysis.default_task`.
    warnings
        A list the warnings are appended to (uncovered rows, values the reference never
        holds, values outside the reference's range of a binned column).

    Returns
    -------
    pandas.DataFrame
        Indexed by slice: ``All data`` first, then the slices (and ``No tag`` when the
        reference has tags) by the size of their share change, the largest first (ties in
        :func:`core.metrics.build_slices`' order). Columns (:data:`MIX_COLUMNS`): ``kind``
        (``overall``, ``tag``, ``column``, ``untagged``); ``reference_n``,
        ``reference_share`` and ``production_n``, ``production_share`` (of all rows of each
        table); ``share_change`` (``production_share - reference_share``); ``accuracy``
        (the reference's); ``expected_accuracy``, ``expected_low``, ``expected_high``
        (post-stratified estimate and its 95% interval); ``uncovered_n``;
        ``production_labelled_n`` and ``production_accuracy`` (measured on the labelled
        production rows, NaN without any). ``attrs["outside"]``: per slice-by column cut
        into bins, the number of production rows outside the reference's range (below its
        minimum or above its maximum), counted in the first or last bin as
        :func:`core.metrics.slices.bin_codes` does. ``attrs["estimator"]`` names the estimator;
        ``attrs["linf"]`` is the L-infinity distance of the slice mix
        (:func:`mix_linf_distance` over the combinations of slice memberships, which
        partition both tables: with one slice-by column and no tags, its slices, plus one
        part for the production rows in none of them) and ``attrs["linf_partition"]`` says
        so.

    Raises
    ------
    DataError
        From :func:`production_memberships` and from judging the predictions.
    """
    mem = production_memberships(
        reference, production, slice_by=slice_by, bins=bins, max_slices=max_slices,
        source_name=source_name,
    )  # fmt: skip
    sample = mem.sample
    task = task or default_task(reference)
    correct = correct_mask(reference.frame, task, source=reference.source_name)
    labelled = sample.labelled
    prod_correct = np.zeros(sample.n, dtype=bool)
    if labelled.any():
        prod_correct[labelled] = correct_mask(
            sample.frame.loc[labelled].reset_index(drop=True), task, source=sample.source_name
        )
    ref_m, prod_m = mem.reference.to_numpy(dtype=bool), mem.production.to_numpy(dtype=bool)
    ref_codes, prod_codes, _ = strata_codes(ref_m, prod_m)
    rows = {OVERALL: ("overall", np.ones(len(ref_m), bool), np.ones(len(prod_m), bool))}
    for k, name in enumerate(mem.info.index):
        rows[name] = (mem.info["kind"].iloc[k], ref_m[:, k], prod_m[:, k])
    is_tag = (mem.info["kind"] == "tag").to_numpy(dtype=bool)
    if is_tag.any():
        rows[UNTAGGED] = ("untagged", ~ref_m[:, is_tag].any(1), ~prod_m[:, is_tag].any(1))
    records = {}
    for name, (kind, r, p) in rows.items():
        est = expected_accuracy(correct[r], ref_codes[r], prod_codes[p])
        n_lab = int((labelled & p).sum())
        records[name] = (
            kind, int(r.sum()), r.mean(), int(p.sum()), p.mean(), p.mean() - r.mean(),
            correct[r].mean() if r.any() else np.nan,
            est["estimate"], est["low"], est["high"], est["uncovered_n"],
            n_lab, prod_correct[labelled & p].mean() if n_lab else np.nan,
        )  # fmt: skip
    table = pd.DataFrame.from_dict(records, orient="index", columns=list(MIX_COLUMNS))
    table = table.astype({c: float for c in MIX_COLUMNS if c.endswith(("share", "accuracy"))})
    table = table.astype({c: float for c in ("expected_low", "expected_high")})
    change = table["share_change"].drop(OVERALL).abs()
    order = change.sort_values(ascending=False, kind="stable").index
    table = table.loc[[OVERALL, *order]]
    table.attrs["estimator"] = "post-stratification over combinations of slice memberships"
    table.attrs["linf"] = mix_linf_distance(ref_codes, prod_codes)
    table.attrs["linf_partition"] = "combinations of slice memberships"
    table.attrs["outside"] = {col: o.below + o.above for col, o in mem.outside.items()}
    _warn(mem, int(table.loc[OVERALL, "uncovered_n"]), reference.source_name, warnings)
    return table


def _warn(mem: SliceMemberships, uncovered: int, reference: str, out: list[str] | None) -> None:
    """Append the warnings of :func:`slice_mix` to ``out`` (when given)."""
    if out is None:
        return
    file, n = mem.sample.source_name, mem.sample.n
    out.extend(mem.sample.warnings)
    for col, k in mem.unseen.items():
        if k:
            out.append(
                f"{file}: column {col!r} holds values {reference} never holds in {k} of {n} "
                "rows; they are in none of its slices"
            )
    for col, o in mem.outside.items():
        if o.below + o.above:
            low, high = format_edges([o.low, o.high])
            out.append(
                f"{file}: column {col!r} lies outside {reference}'s range [{low}, {high}] in "
                f"{o.below + o.above} of {n} rows ({o.below} below, {o.above} above); they are "
                "counted in its lowest and highest bins, whose accuracy was measured on values "
                "within the range"
            )
    if uncovered:
        out.append(
            f"{file}: {uncovered} of {n} rows fall in a combination of slices that {reference} "
            "never holds; they are left out of the expected accuracy"
        )
