"""``slicewise drift``: how far a production sample moved from the reference, per feature.

Reads both files with the project's reader (:func:`core.reading.read_table`: CSV, TSV,
Parquet, .xlsx), measures each feature (:func:`core.drift.feature_drift`) and, with a time
column, each window (:func:`core.drift.drift_windows`), and writes a table, JSON, Markdown
or a self-contained HTML page. Exit code 1 means only that a feature crossed its threshold
(overall or in a window), 0 none, so a scheduled job can raise the alarm; bad input is one
line on stderr and exit code 2, as for every command, and an unexpected error exits 3
(:data:`core.cli.group.INTERNAL_ERROR_EXIT`). Notes are in the report (on stderr for JSON).
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from pathlib import Path

import click
import numpy as np
import pandas as pd

from slicewise.core.cli.drift_checks import check_model_options, check_options, tags_as_read
from slicewise.core.cli.drift_model import (
    ModelDrift,
    ReferenceRoles,
    model_drift,
    model_html,
    model_json,
    model_markdown,
    model_text,
)
from slicewise.core.cli.group import main
from slicewise.core.cli.options import (
    ValueOptions,
    emit,
    note,
    output_option,
    packed,
    packed_value_options,
    pairs,
)
from slicewise.core.column_parsing import mask_na_tokens
from slicewise.core.drift import (
    DEFAULT_BINS,
    DEFAULT_THRESHOLDS,
    category_shares,
    drift_windows,
    feature_drift,
)
from slicewise.core.drift.windows import WindowSpec
from slicewise.core.jsonable import dumps_json, plain_value
from slicewise.core.reading import read_table
from slicewise.core.report import escape_markdown

#: ``--format`` choices of ``drift``.
DRIFT_FORMATS = ("table", "json", "markdown", "html")
#: Metric names as a reader sees them.
METRIC_NAMES = {"linf": "L-infinity", "js": "Jensen-Shannon"}
#: Most features whose shares the HTML page charts (the ones that moved most).
MAX_CHARTS = 6
#: Most categories or bins one chart shows (the reference's most common first).
MAX_CHART_ROWS = 12


@main.command("drift")
@click.argument("reference", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("production", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--feature",
    "features",
    multiple=True,
    metavar="COL",
    help="A feature to compare (repeat for several); default: every column both files "
    "share except ids, labels, predictions and scores.",
)
@click.option(
    "--exclude", multiple=True, metavar="COL", help="A column not to compare (repeatable)."
)
@click.option(
    "--time-column",
    metavar="COL",
    help="Production column with each row's timestamp: adds the drift per window.",
)
@click.option(
    "--window",
    default="7d",
    show_default=True,
    help="Window of --time-column: a duration (1d, 7d, 12h, 2w) or a number of rows (500).",
)
@click.option(
    "--label",
    metavar="COL",
    help="Label column (detected by name if omitted): the reference's, for the slice mix; "
    "given, also production's accuracy per window.",
)
@click.option(
    "--prediction",
    metavar="COL",
    help="Prediction column (detected by name if omitted), as --label.",
)
@click.option("--score", metavar="COL", help="Score column of the reference: adds CBPE.")
@click.option("--id", "id_col", metavar="COL", help="Example id column of the reference.")
@click.option("--positive", help="Positive class for a binary task (CBPE).")
@click.option(
    "--score-threshold",
    "threshold",
    type=float,
    help="Predict --positive where score >= this (no prediction column needed).",
)
@click.option(
    "--slice-by",
    multiple=True,
    metavar="COL",
    help="Reference column to slice by for the production slice mix: one slice per "
    "value (numeric columns in the reference's quantile bins). Repeatable.",
)
@click.option(
    "--slice-bins",
    type=click.IntRange(2, 20),
    default=4,
    show_default=True,
    help="Quantile bins for numeric --slice-by columns.",
)
@click.option(
    "--threshold",
    "thresholds",
    multiple=True,
    metavar="FEATURE=VALUE",
    help="Alarm threshold of one feature (repeatable); default "
    f"{DEFAULT_THRESHOLDS['linf']:g} for L-infinity (categorical features) and "
    f"{DEFAULT_THRESHOLDS['js']:g} for Jensen-Shannon divergence (numeric features).",
)
@click.option(
    "--bins",
    type=click.IntRange(min=1),
    metavar="N",
    default=DEFAULT_BINS,
    show_default=True,
    help="Quantile bins of the reference for numeric features.",
)
@click.option(
    "--sheet", metavar="NAME", help="Sheet of .xlsx workbooks to read (default: the first)."
)
@click.option(
    "--format", "fmt", type=click.Choice(DRIFT_FORMATS), default="table", show_default=True
)
@packed_value_options
@output_option
@packed(ReferenceRoles, "roles")
@click.pass_context
def drift_command(
    ctx: click.Context,
    reference: Path,
    production: Path,
    features: tuple[str, ...],
    exclude: tuple[str, ...],
    time_column: str | None,
    window: str,
    roles: ReferenceRoles,
    thresholds: tuple[str, ...],
    bins: int,
    sheet: str | None,
    fmt: str,
    values: ValueOptions,
    output: Path | None,
) -> None:
    """Compare PRODUCTION with REFERENCE feature by feature; exit 1 when one drifted.

    Categorical features: TFDV's L-infinity distance (the largest change of a category's
    share); numeric features: Jensen-Shannon divergence (bits) over the reference's
    quantile bins; PSI beside both. Exit code 1 when any feature crossed its threshold
    (2: bad input, 3: internal error; too few rows never cross).
    When REFERENCE loads as a labelled dataset, each slice's test share stands beside its
    production share, with the accuracy to expect on production (and CBPE with a score).
    """
    read = values.reading()
    raw_ref = read_table(reference, sheet=sheet)[0]
    raw_prod = read_table(production, sheet=sheet)[0]
    ref, prod = (mask_na_tokens(t, read["na_values"]) for t in (raw_ref, raw_prod))
    names = {"reference_name": reference.name, "production_name": production.name}
    check_options(ref, prod, roles, exclude, names)
    model = model_drift(
        reference, raw_prod, roles, sheet=sheet, read=read, production_name=production.name
    )
    check_model_options(model, roles, reference.name)
    ref, prod = tags_as_read(ref, prod, model, names)
    common = {
        "features": list(features) or None,
        "thresholds": pairs(thresholds, "--threshold", percent=False),
        "bins": bins,
        "decimal": values.decimal,
        "thousands": values.thousands,
        **names,
    }
    table, windows = _measure(ref, prod, common, exclude, time_column, window, roles, model)
    if fmt == "json":  # notes are in the report; a machine reads stdout, a person stderr
        for text in [*_notes(table, windows), *model.notes]:
            note(text)
    head = {
        "reference": reference.name,
        "production": production.name,
        "n_reference": len(ref),
        "n_production": len(prod),
        "bins": bins,
    }
    charts = _charts(ref, prod, table, common) if fmt == "html" else {}
    emit(_render(fmt, head, table, windows, model, charts), output)
    if crossed(table, windows):
        ctx.exit(1)


def _measure(
    ref: pd.DataFrame,
    prod: pd.DataFrame,
    common: dict,
    exclude: tuple[str, ...],
    time_column: str | None,
    window: str,
    roles: ReferenceRoles,
    model: ModelDrift,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Return the feature drift and, with a time column or labels, the drift per window.

    The accuracy per window is ``model.correct`` (the reference task's outcome) when the
    sample reads with the reference's roles; else --label and --prediction as classes.
    """
    mapping = model.reference.mapping if model.reference is not None else None
    label = roles.label or (mapping.label if mapping else None)
    prediction = roles.prediction or (mapping.prediction if mapping else None)
    ids = [c for c in (roles.score, roles.id_col) if c]
    skip = [c for c in (time_column, label, prediction) if c]
    table = feature_drift(ref, prod, exclude=[*exclude, *skip, *ids], **common)
    windows = None
    correct = model.correct
    if correct is None and not (roles.label and roles.prediction):
        label = prediction = None  # detected columns only through the model part
    if correct is not None and np.isnan(correct).all():  # no labelled production row
        correct = None
    by_rows = WindowSpec.parse(window).rows is not None
    if time_column or (by_rows and (correct is not None or (label and prediction))):
        windows = drift_windows(
            ref, prod, time_column=time_column, window=window, exclude=[*exclude, *ids],
            label=label if label in prod.columns else None,
            prediction=prediction if prediction in prod.columns else None,
            correct=correct, **common,
        )  # fmt: skip
    return table, windows


