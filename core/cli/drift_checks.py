"""Checks and readings of ``slicewise drift``'s input before the drift is measured.

:func:`check_options` and :func:`check_model_options` refuse a column option that names
no column (or a class no row holds) with one line and exit code 2, as ``analyze`` does;
:func:`tags_as_read` reads tag columns as the loader reads them before they are compared.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from slicewise.core.cli.drift_model import ModelDrift, ReferenceRoles
from slicewise.core.column_roles import (
    ColumnMapping,
    detect_tag_columns,
    find_role_candidates,
    quoted_list,
)
from slicewise.core.errors import MissingColumnError, RowNumbers
from slicewise.core.metrics.outcomes import check_positive
from slicewise.core.prepare_steps import read_tags
from slicewise.core.slice_names import resolve_slice_column


def check_options(
    ref: pd.DataFrame,
    prod: pd.DataFrame,
    roles: ReferenceRoles,
    exclude: Sequence[str],
    names: dict[str, str],
) -> None:
    """Refuse a column option naming no column, as ``analyze`` does (exit code 2).

    ``--exclude`` must name a column of either file; ``--label``, ``--prediction``,
    ``--score`` and ``--id`` a column of the reference.

    Raises
    ------
    core.errors.MissingColumnError
        One line naming the option, the column and the file's columns.
    """
    for col in exclude:
        if col not in ref.columns and col not in prod.columns:
            raise MissingColumnError(
                f"--exclude {col!r}: no such column in {names['reference_name']} or "
                f"{names['production_name']}; columns: {quoted_list(ref.columns)}"
            )
    given = (("--label", roles.label), ("--prediction", roles.prediction))
    given += (("--score", roles.score), ("--id", roles.id_col))
    for option, col in given:
        if col is not None and col not in ref.columns:
            raise MissingColumnError(
                f"{option} {col!r}: no such column in {names['reference_name']}; its "
                f"columns are {quoted_list(ref.columns)}"
            )


def check_model_options(model: ModelDrift, roles: ReferenceRoles, reference_name: str) -> None:
    """Refuse ``--slice-by`` or ``--positive`` naming nothing the reference holds (exit 2).

    Without a labelled reference the options are checked against nothing (the note says
    why the model part is missing).

    Raises
    ------
    core.errors.MissingColumnError, core.errors.InvalidValueError
        One line naming the option and the column or class.
    """
    dataset = model.reference
    if dataset is None:
        return
    for col in roles.slice_by:
        column = resolve_slice_column(col, columns=dataset.frame.columns, mapping=dataset.mapping)
        if column is None:
            raise MissingColumnError(
                f"--slice-by {col!r}: no such column in {reference_name}; its columns are "
                f"{quoted_list(dataset.frame.columns.drop('id', errors='ignore'))}"
            )
    if roles.positive is not None:
        frame = dataset.frame
        check_positive(
            frame["label"], roles.positive, predictions=frame["prediction"],
            at=f"--positive: {reference_name}: ",
        )  # fmt: skip


def tags_as_read(
    ref: pd.DataFrame, prod: pd.DataFrame, model: ModelDrift, names: dict[str, str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return both tables with each tag column read as the loader reads it.

    A tag column (the labelled reference's, else those :func:`core.column_roles.
    detect_tag_columns` proposes) becomes ``tagged``/``not tagged`` in both tables
    (:func:`core.prepare_steps.read_tags`: an ``x``/blank column's blank is "not tagged",
    not a missing value), so a tag whose share moves shows its L-infinity distance.

    Raises
    ------
    core.errors.InvalidValueError
        A production tag column holds values that are not true/false-like.
    """
    if model.reference is not None:
        tag_columns = tuple(model.reference.mapping.tag_columns or ())
    else:
        tag_columns = detect_tag_columns(ref, set(), find_role_candidates(ref))
    tag_columns = tuple(c for c in tag_columns if c in ref.columns and c in prod.columns)
    if not tag_columns:
        return ref, prod
    mapping = ColumnMapping(tag_columns=tag_columns)
    out = []
    for frame, name in ((ref, names["reference_name"]), (prod, names["production_name"])):
        tags, _ = read_tags(
            frame.reset_index(drop=True), mapping, {}, file=name,
            numbering=RowNumbers.of_frame(frame),
        )  # fmt: skip
        frame = frame.copy()
        for c in tag_columns:
            frame[c] = np.where(tags[c].to_numpy(dtype=bool), "tagged", "not tagged")
        out.append(frame)
    return out[0], out[1]
