"""Widgets for the analysis settings shared by pages: slice-by columns, HLP, importance, ease.

Every setting is saved to the store at once (``set_tag_settings``) with the user's name, so
it is there for everyone after a restart.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import streamlit as st

from slicewise.core.access import ANNOTATOR
from slicewise.core.metrics import MIN_HUMAN_LABELS
from slicewise.core.prioritize import NEUTRAL, likely_protected
from slicewise.core.slice_names import tag_slice_names
from slicewise.ui import data, state
from slicewise.ui.data import Loaded
from slicewise.ui.text import md
from slicewise.ui.views import HLP_SOURCES, slice_label

WEIGHT_COLUMNS = ("importance", "ease")


def slice_by_widgets(loaded: Loaded) -> tuple[list[str], int]:
    """Draw the slice-by multiselect (shared between pages) and the bins slider."""
    options = data.sliceable_columns(loaded)
    current = [c for c in st.session_state.get(state.SLICE_BY, []) if c in options]
    st.session_state[state.SLICE_BY] = current
    c1, c2 = st.columns([3, 1])
    chosen = c1.multiselect(
        "Also slice by a column",
        options,
        key=state.SLICE_BY,
        persist_state="session",
        placeholder="e.g. device, region" if options else "No column to slice by",
        help="One slice per value; numeric columns are cut into quantile bins. Slicing by "
        "the label column gives each class's accuracy beside its HLP.",
    )
    hidden = data.unsliceable_columns(loaded)
    if hidden:
        c1.caption(unsliceable_note(hidden, data.slice_value_limit()))
    profile = data.column_profile(loaded)
    frame_cols = [data.slice_column(loaded, c) for c in chosen]
    numeric = any(bool(profile.loc[c, "numeric"]) for c in frame_cols if c in profile.index)
    bins = c2.slider("Bins for numbers", 2, 10, 4, key="shared_bins", disabled=not numeric)
    return list(chosen), int(bins)


def unsliceable_note(hidden: Mapping[str, int], limit: int, *, shown: int = 6) -> str:
    """Say which columns a slice-by chooser leaves out and why, for a caption.

    ``hidden`` maps each left-out column to its number of values
    (:func:`ui.data.unsliceable_columns`); ``limit`` is the most values a column may have
    (:func:`ui.data.slice_value_limit`); the first ``shown`` columns are named.

    Examples
    --------
    >>> unsliceable_note({"session": 1000000}, 50)[:57]
    'Not offered: session (1,000,000 values): over 50 values, '
    """
    names = [f"{md(n)} ({v:,} values)" for n, v in list(hidden.items())[:shown]]
    more = f" and {len(hidden) - shown} more" if len(hidden) > shown else ""
    return (
        f"Not offered: {', '.join(names)}{more}: over {limit:,} values, one slice each. "
        "Bin such a column into fewer values in the file first (ranges of a number, a "
        "date's month, a prefix of an id)."
    )


def shared_slice_by(loaded: Loaded) -> tuple[list[str], int]:
    """Return the slice-by choice made on another page, without drawing widgets."""
    options = set(data.sliceable_columns(loaded))
    chosen = [c for c in st.session_state.get(state.SLICE_BY, []) if c in options]
    return chosen, int(st.session_state.get("shared_bins", 4))


def _save_hlp(dataset_id: int, tag: str, key: str) -> None:
    value = st.session_state.get(key)
    store = state.get_store()
    if value is None:
        state.run_write(
            store.set_tag_settings,
            dataset_id,
            tag,
            user=state.current_user(),
            clear_hlp=True,
            success=f"Cleared the HLP of {tag}",
        )
    else:
        state.run_write(
            store.set_tag_settings,
            dataset_id,
            tag,
            user=state.current_user(),
            hlp=float(value) / 100,
            success=f"HLP of {tag} set to {value:g}%",
        )


def hlp_inputs(loaded: Loaded, table: pd.DataFrame, *, user: str, editable: bool = True) -> None:
    """Draw number inputs (percent) for the HLP of each tag, saved as soon as one changes.

    Tags without enough human labels come first and open the panel; a value entered for a tag
    with human labels overrides them. ``editable=False`` (a viewer) shows them disabled.
    """
    del user  # the callback reads the current user when it runs
    tags = loaded.tag_names
    if not tags:
        return
    entered = loaded.settings.get("hlp", {})
    rows = tag_slice_names(tags)  # the tag's row: a tag called "All data" is not all data
    source = pd.Series(
        table["hlp_source"].reindex([rows[t] for t in tags]).to_numpy(), index=tags
    ).fillna("none")
    # too_few: fewer human labels than core.metrics.MIN_HUMAN_LABELS, so no usable HLP
    missing = [t for t in tags if source[t] in ("none", "too_few")]
    with st.expander(
        f"Human-level performance per tag ({len(missing)} without a usable HLP)"
        if missing
        else "Human-level performance per tag",
        expanded=bool(missing),
        icon=":material/person:",
    ):
        st.caption(
            f"Where the file has no human labels for a tag, fewer than "
            f"{MIN_HUMAN_LABELS}, or the tag is known only on errors or on a review "
            "sample (human labels there are not a fair sample of the tag), enter the "
            "accuracy a human reaches on it (e.g. from a small re-labelling study). "
            "Saved at once."
        )
        cols = st.columns(min(4, len(tags)))
        ordered = missing + [t for t in tags if t not in missing]
        for i, tag in enumerate(ordered):
            key = f"slices_hlp_{loaded.dataset_id}_{loaded.rev}_{tag}"
            value = entered.get(tag)
            human = table["hlp"].get(rows[tag]) if source[tag] == "human_label" else None
            cols[i % len(cols)].number_input(
                md(slice_label(tag, "tag")) + " HLP (%)",
                min_value=0.0,
                max_value=100.0,
                value=None if value is None else round(100 * float(value), 2),
                step=0.5,
                key=key,
                on_change=_save_hlp,
                args=(loaded.dataset_id, tag, key),
                disabled=not editable,
                help=None if editable else state.needs(ANNOTATOR),
                placeholder=(
                    f"{100 * human:.1f} from {HLP_SOURCES['human_label']}"
                    if human is not None and human == human
                    else "not set"
                ),
            )


@st.cache_data(max_entries=8, show_spinner=False)
def _hlp_sources(db: str, dataset_id: int, rev: int) -> dict[str, dict]:
    del db, rev  # cache keys: the store's revision changes with every settings write
    return state.get_store().hlp_sources(dataset_id)


def hlp_source_note(loaded: Loaded) -> str | None:
    """Say which tags' HLP was saved from an annotation set (Label consistency page)."""
    sources = _hlp_sources(loaded.db, loaded.dataset_id, loaded.rev)
    if not sources:
        return None
    by_set: dict[tuple, list[str]] = {}
    for tag, src in sources.items():
        by_set.setdefault((src["name"], src["user"], str(src["at"])[:10]), []).append(tag)
    parts = [
        f"{md(', '.join(slice_label(t, 'tag') for t in tags))} from the annotator set "
        f"{md(repr(name))} (saved by {md(user)} on {day})"
        for (name, user, day), tags in by_set.items()
    ]
    return (
        "HLP measured by annotators on the Label consistency page, shown as "
        f"'{HLP_SOURCES['user']}': " + "; ".join(parts) + "."
    )  # Markdown (names escaped)


