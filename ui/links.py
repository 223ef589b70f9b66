"""The URL: page paths, the workflow, query parameters and links that carry them.

The URL keeps the dataset (``?dataset=3``), the slice-by columns (``?slice_by=device``,
repeated per column) and, without sign-in, the typed name (``?user=Ana``): a reload or a
shared link opens the same view; :func:`page_link` links carry them too.
"""

from __future__ import annotations

import streamlit as st

from slicewise.ui import auth
from slicewise.ui.context import DATASET, IDENTITY, MODE, PENDING, PROJECT, SLICE_BY, USER

LOAD_PAGE = "pages/1_Load_data.py"
TAG_PAGE = "pages/2_Tag_errors.py"
SLICES_PAGE = "pages/3_Slices_vs_HLP.py"
PRIORITISE_PAGE = "pages/4_Prioritise.py"
EXPORT_PAGE = "pages/5_Export.py"
LABELS_PAGE = "pages/6_Label_consistency.py"
COMPARE_PAGE = "pages/7_Compare_iterations.py"
SPLITS_PAGE = "pages/8_Balanced_splits.py"
SUGGEST_PAGE = "pages/9_Suggested_slices.py"
TEAM_PAGE = "pages/11_Team.py"
DRIFT_PAGE = "pages/10_Production_drift.py"
#: The workflow in order: (page file, label, icon, what the step does).
WORKFLOW: tuple[tuple[str, str, str, str], ...] = (
    (
        LOAD_PAGE,
        "Load data",
        ":material/upload_file:",
        "upload predictions (CSV, TSV, Parquet) or open the demo project",
    ),
    (
        TAG_PAGE,
        "Tag errors",
        ":material/sell:",
        "review the errors like a spreadsheet and tag their causes",
    ),
    (
        SLICES_PAGE,
        "Slices vs HLP",
        ":material/bar_chart:",
        "compare accuracy per tag with human-level performance",
    ),
    (
        PRIORITISE_PAGE,
        "Prioritise",
        ":material/low_priority:",
        "rank the slices by gap × share, weighted by importance and ease",
    ),
    (
        EXPORT_PAGE,
        "Export",
        ":material/download:",
        "download the report as CSV, Markdown, JSON or HTML",
    ),
    (
        LABELS_PAGE,
        "Label consistency",
        ":material/groups:",
        "measure how well annotators agree, review their disagreements, get HLP per tag",
    ),
    (
        COMPARE_PAGE,
        "Compare iterations",
        ":material/compare_arrows:",
        "after a data change, see slice by slice what got better or worse, and whether it is real",
    ),
    (
        SPLITS_PAGE,
        "Balanced splits",
        ":material/call_split:",
        "split small data into train/dev/test with the same class and tag shares",
    ),
    (
        SUGGEST_PAGE,
        "Suggested slices",
        ":material/travel_explore:",
        "let the data point at weak slices nobody tagged, and at labels that look wrong",
    ),
    (
        DRIFT_PAGE,
        "Production drift",
        ":material/monitoring:",
        "see how production moved from the test set, what it does to accuracy, and when",
    ),
    (
        TEAM_PAGE,
        "Team",
        ":material/group:",
        "see who may do what in the project (viewer, annotator, owner) and who did what",
    ),
)


def apply_query_params(who: auth.SignIn) -> None:
    """Read the URL back at session start: dataset, slice-by and (local mode) the name.

    ``?dataset=3`` selects dataset 3 at the start of the run (a non-number is ignored);
    ``?slice_by=a&slice_by=b`` (or ``a,b``) presets the shared slice-by columns; ``?user=``
    presets the typed name (at most 200 characters) unless someone is signed in
    (``who.identity``). Values already in the session state are kept.
    """
    wanted = st.query_params.get("dataset")
    if wanted and str(wanted).isdigit():
        st.session_state.setdefault(PENDING, int(wanted))
    columns: list[str] = []
    for value in st.query_params.get_all("slice_by"):
        # One parameter per column; "a,b" also reads as two (the chooser keeps real columns).
        for name in [value, *value.split(",")] if "," in value else [value]:
            if name and name not in columns:
                columns.append(name)
    if columns:
        st.session_state.setdefault(SLICE_BY, columns)
    name = st.query_params.get("user")
    if who.identity is None and name and name.strip():
        st.session_state.setdefault(USER, name.strip()[:200])


def link_params() -> dict[str, str | list[str]]:
    """Return the query parameters that reopen the current view: dataset, slice-by, name.

    The typed name is included only without sign-in (a signed-in identity comes from the
    sign-in, never from a link).
    """
    params: dict[str, str | list[str]] = {}
    dataset_id = st.session_state.get(DATASET)
    if dataset_id is not None:
        params["dataset"] = str(int(dataset_id))
    slice_by = [str(c) for c in st.session_state.get(SLICE_BY) or []]
    if slice_by:
        params["slice_by"] = slice_by
    name = str(st.session_state.get(USER) or "").strip()
    if (
        st.session_state.get(MODE, "local") == "local"
        and not st.session_state.get(IDENTITY)
        and name
    ):
        params["user"] = name
    return params


def keep_widget_values() -> None:
    """Set the sidebar's selections again before their widgets are drawn.

    Streamlit (1.67) draws a sidebar widget on another page with its default value when
    that value was set by code (from a link, the latest dataset) rather than by the user;
    setting it again before the widget is drawn keeps it across pages.
    """
    for key in (USER, PROJECT, DATASET):
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def keep_in_url() -> None:
    """Mirror the selections (:func:`link_params`) into the address bar: a reload keeps them."""
    wanted = link_params()
    for key in ("dataset", "slice_by", "user"):
        value = wanted.get(key)
        current = st.query_params.get_all(key)
        target = [] if value is None else value if isinstance(value, list) else [value]
        if current == target:
            continue
        if target:
            st.query_params[key] = target if len(target) > 1 else target[0]
        else:
            del st.query_params[key]


def page_link(page: str, label: str, icon: str | None = None) -> None:
    """Draw ``st.page_link`` carrying :func:`link_params` (a caption when run alone).

    Outside the multipage app (a page run alone) there is nothing to link to.
    """
    try:
        st.page_link(page, label=label, icon=icon, query_params=link_params())
    except st.errors.StreamlitAPIException:
        st.caption(f"→ {label}")