def _notes(table: pd.DataFrame, windows: pd.DataFrame | None) -> list[str]:
    """Return the features' notes (columns left out) and the windows' notes."""
    found = [] if windows is None else windows.attrs.get("notes", [])
    return [*table.attrs.get("notes", []), *found]


def _charts(
    ref: pd.DataFrame, prod: pd.DataFrame, table: pd.DataFrame, common: dict
) -> dict[str, pd.DataFrame]:
    """Return the shares the HTML page charts, per feature (:func:`_charted`)."""
    keys = ("bins", "decimal", "thousands", "reference_name", "production_name")
    return {
        f: category_shares(ref, prod, f, **{k: common[k] for k in keys}) for f in _charted(table)
    }


def _render(
    fmt: str,
    head: dict,
    table: pd.DataFrame,
    windows: pd.DataFrame | None,
    model: ModelDrift,
    charts: dict[str, pd.DataFrame],
) -> str:
    """Write the report in ``fmt``."""
    if fmt == "json":
        return drift_json(head, table, windows, model)
    if fmt == "markdown":
        return drift_markdown(head, table, windows, model)
    if fmt == "html":
        return drift_html(head, table, windows, charts, model=model)
    return drift_text(head, table, windows, model)


def crossed(table: pd.DataFrame, windows: pd.DataFrame | None) -> list[str]:
    """Return the features that crossed their threshold, overall or in some window."""
    names = table.loc[table["crossed"], "feature"].astype(str).tolist()
    if windows is not None:
        names += windows.loc[windows["crossed"], "feature"].astype(str).tolist()
    return list(dict.fromkeys(names))