def weights_frame(loaded: Loaded) -> pd.DataFrame:
    """One row per tag with its importance and ease (stored value or the neutral 3)."""
    s = loaded.settings
    tags = loaded.tag_names
    return pd.DataFrame(
        {
            "tag": tags,
            "importance": [int(s.get("importance", {}).get(t, NEUTRAL)) for t in tags],
            "ease": [int(s.get("ease", {}).get(t, NEUTRAL)) for t in tags],
        }
    )


def weight_changes(before: pd.DataFrame, after: pd.DataFrame) -> dict[str, dict[str, int]]:
    """{tag: {"importance": v, "ease": v}} for the rows the user changed."""
    out: dict[str, dict[str, int]] = {}
    for i in range(min(len(before), len(after))):
        for col in WEIGHT_COLUMNS:
            new = after[col].iat[i]
            if pd.notna(new) and int(new) != int(before[col].iat[i]):
                out.setdefault(str(before["tag"].iat[i]), {})[col] = int(new)
    return out


def weights_editor(loaded: Loaded, *, user: str, editable: bool = True) -> None:
    """Editable importance and ease (1-5) per tag; changes are saved and the page reruns.

    ``editable=False`` (a viewer) shows the table read-only, saying which role changes it.
    """
    if not loaded.tag_names:
        st.caption("No tags yet: importance and ease are set per tag.")
        return
    before = weights_frame(loaded)
    after = st.data_editor(
        before,
        hide_index=True,
        num_rows="fixed",
        disabled=["tag"] if editable else True,
        key=f"prio_weights_{loaded.dataset_id}_{loaded.rev}",
        column_config={
            "tag": st.column_config.TextColumn("Tag"),
            "importance": st.column_config.NumberColumn(
                "Importance",
                min_value=1,
                max_value=5,
                step=1,
                format="%d",
                width="small",
                help="How much this slice matters to the product (3 = neutral)",
            ),
            "ease": st.column_config.NumberColumn(
                "Ease",
                min_value=1,
                max_value=5,
                step=1,
                format="%d",
                width="small",
                help="How easy it is to improve, e.g. to collect more of it (3 = neutral)",
            ),
        },
    )
    if not editable:
        st.caption(state.needs(ANNOTATOR))
    changes = weight_changes(before, after)
    if changes:
        store = state.get_store()
        ok = all(
            state.run_write(store.set_tag_settings, loaded.dataset_id, tag, user=user, **values)
            for tag, values in changes.items()
        )
        if ok:
            state.flash(
                "Saved "
                + ", ".join(
                    f"{t}: " + ", ".join(f"{k} {v}" for k, v in vals.items())
                    for t, vals in changes.items()
                )
            )
            st.rerun()
        state.show_flash()  # not saved: say why here (a rerun would retry the same edit)


