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

    Parameters
    ----------
    ctx : Context
        The page's context (store, user, role).
    loaded : Loaded
        The dataset in use.
    correct : numpy.ndarray
        Per example (n,), whether the model got it right.

    Returns
    -------
    numpy.ndarray or None
        Positions (into the dataset's rows) of the chosen sample's examples when the grid is
        to show only them, else ``None`` (also on a damaged store, whose message is shown).
    """
    did = loaded.dataset_id
    samples = state.read(ctx.store.review_samples, did, otherwise=None, what="The review samples")
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
        draw_controls(ctx, loaded, correct, n_samples=len(samples))
        if not len(samples):
            st.info(
                "No sample yet: draw one, then tag its examples in the grid below.",
                icon=":material/info:",
            )
            return None
        chosen = _pick_sample(samples, did)
        positions, reviewed = sample_positions(loaded, chosen)
        only = st.toggle("Show only this sample in the grid", key=f"sample_only_{did}", value=True)
        _progress_and_mark(ctx, loaded, chosen, positions, reviewed)
        _estimates(loaded, correct, positions, reviewed)
        sizes = json.loads(samples.set_index("id").loc[chosen, "sizes"])
        n_errors, n_correct = int((~correct).sum()), int(correct.sum())
        st.caption(
            f"Drawn: {sizes.get('errors', 0):,} of {n_errors:,} errors and "
            f"{sizes.get('correct', 0):,} of {n_correct:,} correct examples."
        )
    return positions if only else None


def _no_role(ctx: Context) -> tuple[bool, str | None]:
    # Whether the user may annotate, else why not (the help of the disabled buttons).
    annotate = state.can(ctx, ANNOTATOR)
    return annotate, None if annotate else state.needs(ANNOTATOR)


def draw_controls(ctx: Context, loaded: Loaded, correct: np.ndarray, *, n_samples: int) -> None:
    """Draw the sizes and seed of a new sample and *Draw sample*, which stores it.

    ``correct`` (n,) says which examples are errors; ``n_samples`` is how many samples the
    dataset has (the next seed's default is one more). Up to 100 errors and 100 correct
    examples are proposed. A sample drawn becomes the one shown, and the grid is no longer
    limited to another.
    """
    did = loaded.dataset_id
    annotate, no_role = _no_role(ctx)
    n_errors, n_correct = int((~correct).sum()), int(correct.sum())
    c1, c2, c3, c4 = st.columns([1, 1, 1, 1], vertical_alignment="bottom")
    k_err = c1.number_input(
        "Errors", 0, n_errors, min(100, n_errors), step=10, key=f"sample_errors_{did}"
    )
    k_cor = c2.number_input(
        "Correct examples", 0, n_correct, min(100, n_correct), step=10, key=f"sample_correct_{did}"
    )
    seed = c3.number_input(
        "Seed",
        0,
        2**31 - 1,
        n_samples + 1,
        key=f"sample_seed_{did}",
        help="The same seed draws the same sample",
    )
    if not c4.button(
        "Draw sample",
        key=f"sample_draw_{did}",
        icon=":material/casino:",
        disabled=not (annotate and (k_err or k_cor)),
        help=no_role,
    ):
        return
    sizes = {"errors": int(k_err), "correct": int(k_cor)}
    drawn = draw_review_sample(correct, sizes, seed=int(seed))
    ids = loaded.dataset.frame["id"].astype(str).to_numpy()
    saved = state.run_write(
        ctx.store.save_review_sample,
        did,
        seed=int(seed),
        sizes=sizes,
        example_ids={k: ids[v].tolist() for k, v in drawn.items()},
        population={"errors": n_errors, "correct": n_correct},
        user=ctx.user,
        success=f"Drew {int(k_err) + int(k_cor):,} examples to review (seed {seed})",
    )
    if saved:
        st.session_state[SAMPLE_FILTER] = None
        st.rerun()


def _pick_sample(samples: pd.DataFrame, did: int) -> int:
    # The sample shown (newest first, as the store lists them).
    labels = {
        int(r.id): f"Sample {int(r.id)} — {int(r.n_reviewed):,} of "
        f"{int(r.n_examples):,} reviewed, by {r.created_by}, seed {r.seed}"
        for r in samples.itertuples()
    }
    chosen = st.selectbox(
        "Sample", list(labels), key=f"sample_pick_{did}", format_func=labels.get, index=0
    )
    return int(chosen)


def _progress_and_mark(
    ctx: Context, loaded: Loaded, chosen: int, positions: np.ndarray, reviewed: np.ndarray
) -> None:
    # How much of the sample is reviewed, and the button marking all of it reviewed.
    annotate, no_role = _no_role(ctx)
    did = loaded.dataset_id
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
    ) and state.run_write(
        ctx.store.mark_reviewed,
        did,
        ids,
        user=ctx.user,
        sample_id=chosen,
        success=f"Marked {len(ids):,} sampled examples reviewed",
    ):
        st.rerun()


def _estimates(
    loaded: Loaded, correct: np.ndarray, positions: np.ndarray, reviewed: np.ndarray
) -> None:
    # Each tag's estimates from the reviewed examples of the sample (once there are some).
    done = int(reviewed.sum())
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
            key=f"sample_estimates_{loaded.dataset_id}",
        )
    elif loaded.tag_names:
        st.caption("Estimates appear once examples of the sample are marked reviewed.")
