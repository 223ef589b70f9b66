"""How a report is written: CSV, Markdown, JSON and self-contained HTML, and the one switch.

:func:`render_report` is the one place that picks a writer by format name; the CLI
(``analyze --format``) and the app's *Export* page both call it. Every writer is safe to
open: CSV cells a spreadsheet would run as a formula get an apostrophe
(:mod:`core.report.csv_safety`), HTML escapes every user-supplied string, and Markdown
escapes table characters.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import pandas as pd

from slicewise.core.jsonable import dumps_json, plain_value
from slicewise.core.report.content import ClassResults, report_dict, report_frame
from slicewise.core.report.csv_safety import to_safe_csv
from slicewise.core.report.sections import Block, Cell, report_sections


@dataclass(frozen=True)
class ReportFormat:
    """One report format: how it is named, served and saved.

    ``detailed``: the format carries the per-class results and the label corrections
    (JSON, Markdown, HTML); CSV is the slice table alone, so a caller need not compute them.
    """

    name: str
    mime: str
    extension: str
    detailed: bool


#: The report formats by name, in the order they are offered.
REPORT_FORMATS: dict[str, ReportFormat] = {
    "csv": ReportFormat("csv", "text/csv", "csv", detailed=False),
    "markdown": ReportFormat("markdown", "text/markdown", "md", detailed=True),
    "json": ReportFormat("json", "application/json", "json", detailed=True),
    "html": ReportFormat("html", "text/html", "html", detailed=True),
}
FORMATS: tuple[str, ...] = tuple(REPORT_FORMATS)
EXTENSIONS: dict[str, str] = {f.name: f.extension for f in REPORT_FORMATS.values()}


class RenderedReport(NamedTuple):
    """A written report: its ``text``, MIME type and file extension (without the dot)."""

    text: str
    mime: str
    extension: str


def render_report(
    table: pd.DataFrame,
    fmt: str,
    *,
    dataset: str = "",
    task: str = "",
    classes: ClassResults | None = None,
    corrections: pd.DataFrame | None = None,
    title: str | None = None,
) -> RenderedReport:
    """Write the report of a ranked table in one of :data:`FORMATS`: the one format switch.

    Parameters
    ----------
    table : pandas.DataFrame
        The ranked error-analysis table (:func:`core.analysis.analyze`), one row per slice.
    fmt : str
        ``csv``, ``markdown``, ``json`` or ``html`` (:data:`REPORT_FORMATS`).
    dataset, task : str
        The dataset's name and the task kind, shown in the report.
    classes : ClassResults or None
        Per-class results (:func:`core.report.content.compute_class_results`); used by the
        detailed formats only.
    corrections : pandas.DataFrame or None
        Label corrections (:meth:`core.store.Store.corrections`); detailed formats only.
    title : str or None
        The Markdown/HTML title; default ``Slicewise report: <dataset>``.

    Returns
    -------
    RenderedReport
        ``(text, mime, extension)``. JSON has no final newline; CSV lines end in CRLF.

    Raises
    ------
    ValueError
        ``fmt`` is not a report format (a caller's bug: the CLI and the app offer only
        :data:`FORMATS`).
    """
    form = REPORT_FORMATS.get(fmt)
    if form is None:
        raise ValueError(f"unknown report format {fmt!r}; the formats are {', '.join(FORMATS)}")
    title = f"Slicewise report: {dataset}" if title is None else title
    details = dict(dataset=dataset, task=task, classes=classes, corrections=corrections)
    if fmt == "csv":
        text = to_csv(table)
    elif fmt == "json":
        text = to_json(table, **details)
    elif fmt == "markdown":
        text = to_markdown(table, title=title, **details)
    else:
        text = to_html(table, title=title, **details)
    return RenderedReport(text, form.mime, form.extension)


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


def to_csv(table: pd.DataFrame) -> str:
    """Return the report as CSV, with formula-like cells neutralised."""
    return to_safe_csv(report_frame(table))


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")
# Every character str.splitlines() breaks on: any of them would end a table row early.
_LINE_BREAKS = re.compile("[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+")


def escape_markdown(text: str) -> str:
    """Escape Markdown table and emphasis characters so user text stays literal."""
    return _LINE_BREAKS.sub(" ", _MD_SPECIAL.sub(r"\\\1", str(text)))


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
    for heading, blocks in report_sections(
        table, dataset=dataset, task=task, summary=summary, classes=classes, corrections=corrections
    ):
        lines += [f"## {escape_markdown(heading)}", ""]
        for block in blocks:
            lines += _markdown_block(block)
    return "\n".join(lines) + "\n"


def _markdown_block(block: Block) -> list[str]:
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
    for heading, blocks in report_sections(
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


def _html_block(block: Block) -> str:
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


def _html_cell(cell: str | Cell) -> str:
    """Escape a cell; a value with an interval shows the interval small, on a second line."""
    if isinstance(cell, Cell):
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
            value = plain_value(row.get(col))
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
