"""*Review a sample*: the lecture's random sample of errors and correct examples, tagged by hand.

Drawing and estimating are :mod:`core.tag_scope`'s; the sample and who reviewed what are the
store's. This module draws the section of *Tag errors* that ties them together.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from slicewise.core.access import ANNOTATOR
from slicewise.core.tag_scope import draw_review_sample, sample_figures
from slicewise.ui import state
from slicewise.ui.data import Loaded
from slicewise.ui.state import Context

#: Session key holding the sample whose examples the grid is limited to (or None).
SAMPLE_FILTER = "tag_sample_filter"


@st.cache_data(max_entries=8, show_spinner=False)
def _sample(db: str, sample_id: int, rev: int) -> dict[str, Any]:
    """One stored sample with the reviewed status of its examples (per revision)."""
    del db  # keys the cache: the store is the session's
    return state.get_store().review_sample(sample_id)


def sample_positions(loaded: Loaded, sample_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows of a sample's examples in the loaded dataset and whether each was reviewed."""
    sample = _sample(loaded.db, sample_id, loaded.rev)
    examples = sample["examples"]
    ids = pd.Index(loaded.dataset.frame["id"].astype(str))
    pos = ids.get_indexer(examples["example_id"].astype(str))
    keep = pos >= 0
    return pos[keep].astype(np.int64), examples["reviewed"].to_numpy(dtype=bool)[keep]


