"""What drift does to the model, for ``slicewise drift``: the production slice mix and CBPE.

When the reference loads as a labelled dataset (:func:`core.dataset.load_dataset`), the
drift report adds each slice's reference (test) share beside its production share and the
accuracy to expect on production traffic (:func:`core.drift.slice_mix`, post-stratified,
95% interval), the accuracy measured on production when it carries labels, and, when the
reference has a score, the accuracy estimated on production from calibrated confidence
(:func:`core.drift.estimate_accuracy`, CBPE). A reference that does not load as a dataset
keeps the feature drift only, with one note saying why.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from slicewise.core.dataset import ColumnMapping, Dataset, load_dataset
from slicewise.core.drift import (
    estimate_accuracy,
    production_correct,
    read_production,
    slice_mix,
)
from slicewise.core.errors import DataError
from slicewise.core.jsonable import plain_value
from slicewise.core.report import escape_markdown


@dataclass
class ModelDrift:
    """The model half of the drift report.

    Attributes
    ----------
    mix
        :func:`core.drift.slice_mix`'s frame (indexed by slice), or None.
    cbpe
        :func:`core.drift.estimate_accuracy`'s frame, or None (no score, not binary...).
    notes
        One line each: why a part is missing, and the warnings of the estimates.
    reference
        The reference loaded as a labelled dataset, or None.
    correct
        Float, shape (n_production,): 1.0 where a labelled production row is predicted
        correctly, 0.0 where not, NaN where unlabelled (:func:`production_correct`); None
        when the production sample could not be read with the reference's roles
        (:func:`core.drift.production_correct`).
    """

    mix: pd.DataFrame | None = None
    cbpe: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    reference: Dataset | None = None
    correct: np.ndarray | None = None


@dataclass(frozen=True)
class ReferenceRoles:
    """How to load the reference as a labelled dataset (the ``drift`` command's options)."""

    label: str | None = None
    prediction: str | None = None
    score: str | None = None
    id_col: str | None = None
    positive: str | None = None
    threshold: float | None = None
    slice_by: tuple[str, ...] = ()
    slice_bins: int = 4


def load_reference(
    path: Path, roles: ReferenceRoles, *, sheet: str | None, read: dict
) -> tuple[Dataset | None, str | None]:
    """Load the reference as a labelled dataset; return it, or None and why not (one line)."""
    mapping = ColumnMapping(
        label=roles.label, prediction=roles.prediction, id=roles.id_col, score=roles.score
    )
    try:
        dataset = load_dataset(
            path, mapping, sheet=sheet, positive=roles.positive, threshold=roles.threshold,
            **read,
        )  # fmt: skip
    except DataError as exc:
        return None, (
            f"{path.name} does not load as a labelled dataset ({exc}); feature drift only"
        )
    return dataset, None


def model_drift(
    path: Path,
    production: pd.DataFrame,
    roles: ReferenceRoles,
    *,
    sheet: str | None,
    read: dict,
    production_name: str,
) -> ModelDrift:
    """Compute the slice mix and, with a score, CBPE; failures become notes, never errors.

    ``production`` is the raw production table (:func:`core.reading.read_table`); ``read``
    holds ``na_values``, ``decimal`` and ``thousands`` for :func:`core.dataset.load_dataset`.
    """
    out = ModelDrift()
    reference, why = load_reference(path, roles, sheet=sheet, read=read)
    if reference is None:
        out.notes.append(str(why))
        return out
    out.reference = reference
    slices = {"slice_by": list(roles.slice_by), "bins": roles.slice_bins}
    warnings: list[str] = []
    try:
        sample = read_production(reference, production, source_name=production_name)
        out.correct = production_correct(reference, sample)
        out.mix = slice_mix(
            reference, sample, source_name=production_name, warnings=warnings, **slices
        )
    except DataError as exc:
        out.notes.append(f"no production slice mix: {exc}")
        return out
    out.notes += warnings
    if "score" in reference.frame.columns:
        try:
            out.cbpe = estimate_accuracy(reference, sample, positive=roles.positive, **slices)
        except DataError as exc:
            out.notes.append(f"no confidence-based estimate (CBPE): {exc}")
    return out


def _pct(value: object) -> str:
    v = plain_value(value)
    return "–" if v is None else f"{100 * float(v):.1f}%"


def _num(value: object) -> str:
    v = plain_value(value)
    return "–" if v is None else f"{float(v):.4f}"


def _points(value: object) -> str:
    """Return a share change in percentage points, signed: ``+12.5 pt``."""
    v = plain_value(value)
    return "–" if v is None else f"{100 * float(v):+.1f} pt"


def _interval(low: object, high: object) -> str:
    lo, hi = plain_value(low), plain_value(high)
    return "–" if lo is None or hi is None else f"{100 * float(lo):.1f}–{100 * float(hi):.1f}%"


def mix_rows(model: ModelDrift) -> tuple[list[str], list[list[str]]]:
    """Return the slice-mix table (with CBPE columns when estimated) as text cells."""
    mix = model.mix
    if mix is None:
        return [], []
    header = ["slice", "test share", "production share", "share change", "test accuracy"]
    header += ["expected accuracy", "95% interval", "n prod.", "measured accuracy"]
    cbpe = model.cbpe
    if cbpe is not None:
        header += ["CBPE accuracy", "CBPE interval"]
    rows = []
    for name, r in mix.iterrows():
        row = [str(name), _pct(r["reference_share"]), _pct(r["production_share"])]
        row.append(_points(r["share_change"]))
        row += [_pct(r["accuracy"]), _pct(r["expected_accuracy"])]
        row += [_interval(r["expected_low"], r["expected_high"]), f"{int(r['production_n']):,}"]
        row.append(_pct(r["production_accuracy"]))
        if cbpe is not None:
            c = cbpe.loc[name] if name in cbpe.index else None
            row += (
                ["–", "–"]
                if c is None
                else [
                    _pct(c["estimated_accuracy"]),
                    _interval(c["estimated_low"], c["estimated_high"]),
                ]
            )
        rows.append(row)
    return header, rows


def _method_lines(model: ModelDrift) -> list[str]:
    lines = []
    if model.mix is not None:
        lines.append(
            "Slices listed by the size of their share change (production share - test "
            "share), the largest first; L-infinity distance of the slice mix "
            f"({model.mix.attrs.get('linf_partition', 'slices')}): "
            f"{_num(model.mix.attrs.get('linf'))}."
        )
        lines.append(
            "Expected accuracy: the reference's accuracy reweighted to the production slice "
            f"mix ({model.mix.attrs.get('estimator', 'post-stratification')}), 95% interval."
        )
    if model.cbpe is not None:
        how = (
            "isotonic calibration fitted on the reference"
            if model.cbpe.attrs.get("calibration") == "isotonic"
            else "scores already calibrated on the reference"
        )
        lines.append(
            f"CBPE: mean calibrated confidence on production ({how}), ± 3 sampling errors."
        )
    return lines + [f"Note: {n}" for n in model.notes]


def model_text(model: ModelDrift) -> list[str]:
    """Return the lines of the terminal report: the slice mix table, the estimators, the notes."""
    header, rows = mix_rows(model)
    out = [""]
    if rows:
        out += ["What it does to the model (per slice):"]
        out += [pd.DataFrame(rows, columns=header).to_string(index=False)]
    return out + _method_lines(model)


def model_json(model: ModelDrift) -> dict:
    """Return the JSON keys: ``slice_mix``, ``cbpe`` (records, with ``slice``), ``model_notes``."""
    data: dict = {"model_notes": list(model.notes)}
    if model.mix is not None:
        data["slice_mix_linf"] = plain_value(model.mix.attrs.get("linf"))
    for key, frame in (("slice_mix", model.mix), ("cbpe", model.cbpe)):
        if frame is not None:
            data[key] = frame.rename_axis("slice").reset_index().to_dict(orient="records")
    return data


def model_markdown(model: ModelDrift, table: Callable[..., list[str]]) -> list[str]:
    """Return the Markdown lines; ``table(header, rows)`` draws a table (the report's own)."""
    header, rows = mix_rows(model)
    out = ["## What it does to the model", ""]
    if rows:
        out += table(header, rows)
    return out + [f"- {escape_markdown(line)}" for line in _method_lines(model)] + [""]


def model_html(model: ModelDrift, table: Callable[..., str]) -> list[str]:
    """Return the HTML blocks; ``table(header, rows, marked=...)`` draws a table."""
    header, rows = mix_rows(model)
    out = ["<h2>What it does to the model</h2>"]
    if rows:
        out.append(table(header, rows, marked=[False] * len(rows)))
    out += [f"<p>{html.escape(line)}</p>" for line in _method_lines(model)]
    return out