PROTECTED_KEY, RANK_BY_KEY = "prio_protected", "prio_rank_by"


def shared_ranking(loaded: Loaded) -> tuple[list[str], str]:
    """Return the protected columns and rank basis chosen on *Prioritise*, without widgets.

    Before any choice, columns named like a protected attribute (race, sex...,
    :func:`core.prioritize.likely_protected`) are protected, so every page audits them.
    """
    options = data.sliceable_columns(loaded)
    start = st.session_state.get(PROTECTED_KEY, likely_protected(options))
    protected = [c for c in start if isinstance(c, str) and c in options]
    return protected, str(st.session_state.get(RANK_BY_KEY, "priority"))


RANK_LABELS = {
    "priority": "Gap × share",
    "lower_bound": "Gap's lower bound × share",
    "excess": "Excess error over the rest",
}


def ranking_widgets(loaded: Loaded, slice_by: list[str]) -> tuple[list[str], str]:
    """Draw the protected-attribute picker and the rank-by choice; return both.

    A protected column (e.g. race) is sliced by and its slices get fairness advice instead
    of "collect more of this group" (:func:`core.prioritize.advise`).
    """
    options = data.sliceable_columns(loaded)
    key = PROTECTED_KEY
    st.session_state[key] = shared_ranking(loaded)[0]
    protected = st.multiselect(
        "Protected attributes",
        options,
        key=key,
        persist_state="session",
        placeholder="e.g. race, sex",
        help="Columns describing people's groups: their slices "
        "are audited for fairness (error rates by group), never advised for 'more data of "
        "this group'. They are sliced by too.",
    )
    rank_by = st.radio(
        "Rank by",
        list(RANK_LABELS),
        format_func=RANK_LABELS.get,
        key=RANK_BY_KEY,
        horizontal=True,
        help="Slices worse than the rest of the data always come first. "
        "'Lower bound' counts a gap measured on few examples for less; without "
        "any baseline the excess error is used.",
    )
    return list(protected), str(rank_by)
