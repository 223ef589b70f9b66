"""Helpers of the *Label consistency* page: cached loading and analysis, views, review state.

Every number comes from :mod:`core.agreement`. Cached functions take the big inputs as
``_`` arguments next to an explicit fingerprint and never read ``st.session_state``; the
review decisions are saved in the store (:meth:`core.store.Store.save_review_decision`)
against a saved annotation set.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from slicewise.core import agreement as ag
from slicewise.core.dataset import Dataset, load_dataset
from slicewise.core.slice_names import tag_slice_names
from slicewise.ui import media
from slicewise.ui.state import DEMO_DIR
from slicewise.ui.tagging import media_columns

DEMO_LABELS = DEMO_DIR / "inspection_annotations.csv"
DEMO_PREDICTIONS = DEMO_DIR / "inspection_predictions.csv"
NO_LINK = "No predictions"
DEMO_LINK = "Demo inspection predictions"
LEVELS = ("auto", "long", "wide")
KEY_METRICS = (
    "percent_agreement",
    "mean_pairwise_cohen_kappa",
    "fleiss_kappa",
    "krippendorff_alpha",
    "gwet_ac1",
)


# --------------------------------------------------------------------------- loading


@st.cache_data(max_entries=4, show_spinner="Reading the labels…")
def read_labels(
    name: str, file_id: str, options: tuple[tuple[str, Any], ...], *, _data: bytes
) -> ag.Annotations:
    """Read and validate a label file once per upload and column choice."""
    return ag.load_annotations(_data, name=name, **dict(options))


@st.cache_data(max_entries=2, show_spinner=False)
def demo_labels() -> ag.Annotations:
    """Return the demo annotations (five annotators on 300 inspection images)."""
    return ag.load_annotations(DEMO_LABELS)


@st.cache_data(max_entries=2, show_spinner=False)
def demo_predictions() -> Dataset:
    """Return the demo inspection predictions the demo annotations refer to."""
    return load_dataset(DEMO_PREDICTIONS)


@st.cache_data(max_entries=4, show_spinner=False)
def columns_of(name: str, file_id: str, *, _data: bytes) -> list[str]:
    """Return the column names of an upload (for the column pickers)."""
    from slicewise.core.dataset import read_table

    df, _, _ = read_table(_data, name=name)
    return [str(c) for c in df.columns]


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class RuleChoice:
    """The standardisation rules chosen on the page, hashable for cache keys."""

    merge: tuple[str, ...] = ()
    target: str = ""
    lowercase: bool = False
    strip_punctuation: bool = False
    replacements: tuple[tuple[str, str], ...] = ()

    def rules(self) -> list[ag.Rule]:
        """Return the core rules, in order: normalise, then merge."""
        out: list[ag.Rule] = []
        if self.lowercase or self.strip_punctuation or self.replacements:
            out.append(
                ag.NormalizeText(
                    replacements=self.replacements,
                    lowercase=self.lowercase,
                    strip_punctuation=self.strip_punctuation,
                )
            )
        if len(self.merge) >= 1 and self.target.strip():
            out.append(ag.MergeClasses(self.merge, self.target))
        return out

    @property
    def active(self) -> bool:
        """Whether any rule is set."""
        return bool(self.rules())


def parse_replacements(text: str) -> tuple[tuple[str, str], ...]:
    """Lines ``before -> after`` (or ``before => after``) as pairs; other lines are ignored."""
    out = []
    for line in (text or "").splitlines():
        for arrow in ("->", "=>", "→"):
            if arrow in line:
                before, after = line.split(arrow, 1)
                if before.strip():
                    out.append((before.strip(), after.strip()))
                break
    return tuple(out)


# --------------------------------------------------------------------------- analysis


@st.cache_data(max_entries=8, show_spinner=False)
def cleaned(
    fingerprint: str, choice: RuleChoice, *, _labels: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the labels after the rules, and the change log."""
    return ag.apply_rules(_labels, choice.rules())


