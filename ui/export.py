"""Build the downloadable reports (cached) and save each download to the store."""

from __future__ import annotations

import streamlit as st

from core.charts import accuracy_vs_hlp_chart, priority_bubble_chart
from core.prioritize import describe_priorities
from core.report import report_filename, to_csv, to_html, to_json, to_markdown
from ui import data, state
from ui.data import Loaded

#: (format, button label, MIME type)
FORMATS: tuple[tuple[str, str, str], ...] = (
    ("csv", "CSV", "text/csv"),
    ("markdown", "Markdown", "text/markdown"),
    ("json", "JSON", "application/json"),
    ("html", "HTML with charts", "text/html"),
)
MIME = {fmt: mime for fmt, _, mime in FORMATS}


@st.cache_data(max_entries=16, show_spinner="Building the report…")
def _build(db: str, dataset_id: int, frame_key: str, tags_key: str, settings_key: str,
           slice_by: tuple[str, ...], bins: int, fmt: str, name: str, *,
           _loaded: Loaded) -> str:
    table = data.analysis_table(_loaded, slice_by=slice_by, bins=bins)
    title = f"Slicewise report: {name}"
    if fmt == "csv":
        return to_csv(table)
    if fmt == "json":
        return to_json(table, dataset=name, task=_loaded.task.kind)
    summary = describe_priorities(table)
    if fmt == "markdown":
        return to_markdown(table, title=title, summary=summary)
    figures = [accuracy_vs_hlp_chart(table), priority_bubble_chart(table)]
    return to_html(table, title=title, summary=summary, figures=figures)


def build_report(loaded: Loaded, fmt: str, *, slice_by: list[str], bins: int) -> str:
    """Return the report of the loaded dataset in ``fmt`` (rebuilt only after a change)."""
    # Keyed on the settings, not the revision: saving a report must not rebuild it.
    return _build(loaded.db, loaded.dataset_id, loaded.frame_key, loaded.tags_key,
                  repr(sorted((k, sorted(v.items())) for k, v in loaded.settings.items())),
                  tuple(slice_by), int(bins), fmt, loaded.name, _loaded=loaded)


def filename(loaded: Loaded, fmt: str) -> str:
    """Return the download name, e.g. ``slicewise-speech-2025-01-31.html``."""
    return report_filename(loaded.name, fmt)


def save_download(dataset_id: int, fmt: str, name: str, content: str) -> None:
    """Button callback: keep a copy of the downloaded report in the store."""
    state.run_write(state.get_store().save_report, dataset_id, fmt, name, content,
                    user=state.current_user(), success=f"Saved {name} to the project")
