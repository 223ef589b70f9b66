"""Drift over time: each window of the production sample against the reference.

:func:`drift_windows` cuts the production rows into windows (a day, a week, any fixed
duration, or every N rows) by a timestamp column and measures each watched feature in each
window as :func:`core.drift.features.feature_drift` does overall, with the measured accuracy
per window when the production rows carry labels and predictions. It is what a monitoring
dashboard plots: one line per feature, its threshold, the windows that crossed it.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from slicewise.core.analysis import correct_mask, default_task
from slicewise.core.column_parsing import example_values, missing_mask
from slicewise.core.dataset import Dataset
from slicewise.core.drift import distances as dist
from slicewise.core.drift.features import (
    MIN_JUDGED_ROWS,
    PreparedFeature,
    measure,
    prepare_features,
    resolve_thresholds,
    too_few_note,
)
from slicewise.core.drift.mix import ProductionSample, read_production
from slicewise.core.errors import InvalidValueError, MissingColumnError, RowNumbers, format_rows
from slicewise.core.values import as_text, class_keys

#: The columns of :func:`drift_windows`'s frame, in order.
WINDOW_COLUMNS = (
    "window",
    "window_start",
    "window_end",
    "feature",
    "kind",
    "metric",
    "n",
    "value",
    "psi",
    "threshold",
    "crossed",
    "accuracy",
    "n_labelled",
    "note",
)

#: The fewest rows with a value of a feature a window needs for its drift to be judged:
#: below it, a share moves by 1/n per row (over 0.03 at 30 rows), so the window is listed
#: with its value and the note "too few rows to judge", and never counts as a crossing.
MIN_WINDOW_ROWS = MIN_JUDGED_ROWS

_ROWS = re.compile(r"\s*(\d+)\s*(?:rows?)?\s*", re.IGNORECASE)
_DURATION = re.compile(r"\s*(\d+)\s*(d|days?|w|weeks?|h|hours?|min|mins|minutes?)\s*", re.I)
_UNITS = {"d": "days", "day": "days", "w": "weeks", "week": "weeks", "h": "hours"}
_UNITS |= {"hour": "hours", "min": "minutes", "minute": "minutes"}


@dataclass(frozen=True)
class WindowSpec:
    """A window: a fixed duration (``duration``) or a number of rows (``rows``)."""

    duration: pd.Timedelta | None = None
    rows: int | None = None

    @classmethod
    def parse(cls, text: str | int) -> WindowSpec:
        """Read ``7d``, ``1d``, ``12h``, ``2w``, ``30min`` (a duration) or ``500``/``500 rows``.

        Raises ``InvalidValueError`` for anything else or a window of zero.

        Examples
        --------
        >>> WindowSpec.parse("7d").duration, WindowSpec.parse("500 rows").rows
        (Timedelta('7 days 00:00:00'), 500)
        """
        if isinstance(text, (int, np.integer)) or _ROWS.fullmatch(str(text)):
            n = int(text if isinstance(text, (int, np.integer)) else _ROWS.fullmatch(text)[1])  # type: ignore[index]
            if n < 1:
                raise InvalidValueError(f"window {text!r}: give at least 1 row")
            return cls(rows=n)
        match = _DURATION.fullmatch(str(text))
        duration = None
        if match:
            unit = _UNITS[match[2].lower().rstrip("s") or "d"]
            duration = pd.Timedelta(**{unit: int(match[1])})
        if duration is None or duration <= pd.Timedelta(0):
            raise InvalidValueError(
                f"window {text!r}: give a duration such as 1d, 7d, 12h or 2w, or a number of "
                "rows such as 500"
            )
        return cls(duration=duration)


def drift_windows(
    reference: pd.DataFrame,
    production: pd.DataFrame,
    *,
    time_column: str | None,
    window: str | int = "7d",
    features: Sequence[str] | None = None,
    exclude: Iterable[str] = (),
    thresholds: Mapping[str, float] | None = None,
    bins: int = dist.DEFAULT_BINS,
    label: str | None = None,
    prediction: str | None = None,
    correct: np.ndarray | None = None,
    reference_name: str = "reference",
    production_name: str = "production",
    decimal: str | None = None,
    thousands: str | None = None,
    min_rows: int = MIN_WINDOW_ROWS,
) -> pd.DataFrame:
    """Measure each feature's drift from the reference in each window of production.

    Parameters
    ----------
    reference, production
        The reference table and the production sample, as read.
    time_column
        The production column holding each row's timestamp, parsed by
        :func:`pandas.to_datetime` (its format inferred from the cells). ``None`` only with
        a window of N rows, which then follows the file's order.
    window
        ``1d``, ``7d``, ``12h``, ``2w`` (any :class:`pandas.Timedelta`): windows of that
        length from midnight of the first timestamp's day (from the first timestamp itself
        for windows shorter than a day, floored to the window); or ``N``/``N rows``: every N
        rows in time order.
    features, exclude, thresholds, bins, reference_name, production_name, decimal, thousands
        As :func:`core.drift.features.feature_drift`; the time, label and prediction
        columns are never features by default.
    label, prediction
        Production columns with the true label and the model's prediction: adds the
        measured accuracy per window (rows where both are present; classes compared as
        :func:`core.values.class_keys` does). Prefer ``correct`` when the task is known.
    correct
        Float, shape (n_production,): 1.0 where the row is predicted correctly, 0.0 where
        not, NaN where unlabelled, as the task judges it (the ``drift`` command passes the
        reference task's outcome, :func:`core.analysis.correct_mask`, so text is compared
        normalised); it replaces the class-key comparison of ``label`` and ``prediction``.
    min_rows
        The fewest rows with a value of a feature a window needs to be judged
        (:data:`MIN_WINDOW_ROWS`, 30): a window with fewer keeps its value, gets the note
        "too few rows to judge" and ``crossed`` False.

    Returns
    -------
    pandas.DataFrame
        One row per (window, feature), windows in time order, features in the order of
        ``features`` (or the tables' columns); columns :data:`WINDOW_COLUMNS`: ``window``
        (label: the start date, or ``rows a-b``), ``window_start``, ``window_end``
        (timestamps; the end is exclusive for duration windows, the last timestamp for row
        windows; NaT without a time column), ``feature``, ``kind``, ``metric``, ``n`` (rows
        in the window), ``value``, ``psi``, ``threshold``, ``crossed``, ``accuracy`` (NaN
        without labels), ``n_labelled``, ``note``. An empty window is listed with ``n`` 0,
        NaN values and the note "no rows in this window"; one with fewer than ``min_rows``
        values of the feature, the note "too few rows to judge (...)" and never a crossing.
        ``frame.attrs["notes"]`` lists notes about the whole sample (rows without a
        timestamp left out).

    Raises
    ------
    DataError
        As :func:`core.drift.features.prepare_features`; ``MissingColumnError`` when the
        time, label or prediction column is not in the production table;
        ``InvalidValueError`` when a timestamp does not parse (the message names the file,
        the column and the first bad rows) or the window is malformed.
    """
    spec = WindowSpec.parse(window)
    _check_roles(production, production_name, time_column, label, prediction, spec, window)
    roles = [c for c in (time_column, label, prediction) if c is not None]
    prepared = prepare_features(
        reference,
        production,
        features=features,
        exclude=[*exclude, *([] if features is not None else roles)],
        reference_name=reference_name,
        production_name=production_name,
        decimal=decimal,
        thousands=thousands,
    )
    limits = resolve_thresholds(prepared, thresholds)
    times, notes = _timestamps(production, time_column, production_name)
    windows = _assign_windows(times, len(production), spec)
    if correct is not None:
        correct = np.asarray(correct, dtype=float).reshape(-1)
        if len(correct) != len(production):
            raise ValueError("correct must hold one value per production row")
    elif label is not None and prediction is not None:
        correct = _correct(production[label], production[prediction])
    rows = [
        row
        for w in windows
        for row in _window_rows(w, prepared, limits, bins=bins, correct=correct, min_rows=min_rows)
    ]
    table = pd.DataFrame(rows, columns=list(WINDOW_COLUMNS))
    table.attrs["notes"] = notes
    return table


def _check_roles(
    production: pd.DataFrame,
    production_name: str,
    time_column: str | None,
    label: str | None,
    prediction: str | None,
    spec: WindowSpec,
    window: str | int,
) -> None:
    """Check the time, label and prediction columns exist and the window can be cut.

    Raises
    ------
    MissingColumnError, InvalidValueError
        As :func:`drift_windows`.
    """
    for role, col in (("time", time_column), ("label", label), ("prediction", prediction)):
        if col is not None and col not in production.columns:
            raise MissingColumnError(
                f"{production_name}: no {role} column {col!r}; its columns are "
                f"{', '.join(repr(str(c)) for c in production.columns[:20])}"
            )
    if time_column is None and spec.rows is None:
        raise InvalidValueError(
            f"window {window!r}: a window of a duration needs a time column (CLI: --time-column)"
        )


def _timestamps(
    production: pd.DataFrame, time_column: str | None, production_name: str
) -> tuple[pd.Series | None, list[str]]:
    """Parse the time column (``None`` without one); the notes name undated rows."""
    if time_column is None:
        return None, []
    numbering = RowNumbers.of_frame(production)
    times = parse_timestamps(production[time_column], file=production_name, numbering=numbering)
    undated = int(times.isna().sum())
    notes = []
    if undated:
        notes.append(
            f"{production_name}: {undated:,} row{'s' if undated != 1 else ''} without a "
            f"timestamp in {time_column!r} left out of the windows"
        )
    return times, notes


def _window_rows(
    w: dict,
    prepared: list[PreparedFeature],
    limits: Mapping[str, float],
    *,
    bins: int,
    correct: np.ndarray | None,
    min_rows: int = MIN_WINDOW_ROWS,
) -> list[dict[str, object]]:
    """Return one window's rows of :func:`drift_windows`, one per feature."""
    mask = w["mask"]
    n = int(mask.sum())
    accuracy, n_labelled = float("nan"), 0
    if correct is not None:
        labelled = correct[mask]
        labelled = labelled[~np.isnan(labelled)]
        n_labelled = len(labelled)
        accuracy = float(labelled.mean()) if n_labelled else float("nan")
    rows = []
    for feature in prepared:
        m = measure(feature, threshold=limits[feature.name], bins=bins, rows=mask)
        note, judged = _window_note(n, int(m["n_production"]), min_rows)
        rows.append(
            {
                "window": w["label"],
                "window_start": w["start"],
                "window_end": w["end"],
                "feature": feature.name,
                "kind": feature.kind,
                "metric": feature.metric,
                "n": n,
                "value": m["value"],
                "psi": m["psi"],
                "threshold": limits[feature.name],
                "crossed": bool(m["crossed"]) and judged,
                "accuracy": accuracy,
                "n_labelled": n_labelled,
                "note": note,
            }
        )
    return rows


def _window_note(n: int, n_values: int, min_rows: int) -> tuple[str, bool]:
    """Return a window's note for one feature and whether its drift is judged.

    ``n``: rows in the window; ``n_values``: those with a value of the feature.
    """
    if not n:
        return "no rows in this window", False
    if not n_values:
        return "no value of this feature in this window", False
    if n_values < min_rows:
        return too_few_note(n_values, min_rows), False
    return "", True


def parse_timestamps(
    values: pd.Series, *, file: str = "production", numbering: RowNumbers | None = None
) -> pd.Series:
    """Parse a timestamp column with :func:`pandas.to_datetime` (format inferred).

    Missing and blank cells give NaT. Already-typed datetimes are kept.

    Raises
    ------
    InvalidValueError
        Some present cell does not parse; the message names ``file``, the column, the first
        bad rows (numbered as the file numbers them) and shows their cells.
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.reset_index(drop=True)
    text = as_text(values).reset_index(drop=True)
    present = text.notna().to_numpy()
    try:
        with warnings.catch_warnings():
            # pandas warns when it cannot infer one format and parses cell by cell; that is
            # the behaviour wanted here, and the cells that still fail are reported below.
            warnings.filterwarnings(
                "ignore", message="Could not infer format", category=UserWarning
            )
            parsed = pd.to_datetime(text, errors="coerce")
    except (ValueError, TypeError, OverflowError) as exc:  # mixed time zones, out of range
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise InvalidValueError(
            f"{file}: column {values.name!r} does not read as timestamps ({reason}); write "
            "them in one format, e.g. 2014-03-01 or 2014-03-01 09:30:00"
        ) from None
    bad = np.flatnonzero(present & parsed.isna().to_numpy())
    if len(bad):
        raise InvalidValueError(
            f"{file}: column {values.name!r} holds cells that are not timestamps: "
            f"{example_values(text, bad)} at {format_rows(bad, numbering=numbering)}; write "
            "them in one format, e.g. 2014-03-01 or 2014-03-01 09:30:00, or leave them blank"
        )
    return parsed


def _assign_windows(times: pd.Series | None, n_rows: int, spec: WindowSpec) -> list[dict]:
    """Return the windows in time order, each a dict: label, start, end, and a row mask."""
    out = []
    if spec.rows is not None:
        if times is None:
            order = np.arange(n_rows)
        else:
            dated = np.flatnonzero(times.notna().to_numpy())
            order = dated[np.argsort(times.to_numpy()[dated], kind="stable")]
        for start in range(0, len(order), spec.rows):
            chunk = order[start : start + spec.rows]
            mask = np.zeros(n_rows, dtype=bool)
            mask[chunk] = True
            first = last = pd.NaT
            if times is not None:
                first, last = times.iloc[chunk[0]], times.iloc[chunk[-1]]
            label = f"rows {start + 1}-{start + len(chunk)}"
            out.append({"label": label, "start": first, "end": last, "mask": mask})
        return out
    assert times is not None and spec.duration is not None
    if not times.notna().any():
        return out
    delta = spec.duration
    first = times.min()
    origin = first.normalize() if delta >= pd.Timedelta(days=1) else first.floor(delta)
    index = ((times - origin) // delta).to_numpy(dtype=float, na_value=np.nan)
    for k in range(int(np.nanmax(index)) + 1):
        start = origin + k * delta
        mask = index == k
        label = start.strftime(
            "%Y-%m-%d" if delta % pd.Timedelta(days=1) == pd.Timedelta(0) else "%Y-%m-%d %H:%M"
        )
        out.append({"label": label, "start": start, "end": start + delta, "mask": mask})
    return out


def production_correct(
    reference: Dataset, production: pd.DataFrame | ProductionSample, *, source_name: str = ""
) -> np.ndarray:
    """Return whether each production row is predicted correctly, as the slice mix judges it.

    ``production``: the raw table (read by :func:`core.drift.mix.read_production`, which
    raises its ``DataError``) or a sample already read; pass the result as
    :func:`drift_windows`' ``correct``.

    The task is the reference's (:func:`core.analysis.default_task`) and each labelled row
    is judged by :func:`core.analysis.correct_mask` (the project's one outcome definition:
    text normalised for text tasks, classes compared as keys, tolerance for regression).

    Returns
    -------
    numpy.ndarray
        Float, shape (n_production,): 1.0 correct, 0.0 wrong, NaN unlabelled.
    """
    sample = production
    if not isinstance(sample, ProductionSample):
        sample = read_production(reference, production, source_name=source_name or "production")
    out = np.full(sample.n, np.nan)
    labelled = sample.labelled
    if labelled.any():
        frame = sample.frame.loc[labelled].reset_index(drop=True)
        task = default_task(reference)
        out[labelled] = correct_mask(frame, task, source=sample.source_name)
    return out


def _correct(label: pd.Series, prediction: pd.Series) -> np.ndarray:
    """1.0 where label and prediction name the same class, 0.0 where not, NaN if one is missing."""
    truth = class_keys(as_text(label)).to_numpy(dtype=object)
    pred = class_keys(as_text(prediction)).to_numpy(dtype=object)
    missing = missing_mask(label) | missing_mask(prediction)
    out = (truth == pred).astype(float)
    out[missing] = np.nan
    return out