@st.cache_data(max_entries=8, show_spinner="Measuring agreement…")
def analysis(
    fingerprint: str,
    choice: RuleChoice,
    link_key: str,
    *,
    _labels: pd.DataFrame,
    _linked: ag.LinkedItems | None,
) -> dict[str, Any]:
    """Every table of the page for one label set (cached per labels, rules and link)."""
    codes = ag.encode_labels(_labels)
    info = _linked.info if _linked is not None else None
    truth = info["truth"] if info is not None and "truth" in info else None
    prediction = info["prediction"] if info is not None and "prediction" in info else None
    out: dict[str, Any] = {
        "figures": ag.summarize_annotations(codes),
        "summary": ag.compute_agreement_summary(codes),
        "kappa": ag.compute_cohen_kappa_matrix(codes, min_items=1),
        "annotators": ag.compute_annotator_stats(codes, truth=truth),
        "classes": ag.compute_class_agreement(codes),
        "confused": ag.find_confused_pairs(codes),
        "queue": ag.find_disagreements(codes, linked=_linked),
        "classes_list": [str(c) for c in codes.classes],
        "annotator_list": [str(a) for a in codes.annotators],
    }
    out["caution"] = ag.agreement_caution(out["summary"])
    out["by_slice"] = ag.compute_agreement_by_slice(
        codes,
        membership=_linked.tags if _linked is not None else None,
        truth=truth,
        prediction=prediction,
    )
    return out


@st.cache_data(max_entries=8, show_spinner=False)
def preview(fingerprint: str, choice: RuleChoice, *, _labels: pd.DataFrame) -> pd.DataFrame:
    """Before/after of every metric under the rules (:func:`core.agreement.preview_rules`)."""
    return ag.preview_rules(_labels, choice.rules())


@st.cache_data(max_entries=4, show_spinner=False)
def link(
    fingerprint: str, link_key: str, *, _labels: pd.DataFrame, _dataset: Dataset
) -> ag.LinkedItems:
    """Join the items to a predictions dataset (raises DataError when no id matches)."""
    return ag.link_predictions(_labels, _dataset)


# --------------------------------------------------------------------------- views


def fmt(value: Any, digits: int = 3) -> str:
    """Format a metric value for display (– when undefined)."""
    return "–" if value is None or pd.isna(value) else f"{float(value):.{digits}f}"


def summary_view(summary: pd.DataFrame) -> pd.DataFrame:
    """Shape the metrics table: value beside the raw agreement it starts from and chance."""
    return pd.DataFrame(
        {
            "metric": summary["name"].to_numpy(),
            "value": summary["value"].to_numpy(dtype=float),
            "raw agreement": summary["observed_agreement"].to_numpy(dtype=float),
            "chance agreement": summary["chance_agreement"].to_numpy(dtype=float),
            "items": summary["n_items"].to_numpy(),
            "definition": summary["definition"].to_numpy(),
        }
    )


SUMMARY_CONFIG = {
    "value": st.column_config.NumberColumn("Value", format="%.3f"),
    "raw agreement": st.column_config.NumberColumn(
        "Raw agreement",
        format="%.3f",
        help="What the metric starts from before correcting for chance",
    ),
    "chance agreement": st.column_config.NumberColumn("Chance agreement", format="%.3f"),
    "definition": st.column_config.TextColumn("Definition", width="large"),
}


def annotator_view(stats: pd.DataFrame) -> pd.DataFrame:
    """Per-annotator table for display, lowest agreement first."""
    view = pd.DataFrame(
        {
            "annotator": stats.index.astype(str),
            "labels": stats["n_labels"].to_numpy(),
            "agreement with others": 100 * stats["agreement_with_others"].to_numpy(dtype=float),
            "agreement with consensus": 100
            * stats["agreement_with_consensus"].to_numpy(dtype=float),
            "mean kappa": stats["mean_cohen_kappa"].to_numpy(dtype=float),
        }
    )
    if stats["n_with_truth"].sum() > 0:
        view["accuracy"] = 100 * stats["accuracy"].to_numpy(dtype=float)
    return view


PERCENT = st.column_config.NumberColumn(format="%.1f%%")


def percent_config(columns: Sequence[str]) -> dict[str, Any]:
    """Column config showing ``columns`` as percents."""
    return {c: PERCENT for c in columns}


