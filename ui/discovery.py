"""Helpers of the *Suggested slices* page: cached slice search, error tree and label issues.

Cache keys are plain values (database, dataset id, frame key, task, widget values); the
frame and the error indicator go in as ``_`` arguments. Nothing here reads
``st.session_state``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from slicewise.core.discovery import (
    SliceSuggestions,
    candidate_columns,
    compute_error_tree,
    find_error_slices,
    slice_mask,
)
from slicewise.core.label_issues import (
    TAG_NAME,
    LabelIssues,
    find_label_issues,
    find_probability_columns,
)
from slicewise.core.store import Store
from slicewise.ui.data import Loaded, example_outcomes
from slicewise.ui.tagging import ids_at


def errors_of(loaded: Loaded) -> np.ndarray:
    """Whether each prediction of the loaded dataset is wrong (cached outcomes)."""
    return example_outcomes(loaded)["correct"].to_numpy(dtype=float) < 1


@st.cache_data(max_entries=8, show_spinner=False)
def _searchable(db: str, dataset_id: int, frame_key: str, *, _loaded: Loaded) -> list[str]:
    return candidate_columns(_loaded.dataset)


def searchable_columns(loaded: Loaded) -> list[str]:
    """Metadata columns offered for the search (:func:`core.discovery.candidate_columns`)."""
    return _searchable(loaded.db, loaded.dataset_id, loaded.frame_key, _loaded=loaded)


def default_min_support(n: int) -> int:
    """Return the search's default minimum slice size: 30 or 1% of the examples."""
    return max(30, int(np.ceil(0.01 * n)))


@st.cache_data(max_entries=16, show_spinner="Searching the metadata for weak slices…")
def _suggestions(
    db: str,
    dataset_id: int,
    frame_key: str,
    task_key: str,
    columns: tuple[str, ...],
    max_conditions: int,
    min_support: int,
    top: int,
    *,
    _frame: pd.DataFrame,
    _errors: np.ndarray,
) -> SliceSuggestions:
    return find_error_slices(
        _frame,
        _errors,
        columns=columns,
        max_conditions=max_conditions,
        min_support=min_support,
        top=top,
    )


def suggestions(
    loaded: Loaded,
    columns: tuple[str, ...],
    max_conditions: int,
    min_support: int,
    *,
    top: int = 20,
) -> SliceSuggestions:
    """Suggested slices of the loaded dataset (:func:`core.discovery.find_error_slices`)."""
    return _suggestions(
        loaded.db,
        loaded.dataset_id,
        loaded.frame_key,
        repr(loaded.task),
        tuple(columns),
        int(max_conditions),
        int(min_support),
        int(top),
        _frame=loaded.dataset.frame,
        _errors=errors_of(loaded),
    )


@st.cache_data(max_entries=16, show_spinner="Growing the error tree…")
def _tree(
    db: str,
    dataset_id: int,
    frame_key: str,
    task_key: str,
    columns: tuple[str, ...],
    max_depth: int,
    min_samples_leaf: int,
    *,
    _frame: pd.DataFrame,
    _errors: np.ndarray,
) -> pd.DataFrame:
    return compute_error_tree(
        _frame, _errors, columns=columns, max_depth=max_depth, min_samples_leaf=min_samples_leaf
    )


def error_tree(
    loaded: Loaded, columns: tuple[str, ...], max_depth: int, min_samples_leaf: int
) -> pd.DataFrame:
    """Return the error tree of the loaded dataset (:func:`core.discovery.compute_error_tree`)."""
    return _tree(
        loaded.db,
        loaded.dataset_id,
        loaded.frame_key,
        repr(loaded.task),
        tuple(columns),
        int(max_depth),
        int(min_samples_leaf),
        _frame=loaded.dataset.frame,
        _errors=errors_of(loaded),
    )


@st.cache_data(max_entries=8, show_spinner=False)
def _prob_columns(
    db: str, dataset_id: int, frame_key: str, *, _frame: pd.DataFrame
) -> dict[str, str]:
    return find_probability_columns(_frame)


def probability_columns(loaded: Loaded) -> dict[str, str]:
    """``{class: column}`` of the per-class probability columns found, or ``{}``."""
    return _prob_columns(
        loaded.db, loaded.dataset_id, loaded.frame_key, _frame=loaded.dataset.frame
    )


@st.cache_data(max_entries=8, show_spinner="Looking for likely label errors (cleanlab)…")
def _label_issues(db: str, dataset_id: int, frame_key: str, *, _frame: pd.DataFrame) -> LabelIssues:
    return find_label_issues(_frame)


def label_issues(loaded: Loaded) -> LabelIssues:
    """Likely label errors of the loaded dataset (:func:`core.label_issues.find_label_issues`).

    Keyed on the frame key, so a label correction re-runs it.
    """
    return _label_issues(
        loaded.db, loaded.dataset_id, loaded.frame_key, _frame=loaded.dataset.frame
    )


