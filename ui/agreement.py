"""Cached loading and analysis of the *Label consistency* page, keyed on what they read.

Every number comes from :mod:`core.agreement`. The cached functions take the inputs
themselves and are keyed, through Streamlit's ``hash_funcs`` (:data:`BY_KEY`), on a short
key each input carries: the annotations on :meth:`core.agreement.Annotations.fingerprint`,
an upload on its name and file id (:class:`Upload`), a predictions dataset on where it comes
from and its version (:class:`LinkTarget`), the review decisions on their set and count
(:class:`Decisions`). No table is hashed cell by cell, and nothing here reads
``st.session_state``. Review decisions are saved in the store
(:meth:`core.store.Store.save_review_decision`) against a saved annotation set.

The page's sections are drawn by :mod:`ui.agreement_labels` (which labels, saving them, the
link to predictions), :mod:`ui.agreement_rules` (standardisation rules and downloads),
:mod:`ui.agreement_report` (metrics, annotators, classes, HLP per tag) and
:mod:`ui.agreement_review` (the review queue).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd
import streamlit as st

from slicewise.core import agreement as ag
from slicewise.core.dataset import Dataset, load_dataset, read_table
from slicewise.ui.agreement_queue import example_columns
from slicewise.ui.state import DEMO_DIR

DEMO_LABELS = DEMO_DIR / "inspection_annotations.csv"
DEMO_PREDICTIONS = DEMO_DIR / "inspection_predictions.csv"
NO_LINK = "No predictions"
DEMO_LINK = "Demo inspection predictions"
LEVELS = ("auto", "long", "wide")


# --------------------------------------------------------------------------- cache keys


@dataclass(frozen=True)
class Upload:
    """An uploaded label file: its bytes, keyed on its name and Streamlit's file id."""

    name: str
    file_id: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class LinkTarget:
    """A predictions dataset the annotated items can be joined to, named for caches.

    Attributes
    ----------
    key
        ``"demo"``, or ``"store:"`` and the stored dataset's
        :attr:`ui.dataset_cache.Loaded.key` (database, id, frame and tags versions).
    dataset
        The dataset itself (its ids, labels, predictions, tags and example columns).
    """

    key: str
    dataset: Dataset = field(repr=False)


@dataclass(frozen=True)
class Decisions:
    """The review decisions of a set (:meth:`core.store.Store.review_decisions`), keyed.

    ``key`` is the set id and the count of decisions ever recorded (``"3:12"``), which
    every save changes; ``table`` has the columns ``item, decision, note, user, at``.
    """

    table: pd.DataFrame = field(repr=False)
    key: str


def _annotations_key(ann: ag.Annotations) -> str:
    return ann.fingerprint()


#: ``hash_funcs`` of the cached functions: each input is hashed by the key it carries.
BY_KEY = {
    ag.Annotations: _annotations_key,
    Upload: lambda u: (u.name, u.file_id),
    LinkTarget: lambda t: t.key,
    Decisions: lambda d: d.key,
}


# --------------------------------------------------------------------------- loading


@st.cache_data(max_entries=4, show_spinner="Reading the labels…", hash_funcs=BY_KEY)
def read_labels(upload: Upload, options: tuple[tuple[str, Any], ...]) -> ag.Annotations:
    """Read and validate a label file once per upload and column choice.

    ``options`` are keyword arguments of :func:`core.agreement.load_annotations` as
    (name, value) pairs (``item``, ``annotator``, ``label``, ``layout``).

    Raises
    ------
    DataError
        The file cannot be read or its columns do not make labels.
    """
    return ag.load_annotations(upload.data, name=upload.name, **dict(options))


@st.cache_data(max_entries=4, show_spinner=False, hash_funcs=BY_KEY)
def columns_of(upload: Upload) -> list[str]:
    """Return the column names of an upload (for the column pickers).

    Raises
    ------
    DataError
        The file cannot be read as a table (:func:`core.dataset.read_table`).
    """
    df, _, _ = read_table(upload.data, name=upload.name)
    return [str(c) for c in df.columns]


@st.cache_data(max_entries=2, show_spinner=False)
def demo_labels() -> ag.Annotations:
    """Return the demo annotations (five annotators on 300 inspection images)."""
    return ag.load_annotations(DEMO_LABELS)


@st.cache_data(max_entries=2, show_spinner=False)
def demo_predictions() -> Dataset:
    """Return the demo inspection predictions the demo annotations refer to."""
    return load_dataset(DEMO_PREDICTIONS)


@st.cache_data(max_entries=4, show_spinner="Reading the labels…")
def saved_labels(db: str, set_id: int, content_hash: str, source_name: str) -> ag.Annotations:
    """Return a stored annotation set as :class:`core.agreement.Annotations` (cached).

    Read again as a long table, so that it carries the warnings its file had (one annotator,
    a single class, items with one label). ``db`` keys the cache on the database.
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
    """Lines ``before -> after`` (or ``=>``, ``→``) as pairs; other lines are ignored."""
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


@st.cache_data(max_entries=8, show_spinner=False, hash_funcs=BY_KEY)
def cleaned(ann: ag.Annotations, choice: RuleChoice) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the labels after the rules and the change log (:func:`core.agreement.apply_rules`)."""
    return ag.apply_rules(ann.labels, choice.rules())


