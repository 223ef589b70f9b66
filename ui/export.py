"""Build the downloadable reports (cached) and save each download to the store."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from slicewise.core.report import REPORT_FORMATS, make_csv_safe, render_report, report_filename
from slicewise.core.store import Store
from slicewise.ui import data, state
from slicewise.ui.data import Loaded

#: The download buttons' labels by report format.
LABELS = {"csv": "CSV", "markdown": "Markdown", "json": "JSON", "html": "HTML (opens offline)"}
#: (format, button label, MIME type), in the order of :data:`core.report.REPORT_FORMATS`.
FORMATS: tuple[tuple[str, str, str], ...] = tuple(
    (fmt, LABELS[fmt], form.mime) for fmt, form in REPORT_FORMATS.items()
)
MIME = {fmt: mime for fmt, _, mime in FORMATS}


@st.cache_data(max_entries=16, show_spinner="Building the report…")
def _build(
    db: str,
    dataset_id: int,
    frame_key: str,
    tags_key: str,
    settings_key: str,
    corrections_key: str,
    slice_by: tuple[str, ...],
    bins: int,
    fmt: str,
    name: str,
    protected: tuple[str, ...] = (),
    rank_by: str = "priority",
    *,
    _loaded: Loaded,
) -> str:
    table = data.analysis_table(
        _loaded, slice_by=[*slice_by, *protected], bins=bins, protected=protected, rank_by=rank_by
    )
    detailed = REPORT_FORMATS[fmt].detailed  # CSV is the slice table alone
    return render_report(
        table,
        fmt,
        dataset=name,
        task=_loaded.task.kind,
        classes=data.class_results(_loaded) if detailed else None,  # computed once, cached
        corrections=_loaded.corrections if detailed else None,
    ).text


def build_report(
    loaded: Loaded,
    fmt: str,
    *,
    slice_by: list[str],
    bins: int,
    protected: Sequence[str] = (),
    rank_by: str = "priority",
) -> str:
    """Return the report of the loaded dataset in ``fmt`` (rebuilt only after a change).

    ``protected`` and ``rank_by`` as :func:`ui.data.analysis_table` takes them (the
    *Prioritise* page's choices), so the report ranks as that page does; the JSON,
    Markdown and HTML reports carry the per-class results and the label corrections.
    """
    # Keyed on the settings, not the revision: saving a report must not rebuild it.
    fixes = loaded.corrections  # who corrected what: the frame key holds only the labels
    fixes_key = (
        str(pd.util.hash_pandas_object(fixes.astype(str), index=False).sum())
        if len(fixes)
        else "none"
    )
    return _build(
        loaded.db,
        loaded.dataset_id,
        loaded.frame_key,
        loaded.tags_key,
        repr(sorted((k, sorted(v.items())) for k, v in loaded.settings.items())),
        fixes_key,
        tuple(slice_by),
        int(bins),
        fmt,
        loaded.name,
        tuple(dict.fromkeys(protected)),
        rank_by,
        _loaded=loaded,
    )


def filename(loaded: Loaded, fmt: str) -> str:
    """Return the download name, e.g. ``slicewise-speech-2025-01-31.html``."""
    return report_filename(loaded.name, fmt)


def save_download(dataset_id: int, fmt: str, name: str, content: str) -> None:
    """Button callback: keep a copy of the downloaded report in the store."""
    state.run_write(
        state.get_store().save_report,
        dataset_id,
        fmt,
        name,
        content,
        user=state.current_user(),
        success=f"Saved {name} to the project",
    )


def saved_content(store: Store, report_id: int, fmt: str) -> bytes | str:
    """Return a saved report's content to download again.

    A CSV report is rewritten by :func:`core.report.make_csv_safe`: one saved before its
    cells were neutralised after separators is made safe, a newer one comes back as saved.

    Raises
    ------
    core.errors.StoreError
        No report has that id (:meth:`core.store.Store.report_content`).
    core.errors.FileFormatError
        A CSV report that cannot be parsed (:func:`core.report.make_csv_safe`).
    """
    content = store.report_content(report_id)
    return make_csv_safe(content, name=f"saved report #{report_id}") if fmt == "csv" else content
