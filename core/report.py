"""Export the prioritisation report as CSV, Markdown, JSON or one self-contained HTML file.

Exports are safe to open: CSV cells that a spreadsheet would run as a formula are
prefixed with an apostrophe, HTML escapes every user-supplied string, and Markdown
escapes table characters.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from core.prioritize import describe_hlp_basis
from core.slice_names import OVERALL

FORMATS: tuple[str, ...] = ("csv", "markdown", "json", "html")
EXTENSIONS = {"csv": "csv", "markdown": "md", "json": "json", "html": "html"}

#: Columns of the JSON/CSV report, in order; task columns follow when present.
REPORT_COLUMNS: tuple[str, ...] = (
    "name", "kind", "n", "share", "accuracy", "accuracy_ci_low", "accuracy_ci_high", "hlp",
    "hlp_source", "hlp_n", "hlp_ci_low", "hlp_ci_high", "paired_accuracy", "gap", "error_rate",
    "error_share", "error_share_ci_low", "error_share_ci_high", "max_gain", "potential_gain",
    "importance", "ease", "priority", "rank", "p_value", "significant", "scope", "reviewed",
    "share_ci_low", "share_ci_high", "error_rate_rest", "lift", "excess_error",
    "excess_p_value", "excess_q_value", "worse_than_rest",
)
TASK_COLUMNS: tuple[str, ...] = ("precision", "recall", "f1", "fpr", "fnr", "wer", "mae", "rmse")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def report_frame(table: pd.DataFrame) -> pd.DataFrame:
    """Flatten the ranked table: ``name`` first, then the report columns."""
    out = table.copy()
    out.insert(0, "name", out.index.astype(str))
    cols = [c for c in REPORT_COLUMNS if c in out.columns]
    cols += [c for c in TASK_COLUMNS if c in out.columns]
    return out[cols].reset_index(drop=True)


def _clean(value: Any) -> Any:
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    if value is pd.NA or value is None:
        return None
    return value


def report_dict(table: pd.DataFrame, *, dataset: str = "", task: str = "") -> dict[str, Any]:
    """Return the report as JSON-ready data.

    ``{"dataset", "task", "overall": {"n", "accuracy", "hlp", ...}, "slices": [{"name", "n",
    "share", "accuracy", "accuracy_ci_low", "accuracy_ci_high", "hlp", "gap", "error_rate",
    "error_share", "potential_gain", "rank", "significant", ...}]}`` with the ``All data``
    row (``kind`` ``overall``) as ``overall`` and every other row (ranked first) in
    ``slices``, a tag called ``All data`` among them (as ``All data (tag)``, see
    :mod:`core.slice_names`). Fractions are in [0, 1]; missing values (an empty slice's
    NaN) and any non-finite number are ``null`` (:func:`json_ready`).
    """
    flat = report_frame(table)
    records = [{k: json_ready(v) for k, v in row.items()} for row in flat.to_dict("records")]
    if "kind" in flat.columns:
        is_overall = [r["kind"] == "overall" for r in records]
    else:  # a table without kinds: the overall row by its name
        is_overall = [r["name"] == OVERALL for r in records]
    overall = next((r for r, o in zip(records, is_overall, strict=True) if o), {})
    overall = {k: v for k, v in overall.items() if k not in ("name", "kind", "rank", "importance",
                                                           "ease", "priority")}
    slices = [r for r, o in zip(records, is_overall, strict=True) if not o]
    return {"dataset": dataset, "task": task, "overall": overall, "slices": slices}


def to_json(table: pd.DataFrame, *, dataset: str = "", task: str = "") -> str:
    """Return the report as indented JSON (see :func:`report_dict` and :func:`dumps_json`)."""
    return dumps_json(report_dict(table, dataset=dataset, task=task))


def json_ready(value: Any) -> Any:
    """Return ``value`` as plain Python data that strict JSON can hold.

    Dicts, lists and tuples are walked; numpy scalars become Python ones; ``NaN``,
    ``inf``, ``-inf``, ``None`` and ``pd.NA`` become ``None`` (JSON ``null``): RFC 8259 has
    no ``NaN`` or ``Infinity``, which Python's :mod:`json` writes by default and strict
    parsers (JavaScript's ``JSON.parse``, ``jq``) refuse.

    Examples
    --------
    >>> json_ready({"a": [np.float64("nan"), np.int64(2)], "b": float("inf")})
    {'a': [None, 2], 'b': None}
    """
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    value = _clean(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dumps_json(data: Any, *, ensure_ascii: bool = False) -> str:
    """Return ``data`` as indented strict JSON: non-finite numbers are ``null``.

    Every JSON document Slicewise writes (the report, the CLI's ``--format json``) goes
    through :func:`json_ready` here; ``allow_nan=False`` makes a ``NaN`` that slipped past
    it an error rather than an invalid document.
    """
    return json.dumps(json_ready(data), indent=2, ensure_ascii=ensure_ascii, allow_nan=False)


def neutralise_formula(value: Any) -> Any:
    """Prefix a string that a spreadsheet would evaluate (``= + - @``, tab, CR) with ``'``."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``frame`` with formula-like text cells and column names neutralised.

    Numbers are left alone (a spreadsheet reads ``-0.25`` as a number, not a formula).
    """
    out = frame.copy()
    for i in range(out.shape[1]):
        col = out.iloc[:, i]
        if col.dtype == object or pd.api.types.is_string_dtype(col):
            out.isetitem(i, col.map(neutralise_formula))
    out.columns = [neutralise_formula(c) for c in out.columns]
    return out


def to_safe_csv(frame: pd.DataFrame) -> str:
    r"""Return ``frame`` as CSV text (no index) that is safe to open in a spreadsheet.

    Every CSV Slicewise offers goes through here (see :func:`neutralise_frame`). Lines end
    in CRLF (RFC 4180) so that a cell holding a carriage return is quoted: unquoted, a
    spreadsheet starts a new row there, and ``"ok\r=cmd()"`` would smuggle in a formula.
    """
    return neutralise_frame(frame).to_csv(index=False, lineterminator="\r\n")


def to_csv(table: pd.DataFrame) -> str:
    """Return the report as CSV, with formula-like cells neutralised."""
    return to_safe_csv(report_frame(table))


def _fmt(value: Any, col: str) -> str:
    value = _clean(value)
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if col in ("share", "accuracy", "hlp", "error_rate", "error_share", "accuracy_ci_low",
               "accuracy_ci_high", "hlp_ci_low", "hlp_ci_high", "paired_accuracy", "precision",
               "recall", "f1", "fpr", "fnr", "wer", "error_share_ci_low",
               "error_share_ci_high", "share_ci_low", "share_ci_high", "error_rate_rest"):
        return f"{100 * value:.1f}%"
    if col in ("gap", "potential_gain", "priority"):
        return f"{100 * value:+.2f} pts"
    if col == "max_gain":
        return f"{100 * value:.2f} pts"
    if col in ("p_value", "excess_p_value", "excess_q_value"):
        return f"{value:.3g}"
    if col == "excess_error":
        return f"{100 * value:+.1f} pts"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")
# Every character str.splitlines() breaks on: any of them would end a table row early.
_LINE_BREAKS = re.compile("[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+")


def escape_markdown(text: str) -> str:
    """Escape Markdown table and emphasis characters so user text stays literal."""
    return _LINE_BREAKS.sub(" ", _MD_SPECIAL.sub(r"\\\1", str(text)))


DISPLAY_COLUMNS: tuple[str, ...] = (
    "rank", "name", "n", "share", "accuracy", "hlp", "hlp_basis", "gap", "error_rate",
    "error_share", "max_gain", "potential_gain", "importance", "ease", "significant", "scope",
)


def _display_frame(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`report_frame` plus ``hlp_basis``: what backs each HLP, in words."""
    flat = report_frame(table)
    if "hlp_source" in flat.columns:
        flat["hlp_basis"] = [describe_hlp_basis(r) for r in flat.to_dict("records")]
    return flat


def to_markdown(table: pd.DataFrame, *, title: str = "Slicewise report",
                summary: Sequence[str] = ()) -> str:
    """Return the report as a Markdown document: title, summary bullets and the table."""
    flat = _display_frame(table)
    cols = [c for c in DISPLAY_COLUMNS if c in flat.columns]
    cols += [c for c in TASK_COLUMNS if c in flat.columns]
    lines = [f"# {escape_markdown(title)}", ""]
    lines += [f"- {escape_markdown(s)}" for s in summary]
    if summary:
        lines.append("")
    lines.append("| " + " | ".join(cols) + " |")
    lines.append("|" + "|".join("---" for _ in cols) + "|")
    for row in flat.to_dict("records"):
        cells = [escape_markdown(_fmt(row[c], c)) if c == "name" else _fmt(row[c], c)
                 for c in cols]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Accuracy intervals are 95% Wilson intervals; `hlp_basis` gives the human "
                 "labels behind a measured HLP and its 95% Wilson interval (a slice with too "
                 "few is neither compared nor ranked); `significant` tells whether the gap to "
                 "HLP differs from zero at the 5% level.")
    return "\n".join(lines) + "\n"


def to_html(table: pd.DataFrame, *, title: str = "Slicewise report",
            summary: Sequence[str] = (), figures: Sequence[Any] = (),
            generated: dt.datetime | None = None) -> str:
    """Return one self-contained HTML page: summary, charts (plotly, inlined) and the table.

    Every user-supplied string is escaped; plotly.js is embedded once so the file opens
    offline.
    """
    generated = generated or dt.datetime.now(dt.UTC)
    flat = _display_frame(table)
    cols = [c for c in DISPLAY_COLUMNS if c in flat.columns]
    cols += [c for c in TASK_COLUMNS if c in flat.columns]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = []
    for row in flat.to_dict("records"):
        cells = "".join(f"<td>{html.escape(_fmt(row[c], c))}</td>" for c in cols)
        body.append(f"<tr>{cells}</tr>")
    charts = []
    for i, fig in enumerate(figures):
        charts.append(fig.to_html(full_html=False, include_plotlyjs=(i == 0),
                                  config={"displaylogo": False}))
    items = "".join(f"<li>{html.escape(s)}</li>" for s in summary)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #1f2937; }}
table {{ border-collapse: collapse; font-size: 0.9rem; }}
th, td {{ border: 1px solid #d1d5db; padding: 4px 8px; text-align: right; }}
th {{ background: #f3f4f6; }} td:nth-child(2) {{ text-align: left; }}
.meta {{ color: #6b7280; }}
</style></head>
<body>
<h1>{html.escape(title)}</h1>
<p class="meta">Generated {html.escape(generated.strftime('%Y-%m-%d %H:%M UTC'))} by Slicewise.</p>
<h2>What to work on next</h2>
<ul>{items}</ul>
{''.join(charts)}
<h2>Slices ranked by potential gain</h2>
<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>
<p class="meta">Accuracy and HLP intervals are 95% Wilson intervals; hlp_basis gives the
human labels behind a measured HLP, and a slice with too few is neither compared nor ranked.
Gap = HLP − the model's accuracy on the same human-labelled examples (on all examples for an
entered HLP); potential gain = gap × share of data. "significant" tells whether the gap
differs from zero at the 5% level (McNemar's exact test with paired human labels, else an
exact binomial test).</p>
</body></html>
"""


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(text: str, *, default: str = "dataset") -> str:
    """Reduce ``text`` to a file-name-safe stem: no separators, no leading dots, <= 80 chars."""
    stem = _UNSAFE.sub("-", str(text)).strip("-.")
    return (stem[:80] or default)


def report_filename(dataset: str, fmt: str, *, day: dt.date | None = None) -> str:
    """``slicewise-<dataset>-<YYYY-MM-DD>.<ext>`` with the dataset name sanitised."""
    day = day or dt.date.today()
    return f"slicewise-{safe_filename(dataset)}-{day.isoformat()}.{EXTENSIONS[fmt]}"
