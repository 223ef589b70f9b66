"""Export the prioritisation report as CSV, Markdown, JSON or one self-contained HTML file.

Exports are safe to open: CSV cells that a spreadsheet would run as a formula are
prefixed with an apostrophe, HTML escapes every user-supplied string, and Markdown
escapes table characters.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import pandas as pd

from slicewise.core.baselines import BASIS_ENTERED, BASIS_SINGLE, BASIS_TARGET
from slicewise.core.errors import FileFormatError
from slicewise.core.jsonable import dumps_json, json_ready, plain_value
from slicewise.core.metrics import (
    DEFAULT_MATRIX_CLASSES,
    MIN_HUMAN_LABELS,
    compute_class_report,
    compute_confusion_matrix,
    compute_confusion_pairs,
)
from slicewise.core.prioritize import (
    advise,
    describe_hlp_basis,
    describe_priorities,
    format_hlp,
    rank_rule,
)
from slicewise.core.slice_names import OVERALL

FORMATS: tuple[str, ...] = ("csv", "markdown", "json", "html")
EXTENSIONS = {"csv": "csv", "markdown": "md", "json": "json", "html": "html"}

#: Columns of the JSON/CSV report, in order; task columns follow when present.
REPORT_COLUMNS: tuple[str, ...] = (
    "name",
    "kind",
    "n",
    "share",
    "accuracy",
    "accuracy_ci_low",
    "accuracy_ci_high",
    "hlp",
    "hlp_source",
    "hlp_n",
    "hlp_ci_low",
    "hlp_ci_high",
    "paired_accuracy",
    "gap",
    "error_rate",
    "error_share",
    "error_share_ci_low",
    "error_share_ci_high",
    "max_gain",
    "potential_gain",
    "importance",
    "ease",
    "priority",
    "rank",
    "p_value",
    "significant",
    "scope",
    "reviewed",
    "share_ci_low",
    "share_ci_high",
    "error_rate_rest",
    "lift",
    "excess_error",
    "excess_p_value",
    "excess_q_value",
    "worse_than_rest",
)
TASK_COLUMNS: tuple[str, ...] = ("precision", "recall", "f1", "fpr", "fnr", "wer", "mae", "rmse")
#: Characters that make a spreadsheet read what follows as a formula (OWASP, "CSV
#: Injection"). Their full-width forms (＝ ＋ － ＠) are left alone: LibreOffice does not
#: evaluate them (tests/test_csv_injection_libreoffice.py shows it).
FORMULA_CHARS = "=+-@"
#: Characters a spreadsheet may split a line into cells at: the common separators (comma;
#: semicolon, the list separator where the decimal mark is a comma; tab; pipe) and line
#: breaks (a reader that takes a quoted cell for unquoted, as a ``;`` reader does with a
#: ``,`` file, starts a row there). Space, which LibreOffice also offers as a separator,
#: is left out: an apostrophe before every ``-`` after a space would mangle plain text.
CELL_BREAKS = ",;\t|\r\n"
#: A place where a cell may begin in some spreadsheet's reading: the start of the text or
#: a cell break, then any spaces (trimmed by the "trim spaces" import option) and double
#: quotes (the CSV quoting, read as text by a reader that split inside a quoted cell),
#: followed by a formula character. Group 1 ends where the apostrophe goes.
_FORMULA_AT = re.compile(
    rf'((?:^|[{re.escape(CELL_BREAKS)}])[\s"]*)(?=[{re.escape(FORMULA_CHARS)}])'
)
#: A cell starting with one of these is prefixed too (OWASP lists tab and carriage return).
_CONTROL_START = ("\t", "\r")
#: A plain decimal number: a sign, ASCII digits grouped or split by ``.`` or ``,`` (either
#: decimal mark, either thousands separator), an exponent (``-1``, ``+2``, ``-3.5``,
#: ``-.5``, ``-1e-3``, ``-1,5``, ``-1,000.5``). A spreadsheet reads it as a number in one
#: locale and as text in another, never as a formula (tests/test_csv_injection_libreoffice.py
#: shows it for each reading).
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:[.,][0-9]+)*[.,]?|[.,][0-9]+)(?:[eE][+-]?[0-9]+)?")
#: What may follow a cell start for it to be left unprefixed: a plain number, then spaces,
#: then the end of the text (a separator after it would begin a cell that other readings
#: join to the number, such as ``-1;x``).
_NUMBER_TO_END = re.compile(rf"{_NUMBER.pattern} *")


#: Most classes the Markdown/HTML per-class table lists (the rarest first); JSON has all.
MAX_CLASS_ROWS = 40
#: Most classes of the Markdown/HTML confusion matrix (the most frequent; the others are
#: summed in an "(other)" row and column); JSON has every cell.
MAX_MATRIX_CLASSES = 12
#: Most label corrections the Markdown/HTML report lists (the latest); JSON has all.
MAX_CORRECTION_ROWS = 50


@dataclass(frozen=True)
class ClassResults:
    """The per-class results of a classification or binary task.

    ``per_class``: :func:`core.metrics.compute_class_report` (``support``, ``predicted``,
    ``precision``, ``recall``, ``f1``, with ``<metric>_ci_low``/``_ci_high`` where computed),
    indexed by class; ``confusion``: :func:`core.metrics.compute_confusion_matrix` (rows
    labels, columns predictions; at most :data:`core.metrics.DEFAULT_MATRIX_CLASSES`
    classes, the others summed in ``(other)``); ``pairs``:
    :func:`core.metrics.compute_confusion_pairs` (``label``, ``prediction``, ``count`` of
    every (label, prediction) pair that occurs: the whole matrix, without its empty cells).
    """

    per_class: pd.DataFrame
    confusion: pd.DataFrame
    pairs: pd.DataFrame


def compute_class_results(
    frame: pd.DataFrame | None = None, *, task: str, pairs: pd.DataFrame | None = None
) -> ClassResults | None:
    """Return the per-class table and confusion matrices of a classification task, or None.

    ``frame`` has ``label`` and ``prediction`` columns (a loaded dataset's frame); or give
    ``pairs``, the examples per (label, prediction) pair as
    :func:`core.metrics.compute_confusion_pairs` returns them (the DuckDB engine counts
    them in SQL, :meth:`core.engine_duckdb.DuckDBFile.confusion_pairs`), from which the
    same results are computed. ``task`` is the task kind: only ``classification`` and
    ``binary`` have classes, so text and regression give None. Memory and time grow with
    the examples and the classes, never with the square of the classes.
    """
    if task not in ("classification", "binary"):
        return None
    if pairs is None:
        if frame is None:
            raise ValueError("give a frame or pairs")
        pairs = compute_confusion_pairs(frame)
    return ClassResults(
        compute_class_report(pairs=pairs), compute_confusion_matrix(pairs=pairs), pairs
    )


def report_frame(table: pd.DataFrame) -> pd.DataFrame:
    """Flatten the ranked table: ``name`` first, then the report columns, then the rest.

    The :data:`REPORT_COLUMNS` come first, in their order; then the :data:`TASK_COLUMNS`,
    each followed by its 95% interval (``<metric>_ci_low``, ``<metric>_ci_high``) where the
    table has one; then every other column in the table's own order, so a column the
    analysis adds (``same_as``, ``rank_basis``, a baseline's) reaches the JSON and CSV.
    """
    out = table.copy()
    out.insert(0, "name", out.index.astype(str))
    cols = [c for c in REPORT_COLUMNS if c in out.columns]
    for c in TASK_COLUMNS:
        cols += [k for k in (c, f"{c}_ci_low", f"{c}_ci_high") if k in out.columns]
    taken = set(cols)
    cols += [c for c in out.columns if c not in taken]
    return out[cols].reset_index(drop=True)


_clean = plain_value


def report_dict(
    table: pd.DataFrame,
    *,
    dataset: str = "",
    task: str = "",
    classes: ClassResults | None = None,
    corrections: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Return the report as JSON-ready data, with machine (snake_case) names.

    ``{"dataset", "task", "ranked_by", "overall": {"n", "accuracy", "hlp", ...}, "slices":
    [{"name", "n", "share", "accuracy", "accuracy_ci_low", "accuracy_ci_high", "hlp", "gap",
    "error_rate", "error_share", "potential_gain", "rank", "significant", ...}], "per_class",
    "confusion_matrix", "corrections"}`` with the ``All data`` row (``kind`` ``overall``) as
    ``overall`` and every other row (ranked first) in ``slices``, a tag called ``All data``
    among them (as ``All data (tag)``, see :mod:`core.slice_names`); the columns are
    :func:`report_frame`'s. ``ranked_by`` is the order in words
    (:func:`core.prioritize.rank_rule`).

    ``advice`` lists :func:`core.prioritize.advise`'s findings (``slice``, ``action``: the
    rule that fired, ``text``), the things to do first.

    ``per_class`` is a list of ``{"class", "support", "predicted", "precision", "recall",
    "f1", ...}``, one per class, and ``confusion_matrix`` is, with at most
    :data:`core.metrics.DEFAULT_MATRIX_CLASSES` (50) classes, the dense matrix
    ``{"labels", "predictions", "counts"}`` (row ``i`` of ``counts``: examples labelled
    ``labels[i]``, by prediction); with more classes (where a dense matrix would grow with
    their square) the nonzero cells only, ``{"classes", "cells"}``: ``classes`` all of
    them sorted as text, ``cells`` a list of ``[label, prediction, count]``, most
    frequent first, every pair that occurs (so at most one per example). Both come from
    ``classes`` (:func:`compute_class_results`); ``corrections`` lists the label corrections
    given (``example_id``, ``original``, ``corrected``, ``user``, ``at``, ...). Each is
    ``null`` when not given. Fractions are in [0, 1]; missing values (an empty slice's NaN)
    and any non-finite number are ``null`` (:func:`json_ready`).
    """
    flat = report_frame(table)
    records = [{k: json_ready(v) for k, v in row.items()} for row in flat.to_dict("records")]
    if "kind" in flat.columns:
        is_overall = [r["kind"] == "overall" for r in records]
    else:  # a table without kinds: the overall row by its name
        is_overall = [r["name"] == OVERALL for r in records]
    overall = next((r for r, o in zip(records, is_overall, strict=True) if o), {})
    overall = {k: v for k, v in overall.items() if k not in _NOT_OVERALL}
    slices = [r for r, o in zip(records, is_overall, strict=True) if not o]
    per_class = matrix = None
    if classes is not None:
        per = classes.per_class.reset_index()
        per = per.rename(columns={per.columns[0]: "class"})
        per["class"] = per["class"].astype(str)
        per_class = json_ready(per.to_dict("records"))
        matrix = _matrix_json(classes)
    fixes = None
    if corrections is not None:
        fixes = json_ready(corrections.astype(object).to_dict("records"))
    advice = advise(table).to_dict("records") if "rank" in table.columns else []
    return {
        "dataset": dataset,
        "task": task,
        "ranked_by": rank_rule(table) if "rank" in table.columns else None,
        "advice": advice,
        "overall": overall,
        "slices": slices,
        "per_class": per_class,
        "confusion_matrix": matrix,
        "corrections": fixes,
    }


def _matrix_json(classes: ClassResults) -> dict[str, Any]:
    """Return the confusion matrix for JSON: dense for few classes, else its nonzero cells."""
    if len(classes.per_class) <= DEFAULT_MATRIX_CLASSES:
        cm = compute_confusion_matrix(pairs=classes.pairs)  # every class: no "(other)"
        return {
            "labels": [str(c) for c in cm.index],
            "predictions": [str(c) for c in cm.columns],
            "counts": cm.to_numpy().astype(int).tolist(),
        }
    pairs = classes.pairs
    return {
        "classes": sorted(str(c) for c in classes.per_class.index),
        "cells": [
            [str(a), str(b), int(k)]
            for a, b, k in zip(pairs["label"], pairs["prediction"], pairs["count"], strict=True)
        ],
    }


#: Slice-only columns left out of the report's ``overall``.
_NOT_OVERALL = frozenset(
    {
        "name",
        "kind",
        "rank",
        "importance",
        "ease",
        "priority",
        "rank_basis",
        "same_as",
        "excess_gain",
        "protected",
        "protected_by",
    }
)


def to_json(
    table: pd.DataFrame,
    *,
    dataset: str = "",
    task: str = "",
    classes: ClassResults | None = None,
    corrections: pd.DataFrame | None = None,
) -> str:
    """Return the report as indented JSON (see :func:`report_dict` and :func:`dumps_json`)."""
    return dumps_json(
        report_dict(table, dataset=dataset, task=task, classes=classes, corrections=corrections)
    )


def neutralise_formula(value: Any) -> Any:
    r"""Return ``value`` with an apostrophe before everything a spreadsheet could evaluate.

    A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (a tab or a
    carriage return first is risky too); the defence is a leading ``'``, which makes the
    cell text (OWASP, "CSV Injection", https://owasp.org/www-community/attacks/CSV_Injection).
    A CSV cell is not always read as one cell, though: a spreadsheet in a locale whose
    separator is ``;`` splits ``x;=1+1`` into ``x`` and ``=1+1``, and one that misreads the
    quoting starts a new row at a line break inside a cell. So the apostrophe goes before
    every formula character that comes at the start of the text or after any of
    :data:`CELL_BREAKS` (``, ; | tab CR LF``), with only spaces or double quotes between;
    and before a leading tab or carriage return. A plain number is not a formula: a
    ``-`` or ``+`` that starts a decimal number running to the end of the text (spaces
    after it allowed: ``-1``, ``+2``, ``-3.5``, `` -.5 ``, ``-1e-3``, ``-1,5``,
    ``x;-1.5``) gets no apostrophe, so a spreadsheet reads the number; ``-1+1``, ``-A1``,
    ``-1;x`` and ``--1`` still get one. Text other than ``str`` (numbers, None) is
    returned as given. Idempotent: a neutralised text is not changed again.

    Examples
    --------
    >>> neutralise_formula("=1+1"), neutralise_formula("x;=1+1"), neutralise_formula(-2)
    ("'=1+1", "x;'=1+1", -2)
    >>> neutralise_formula('a, "@SUM(1)"'), neutralise_formula("\t=1")
    ('a, "\'@SUM(1)"', "'\t'=1")
    >>> neutralise_formula("-3.5"), neutralise_formula("x;-1e-3"), neutralise_formula("-1+1")
    ('-3.5', 'x;-1e-3', "'-1+1")
    """
    if not isinstance(value, str):
        return value
    value = _FORMULA_AT.sub(_apostrophe, value)
    return "'" + value if value.startswith(_CONTROL_START) else value


def _apostrophe(start: re.Match[str]) -> str:
    """Return a cell start found by :data:`_FORMULA_AT`, with ``'`` unless a number follows.

    The number must run to the end of the text (:data:`_NUMBER_TO_END`).
    """
    number = _NUMBER_TO_END.fullmatch(start.string, start.end())
    return start.group(1) if number else start.group(1) + "'"


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``frame`` with its text cells and column names neutralised.

    Every ``str`` cell of an object, string or categorical column and every ``str`` column
    name goes through :func:`neutralise_formula`. Numbers are left alone, as numbers (a
    spreadsheet reads ``-0.25`` as a number, not a formula). The input is not modified.
    """
    out = frame.copy()
    for i in range(out.shape[1]):
        col = out.iloc[:, i]
        if isinstance(col.dtype, pd.CategoricalDtype):
            col = col.astype(object)
        if col.dtype == object or pd.api.types.is_string_dtype(col):
            out.isetitem(i, col.map(neutralise_formula))
    out.columns = [neutralise_formula(c) for c in out.columns]
    return out


def to_safe_csv(frame: pd.DataFrame) -> str:
    r"""Return ``frame`` as CSV text (no index) that is safe to open in a spreadsheet.

    Every CSV Slicewise offers goes through here: the text cells and column names are
    neutralised (:func:`neutralise_frame`), and every field is quoted
    (:data:`csv.QUOTE_ALL`), so a reader splitting at ``,`` keeps a ``;`` or a line break
    inside its cell; numbers are quoted too, and spreadsheets still read them as numbers.
    Lines end in CRLF (RFC 4180). Checked by opening the files in LibreOffice with ``,``
    and ``;`` as separators and formula evaluation on
    (tests/test_csv_injection_libreoffice.py).
    """
    return neutralise_frame(frame).to_csv(index=False, lineterminator="\r\n", quoting=csv.QUOTE_ALL)


def to_data_csv(frame: pd.DataFrame) -> str:
    r"""Return ``frame`` as CSV text (no index) with every value exactly as it is.

    For a data file the user feeds back to Slicewise, such as ``slicewise tag FILE -o OUT``
    (the file with a tag column), not for a report opened in a spreadsheet (that is
    :func:`to_safe_csv`): no apostrophe is added, so ``-1``, ``=HYPERLINK(...)`` and
    ``007`` come back from :func:`core.dataset.read_table` as they went in. RFC 4180
    quoting where needed (a field holding ``,``, ``"`` or a line break is quoted, ``"``
    doubled); missing values are blank; lines end in CRLF.

    Examples
    --------
    >>> to_data_csv(pd.DataFrame({"id": ["=1+1", "a,b"], "y": ["-1", None]}))
    'id,y\r\n=1+1,-1\r\n"a,b",\r\n'
    """
    return frame.to_csv(index=False, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)


def make_csv_safe(content: str | bytes, *, name: str = "CSV") -> str:
    """Return CSV text rewritten as :func:`to_safe_csv` writes it, numbers kept as they are.

    For CSV written elsewhere or earlier, such as a report saved in the store before its
    cells were neutralised after separators. ``content`` is parsed as RFC 4180 CSV (bytes
    as UTF-8, undecodable bytes replaced); every cell goes through
    :func:`neutralise_formula` (plain numbers stay as they are); every field is quoted and
    lines end in CRLF.
    Text that :func:`to_safe_csv` wrote comes back unchanged.

    Raises
    ------
    core.errors.FileFormatError
        ``content`` cannot be parsed as CSV (a cell over Python's field size limit, 128 KiB);
        the message starts with ``name``.
    """
    text = content.decode("utf-8", errors="replace") if isinstance(content, bytes) else content
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    try:
        for row in csv.reader(io.StringIO(text, newline="")):
            writer.writerow(neutralise_formula(cell) for cell in row)
    except csv.Error as exc:
        raise FileFormatError(
            f"{name}: cannot be read as CSV to neutralise its formulas ({exc})"
        ) from None
    return out.getvalue()


def to_csv(table: pd.DataFrame) -> str:
    """Return the report as CSV, with formula-like cells neutralised."""
    return to_safe_csv(report_frame(table))


#: Fraction columns, shown as percentages.
_PERCENT = frozenset(
    {
        "share",
        "accuracy",
        "hlp",
        "error_rate",
        "error_share",
        "paired_accuracy",
        "precision",
        "recall",
        "f1",
        "fpr",
        "fnr",
        "wer",
        "error_rate_rest",
    }
)
#: Columns in accuracy points (differences of fractions), signed.
_POINTS = frozenset({"gap", "potential_gain", "excess_gain", "excess_error"})


def _fmt(value: Any, col: str) -> str:
    """Write one cell of the readable tables: percentages, points, yes/no, ``–`` if missing."""
    value = _clean(value)
    if value is None or (isinstance(value, str) and col == "same_as" and not value):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    if (
        col in _PERCENT
        or col.endswith(("_ci_low", "_ci_high"))
        and col.split("_ci_")[0] in _PERCENT
    ):
        return f"{100 * value:.1f}%"
    if col in _POINTS:
        return f"{100 * value:+.1f}"
    if col in ("max_gain", "priority"):
        return f"{100 * value:.2f}"
    if col in ("p_value", "excess_p_value", "excess_q_value"):
        return f"{value:.3g}"
    if col in ("rank", "n", "hlp_n", "errors", "support", "predicted"):
        return f"{int(value)}"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def _interval(row: Mapping[str, Any], col: str) -> str:
    """Write the 95% interval of ``col`` in ``row`` (``<col>_ci_low``/``_ci_high``), or ``""``."""
    low, high = _clean(row.get(f"{col}_ci_low")), _clean(row.get(f"{col}_ci_high"))
    if not isinstance(low, float) or not isinstance(high, float) or low == high:
        return ""  # none, or an exact figure (a tag's error share where it is known)
    if col in _PERCENT:
        return f"{100 * low:.1f}–{100 * high:.1f}%"
    if col in _POINTS:
        return f"{100 * low:+.1f} to {100 * high:+.1f}"
    return f"{low:.3g}–{high:.3g}"


class _Cell(NamedTuple):
    """A table cell holding a value and its 95% interval (each renderer places the two)."""

    value: str
    interval: str

    def __str__(self) -> str:
        return f"{self.value} ({self.interval})"


def _with_interval(row: Mapping[str, Any], col: str) -> str | _Cell:
    """``44.8% (41.9–47.8%)``: a value followed by its 95% interval when there is one."""
    text = _fmt(row.get(col), col)
    ci = _interval(row, col)
    return _Cell(text, ci) if ci and text != "–" else text


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")
# Every character str.splitlines() breaks on: any of them would end a table row early.
_LINE_BREAKS = re.compile("[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+")


def escape_markdown(text: str) -> str:
    """Escape Markdown table and emphasis characters so user text stays literal."""
    return _LINE_BREAKS.sub(" ", _MD_SPECIAL.sub(r"\\\1", str(text)))


# --------------------------------------------------------------------------- readable report

#: Readable headers of the Markdown and HTML tables by machine name (JSON and CSV keep the
#: machine names). ``accuracy_interval`` and ``hlp_basis`` are made for display.
READABLE_NAMES: dict[str, str] = {
    "rank": "Rank",
    "name": "Slice",
    "n": "Examples",
    "share": "Share of data",
    "accuracy": "Accuracy",
    "accuracy_interval": "95% interval",
    "hlp": "HLP",
    "hlp_basis": "HLP measured on",
    "gap": "Gap (points)",
    "significant": "Gap significant",
    "error_share": "Share of errors",
    "excess_error": "Errors vs rest (points)",
    "worse_than_rest": "Worse than rest",
    "priority": "Priority",
    "importance": "Importance",
    "ease": "Ease",
    "max_gain": "Max gain (points)",
    "scope": "Tag known on",
    "precision": "Precision",
    "recall": "Recall",
    "f1": "F1",
    "fpr": "False-positive rate",
    "fnr": "False-negative rate",
    "wer": "WER",
    "mae": "MAE",
    "rmse": "RMSE",
    "support": "Support",
    "predicted": "Predicted",
}
#: What each ``hlp_source`` is called in the headline, and how that baseline was measured.
BASELINE_WORDS: dict[str, tuple[str, str]] = {
    "human_label": (
        "HLP",
        "how often the human-label column agrees with the label, on the "
        "examples that have one; 95% Wilson score interval (Wilson, 1927); a "
        f"slice needs at least {MIN_HUMAN_LABELS} such examples to be compared, "
        "and its gap is tested with McNemar's exact test on the same examples",
    ),
    "too_few": (
        "HLP",
        f"measured on fewer than {MIN_HUMAN_LABELS} human labels: shown, but "
        "too uncertain to compare with the model",
    ),
    "user": (
        "HLP (entered)",
        "typed in by the team, not measured here; the gap is tested "
        "with an exact binomial test of the slice's correct count",
    ),
    "human_accuracy": (
        "HLP",
        "the mean per-row human accuracy: how often one annotator is "
        "right (not a majority vote, which is an upper bound)",
    ),
    "older_system": ("Older system", "the accuracy of the older system on the same slice"),
    "target": ("Target", "a target accuracy the team set"),
}
_TASK_HEADLINE = {
    "binary": ("fpr", "fnr", "precision", "recall"),
    "text": ("wer",),
    "regression": ("mae",),
}


def _overall_row(table: pd.DataFrame) -> dict[str, Any]:
    """Return the ``All data`` row (``kind`` ``overall``, else by name) as a dict, or ``{}``."""
    if "kind" in table.columns:
        rows = table[table["kind"] == "overall"]
    else:
        rows = table[table.index == OVERALL]
    return rows.iloc[0].to_dict() if len(rows) else {}


def _baseline_name(row: Mapping[str, Any]) -> str:
    """``HLP``, ``Older system``, ``Target``: what one row's baseline is called."""
    given = row.get("baseline")
    if isinstance(given, str) and given:
        return given
    return BASELINE_WORDS.get(str(row.get("hlp_source", "none")), ("Baseline", ""))[0]


def _headline(table: pd.DataFrame, *, dataset: str, task: str) -> list[tuple[str, str]]:
    """(label, value) pairs of the report's first lines: data, accuracy, baseline, gap."""
    row = _overall_row(table)
    facts = []
    if dataset:
        facts.append(("Dataset", dataset))
    if task:
        facts.append(("Task", task))
    if not row:
        return facts
    facts.append(("Examples", f"{int(row['n']):,}"))
    acc = _interval(row, "accuracy")
    facts.append(
        (
            "Accuracy",
            _fmt(row.get("accuracy"), "accuracy") + (f" (95% interval {acc})" if acc else ""),
        )
    )
    for col in _TASK_HEADLINE.get(task, ()):
        if _clean(row.get(col)) is not None:
            ci = _interval(row, col)
            facts.append(
                (READABLE_NAMES[col], _fmt(row[col], col) + (f" (95% interval {ci})" if ci else ""))
            )
    hlp = _clean(row.get("hlp"))
    if hlp is None:
        facts.append(
            (
                "Baseline",
                "none: no human label, entered HLP, older system or target, "
                "so slices are compared with the rest of the data instead",
            )
        )
        return facts
    name = _baseline_name(row)
    facts.append((name[:1].upper() + name[1:], format_hlp(row)))
    gap = _clean(row.get("gap"))
    if gap is None:
        facts.append(("Gap", f"not measured ({describe_hlp_basis(row)})"))
        return facts
    side = "below" if gap > 0 else "above"
    text = f"the model is {abs(100 * gap):.1f} points {side} {name}"
    ci = _interval(row, "gap")
    if ci:
        text += f" (95% interval {ci})"
    p = _clean(row.get("p_value"))
    if p is not None:
        text += (
            "; significant at the 5% level"
            if row.get("significant")
            else "; not statistically significant"
        ) + f" (p = {p:.2g})"
    facts.append(("Gap", text))
    return facts


def _display_columns(flat: pd.DataFrame) -> list[str]:
    """Choose the columns the readable slice table shows: the baseline's only when there is one."""
    has = set(flat.columns) | {"accuracy_interval"}
    slices = flat[flat["kind"].isin(["tag", "column", "untagged"])] if "kind" in flat else flat
    cols = ["rank", "name", "n", "share", "accuracy", "accuracy_interval"]
    if "hlp" in flat.columns and flat["hlp"].notna().any():
        cols += ["hlp", "hlp_basis", "gap", "significant"]
        has.add("hlp_basis")
    cols += ["error_share", "excess_error", "worse_than_rest", "priority"]
    for weight in ("importance", "ease"):
        if weight in flat.columns and (flat[weight].dropna() != 3).any():
            cols.append(weight)
    if "scope" in slices.columns and (slices["scope"].dropna() != "all").any():
        cols += ["max_gain", "scope"]
    cols += list(TASK_COLUMNS)
    return [c for c in cols if c in has]


def _slice_cell(row: Mapping[str, Any], col: str) -> str | _Cell:
    """Write one cell of the readable slice table (the renderer escapes it)."""
    if col == "name":
        also = _clean(row.get("same_as"))
        return str(row["name"]) + (f" (also: {also})" if isinstance(also, str) and also else "")
    if col == "accuracy_interval":
        return _interval(row, "accuracy") or "–"
    if col == "hlp_basis":
        return describe_hlp_basis(row) if _clean(row.get("hlp")) is not None else "–"
    if col in ("gap", "error_share", *TASK_COLUMNS):
        return _with_interval(row, col)
    if col in ("priority", "worse_than_rest") and _clean(row.get("rank")) is None:
        return "–"  # only ranked slices have a priority and are compared with the rest
    return _fmt(row.get(col), col)


_Block = tuple[Any, ...]


def _slice_blocks(table: pd.DataFrame) -> list[_Block]:
    """Build the slice section: the order it follows in words, a chart (HTML) and the table."""
    flat = report_frame(table)
    cols = _display_columns(flat)
    rows = [[_slice_cell(r, c) for c in cols] for r in flat.to_dict("records")]
    order = (
        f"Ordered by rank: {rank_rule(table)}. Rows without a rank follow: all data, "
        "examples with no tag, and slices that cannot be ranked (no usable baseline, or "
        "accuracy unknown)."
        if "rank" in table.columns
        else ""
    )
    blocks: list[_Block] = [("p", order)] if order else []
    blocks.append(("chart", table))
    header = [READABLE_NAMES[c] for c in cols]
    name = _baseline_name(_overall_row(table))
    if name != "HLP" and "hlp" in cols:  # an older system or a target: say so
        header[cols.index("hlp")] = "Baseline"
        header[cols.index("hlp_basis")] = "Baseline measured on"
    blocks.append(("table", header, rows, ""))
    notes = [_interval_note(flat, cols)]
    if "excess_error" in cols:
        notes.append(
            "Errors vs rest: the slice's error rate minus that of every example "
            "outside it; 'worse than rest' when that is positive and significant "
            "after a Benjamini–Hochberg correction across the slices (false "
            "discovery rate 5%)."
        )
    if "gap" in cols:
        notes.append(
            "Gap: the baseline minus the model's accuracy on the same examples, in "
            "accuracy points (positive: the model trails)."
        )
    notes.append(
        "Priority: the gain the order uses (see above), in accuracy points on all "
        "data. A slice with the same examples as another is shown once "
        "('also: …')."
    )
    blocks.append(("small", " ".join(notes)))
    return blocks


#: How the intervals of the table's columns are computed (:mod:`core.intervals`).
INTERVAL_METHODS: dict[str, str] = {
    "gap": "the gap: Newcombe's (1998) interval for a difference of paired proportions "
    "(human labels, an older system), the Student t interval of the mean paired "
    "difference (per-row human accuracy), or the accuracy interval shifted (an "
    "entered HLP, a target)",
    "f1": "F1: a seeded percentile bootstrap of the confusion counts (Efron & Tibshirani, 1993)",
    "wer": "WER: the delta-method interval of a ratio (Cochran, 1977)",
    "mae": "MAE: the Student t interval of a mean",
}


def _interval_note(flat: pd.DataFrame, cols: Sequence[str]) -> str:
    """Say how the intervals shown were computed: Wilson for proportions, then the others."""
    parts = [
        "Intervals are 95% intervals: Wilson score intervals (Wilson, 1927) for "
        "proportions (accuracy, HLP, shares, precision, recall, false-positive and "
        "false-negative rates)"
    ]
    parts += [
        how
        for col, how in INTERVAL_METHODS.items()
        if col in cols and f"{col}_ci_low" in flat.columns
    ]
    return "; ".join(parts) + "."


def _class_blocks(classes: ClassResults) -> list[_Block]:
    """Build the per-class table (rarest first) and the confusion matrix."""
    per = classes.per_class
    cols = [c for c in ("support", "predicted", "precision", "recall", "f1") if c in per]
    shown = per.head(MAX_CLASS_ROWS)
    rows = [
        [str(cls), *(_with_interval(r, c) for c in cols)]
        for cls, r in zip(shown.index, shown.to_dict("records"), strict=True)
    ]
    blocks: list[_Block] = [
        (
            "p",
            "Precision: of the examples predicted as the class, the share that are; "
            "recall: of the examples of the class, the share found (the class's accuracy); F1: "
            "their harmonic mean. Rarest classes first."
            + (
                f" The {MAX_CLASS_ROWS} rarest of {len(per)} classes are shown; the JSON report "
                "lists all."
                if len(per) > MAX_CLASS_ROWS
                else ""
            ),
        ),
        ("table", ["Class", *(READABLE_NAMES[c] for c in cols)], rows, "classes"),
    ]
    sub = compute_confusion_matrix(pairs=classes.pairs, max_classes=MAX_MATRIX_CLASSES)
    header = ["Label \u2193 / prediction \u2192", *(str(c) for c in sub.columns)]
    body = [
        [str(lbl), *(f"{int(v):,}" for v in counts)]
        for lbl, counts in zip(sub.index, sub.to_numpy(), strict=True)
    ]
    blocks.append(("h3", "Confusion matrix"))
    blocks.append(
        (
            "p",
            "Rows: the label; columns: the prediction; the diagonal is correct."
            + (
                f" The {MAX_MATRIX_CLASSES} most frequent of {len(per):,} classes "
                f"are shown and the others summed in {sub.index[-1]}; the JSON report "
                "has every cell."
                if len(per) > MAX_MATRIX_CLASSES
                else ""
            ),
        )
    )
    blocks.append(("table", header, body, "matrix"))
    return blocks


def _correction_blocks(corrections: pd.DataFrame) -> list[_Block]:
    """Say which labels were corrected, from what to what, by whom and when."""
    if corrections.empty:
        return [("p", "No label has been corrected.")]
    who = corrections["user"].astype(str).value_counts() if "user" in corrections else None
    text = f"{len(corrections):,} label{'s' if len(corrections) != 1 else ''} corrected"
    if who is not None:
        text += " by " + ", ".join(f"{u} ({k:,})" for u, k in who.items())
    cols = [
        c
        for c in ("example_id", "original", "corrected", "user", "at", "reason")
        if c in corrections.columns
    ]
    names = {
        "example_id": "Example",
        "original": "Old label",
        "corrected": "New label",
        "user": "By",
        "at": "When",
        "reason": "Reason",
    }
    shown = corrections.tail(MAX_CORRECTION_ROWS)
    rows = [
        ["–" if _clean(v) is None else str(v) for v in r]
        for r in shown[cols].astype(object).itertuples(index=False)
    ]
    if len(corrections) > MAX_CORRECTION_ROWS:
        text += f"; the latest {MAX_CORRECTION_ROWS} are listed (the JSON report has all)"
    return [("p", text + "."), ("table", [names[c] for c in cols], rows, "corrections")]


def _baseline_blocks(table: pd.DataFrame) -> list[_Block]:
    """Say how each baseline in the table was measured, one line per kind."""
    row = _overall_row(table)
    lines = []
    if row and _clean(row.get("hlp")) is not None:
        lines.append(f"On all data, {_baseline_name(row)}: {format_hlp(row)}.")
    if "hlp_source" in table.columns:
        basis = (
            table["hlp_basis"]
            if "hlp_basis" in table.columns
            else pd.Series(None, index=table.index, dtype=object)
        )
        kinds = pd.DataFrame(
            {
                "source": table["hlp_source"].astype(str),
                "basis": basis.where(basis.notna(), "").astype(str),
            }
        )
        for (source, said), group in kinds.groupby(["source", "basis"], sort=False):
            if source == "none":
                continue
            name, how = BASELINE_WORDS.get(source, (source, "see the hlp_source column"))
            rows = f"{len(group):,} row{'s' if len(group) != 1 else ''}"
            # the wording of the measurement itself (a majority label, an older system...)
            if said and said not in (BASIS_SINGLE, BASIS_ENTERED, BASIS_TARGET):
                rows += f", {said}"
            lines.append(f"{name} ({rows}): {how}.")
    if not lines:
        lines.append(
            "No baseline: the data has no human-label column and no HLP, older "
            "system or target was given. Slices are ranked by how much more they err "
            "than the rest of the data."
        )
    return [("ul", lines)]


def _sections(
    table: pd.DataFrame,
    *,
    dataset: str,
    task: str,
    summary: Sequence[str] | None,
    classes: ClassResults | None,
    corrections: pd.DataFrame | None,
) -> list[tuple[str, list[_Block]]]:
    """Return the report's sections in order, as blocks both renderers draw."""
    advice = list(describe_priorities(table) if summary is None else summary)
    todo: list[_Block] = (
        [("ol", advice[:3])] if advice else [("p", "No advice: no slice could be ranked.")]
    )
    if len(advice) > 3:
        todo += [("p", "Also noted:"), ("ul", advice[3:])]
    sections = [
        ("At a glance", [("facts", _headline(table, dataset=dataset, task=task))]),
        ("What to do next", todo),
        ("Slices", _slice_blocks(table)),
    ]
    if classes is not None:
        sections.append(("Per class", _class_blocks(classes)))
    if corrections is not None:
        sections.append(("Label corrections", _correction_blocks(corrections)))
    sections.append(("How the baseline was measured", _baseline_blocks(table)))
    return sections


def to_markdown(
    table: pd.DataFrame,
    *,
    title: str = "Slicewise report",
    summary: Sequence[str] | None = None,
    dataset: str = "",
    task: str = "",
    classes: ClassResults | None = None,
    corrections: pd.DataFrame | None = None,
) -> str:
    """Return the report as a Markdown document a manager can read.

    Sections: *At a glance* (dataset, task, examples, accuracy with its 95% interval, the
    baseline and how it was measured, the gap), *What to do next* (the first three
    sentences of ``summary``, by default :func:`core.prioritize.describe_priorities`; the
    rest under "Also noted"), *Slices* (the order in words, then the table with readable
    headers, :data:`READABLE_NAMES`), *Per class* and its confusion matrix (when
    ``classes`` is given, :func:`compute_class_results`), *Label corrections* (when
    ``corrections`` is given: ``example_id``, ``original``, ``corrected``, ``user``, ``at``,
    ``reason``, as :meth:`core.store.Store.corrections` returns them) and *How the baseline
    was measured*. Every user string is escaped (:func:`escape_markdown`).
    """
    lines = [f"# {escape_markdown(title)}", ""]
    for heading, blocks in _sections(
        table, dataset=dataset, task=task, summary=summary, classes=classes, corrections=corrections
    ):
        lines += [f"## {escape_markdown(heading)}", ""]
        for block in blocks:
            lines += _markdown_block(block)
    return "\n".join(lines) + "\n"


def _markdown_block(block: _Block) -> list[str]:
    kind = block[0]
    if kind == "chart":
        return []
    if kind in ("p", "small"):
        return [escape_markdown(block[1]), ""]
    if kind == "h3":
        return [f"### {escape_markdown(block[1])}", ""]
    if kind == "facts":
        return [f"- **{escape_markdown(k)}:** {escape_markdown(v)}" for k, v in block[1]] + [""]
    if kind in ("ul", "ol"):
        mark = (lambda i: f"{i}.") if kind == "ol" else (lambda i: "-")
        return [f"{mark(i)} {escape_markdown(s)}" for i, s in enumerate(block[1], 1)] + [""]
    _, header, rows, _ = block
    out = [
        "| " + " | ".join(escape_markdown(h) for h in header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    out += ["| " + " | ".join(escape_markdown(str(c)) for c in r) + " |" for r in rows]
    return [*out, ""]


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #1f2937; max-width: 80rem; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.5rem 0 1rem; }
th, td { border: 1px solid #d1d5db; padding: 3px 7px; text-align: right; }
th { background: #f3f4f6; } td:first-child { text-align: left; } td { white-space: nowrap; }
table:not([class]) td:nth-child(2), table.corrections td { text-align: left; }
table:not([class]) td:nth-child(2) { white-space: normal; min-width: 8rem; }
dl { display: grid; grid-template-columns: max-content auto; gap: 2px 1rem; }
dt { font-weight: 600; } dd { margin: 0; }
.meta, .small { color: #6b7280; font-size: 0.85rem; }
.ci { color: #6b7280; font-size: 0.75rem; white-space: nowrap; }
"""


def to_html(
    table: pd.DataFrame,
    *,
    title: str = "Slicewise report",
    summary: Sequence[str] | None = None,
    dataset: str = "",
    task: str = "",
    classes: ClassResults | None = None,
    corrections: pd.DataFrame | None = None,
    generated: dt.datetime | None = None,
) -> str:
    """Return the report (:func:`to_markdown`'s sections) as one self-contained HTML page.

    It opens offline: no script and nothing fetched; the one chart (share of errors beside
    share of data, per slice) is inline SVG drawn here (:func:`share_chart_svg`). Every
    user-supplied string is escaped.
    """
    generated = generated or dt.datetime.now(dt.UTC)
    body = [
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="meta">Generated {html.escape(generated.strftime("%Y-%m-%d %H:%M UTC"))}'
        " by Slicewise.</p>",
    ]
    for heading, blocks in _sections(
        table, dataset=dataset, task=task, summary=summary, classes=classes, corrections=corrections
    ):
        body.append(f"<h2>{html.escape(heading)}</h2>")
        body += [_html_block(b) for b in blocks]
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style></head>\n<body>\n"
        + "\n".join(b for b in body if b)
        + "\n</body></html>\n"
    )


def _html_block(block: _Block) -> str:
    kind, esc = block[0], html.escape
    if kind == "chart":
        return share_chart_svg(block[1])
    if kind == "p":
        return f"<p>{esc(block[1])}</p>"
    if kind == "small":
        return f'<p class="small">{esc(block[1])}</p>'
    if kind == "h3":
        return f"<h3>{esc(block[1])}</h3>"
    if kind == "facts":
        return (
            "<dl>" + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in block[1]) + "</dl>"
        )
    if kind in ("ul", "ol"):
        return f"<{kind}>" + "".join(f"<li>{esc(s)}</li>" for s in block[1]) + f"</{kind}>"
    _, header, rows, css = block
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_html_cell(c)}</td>" for c in r) + "</tr>" for r in rows)
    # the slice table is the page's first plain <table>; the others carry a class
    opening = f'<table class="{css}">' if css else "<table>"
    return f"{opening}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html_cell(cell: str | _Cell) -> str:
    """Escape a cell; a value with an interval shows the interval small, on a second line."""
    if isinstance(cell, _Cell):
        return f'{html.escape(cell.value)}<br><span class="ci">{html.escape(cell.interval)}</span>'
    return html.escape(cell)


#: Most slices the report's chart draws (in table order).
MAX_CHART_SLICES = 15


def share_chart_svg(table: pd.DataFrame, *, top: int = MAX_CHART_SLICES) -> str:
    """Draw share of errors beside share of data for the first ``top`` slices, as inline SVG.

    A slice whose share of errors exceeds its share of data errs more than average; the
    error bar is red where the slice is worse than the rest (``worse_than_rest``), else
    blue. Rows are the table's tag, column and ``No tag`` rows in its order. Returns ``""``
    when there is no such row. Labels are escaped; nothing refers outside the page.
    """
    kind = table["kind"] if "kind" in table.columns else pd.Series("tag", index=table.index)
    rows = table[kind.isin(["tag", "column", "untagged"])].head(top)
    if not len(rows):
        return ""
    label_w, bar_w, row_h, top_h = 230, 380, 30, 34
    values = pd.concat([rows["share"], rows["error_share"]]).dropna()
    scale = max(float(values.max()) if len(values) else 0.0, 0.01)
    height = top_h + row_h * len(rows) + 8
    width = label_w + bar_w + 70
    esc = html.escape
    out = [
        f'<svg role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'font-family="system-ui, sans-serif" font-size="12">',
        "<title>Share of errors and share of data per slice</title>",
        f'<rect x="{label_w}" y="6" width="10" height="10" fill="#cbd5e1"/>'
        f'<text x="{label_w + 14}" y="15">share of data</text>'
        f'<rect x="{label_w + 110}" y="6" width="10" height="10" fill="#b91c1c"/>'
        f'<text x="{label_w + 124}" y="15">share of errors: worse than the rest</text>'
        f'<rect x="{label_w + 350}" y="6" width="10" height="10" fill="#2563eb"/>'
        f'<text x="{label_w + 364}" y="15">not worse</text>',
    ]
    worse = rows["worse_than_rest"] if "worse_than_rest" in rows else pd.Series(False, rows.index)
    for i, (name, row) in enumerate(rows.iterrows()):
        y = top_h + i * row_h
        label = str(name) if len(str(name)) <= 34 else str(name)[:33] + "…"
        out.append(
            f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end">{esc(label)}'
            f"<title>{esc(str(name))}</title></text>"
        )
        for j, (col, color) in enumerate(
            (("share", "#cbd5e1"), ("error_share", "#b91c1c" if bool(worse[name]) else "#2563eb"))
        ):
            value = _clean(row.get(col))
            if value is None:
                continue
            w = max(bar_w * value / scale, 0.5)
            out.append(
                f'<rect x="{label_w}" y="{y + 2 + 12 * j}" width="{w:.1f}" height="11" '
                f'fill="{color}"/><text x="{label_w + w + 4:.1f}" y="{y + 11 + 12 * j}" '
                f'font-size="10">{100 * value:.1f}%</text>'
            )
    out.append("</svg>")
    return "".join(out)


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(text: str, *, default: str = "dataset") -> str:
    """Reduce ``text`` to a file-name-safe stem: no separators, no leading dots, <= 80 chars."""
    stem = _UNSAFE.sub("-", str(text)).strip("-.")
    return stem[:80] or default


def report_filename(dataset: str, fmt: str, *, day: dt.date | None = None) -> str:
    """``slicewise-<dataset>-<YYYY-MM-DD>.<ext>`` with the dataset name sanitised."""
    day = day or dt.date.today()
    return f"slicewise-{safe_filename(dataset)}-{day.isoformat()}.{EXTENSIONS[fmt]}"
