"""Drift per feature: how far each feature of a production sample moved from the reference.

:func:`feature_drift` measures every feature both tables share (L-infinity for categorical
features, Jensen-Shannon divergence for numeric ones, PSI for both; definitions in
:mod:`core.drift.distances`), compares it with its threshold and lists the features that
moved most first. :func:`category_shares` gives one feature's shares side by side, for a
chart. :func:`prepare_features` is the shared first step (which features, of which kind,
read how), also used per time window by :mod:`core.drift.windows`. By default a column
that looks like an identifier or free text is not a feature
(:mod:`core.drift.feature_columns`); :func:`feature_drift` names it in ``attrs["notes"]``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from slicewise.core.column_parsing import example_values, missing_mask
from slicewise.core.column_roles import quoted_list
from slicewise.core.drift import distances as dist
from slicewise.core.drift.feature_columns import (
    default_features,
    find_identifier_columns,
    read_as_numbers,
)
from slicewise.core.errors import (
    EmptyFileError,
    InvalidValueError,
    MissingColumnError,
    RowNumbers,
    format_rows,
)
from slicewise.core.values import as_text, likely_number_cause

#: Default alarm thresholds by metric, overridable per feature (``thresholds=``).
#: TFDV sets none (a drift comparator only fires once a threshold is given; its examples
#: use 0.01 on a categorical feature of a large table) and Vertex AI's example uses 0.01
#: (L-infinity) and 0.02 (Jensen-Shannon). Those suit millions of rows; on samples of a few
#: thousand rows sampling noise alone moves a share by a few hundredths (the standard error
#: of a share of 0.5 in 1,000 rows is 0.016), so Slicewise starts at 0.1 for both: a
#: category's share moving by 10 points, or a tenth of a bit of JS divergence. Adapt them
#: over time, as monitoring guidance advises.
DEFAULT_THRESHOLDS: dict[str, float] = {"linf": 0.1, "js": 0.1}

#: The fewest production rows with a value of a feature needed for its drift to be judged:
#: below it a share moves by 1/n per row (over 0.03 at 30 rows), so the feature keeps its
#: value, gets the note "too few rows to judge" and never counts as a crossing. The same
#: minimum applies to each time window (:data:`core.drift.windows.MIN_WINDOW_ROWS`).
MIN_JUDGED_ROWS = 30

#: The columns of :func:`feature_drift`'s frame, in order.
DRIFT_COLUMNS = (
    "feature",
    "kind",
    "metric",
    "value",
    "psi",
    "threshold",
    "crossed",
    "n_reference",
    "n_production",
    "missing_reference",
    "missing_production",
    "new_categories",
    "note",
)


@dataclass
class PreparedFeature:
    """One feature read for drift: its kind and the present values of both sides.

    ``reference``/``production`` are text Series (categorical) or float arrays (numeric)
    with missing cells left out; ``missing_*`` are the shares of missing cells.
    """

    name: str
    kind: str
    reference: pd.Series | np.ndarray
    production: pd.Series | np.ndarray
    production_present: np.ndarray
    missing_reference: float
    missing_production: float
    notes: list[str] = field(default_factory=list)

    @property
    def metric(self) -> str:
        """``linf`` for a categorical feature, ``js`` for a numeric one."""
        return "js" if self.kind == "numeric" else "linf"


def prepare_features(
    reference: pd.DataFrame,
    production: pd.DataFrame,
    *,
    features: Sequence[str] | None = None,
    exclude: Iterable[str] = (),
    reference_name: str = "reference",
    production_name: str = "production",
    decimal: str | None = None,
    thousands: str | None = None,
) -> list[PreparedFeature]:
    """Choose the features and read both sides of each, as :func:`feature_drift` does.

    A feature is numeric when the reference column holds numbers as the loader reads them
    (a numeric dtype, or text that reads as numbers: :func:`core.values.read_numbers`,
    decimal commas and thousands separators included); otherwise (text, booleans) it is
    categorical. The production column of a numeric feature must read as numbers too.

    Raises
    ------
    EmptyFileError
        The production table has no rows.
    MissingColumnError
        A feature named in ``features`` is missing from either table; or, with the default
        features, the production table lacks a column the reference has (named), or the two
        share no feature column.
    InvalidValueError
        The production column of a numeric feature holds cells that are not numbers (the
        message names the rows and shows them).
    """
    if not len(production):
        raise EmptyFileError(
            f"{production_name}: the production sample has no rows; give a file with the "
            "rows the model saw in production"
        )
    if not len(reference):
        raise EmptyFileError(f"{reference_name}: the reference has no rows")
    chosen = _choose_features(
        reference, production, features, list(exclude), reference_name, production_name,
        decimal=decimal, thousands=thousands,
    )  # fmt: skip
    return [
        _prepare_one(
            reference[c],
            production[c],
            numbering=RowNumbers.of_frame(production),
            production_name=production_name,
            decimal=decimal,
            thousands=thousands,
        )
        for c in chosen
    ]


def _choose_features(
    reference: pd.DataFrame,
    production: pd.DataFrame,
    features: Sequence[str] | None,
    exclude: list[str],
    reference_name: str,
    production_name: str,
    *,
    decimal: str | None,
    thousands: str | None,
) -> list[str]:
    """Return the features to compare: ``features`` less ``exclude``, or the default ones.

    Raises
    ------
    MissingColumnError
        As :func:`prepare_features`.
    """
    if features is None:
        fmt = {"decimal": decimal, "thousands": thousands}
        chosen = default_features(reference, production, exclude=exclude, **fmt)
        lacking = [
            c
            for c in default_features(reference, reference, exclude=exclude, **fmt)
            if c not in production.columns
        ]
        if lacking:
            raise MissingColumnError(
                f"{production_name}: lacks the column{'s' if len(lacking) > 1 else ''} "
                f"{quoted_list(lacking)} that {reference_name} has; add "
                f"{'them' if len(lacking) > 1 else 'it'} to the production file, or leave "
                f"{'them' if len(lacking) > 1 else 'it'} out (CLI: --exclude COLUMN)"
            )
        if not chosen:
            raise MissingColumnError(
                f"{reference_name} and {production_name} share no feature column (besides "
                "ids, labels, predictions and scores); name the features to compare "
                "(CLI: --feature COLUMN)"
            )
    else:
        chosen = [c for c in dict.fromkeys(features) if c not in exclude]
        for name, frame in ((reference_name, reference), (production_name, production)):
            absent = [c for c in chosen if c not in frame.columns]
            if absent:
                raise MissingColumnError(
                    f"{name}: no column {quoted_list(absent)}; its columns are "
                    f"{quoted_list(frame.columns)}"
                )
        if not chosen:
            raise MissingColumnError("no feature left to compare after --exclude")
    return chosen


def measure(
    feature: PreparedFeature,
    *,
    threshold: float,
    bins: int = dist.DEFAULT_BINS,
    rows: np.ndarray | None = None,
) -> dict[str, object]:
    """Measure one prepared feature: its metric's value, PSI, whether it crossed ``threshold``.

    ``rows``: a boolean mask over the production table's rows to measure only those (a
    time window); all rows when ``None``. Returns a dict with the keys ``value``, ``psi``,
    ``crossed`` (``value > threshold``), ``n_production`` and ``new_categories``.
    """
    prod = feature.production
    if rows is not None:
        prod = prod[rows[feature.production_present]]
    n_prod = len(prod)
    new: list[str] = []
    if feature.kind == "numeric":
        table = dist.bin_shares_table(feature.reference, prod, bins=bins)  # type: ignore[arg-type]
    else:
        table = dist.category_shares_table(feature.reference, prod)  # type: ignore[arg-type]
        new = table.loc[table["new"] & (table["production_count"] > 0), "category"].tolist()
    if not n_prod or not len(feature.reference):
        value = psi = float("nan")
    else:
        p, q = table["reference_share"].to_numpy(), table["production_share"].to_numpy()
        value = dist.js_of_shares(p, q) if feature.kind == "numeric" else dist.linf_of_shares(p, q)
        psi = dist.psi_of_shares(p, q)
    crossed = bool(not np.isnan(value) and value > threshold)
    return {
        "value": value,
        "psi": psi,
        "crossed": crossed,
        "n_production": n_prod,
        "new_categories": new,
    }


def feature_drift(
    reference: pd.DataFrame,
    production: pd.DataFrame,
    *,
    features: Sequence[str] | None = None,
    exclude: Iterable[str] = (),
    thresholds: Mapping[str, float] | None = None,
    bins: int = dist.DEFAULT_BINS,
    reference_name: str = "reference",
    production_name: str = "production",
    decimal: str | None = None,
    thousands: str | None = None,
    min_rows: int = MIN_JUDGED_ROWS,
) -> pd.DataFrame:
    """Measure how far each feature's production distribution lies from the reference's.

    Parameters
    ----------
    reference, production
        The labelled reference (test) table and the production sample, as read (text cells
        or typed columns).
    features
        Columns to compare; default: the columns both share, minus ids, labels,
        predictions, scores, columns that look like identifiers or free text
        (:func:`default_features`) and ``exclude``. Listed columns are all compared.
    thresholds
        Alarm threshold per feature name; a feature not named gets
        :data:`DEFAULT_THRESHOLDS` of its metric.
    bins
        Quantile bins of the reference for numeric features (:func:`core.drift.distances.
        numeric_bin_edges`).
    reference_name, production_name
        File names used in messages.
    decimal, thousands
        The number format of numeric text columns, when the user gives it.
    min_rows
        The fewest production rows with a value a feature needs to be judged
        (:data:`MIN_JUDGED_ROWS`): with fewer it keeps its value, gets the note "too few
        rows to judge (...)" and ``crossed`` False.

    Returns
    -------
    pandas.DataFrame
        One row per feature, columns :data:`DRIFT_COLUMNS`: ``feature``; ``kind``
        (``categorical`` or ``numeric``); ``metric`` (``linf``: TFDV's L-infinity distance,
        or ``js``: Jensen-Shannon divergence in bits); ``value`` (that metric, NaN when a
        side has no value); ``psi`` (population stability index); ``threshold``;
        ``crossed`` (``value > threshold``); ``n_reference``, ``n_production`` (present
        values); ``missing_reference``, ``missing_production`` (share of missing cells);
        ``new_categories`` (list of production categories the reference never has);
        ``note`` (str, "" when nothing to say). Sorted by ``value / threshold``
        descending, so what moved most past its threshold comes first (NaN last).
        ``attrs["notes"]``: one sentence per column left out of the default features as
        an identifier or free text (:func:`find_identifier_columns`); empty when
        ``features`` is given.

    Raises
    ------
    DataError
        As :func:`prepare_features`; and an ``InvalidValueError`` for a threshold naming
        no compared feature or a negative threshold.
    """
    exclude, fmt = list(exclude), {"decimal": decimal, "thousands": thousands}
    prepared = prepare_features(
        reference, production, features=features, exclude=exclude,
        reference_name=reference_name, production_name=production_name, **fmt,
    )  # fmt: skip
    limits = resolve_thresholds(prepared, thresholds)
    rows = []
    for feature in prepared:
        m = measure(feature, threshold=limits[feature.name], bins=bins)
        notes = list(feature.notes)
        n_prod = int(m["n_production"])  # type: ignore[call-overload]
        if 0 < n_prod < min_rows:
            m["crossed"] = False
            notes.append(too_few_note(n_prod, min_rows))
        if m["new_categories"]:
            k = len(m["new_categories"])  # type: ignore[arg-type]
            notes.append(f"{k} categor{'y' if k == 1 else 'ies'} never seen in the reference")
        rows.append(
            {
                "feature": feature.name,
                "kind": feature.kind,
                "metric": feature.metric,
                "value": m["value"],
                "psi": m["psi"],
                "threshold": limits[feature.name],
                "crossed": m["crossed"],
                "n_reference": len(feature.reference),
                "n_production": m["n_production"],
                "missing_reference": feature.missing_reference,
                "missing_production": feature.missing_production,
                "new_categories": m["new_categories"],
                "note": "; ".join(notes),
            }
        )
    table = pd.DataFrame(rows, columns=list(DRIFT_COLUMNS))
    ratio = table["value"].astype(float) / table["threshold"].replace(0, np.nan).astype(float)
    ratio = ratio.where(~(table["threshold"].eq(0) & table["value"].gt(0)), np.inf)
    order = ratio.sort_values(ascending=False, na_position="last", kind="stable").index
    table = table.loc[order].reset_index(drop=True)
    left_out: list[str] = []
    if features is None:  # the default features: name the columns they leave out
        left_out = _left_out_notes(reference, production, exclude, reference_name, **fmt)
    table.attrs["notes"] = left_out
    return table


def _left_out_notes(
    reference: pd.DataFrame,
    production: pd.DataFrame,
    exclude: list[str],
    reference_name: str,
    *,
    decimal: str | None,
    thousands: str | None,
) -> list[str]:
    """Name the columns left out of the default features as identifiers or free text."""
    shared = default_features(reference, production, exclude=exclude, identifiers=True)
    ids = find_identifier_columns(
        reference, shared, reference_name=reference_name, decimal=decimal, thousands=thousands
    )
    return ids["note"].tolist()


def too_few_note(n_values: int, min_rows: int) -> str:
    """Return the note of a feature (or window) judged on fewer than ``min_rows`` values."""
    return (
        f"too few rows to judge ({n_values} with a value, fewer than {min_rows}); not "
        "counted as a crossing"
    )


def resolve_thresholds(
    prepared: Sequence[PreparedFeature], thresholds: Mapping[str, float] | None
) -> dict[str, float]:
    """Return each feature's threshold: the one given, else its metric's default.

    Raises ``InvalidValueError`` for a name that is no compared feature (a typo), or a
    threshold that is not a number or lies outside [0, 1] (both metrics lie in [0, 1]:
    L-infinity is a difference of shares, JS divergence in bits is at most 1).
    """
    given = dict(thresholds or {})
    names = [f.name for f in prepared]
    unknown = [n for n in given if n not in names]
    if unknown:
        raise InvalidValueError(
            f"threshold for {quoted_list(unknown)}: no such feature among those compared "
            f"({quoted_list(names)})"
        )
    metrics = {f.name: f.metric for f in prepared}
    for name, value in given.items():
        if np.isnan(value):
            raise InvalidValueError(
                f"threshold for {name!r}: not a number; give a value from 0 to 1"
            )
        if not 0 <= value <= 1:
            what = "L-infinity distance" if metrics[name] == "linf" else "JS divergence (bits)"
            raise InvalidValueError(
                f"threshold for {name!r}: {value:g} is outside 0 to 1, the range of its "
                f"{what}; give a value from 0 to 1"
            )
    return {f.name: float(given.get(f.name, DEFAULT_THRESHOLDS[f.metric])) for f in prepared}


def category_shares(
    reference: pd.DataFrame,
    production: pd.DataFrame,
    feature: str,
    *,
    bins: int = dist.DEFAULT_BINS,
    reference_name: str = "reference",
    production_name: str = "production",
    decimal: str | None = None,
    thousands: str | None = None,
) -> pd.DataFrame:
    """Return one feature's shares in the reference and in production, for a chart.

    A categorical feature gives one row per category (the reference's most common first,
    new categories last); a numeric feature one row per reference quantile bin
    (:func:`core.drift.distances.bin_shares_table`).

    Returns
    -------
    pandas.DataFrame
        ``category`` (str: the category, or the bin such as ``"[2, 3.5)"``),
        ``reference_share``, ``production_share`` (float in [0, 1], missing cells left
        out), ``new`` (bool: a category, or an outer bin, the reference never fills).

    Raises
    ------
    DataError
        As :func:`prepare_features` (e.g. the column is missing from either table).
    """
    (prepared,) = prepare_features(
        reference,
        production,
        features=[feature],
        reference_name=reference_name,
        production_name=production_name,
        decimal=decimal,
        thousands=thousands,
    )
    if prepared.kind == "numeric":
        table = dist.bin_shares_table(prepared.reference, prepared.production, bins=bins)  # type: ignore[arg-type]
        table = table.rename(columns={"bin": "category"})
        table["new"] = table["reference_count"].eq(0)
    else:
        table = dist.category_shares_table(prepared.reference, prepared.production)  # type: ignore[arg-type]
    return table[["category", "reference_share", "production_share", "new"]].reset_index(drop=True)


def _prepare_one(
    reference: pd.Series,
    production: pd.Series,
    *,
    numbering: RowNumbers,
    production_name: str,
    decimal: str | None,
    thousands: str | None,
) -> PreparedFeature:
    """Read one feature: numeric when the reference reads as numbers, else categorical."""
    name = str(reference.name)
    ref_missing = missing_mask(reference)
    prod_missing = missing_mask(production)
    notes: list[str] = []
    ref_numbers = read_as_numbers(reference, decimal=decimal, thousands=thousands)
    if isinstance(ref_numbers, str):  # "ambiguous"
        notes.append(
            "compared as categories: its numbers read differently with a decimal comma and "
            "with a thousands separator (CLI: --decimal or --thousands)"
        )
    if isinstance(ref_numbers, np.ndarray):
        prod_numbers = read_as_numbers(production, decimal=decimal, thousands=thousands)
        if prod_missing.all():  # no value at all: nothing to read as numbers
            prod_numbers = np.full(len(production), np.nan)
        if not isinstance(prod_numbers, np.ndarray):
            _refuse_text(production, ref_numbers, reference, numbering, production_name)
        ref_values: pd.Series | np.ndarray = ref_numbers[~np.isnan(ref_numbers)]
        present = ~np.isnan(prod_numbers)  # type: ignore[arg-type]
        prod_values: pd.Series | np.ndarray = prod_numbers[present]  # type: ignore[index]
        kind = "numeric"
    else:
        ref_values = as_text(reference[~ref_missing]).reset_index(drop=True)
        present = ~prod_missing
        prod_values = as_text(production[present]).reset_index(drop=True)
        kind = "categorical"
    if not len(ref_values):
        notes.append("no value in the reference")
    if not len(prod_values):
        notes.append("no value in production")
    return PreparedFeature(
        name=name,
        kind=kind,
        reference=ref_values,
        production=prod_values,
        production_present=present,
        missing_reference=float(ref_missing.mean()) if len(ref_missing) else 0.0,
        missing_production=float(prod_missing.mean()) if len(prod_missing) else 0.0,
        notes=notes,
    )


def _refuse_text(
    production: pd.Series,
    ref_numbers: np.ndarray,
    reference: pd.Series,
    numbering: RowNumbers,
    production_name: str,
) -> None:
    """Raise: the reference column holds numbers, the production one does not."""
    text = as_text(production)
    present = text.notna().to_numpy()
    looks_numeric = pd.to_numeric(text, errors="coerce").notna().to_numpy()
    bad = np.flatnonzero(present & ~looks_numeric)
    if not len(bad):  # every cell is a number, but the format is ambiguous or mixed
        bad = np.flatnonzero(present)
    sample = str(text.iloc[bad[0]])
    raise InvalidValueError(
        f"{production_name}: column {production.name!r} holds numbers in the reference but "
        f"not in production: {example_values(text, bad)} at "
        f"{format_rows(bad, numbering=numbering)}{likely_number_cause(sample)}; fix those "
        "cells, or leave the column out (CLI: --exclude COLUMN)"
    )