def confused_view(pairs: pd.DataFrame) -> pd.DataFrame:
    """Confused class pairs for display."""
    return pd.DataFrame(
        {
            "classes": [
                f"{a} / {b}" for a, b in zip(pairs["class_a"], pairs["class_b"], strict=True)
            ],
            "items with both": pairs["n_items"].to_numpy(),
            "share of disagreement": 100 * pairs["share_of_disagreement"].to_numpy(dtype=float),
            "observed / chance": pairs["ratio"].to_numpy(dtype=float),
            "alpha if merged": pairs["alpha_if_merged"].to_numpy(dtype=float),
            "alpha change": pairs["alpha_gain"].to_numpy(dtype=float),
        }
    )


def slice_view(table: pd.DataFrame) -> pd.DataFrame:
    """Agreement and HLP per tag for display."""
    return pd.DataFrame(
        {
            "slice": table.index.astype(str),
            "items": table["n"].to_numpy(),
            "percent agreement": 100 * table["percent_agreement"].to_numpy(dtype=float),
            "alpha": table["krippendorff_alpha"].to_numpy(dtype=float),
            "AC1": table["gwet_ac1"].to_numpy(dtype=float),
            "HLP": 100 * table["hlp"].to_numpy(dtype=float),
            "HLP from": table["hlp_source"].map(ag.HLP_SOURCES).to_numpy(),
            "model accuracy": 100 * table["model_accuracy"].to_numpy(dtype=float),
            "model agrees with annotators": 100 * table["model_agreement"].to_numpy(dtype=float),
        }
    )


# --------------------------------------------------------------------------- review

ALL_PAIRS = "All class pairs"
ALL_TAGS = "All tags"
STATUSES = ("All", "To review", "Resolved")


def pair_options(confused: pd.DataFrame, limit: int = 30) -> list[tuple[str, str]]:
    """Return the class pairs annotators confuse most, as (class a, class b)."""
    head = confused.head(limit)
    return [(str(a), str(b)) for a, b in zip(head["class_a"], head["class_b"], strict=True)]


def filter_queue(
    queue: pd.DataFrame,
    annotators: Sequence[str],
    *,
    pair: tuple[str, str] | None = None,
    tag_items: Sequence[str] | None = None,
    status: str = "All",
    resolved: set[str] | frozenset[str] = frozenset(),
) -> pd.DataFrame:
    """Keep the queue's items matching every filter given.

    ``pair``: labelled with both classes; ``tag_items``: the items carrying a tag;
    ``status``: to review or resolved, ``resolved`` being the items with a decision.
    """
    keep = np.ones(len(queue), dtype=bool)
    items = queue["item"].astype(str)
    if pair is not None:
        cols = [a for a in annotators if a in queue.columns]
        given = (
            queue[cols].astype(object).map(lambda v: None if v is None or v != v else str(v))
            if cols
            else queue[[]]
        )
        keep &= (given == pair[0]).any(axis=1).to_numpy() & (given == pair[1]).any(
            axis=1
        ).to_numpy()
    if tag_items is not None:
        keep &= items.isin(set(map(str, tag_items))).to_numpy()
    if status == "To review":
        keep &= ~items.isin(resolved).to_numpy()
    elif status == "Resolved":
        keep &= items.isin(resolved).to_numpy()
    return queue[keep]


def resolved_items(made: pd.DataFrame) -> set[str]:
    """Items with a decision (a label or borderline), from :meth:`Store.review_decisions`."""
    return set(made.loc[made["decision"].notna(), "item"].astype(str))


def progress_text(queue: pd.DataFrame, made: pd.DataFrame) -> tuple[int, str]:
    """How many of the queue's items are resolved, and the sentence saying so."""
    done = int(queue["item"].astype(str).isin(resolved_items(made)).sum())
    noted = int(
        queue["item"]
        .astype(str)
        .isin(set(made.loc[made["decision"].isna(), "item"].astype(str)))
        .sum()
    )
    text = f"{done:,} of {len(queue):,} disagreements resolved"
    if noted:
        text += f" · {noted:,} with a note only"
    return done, text


def _by(user: Any, at: Any) -> str:
    if not isinstance(user, str):
        return ""
    return f"{user} · {str(at)[:16].replace('T', ' ')}"


