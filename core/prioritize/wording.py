"""How slices and their baselines are named in sentences, tables and charts."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from slicewise.core.metrics import MIN_HUMAN_LABELS


def display_name(name: str) -> str:
    """``car_noise`` -> ``Car noise``: a slice name as a reader would write it."""
    text = str(name).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def human_labels_text(n: int) -> str:
    """``1 human label``, ``12 human labels``."""
    return f"{n:,} human label" + ("" if n == 1 else "s")


def too_few_text(n: int, *, minimum: int = MIN_HUMAN_LABELS) -> str:
    """Say that ``n`` human labels are too few to compare a slice with its HLP.

    ``1 human label — too few to compare; at least 30 needed`` (``minimum`` defaults to
    :data:`core.metrics.MIN_HUMAN_LABELS`).
    """
    return f"{human_labels_text(n)} — too few to compare; at least {minimum} needed"


def describe_hlp_basis(row: Mapping) -> str:
    """Say in words what backs one slice's HLP (a row of the metrics table).

    ``human_label``: ``n = 1,200, 95% CI 94.1–96.5%``; ``too_few``: :func:`too_few_text`;
    ``user``: ``entered``; ``none`` (or no ``hlp_source``): ``no HLP``. A measured baseline
    other than single human labels (``human_accuracy``, ``older_system``, a majority label)
    starts with its ``hlp_basis`` (``mean single-annotator accuracy, n = 10,000, 95% CI
    95.0–95.4%``); ``target``: ``target``.
    """
    source = row.get("hlp_source", "none")
    if source == "user":
        return "entered"
    if source == "target":
        return "target"
    if source == "too_few":
        return too_few_text(int(row["hlp_n"]))
    if source in ("human_label", "human_accuracy", "older_system"):
        measured = (
            f"n = {int(row['hlp_n']):,}, 95% CI {100 * row['hlp_ci_low']:.1f}–"
            f"{100 * row['hlp_ci_high']:.1f}%"
        )
        basis = row.get("hlp_basis")
        if isinstance(basis, str) and basis and basis != "single human label":
            return f"{basis}, {measured}"
        return measured
    return "no HLP"


def format_hlp(row: Mapping) -> str:
    """Write one slice's HLP with what backs it, for a one-line summary.

    ``95.4% (n = 1,200, 95% CI 94.1–96.5%)``, ``100.0% (n = 1, too few human labels)``,
    ``93.0% (entered)``, or ``–`` without an HLP.
    """
    hlp = row.get("hlp")
    if hlp is None or pd.isna(hlp):
        return "–"
    source = row.get("hlp_source", "none")
    if source == "too_few":
        basis = f"n = {int(row['hlp_n']):,}, too few human labels"
    else:
        basis = describe_hlp_basis(row)
    return f"{100 * hlp:.1f}% ({basis})"


def slice_label(name: object, row: Mapping) -> str:
    """Return a slice's name for a sentence: a column condition as is, a tag as words."""
    return str(name) if row.get("kind") == "column" else display_name(str(name))


def pct(x: float) -> str:
    """Write a fraction as a percentage with one decimal (``0.123`` -> ``12.3%``)."""
    return f"{100 * x:.1f}%"


def overall_row(table: pd.DataFrame) -> Mapping:
    """Return the ``All data`` row (``kind`` ``overall``) of a slice table, else ``{}``."""
    kind = table["kind"] if "kind" in table.columns else pd.Series("tag", table.index)
    rows = table[kind == "overall"]
    return rows.iloc[0] if len(rows) else {}


def baseline_name(row: Mapping) -> str:
    """Return the name of the row's baseline (``baseline`` column), ``HLP`` by default."""
    name = row.get("baseline")
    return str(name) if isinstance(name, str) and name else "HLP"