def within(positions: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Keep the ``positions`` (in their order) that are among ``rows``."""
    return positions[np.isin(positions, rows)]


def estimates_view(figures: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Display frame and column config of the per-tag estimates from a sample."""

    def pct(col: str) -> np.ndarray:
        return 100 * figures[col].to_numpy(dtype=float)

    def interval(low: str, high: str) -> list[str]:
        return [
            "–" if np.isnan(a) or np.isnan(b) else f"{100 * a:.1f}–{100 * b:.1f}%"
            for a, b in zip(figures[low], figures[high], strict=True)
        ]

    view = pd.DataFrame(
        {
            "tag": figures.index.astype(str),
            "tagged in sample": (figures["tagged_errors"] + figures["tagged_correct"]).to_numpy(),
            "share": pct("share"),
            "share interval": interval("share_ci_low", "share_ci_high"),
            "accuracy": pct("accuracy"),
            "accuracy interval": interval("accuracy_ci_low", "accuracy_ci_high"),
            "error share": pct("error_share"),
            "error share interval": interval("error_share_ci_low", "error_share_ci_high"),
            "max gain": pct("max_gain"),
        }
    )
    config = {
        "tag": st.column_config.TextColumn("Tag", pinned=True),
        "share": st.column_config.NumberColumn("% of data (est.)", format="%.1f%%"),
        "accuracy": st.column_config.NumberColumn("Accuracy (est.)", format="%.1f%%"),
        "error share": st.column_config.NumberColumn("% of errors (est.)", format="%.1f%%"),
        "max gain": st.column_config.NumberColumn(
            "Most it could gain",
            format="%.2f pts",
            help="Accuracy points if every error with this tag were fixed",
        ),
    }
    return view, config


def section(ctx: Context, loaded: Loaded, correct: np.ndarray) -> np.ndarray | None:
    """Draw *Review a sample*; return the rows the grid is limited to (None: no limit).

    The user draws a seeded random sample of errors and of correct examples, tags it in the
    grid, marks it reviewed, and reads each tag's estimated share, accuracy and error share
    with 95% intervals (stratified Horvitz–Thompson, :mod:`core.tag_scope`).
    """
    store, did = ctx.store, loaded.dataset_id
    annotate = state.can(ctx, ANNOTATOR)
    no_role = None if annotate else state.needs(ANNOTATOR)
    n_errors = int((~correct).sum())
    n_correct = int(correct.sum())
    samples = state.read(store.review_samples, did, otherwise=None, what="The review samples")
    if samples is None:  # a damaged store: the message says why; the grid still works
        return None
    with st.expander(
        "Review a random sample — estimate every tag from 100 errors and 100 correct examples",
        icon=":material/casino:",
        expanded=False,
    ):
        st.caption(
            "Tagging errors alone tells which share of the errors a tag explains, not "
            "its accuracy. Tag a random sample of both, mark it reviewed, and each "
            "tag's share, accuracy and share of errors are estimated from it (each "
            "sampled example stands for the examples of its kind it was drawn from), "
            "with 95% intervals."
        )
        c1, c2, c3, c4 = st.columns([1, 1, 1, 1], vertical_alignment="bottom")
        k_err = c1.number_input(
            "Errors", 0, n_errors, min(100, n_errors), step=10, key=f"sample_errors_{did}"
        )
        k_cor = c2.number_input(
            "Correct examples",
            0,
            n_correct,
            min(100, n_correct),
            step=10,
            key=f"sample_correct_{did}",
        )
        seed = c3.number_input(
            "Seed",
            0,
            2**31 - 1,
            len(samples) + 1,
            key=f"sample_seed_{did}",
            help="The same seed draws the same sample",
        )
        if c4.button(
            "Draw sample",
            key=f"sample_draw_{did}",
            icon=":material/casino:",
            disabled=not (annotate and (k_err or k_cor)),
            help=no_role,
        ):
            drawn = draw_review_sample(
                correct, {"errors": int(k_err), "correct": int(k_cor)}, seed=int(seed)
            )
            ids = loaded.dataset.frame["id"].astype(str).to_numpy()
            saved = state.run_write(
                store.save_review_sample,
                did,
                seed=int(seed),
                sizes={"errors": int(k_err), "correct": int(k_cor)},
                example_ids={k: ids[v].tolist() for k, v in drawn.items()},
                population={"errors": n_errors, "correct": n_correct},
                user=ctx.user,
                success=f"Drew {int(k_err) + int(k_cor):,} examples to review (seed {seed})",
            )
            if saved:
                st.session_state[SAMPLE_FILTER] = None
                st.rerun()
        if not len(samples):
            st.info(
                "No sample yet: draw one, then tag its examples in the grid below.",
                icon=":material/info:",
            )
            return None
        labels = {
            int(r.id): f"Sample {int(r.id)} — {int(r.n_reviewed):,} of "
            f"{int(r.n_examples):,} reviewed, by {r.created_by}, seed {r.seed}"
            for r in samples.itertuples()
        }
        options = list(labels)
        chosen = st.selectbox(
            "Sample", options, key=f"sample_pick_{did}", format_func=labels.get, index=0
        )
        positions, reviewed = sample_positions(loaded, int(chosen))
        only = st.toggle("Show only this sample in the grid", key=f"sample_only_{did}", value=True)
        done = int(reviewed.sum())
        st.progress(
            done / len(reviewed) if len(reviewed) else 1.0,
            text=f"{done:,} of {len(reviewed):,} sampled examples marked reviewed",
        )
        ids = loaded.dataset.frame["id"].to_numpy(dtype=object)[positions].tolist()
        if st.button(
            "Mark the whole sample reviewed",
            key=f"sample_mark_{did}",
            icon=":material/task_alt:",
            disabled=not annotate or done == len(reviewed),
            help=no_role
            or "Once every sampled example has its tags: untagged "
            "means reviewed and not carrying the tag",
        ):
            if state.run_write(
                store.mark_reviewed,
                did,
                ids,
                user=ctx.user,
                sample_id=int(chosen),
                success=f"Marked {len(ids):,} sampled examples reviewed",
            ):
                st.rerun()
        if loaded.tag_names and done:
            figures = sample_figures(correct, loaded.dataset.tags, positions, reviewed=reviewed)
            view, config = estimates_view(figures)
            st.markdown(
                f"**Estimates from the {done:,} reviewed examples of this sample** "
                "(errors and correct examples weighted by how many each stands for)"
            )
            st.dataframe(
                view,
                hide_index=True,
                column_config=config,
                placeholder="–",
                key=f"sample_estimates_{did}",
            )
        elif loaded.tag_names:
            st.caption("Estimates appear once examples of the sample are marked reviewed.")
        sizes = json.loads(samples.set_index("id").loc[int(chosen), "sizes"])
        st.caption(
            f"Drawn: {sizes.get('errors', 0):,} of {n_errors:,} errors and "
            f"{sizes.get('correct', 0):,} of {n_correct:,} correct examples."
        )
    return positions if only else None