def queue_view(queue: pd.DataFrame, annotators: Sequence[str], made: pd.DataFrame) -> pd.DataFrame:
    """Shape the review queue with the decision and note the reviewer edits, and who decided."""
    cols = ["item", "entropy", "consensus", "tie", *[a for a in annotators if a in queue]]
    cols += [c for c in ("prediction", "truth") if c in queue.columns]
    view = queue[cols].copy()
    for a in annotators:
        if a in view:
            view[a] = view[a].map(lambda v: "" if v is None or v != v else str(v))
    view["consensus"] = view["consensus"].astype(str)
    latest = made.set_index(made["item"].astype(str))
    items = view["item"].astype(str)

    # Text columns even when the queue is empty (no disagreement): a data editor refuses a
    # text column over the float dtype an empty list would give.
    def text(values: list[Any]) -> pd.Series:
        return pd.Series(values, index=view.index, dtype=object)

    view["decision"] = text(
        [latest.at[i, "decision"] if i in latest.index else None for i in items]
    )
    view["note"] = text([latest.at[i, "note"] if i in latest.index else "" for i in items])
    view["by"] = text(
        [_by(latest.at[i, "user"], latest.at[i, "at"]) if i in latest.index else "" for i in items]
    )
    return view


def _cell(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    text = str(value).strip()
    return text or None


def edited_decisions(
    before: pd.DataFrame, after: pd.DataFrame
) -> list[tuple[str, str | None, str]]:
    """Return (item, decision, note) for each row whose decision or note was changed."""
    out = []
    for i in range(min(len(before), len(after))):
        new_d, new_n = _cell(after["decision"].iat[i]), _cell(after["note"].iat[i]) or ""
        old_d, old_n = _cell(before["decision"].iat[i]), _cell(before["note"].iat[i]) or ""
        if (new_d, new_n) != (old_d, old_n):
            out.append((str(before["item"].iat[i]), new_d, new_n))
    return out


def stale_decisions(
    edited_rows: dict[Any, dict[str, Any]], rows: Sequence[dict[str, Any]]
) -> list[tuple[str, str | None, str]]:
    """Turn a data editor's ``edited_rows`` on a table since redrawn into decisions.

    ``rows`` are the (item, decision, note) records the old table showed, in order; edits of
    rows out of range or of other columns are ignored.
    """
    out = []
    for row, cells in edited_rows.items():
        r = int(row)
        if not 0 <= r < len(rows) or not ({"decision", "note"} & set(cells)):
            continue
        shown = rows[r]
        old = (_cell(shown.get("decision")), _cell(shown.get("note")) or "")
        new = (
            _cell(cells.get("decision", shown.get("decision"))),
            _cell(cells.get("note", shown.get("note"))) or "",
        )
        if new != old:
            out.append((str(shown["item"]), *new))
    return out


def decision_options(
    row: pd.Series, annotators: Sequence[str], classes: Sequence[str], current: str | None = None
) -> list[str]:
    """Choices for one item: its labels (most given first), borderline, then other classes."""
    given = [str(row[a]) for a in annotators if a in row.index and _cell(row[a]) is not None]
    first = list(pd.Series(given, dtype=object).value_counts(sort=True).index) if given else []
    out = list(dict.fromkeys([*first, ag.BORDERLINE, *map(str, classes)]))
    if current and current not in out:
        out.append(current)
    return out


def item_votes(row: pd.Series, annotators: Sequence[str]) -> str:
    """One line: what each annotator said about an item, then truth and prediction."""
    parts = [
        f"**{a}**: {row[a]}" for a in annotators if a in row.index and _cell(row[a]) is not None
    ]
    for col, name in (("truth", "ground truth"), ("prediction", "model")):
        if col in row.index and _cell(row[col]) is not None:
            parts.append(f"*{name}*: {row[col]}")
    return " · ".join(parts)


#: Metadata columns shown as the example's text when the linked dataset has one (lower-case).
TEXT_COLUMN_NAMES = (
    "text",
    "sentence",
    "transcript",
    "utterance",
    "prompt",
    "content",
    "document",
    "caption",
    "question",
    "input",
    "input_text",
)


def example_columns(dataset: Dataset) -> dict[str, str]:
    """Return the linked dataset's columns showing an example: {column: image|audio|text}.

    Image and audio columns as :func:`ui.tagging.media_columns` finds them; text columns by
    name (:data:`TEXT_COLUMN_NAMES`), non-numeric ones only.
    """
    meta = dataset.metadata_columns
    out = media_columns(dataset.frame, meta)
    for col in meta:
        values = dataset.frame[col]
        if (
            col not in out
            and str(col).strip().lower() in TEXT_COLUMN_NAMES
            and not pd.api.types.is_numeric_dtype(values)
            and not pd.api.types.is_bool_dtype(values)
        ):
            out[str(col)] = "text"
    return out


@st.cache_data(max_entries=4, show_spinner=False)
def examples(link_key: str, *, _dataset: Dataset) -> tuple[pd.DataFrame, dict[str, str]]:
    """Return the example columns of the linked dataset, indexed by id (text), and kinds.

    ``link_key`` names the dataset (and its version) for the cache. A dataset's ids are text
    (:func:`core.dataset.load_dataset`); the first row of a repeated id is kept.
    """
    kinds = example_columns(_dataset)
    frame = _dataset.frame
    table = frame[list(kinds)].set_axis(frame["id"].astype(str).str.strip(), axis=0)
    return table[~table.index.duplicated()], kinds


def show_example(item: str, table: pd.DataFrame, kinds: dict[str, str], *, db: str) -> None:
    """Show the item's image, audio or text from the linked dataset (nothing if not in it)."""
    if item not in table.index:
        st.caption(f"{item} is not in the linked dataset: no example to show.")
        return
    row = table.loc[item]
    for col, kind in kinds.items():
        value = row[col]
        if kind == "text":
            if isinstance(value, str) and value.strip():
                st.caption(col)
                st.text(value)
        else:
            media.show_media(col, kind, value, db=db)


@st.cache_data(max_entries=4, show_spinner=False)
def final_labels_csv(
    fingerprint: str,
    choice: RuleChoice,
    decisions_key: str,
    *,
    _labels: pd.DataFrame,
    _decisions: pd.DataFrame,
) -> str:
    """Return the final one-label-per-item CSV (:func:`core.agreement.compute_final_labels`).

    Cached per labels (``fingerprint``), rules applied and ``decisions_key`` (the set and the
    count of its recorded decisions, which changes with every save).
    """
    return ag.final_labels_csv(_labels, _decisions)


def final_labels_file_name(set_name: str) -> str:
    """Return ``<set name>_final_labels.csv``, the name kept to letters, digits, ``_``, ``-``."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", str(set_name)).strip("_") or "labels"
    return f"{stem}_final_labels.csv"


def hlp_to_apply(by_slice: pd.DataFrame, tags: Sequence[str]) -> dict[str, float]:
    """Per-tag HLP measured on the annotated items, for the tags of the linked dataset."""
    out = {}
    rows = tag_slice_names(tags)  # a tag's row (a tag called "All data" is not all data)
    for tag in tags:
        if rows[str(tag)] in by_slice.index:
            row = by_slice.loc[rows[str(tag)]]
            if row["n"] > 0 and pd.notna(row["hlp"]):
                out[str(tag)] = float(row["hlp"])
    return out


def set_label(row: Any, projects: dict[int, str]) -> str:
    """Name an annotation set in a picker: name (project · labels)."""
    return (
        f"{row.name} ({projects.get(int(row.project_id), row.project_id)} · "
        f"{int(row.row_count):,} labels)"
    )


@st.cache_data(max_entries=4, show_spinner="Reading the labels…")
def saved_labels(db: str, set_id: int, content_hash: str, source_name: str) -> ag.Annotations:
    """Return a stored annotation set as :class:`core.agreement.Annotations` (cached).

    Read again as a long table, so that it carries the warnings its file had (one annotator,
    a single class, items with one label).
    """
    from slicewise.ui.state import get_store

    del db  # part of the cache key
    labels = get_store().load_annotation_set(set_id)
    ann = ag.annotations_from_frame(
        labels,
        item=ag.ITEM,
        annotator=ag.ANNOTATOR,
        label=ag.LABEL,
        layout="long",
        source_name=source_name,
        content_hash=content_hash,
    )
    return replace(ann, labels=labels, columns={"annotation_set": set_id})
