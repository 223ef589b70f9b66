"""``slicewise analyze --production FILE``: rank slices by gap × their share of production.

The prioritisation multiplies a slice's gap by its share of data; the share that matters is
the one the model now serves. With a production sample, the reference (the analysed file)
is loaded as a dataset, the sample is read against it (:func:`core.drift.slice_mix`: the
reference's slices, tags and bin edges applied to the production rows) and the table is
ranked again with each slice's production share (:func:`core.prioritize.rank_slices`'s
``production_share``); the test share stays in ``test_share``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from slicewise.core.cli.options import ReadOptions, note
from slicewise.core.dataset import ColumnMapping, load_dataset
from slicewise.core.drift import slice_mix
from slicewise.core.prioritize import rank_slices
from slicewise.core.reading import read_table
from slicewise.core.values import parse_na_values


def rank_by_production(
    table: pd.DataFrame,
    file: Path,
    mapping: ColumnMapping,
    read: ReadOptions,
    production: Path,
    settings: dict[str, Any],
) -> pd.DataFrame:
    """Rank ``table`` (the analysed FILE's slices) by gap × production share.

    ``settings`` are ``analyze``'s (``slice_by``, ``bins``, ``max_slices``, ``rank_by``,
    ``importance``, ``ease``). Prints one note saying which share was used, and what it
    multiplied (:func:`production_ranking`).

    Raises
    ------
    core.errors.DataError
        FILE or PRODUCTION cannot be read, or PRODUCTION lacks a column the slices need
        (:func:`core.drift.production_memberships`).
    """
    reference = load_dataset(
        file, mapping, encoding=read.encoding, sep=read.sep, sheet=read.sheet,
        missing=read.missing, positive=read.positive, threshold=read.threshold,
        na_values=parse_na_values(read.na_values), decimal=read.decimal,
        thousands=read.thousands, task=read.task,
    )  # fmt: skip
    raw = read_table(production, sheet=read.sheet)[0]
    warnings: list[str] = []
    mix = slice_mix(
        reference, raw, slice_by=settings.get("slice_by", ()), bins=settings.get("bins", 4),
        max_slices=settings.get("max_slices"), source_name=production.name, warnings=warnings,
    )  # fmt: skip
    for text in warnings:
        note(text)
    ranked = rank_slices(
        table,
        importance=settings.get("importance"),
        ease=settings.get("ease"),
        rank_by=settings.get("rank_by", "priority"),
        production_share=mix["production_share"],
    )
    note(
        f"ranked by {production_ranking(ranked)} ({production.name}, {len(raw):,} rows); "
        "the test set's share is in test_share"
    )
    return ranked


def production_ranking(ranked: pd.DataFrame) -> str:
    """Name what :func:`core.prioritize.rank_slices` multiplied the production share by.

    ``excess error × production share`` when it ranked by excess error (no usable baseline,
    ``attrs["rank_basis"] == "excess"``), else ``gap × production share``.
    """
    if ranked.attrs.get("rank_basis") == "excess":
        return "excess error × production share"
    return "gap × production share"
