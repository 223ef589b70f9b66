"""Role cells that score alike, counted as one class: fewer groups in the counting pass.

A row's outcomes (:func:`core.metrics.compute_outcomes`) depend on its role cells alone
(label, prediction, human label...). The plan's first pass groups the rows by those cells;
here the loader's and the scorer's own code run once on each distinct combination, and the
combinations whose outcomes are equal (and that are both kept, or both left out) form one
class. A source that can merge rows by class (``merges_roles``) then groups the counting
pass on the class instead of the role cells, each group standing for its class with one
representative combination's cells: a 32-class task with a human label has up to 32,768
combinations but at most 16 classes of outcome, so the pass counts thousands of groups, not
hundreds of thousands, with the same code and the same sums.

The sums stay exact: classes are made only where every outcome is a whole number (float64
sums of whole numbers do not depend on their order). The (label, prediction) pairs, which
a class does not keep apart, are counted here from the combinations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from slicewise.core.batches.plan import BatchRowNumbers, prepare_batch
from slicewise.core.errors import DataError, RowNumbers
from slicewise.core.metrics import compute_outcomes
from slicewise.core.task import TaskSpec

#: Distinct role combinations above which no classes are made (the first pass keeps them).
MAX_COMBINATIONS = 20_000
#: Name of the class code in :attr:`RoleClasses.cells` (and in a source's merged query).
CLASS = "__class"


@dataclass(frozen=True)
class RoleClasses:
    """The classes of a table's role combinations.

    Attributes
    ----------
    columns
        The role columns (table names) whose cells the classes merge.
    cells
        Every distinct combination of ``columns`` (cells as the reader holds them) and its
        class, ``CLASS`` (int64, 0-based), shape ``(n_combinations, len(columns) + 1)``.
    representatives
        One combination per class, the one met first in the file (index: the class;
        columns: ``columns``).
    pairs
        Rows per (label, prediction) pair as text, weighted (float64), as the counting pass
        counts them (:func:`core.batches.count.class_pairs`).
    """

    columns: tuple[str, ...]
    cells: pd.DataFrame
    representatives: pd.DataFrame
    pairs: pd.Series


def role_classes(
    groups: tuple[pd.DataFrame, np.ndarray, np.ndarray] | None,
    load: dict,
    task: TaskSpec,
    numbering: RowNumbers,
) -> RoleClasses | None:
    """Return the classes of the first pass's role ``groups``, or ``None`` when none pay.

    Parameters
    ----------
    groups
        The distinct role combinations (a frame of the role columns, reader dtypes), how
        many rows each stands for (int64) and its first row (0-based), or ``None``.
    load
        The plan's load options with the tags switched off (as the first pass prepares).
    task
        The task the outcomes are judged under.
    numbering
        How the file numbers its rows (for a message; an error here means no classes: the
        counting pass then raises it where the loader does).

    Returns
    -------
    RoleClasses or None
        ``None`` for columns whose cells may not compare exactly in a join (floats, mixed
        objects), outcomes that are not whole numbers, or fewer than two combinations per
        class on average.
    """
    if groups is None or not len(groups[0]) or len(groups[0]) > MAX_COMBINATIONS:
        return None
    frame, weights, first = groups
    if not all(_joins_exactly(frame[c]) for c in frame.columns):
        return None
    from slicewise.core.batches.count import class_pairs

    try:
        at_rows = BatchRowNumbers(numbering.first, numbering.skipped, np.asarray(first))
        dataset, _ = prepare_batch(frame.reset_index(drop=True), load, at_rows)
        outcomes = compute_outcomes(dataset.frame, task, part=True)
    except DataError:
        return None
    values = outcomes.to_numpy(dtype=float)
    if not np.all(np.isfinite(values)) or not np.all(values == np.round(values)):
        return None
    kept = dataset.frame["id"].to_numpy(dtype=np.int64)
    codes = np.full(len(frame), -1, dtype=np.int64)  # rows left out: one class of their own
    codes[kept] = pd.MultiIndex.from_frame(outcomes).factorize()[0] if len(kept) else []
    codes[codes < 0] = codes.max() + 1
    if 2 * (codes.max() + 1) > len(frame):
        return None
    order = np.lexsort((np.asarray(first), codes))  # by class, then first row
    lead = order[np.r_[True, codes[order][1:] != codes[order][:-1]]]
    cells = frame.reset_index(drop=True).assign(**{CLASS: codes})
    reps = frame.iloc[lead].reset_index(drop=True)
    reps.index = pd.Index(codes[lead], name=CLASS)
    w = np.asarray(weights, dtype=float)[kept]
    pairs = (
        class_pairs(dataset.frame["label"], dataset.frame["prediction"], w)
        if task.kind in ("classification", "binary") and len(kept)
        else pd.Series(dtype=float)
    )
    return RoleClasses(tuple(map(str, frame.columns)), cells, reps.sort_index(), pairs)


def _joins_exactly(col: pd.Series) -> bool:
    """Whether cells of ``col`` match themselves in a join: text, whole numbers, booleans."""
    dtype = col.dtype
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_integer_dtype(dtype):
        return True
    if pd.api.types.is_string_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype):
        return pd.api.types.infer_dtype(col, skipna=True) in ("string", "empty")
    return False