def _verdict(table: pd.DataFrame, windows: pd.DataFrame | None) -> str:
    overall = table.loc[table["crossed"], "feature"].astype(str).tolist()
    later = [f for f in crossed(table, windows) if f not in overall]
    if not overall and not later:
        where = " in any window" if windows is not None else ""
        return f"No feature crossed its threshold{where} ({len(table)} compared)."
    compared = f"{len(table)} feature{'' if len(table) == 1 else 's'} compared"
    parts = [f"crossed overall: {', '.join(overall)}"] if overall else []
    if later:
        parts.append(f"crossed in some window only: {', '.join(later)}")
    return f"Threshold crossed ({compared}); " + "; ".join(parts) + "."


def _threshold_line() -> str:
    return (
        f"Default thresholds: L-infinity {DEFAULT_THRESHOLDS['linf']:g} (categorical), "
        f"Jensen-Shannon {DEFAULT_THRESHOLDS['js']:g} (numeric, bits); alarm when value > "
        "threshold."
    )


def _num(value: object, digits: int = 4) -> str:
    v = plain_value(value)
    return "–" if v is None else f"{float(v):.{digits}f}"


def _pct(value: object) -> str:
    v = plain_value(value)
    return "–" if v is None else f"{100 * float(v):.1f}%"


def _new(cats: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(str(c) for c in list(cats)[:limit])
    return shown + (f" and {len(cats) - limit} more" if len(cats) > limit else "")


def _feature_rows(table: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Return the feature table's header and rows, as text cells."""
    header = ["feature", "kind", "metric", "value", "threshold", "crossed", "PSI"]
    header += ["n ref.", "n prod.", "missing ref.", "missing prod.", "new categories", "note"]
    rows = [
        [
            str(r.feature),
            str(r.kind),
            METRIC_NAMES[r.metric],
            _num(r.value),
            f"{r.threshold:g}",
            "YES" if r.crossed else "no",
            _num(r.psi),
            f"{r.n_reference:,}",
            f"{r.n_production:,}",
            _pct(r.missing_reference),
            _pct(r.missing_production),
            _new(r.new_categories),
            str(r.note),
        ]
        for r in table.itertuples()
    ]
    return header, rows


def _window_frame(windows: pd.DataFrame) -> pd.DataFrame:
    """Return one row per window: n, accuracy, each feature's value (``*`` if crossed), note.

    The note joins the window's distinct notes (an empty window, too few rows to judge).
    """
    cells = windows.assign(
        shown=[
            ("–" if pd.isna(v) else f"{v:.4f}") + (" *" if c else "")
            for v, c in zip(windows["value"], windows["crossed"], strict=True)
        ]
    )
    wide = cells.pivot_table(
        index=["window"], columns="feature", values="shown", aggfunc="first", sort=False
    )
    first = cells.drop_duplicates("window").set_index("window")
    out = pd.DataFrame({"n": first["n"]})
    if first["n_labelled"].gt(0).any():
        out["accuracy"] = [_pct(a) for a in first["accuracy"]]
    out = out.join(wide[list(dict.fromkeys(windows["feature"]))])
    notes = windows.groupby("window", sort=False)["note"].agg(
        lambda n: "; ".join(dict.fromkeys(t for t in n if t))
    )
    if notes.astype(bool).any():
        out["note"] = notes
    return out.reset_index()


def drift_text(
    head: dict, table: pd.DataFrame, windows: pd.DataFrame | None, model: ModelDrift | None = None
) -> str:
    """Write the drift report for a terminal: a head line, the feature table, windows."""
    header, rows = _feature_rows(table)
    body = pd.DataFrame(rows, columns=header).drop(columns=["note"])
    body["new categories"] = [f"{len(c):,}" if len(c) else "" for c in table["new_categories"]]
    parts = [
        f"reference: {head['reference']} ({head['n_reference']:,} rows)   production: "
        f"{head['production']} ({head['n_production']:,} rows)",
        "",
        body.to_string(index=False),
        "",
        _verdict(table, windows),
        _threshold_line(),
    ]
    parts += [
        f"* {r.feature}: {r.note}" + (f" ({_new(r.new_categories)})" if r.new_categories else "")
        for r in table.itertuples()
        if r.note
    ]
    if windows is not None:
        parts += [
            "",
            "Per window (* crossed the threshold):",
            _window_frame(windows).to_string(index=False),
        ]
    parts += [f"Note: {text}" for text in _notes(table, windows)]
    if model is not None:
        parts += model_text(model)
    return "\n".join(parts) + "\n"


def drift_json(
    head: dict, table: pd.DataFrame, windows: pd.DataFrame | None, model: ModelDrift | None = None
) -> str:
    """Return the report as strict JSON: head, thresholds, features, windows, crossed."""
    data = {
        **head,
        "default_thresholds": DEFAULT_THRESHOLDS,
        "crossed": crossed(table, windows),
        "features": table.to_dict(orient="records"),
    }
    if windows is not None:
        data["windows"] = windows.to_dict(orient="records")
    data["notes"] = _notes(table, windows)
    if model is not None:
        data.update(model_json(model))
    return dumps_json(data, ensure_ascii=True) + "\n"


def drift_markdown(
    head: dict, table: pd.DataFrame, windows: pd.DataFrame | None, model: ModelDrift | None = None
) -> str:
    """Return the report as Markdown; every user string escaped."""
    esc = escape_markdown
    lines = [
        "# Slicewise drift report",
        "",
        f"- **Reference:** {esc(head['reference'])} ({head['n_reference']:,} rows)",
        f"- **Production:** {esc(head['production'])} ({head['n_production']:,} rows)",
        f"- **Verdict:** {esc(_verdict(table, windows))}",
        f"- **Thresholds:** {esc(_threshold_line())}",
        "",
        "## Features, most moved first",
        "",
    ]
    header, rows = _feature_rows(table)
    lines += _md_table(header, rows)
    if windows is not None:
        frame = _window_frame(windows).astype(str)
        lines += ["## Per window", "", "A `*` marks a value past its threshold.", ""]
        lines += _md_table(list(frame.columns), frame.to_numpy().tolist())
    lines += [*(f"- Note: {esc(text)}" for text in _notes(table, windows)), ""]
    if model is not None:
        lines += model_markdown(model, _md_table)
    return "\n".join(lines) + "\n"


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    esc = escape_markdown
    out = ["| " + " | ".join(esc(h) for h in header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return [*out, ""]


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #1f2937; max-width: 80rem; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.5rem 0 1rem; }
th, td { border: 1px solid #d1d5db; padding: 3px 7px; text-align: right; }
th { background: #f3f4f6; } td:first-child { text-align: left; }
tr.crossed td { background: #fee2e2; }
dl { display: grid; grid-template-columns: max-content auto; gap: 2px 1rem; }
dt { font-weight: 600; } dd { margin: 0; }
.meta { color: #6b7280; font-size: 0.85rem; }
"""


def drift_html(
    head: dict,
    table: pd.DataFrame,
    windows: pd.DataFrame | None,
    charts: dict[str, pd.DataFrame],
    *,
    generated: dt.datetime | None = None,
    model: ModelDrift | None = None,
) -> str:
    """Return the report as one self-contained HTML page (no script, nothing fetched).

    ``charts``: per feature, :func:`core.drift.category_shares`'s frame, drawn as inline
    SVG bars (reference beside production). Every user string is escaped.
    """
    esc = html.escape
    generated = generated or dt.datetime.now(dt.UTC)
    facts = [
        ("Reference", f"{head['reference']} ({head['n_reference']:,} rows)"),
        ("Production", f"{head['production']} ({head['n_production']:,} rows)"),
        ("Verdict", _verdict(table, windows)),
        ("Thresholds", _threshold_line()),
    ]
    body = [
        "<h1>Slicewise drift report</h1>",
        f'<p class="meta">Generated {esc(generated.strftime("%Y-%m-%d %H:%M UTC"))} by '
        "Slicewise.</p>",
        "<dl>" + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts) + "</dl>",
        "<h2>Features, most moved first</h2>",
    ]
    header, rows = _feature_rows(table)
    body.append(_html_table(header, rows, marked=table["crossed"].tolist()))
    if charts:
        body.append("<h2>Reference and production shares</h2>")
        kinds = dict(zip(table["feature"], table["kind"], strict=True))
        body += [
            share_bars_svg(name, frame, numeric=kinds.get(name) == "numeric")
            for name, frame in charts.items()
        ]
    if windows is not None:
        frame = _window_frame(windows).astype(str)
        marked = [" *" in " ".join(r) for r in frame.to_numpy().tolist()]
        body += ["<h2>Per window</h2>", "<p>A * marks a value past its threshold.</p>"]
        body.append(_html_table(list(frame.columns), frame.to_numpy().tolist(), marked=marked))
    body += [f"<p>Note: {esc(text)}</p>" for text in _notes(table, windows)]
    if model is not None:
        body += model_html(model, _html_table)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        f"<title>Slicewise drift report</title>\n<style>{_CSS}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]], *, marked: list) -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(str(h))}</th>" for h in header)
    body = "".join(
        ('<tr class="crossed">' if m else "<tr>")
        + "".join(f"<td>{esc(str(c))}</td>" for c in r)
        + "</tr>"
        for r, m in zip(rows, marked, strict=True)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _charted(table: pd.DataFrame) -> list[str]:
    """Return the features the HTML page charts: the :data:`MAX_CHARTS` that moved most."""
    return table["feature"].head(MAX_CHARTS).tolist()


def share_bars_svg(
    feature: str, shares: pd.DataFrame, *, top: int = MAX_CHART_ROWS, numeric: bool = False
) -> str:
    """Draw one feature's reference and production share per category as inline SVG.

    ``shares``: :func:`core.drift.category_shares`'s frame. A numeric feature's bins are
    all drawn (the reference's quantile bins: at most ``--bins`` plus the two outer
    ones); a categorical feature's first ``top`` rows (the reference's most common
    categories), with "and N more categories" under the chart when rows are left out.
    Labels are escaped.
    """
    esc = html.escape
    rows = shares if numeric else shares.head(top)
    hidden = len(shares) - len(rows)
    label_w, bar_w, row_h, top_h = 200, 320, 28, 40
    scale = max(float(rows[["reference_share", "production_share"]].max().max()), 0.01)
    height, width = top_h + row_h * len(rows) + 8 + 18 * bool(hidden), label_w + bar_w + 70
    out = [
        f'<svg role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'font-family="system-ui, sans-serif" font-size="12">',
        f"<title>Shares of {esc(str(feature))}: reference and production</title>",
        f'<text x="0" y="14" font-weight="600">{esc(str(feature))}</text>',
        f'<rect x="{label_w}" y="22" width="10" height="10" fill="#94a3b8"/>'
        f'<text x="{label_w + 14}" y="31">reference</text>'
        f'<rect x="{label_w + 90}" y="22" width="10" height="10" fill="#2563eb"/>'
        f'<text x="{label_w + 104}" y="31">production</text>',
    ]
    for i, row in enumerate(rows.itertuples()):
        y = top_h + i * row_h
        name = str(row.category)
        label = name if len(name) <= 28 else name[:27] + "…"
        out.append(
            f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end">{esc(label)}'
            f"<title>{esc(name)}</title></text>"
        )
        for j, (value, color) in enumerate(
            ((row.reference_share, "#94a3b8"), (row.production_share, "#2563eb"))
        ):
            w = max(bar_w * float(value) / scale, 0.5)
            out.append(
                f'<rect x="{label_w}" y="{y + 2 + 12 * j}" width="{w:.1f}" height="11" '
                f'fill="{color}"/><text x="{label_w + w + 4:.1f}" y="{y + 11 + 12 * j}" '
                f'font-size="10">{100 * float(value):.1f}%</text>'
            )
    if hidden:
        out.append(
            f'<text x="{label_w}" y="{top_h + row_h * len(rows) + 14}">and {hidden:,} more '
            f"categor{'y' if hidden == 1 else 'ies'} (not drawn)</text>"
        )
    out.append("</svg>")
    return "".join(out)
