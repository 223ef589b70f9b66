"""Export the prioritisation report as CSV, Markdown, JSON or one self-contained HTML file.

The package holds what a report says apart from how it is written:

- :mod:`core.report.content`: the report as data (:func:`report_dict`, :func:`report_frame`,
  per-class results);
- :mod:`core.report.sections`: the readable report's sections (headline, advice, slice
  table, per class, corrections, baseline) as blocks;
- :mod:`core.report.writers`: the CSV, Markdown, JSON and HTML writers and
  :func:`render_report`, the one switch from a format name to a writer;
- :mod:`core.report.csv_safety`: CSV safe to open in a spreadsheet, and exact data CSV.

Exports are safe to open: CSV cells that a spreadsheet would run as a formula are
prefixed with an apostrophe, HTML escapes every user-supplied string, and Markdown
escapes table characters. The names below are re-exported here, where callers import them.
"""

from slicewise.core.report.content import (
    REPORT_COLUMNS,
    TASK_COLUMNS,
    ClassResults,
    compute_class_results,
    report_dict,
    report_frame,
)
from slicewise.core.report.csv_safety import (
    CELL_BREAKS,
    FORMULA_CHARS,
    make_csv_safe,
    neutralise_formula,
    neutralise_frame,
    to_data_csv,
    to_safe_csv,
)
from slicewise.core.report.sections import (
    BASELINE_WORDS,
    INTERVAL_METHODS,
    MAX_CLASS_ROWS,
    MAX_CORRECTION_ROWS,
    MAX_MATRIX_CLASSES,
    READABLE_NAMES,
)
from slicewise.core.report.writers import (
    EXTENSIONS,
    FORMATS,
    MAX_CHART_SLICES,
    REPORT_FORMATS,
    RenderedReport,
    ReportFormat,
    escape_markdown,
    render_report,
    report_filename,
    safe_filename,
    share_chart_svg,
    to_csv,
    to_html,
    to_json,
    to_markdown,
)

__all__ = [
    "BASELINE_WORDS",
    "CELL_BREAKS",
    "EXTENSIONS",
    "FORMATS",
    "FORMULA_CHARS",
    "INTERVAL_METHODS",
    "MAX_CHART_SLICES",
    "MAX_CLASS_ROWS",
    "MAX_CORRECTION_ROWS",
    "MAX_MATRIX_CLASSES",
    "READABLE_NAMES",
    "REPORT_COLUMNS",
    "REPORT_FORMATS",
    "TASK_COLUMNS",
    "ClassResults",
    "RenderedReport",
    "ReportFormat",
    "compute_class_results",
    "escape_markdown",
    "make_csv_safe",
    "neutralise_formula",
    "neutralise_frame",
    "render_report",
    "report_dict",
    "report_filename",
    "report_frame",
    "safe_filename",
    "share_chart_svg",
    "to_csv",
    "to_data_csv",
    "to_html",
    "to_json",
    "to_markdown",
    "to_safe_csv",
]