# --------------------------------------------------------------------------- writes


def rule_text(found: SliceSuggestions, i: int) -> str:
    """Return the rule of suggestion ``i`` as one line (used as the tag name)."""
    return " AND ".join(found.slices["conditions"].iloc[i])


def slice_ids(loaded: Loaded, found: SliceSuggestions, i: int) -> list:
    """Ids of the examples in suggestion ``i`` (errors and correct ones alike)."""
    mask = slice_mask(loaded.dataset.frame, found.predicates[i])
    return ids_at(loaded.dataset.frame, np.flatnonzero(mask))


def tag_examples(store: Store, dataset_id: int, name: str, ids: list, *, user: str) -> int:
    """Create tag ``name`` when it does not exist, then tag ``ids`` with it.

    The store logs both writes as events with the tag name (here the rule text or
    ``likely_label_error``) and the user. Returns how many examples changed.
    """
    if name not in set(store.list_tags(dataset_id)["name"]):
        store.create_tag(dataset_id, name, user=user)
    return store.set_tag(dataset_id, ids, name, True, user=user)


# --------------------------------------------------------------------------- views


def suggestion_view(found: SliceSuggestions) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Display frame and column config of the suggested slices."""
    s = found.slices
    view = pd.DataFrame(
        {
            "rank": np.arange(1, len(s) + 1),
            "slice": [" AND ".join(c) for c in s["conditions"]],
            "n": s["n"].to_numpy(),
            "error rate": 100 * s["error_rate"].to_numpy(dtype=float),
            "lift": s["lift"].to_numpy(dtype=float),
            "q-value": s["q_value"].to_numpy(dtype=float),
            "significant": np.where(s["significant"].to_numpy(dtype=bool), "yes", "no"),
            "score": s["score"].to_numpy(dtype=float),
        }
    )
    config: dict[str, Any] = {
        "rank": st.column_config.NumberColumn("Rank", format="%d", width="small"),
        "slice": st.column_config.TextColumn("Slice", width="large"),
        "n": st.column_config.NumberColumn("n", format="localized"),
        "error rate": st.column_config.NumberColumn("Error rate", format="%.1f%%"),
        "lift": st.column_config.NumberColumn(
            "Lift", format="%.2f×", help="Error rate of the slice / error rate of all data"
        ),
        "q-value": st.column_config.NumberColumn(
            "q-value",
            format="%.2g",
            help="Benjamini-Hochberg adjusted p-value over every slice evaluated",
        ),
        "significant": st.column_config.TextColumn(
            "Significant?", help=f"q-value ≤ {found.fdr:g} (false discovery rate)"
        ),
        "score": st.column_config.NumberColumn(
            "Score", format="%.2f", help="SliceLine score: excess error weighed against size"
        ),
    }
    return view, config


def issue_view(issues: LabelIssues) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Display frame and column config of the likely label errors."""
    t = issues.issues
    view = pd.DataFrame(
        {
            "id": t["id"].astype(str).to_numpy(),
            "given label": t["label"].astype(str).to_numpy(),
            "suggested label": t["suggested_label"].astype(str).to_numpy(),
            "label quality": t["label_quality"].to_numpy(dtype=float),
            "p(suggested)": t["suggested_prob"].to_numpy(dtype=float),
            "model prediction": t["prediction"].astype(str).to_numpy(),
        }
    )
    if "signals" in t.columns:
        view["says wrong"] = [
            ", ".join(s) if isinstance(s, (list, tuple)) else str(s) for s in t["signals"]
        ]
    if "quality_score" in t.columns:
        view["combined score"] = t["quality_score"].to_numpy(dtype=float)
    config: dict[str, Any] = {
        "id": st.column_config.TextColumn("Id"),
        "label quality": st.column_config.ProgressColumn(
            "Label quality",
            min_value=0.0,
            max_value=1.0,
            format="%.2f",
            help="The model's probability of the given label (cleanlab self-confidence); "
            "lowest first",
        ),
        "p(suggested)": st.column_config.NumberColumn("p(suggested)", format="%.2f"),
        "says wrong": st.column_config.TextColumn(
            "Says it is wrong",
            help="The signals that disagree with the given label: the "
            "model, the human label, the annotators",
        ),
        "combined score": st.column_config.NumberColumn(
            "Combined score",
            format="%.2f",
            help="Mean of the model's probability of the "
            "given label and the humans' share choosing it; lowest first",
        ),
    }
    return view, config


__all__ = [
    "TAG_NAME",
    "default_min_support",
    "error_tree",
    "errors_of",
    "issue_view",
    "label_issues",
    "probability_columns",
    "rule_text",
    "searchable_columns",
    "slice_ids",
    "suggestion_view",
    "suggestions",
    "tag_examples",
]
