"""Label consistency: load multi-annotator labels, measure agreement, find a consensus, clean.

The long table
--------------
Every function works on one *long table* of labels, one row per (item, annotator):

``item``
    The item's id as text (an ``id`` of the predictions dataset when one is linked).
``annotator``
    Who labelled it, as text.
``label``
    The label: text, or numbers (then Krippendorff's alpha is also given at the ordinal and
    interval levels).
``time``, ``comment``
    Optional: seconds spent (or a timestamp) and a free-text comment, carried along.

An item may be labelled by any subset of the annotators: every metric handles missing
ratings. Items with a single label count towards the class shares (Fleiss, AC1) but cannot
show agreement or disagreement.

Speed
-----
Everything derives from the sparse *count matrix* items × classes (how many annotators gave
each class to each item), built once with :func:`numpy.bincount` and held in
:class:`LabelCodes`; percent agreement, Fleiss' kappa, Krippendorff's alpha (nominal) and
Gwet's AC1 are sums over it. Pairwise Cohen's kappa needs, per pair of annotators, the
shared items, the agreeing items and ``Σ_k m_a(k) m_b(k)``: :mod:`.pairs` sums them over the
label pairs of each item in cache-sized blocks of annotators with :func:`numpy.bincount`,
without sorting the pair keys (CIFAR-10H's 511,000 labels make 12.7 million label pairs).
Pass a :class:`LabelCodes` (from :func:`encode_labels`) instead of the DataFrame to reuse the
encoding and the pair sums across calls. 100,000 items × 5 annotators take well under a
second for the whole summary; a CIFAR-10H-sized file 1–1.6 times as long as
``krippendorff.alpha`` alone (``benchmarks/bench_agreement.py``). scikit-learn (Cohen),
statsmodels (Fleiss) and the ``krippendorff`` package are the independent checks in the
tests; the ``krippendorff`` package computes alpha at the ordinal, interval and ratio levels
here.

Every input problem is a :class:`core.errors.DataError` subclass naming the file, the
column, the rows and the fix.

Modules
-------
:mod:`.long_table` (columns, label values, checks), :mod:`.loading` (files and frames to
:class:`Annotations`), :mod:`.encoding` (:class:`LabelCodes`, the count matrix),
:mod:`.measures` (percent agreement, Fleiss, Gwet, Krippendorff, Cohen), :mod:`.pairs`
(the per annotator pair sums behind Cohen's kappa), :mod:`.summary`
(all measures in one table), :mod:`.annotators` and :mod:`.classes` (per annotator, per
class), :mod:`.consensus` (majority vote), :mod:`.slices` (linking to predictions, HLP per
slice), :mod:`.review` (review queue, final labels) and :mod:`.rules` (standardisation).
Every public name is importable from ``slicewise.core.agreement`` itself.
"""

from __future__ import annotations

from slicewise.core.agreement.annotators import compute_annotator_stats, compute_annotator_weights
from slicewise.core.agreement.classes import compute_class_agreement, find_confused_pairs
from slicewise.core.agreement.consensus import compute_consensus
from slicewise.core.agreement.encoding import (
    Cells,
    LabelCodes,
    cells_from_counts,
    compute_label_counts,
    encode_labels,
)
from slicewise.core.agreement.loading import (
    ANNOTATION_ROLE_NAMES,
    Annotations,
    Layout,
    annotations_from_frame,
    load_annotations,
)
from slicewise.core.agreement.long_table import (
    ANNOTATOR,
    COMMENT,
    ITEM,
    LABEL,
    LONG_COLUMNS,
    TIME,
    DuplicateAnnotationError,
    check_labels,
    clean_label_values,
)
from slicewise.core.agreement.measures import (
    Level,
    compute_cohen_kappa_matrix,
    compute_coincidence_matrix,
    compute_pairwise_agreement,
)
from slicewise.core.agreement.review import (
    BORDERLINE,
    BY_DECISION,
    BY_MAJORITY,
    BY_TIE,
    FINAL_LABEL_COLUMNS,
    REVIEW_COLUMNS,
    compute_final_labels,
    final_labels_csv,
    find_disagreements,
)
from slicewise.core.agreement.rules import (
    CHANGELOG_COLUMNS,
    MergeClasses,
    NormalizeText,
    Rule,
    apply_rules,
    changelog_csv,
    preview_rules,
)
from slicewise.core.agreement.slices import (
    HLP_SOURCES,
    LinkedItems,
    compute_agreement_by_slice,
    link_predictions,
    prediction_matches,
)
from slicewise.core.agreement.summary import (
    METRICS,
    SUMMARY_COLUMNS,
    agreement_caution,
    compute_agreement_from_counts,
    compute_agreement_summary,
    summarize_annotations,
)
from slicewise.core.metrics import OVERALL

__all__ = [
    "ANNOTATION_ROLE_NAMES",
    "ANNOTATOR",
    "Annotations",
    "BORDERLINE",
    "BY_DECISION",
    "BY_MAJORITY",
    "BY_TIE",
    "CHANGELOG_COLUMNS",
    "COMMENT",
    "Cells",
    "DuplicateAnnotationError",
    "FINAL_LABEL_COLUMNS",
    "HLP_SOURCES",
    "ITEM",
    "LABEL",
    "LONG_COLUMNS",
    "LabelCodes",
    "Layout",
    "Level",
    "LinkedItems",
    "METRICS",
    "MergeClasses",
    "NormalizeText",
    "OVERALL",
    "REVIEW_COLUMNS",
    "Rule",
    "SUMMARY_COLUMNS",
    "TIME",
    "agreement_caution",
    "annotations_from_frame",
    "apply_rules",
    "cells_from_counts",
    "changelog_csv",
    "check_labels",
    "clean_label_values",
    "compute_agreement_by_slice",
    "compute_agreement_from_counts",
    "compute_agreement_summary",
    "compute_annotator_stats",
    "compute_annotator_weights",
    "compute_class_agreement",
    "compute_cohen_kappa_matrix",
    "compute_coincidence_matrix",
    "compute_consensus",
    "compute_final_labels",
    "compute_label_counts",
    "compute_pairwise_agreement",
    "encode_labels",
    "final_labels_csv",
    "find_confused_pairs",
    "find_disagreements",
    "link_predictions",
    "load_annotations",
    "prediction_matches",
    "preview_rules",
    "summarize_annotations",
]