def labels_under(ann: ag.Annotations, choice: RuleChoice) -> pd.DataFrame:
    """Return the long table of labels with ``choice`` applied (as given without a rule)."""
    return cleaned(ann, choice)[0] if choice.active else ann.labels


@st.cache_data(max_entries=4, show_spinner=False, hash_funcs=BY_KEY)
def link(ann: ag.Annotations, target: LinkTarget) -> ag.LinkedItems:
    """Join the annotated items to a predictions dataset (:func:`core.agreement.link_predictions`).

    Raises
    ------
    DataError
        No annotated item is an id of the dataset.
    """
    return ag.link_predictions(ann.labels, target.dataset)


@st.cache_data(max_entries=8, show_spinner="Measuring agreement…", hash_funcs=BY_KEY)
def analysis(ann: ag.Annotations, choice: RuleChoice, target: LinkTarget | None) -> dict[str, Any]:
    """Every table of the page for one label set (cached per labels, rules and link).

    The labels are taken with ``choice`` applied (:func:`labels_under`); the items are
    joined to ``target`` as given (:func:`link`). Returns a dict of :mod:`core.agreement`
    results: ``figures``, ``summary``, ``kappa``, ``annotators``, ``classes``,
    ``confused``, ``queue``, ``classes_list``, ``annotator_list``, ``caution``,
    ``by_slice``.
    """
    codes = ag.encode_labels(labels_under(ann, choice))
    linked = link(ann, target) if target is not None else None
    info = linked.info if linked is not None else None
    truth = info["truth"] if info is not None and "truth" in info else None
    prediction = info["prediction"] if info is not None and "prediction" in info else None
    out: dict[str, Any] = {
        "figures": ag.summarize_annotations(codes),
        "summary": ag.compute_agreement_summary(codes),
        "kappa": ag.compute_cohen_kappa_matrix(codes, min_items=1),
        "annotators": ag.compute_annotator_stats(codes, truth=truth),
        "classes": ag.compute_class_agreement(codes),
        "confused": ag.find_confused_pairs(codes),
        "queue": ag.find_disagreements(codes, linked=linked),
        "classes_list": [str(c) for c in codes.classes],
        "annotator_list": [str(a) for a in codes.annotators],
    }
    out["caution"] = ag.agreement_caution(out["summary"])
    out["by_slice"] = ag.compute_agreement_by_slice(
        codes,
        membership=linked.tags if linked is not None else None,
        truth=truth,
        prediction=prediction,
    )
    return out


@st.cache_data(max_entries=8, show_spinner=False, hash_funcs=BY_KEY)
def preview(ann: ag.Annotations, choice: RuleChoice) -> pd.DataFrame:
    """Before/after of every metric under the rules (:func:`core.agreement.preview_rules`)."""
    return ag.preview_rules(ann.labels, choice.rules())


@st.cache_data(max_entries=4, show_spinner=False, hash_funcs=BY_KEY)
def examples(target: LinkTarget) -> tuple[pd.DataFrame, dict[str, str]]:
    """Return the example columns of the linked dataset, indexed by id (text), and kinds.

    Kinds as :func:`ui.agreement_queue.example_columns` finds them. A dataset's ids are text
    (:func:`core.dataset.load_dataset`); the first row of a repeated id is kept.
    """
    kinds = example_columns(target.dataset)
    frame = target.dataset.frame
    table = frame[list(kinds)].set_axis(frame["id"].astype(str).str.strip(), axis=0)
    return table[~table.index.duplicated()], kinds


# --------------------------------------------------------------------------- final labels


@st.cache_data(max_entries=4, show_spinner=False, hash_funcs=BY_KEY)
def final_labels(ann: ag.Annotations, choice: RuleChoice, decisions: Decisions) -> str:
    """Return the final one-label-per-item CSV (:func:`core.agreement.final_labels_csv`).

    The labels with ``choice`` applied; the review decision where there is one, else the
    majority vote. Cached per labels, rules and decisions (their key changes with each save).
    """
    return ag.final_labels_csv(labels_under(ann, choice), decisions.table)


def final_labels_csv(
    fingerprint: str,
    choice: RuleChoice,
    decisions_key: str,
    *,
    _labels: pd.DataFrame,
    _decisions: pd.DataFrame,
) -> str:
    """Return the final labels CSV of labels already standardised (not cached).

    The signature the page used before :func:`final_labels`; ``fingerprint``, ``choice``
    and ``decisions_key`` are not read.
    """
    del fingerprint, choice, decisions_key
    return ag.final_labels_csv(_labels, _decisions)


def final_labels_file_name(set_name: str) -> str:
    """Return ``<set name>_final_labels.csv``, the name kept to letters, digits, ``_``, ``-``."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", str(set_name)).strip("_") or "labels"
    return f"{stem}_final_labels.csv"
