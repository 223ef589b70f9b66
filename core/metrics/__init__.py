"""Per-slice counts and the metrics derived from them.

The error-analysis table is computed in three vectorised steps, each in its own module:

1. :func:`compute_outcomes` (:mod:`core.metrics.outcomes`) turns each example into
   indicator and error columns (correct, human correct, true/false positives, word
   errors...).
2. :func:`compute_slice_counts` (:mod:`core.metrics.counts`) multiplies the
   slice-membership matrix of :func:`build_slices` (:mod:`core.metrics.slices`) by those
   columns: one matrix product gives the sufficient statistics of every slice at once.
3. :func:`compute_slice_metrics` (:mod:`core.metrics.slice_metrics`) derives every metric
   from the counts alone, so the same code serves counts computed by pandas or by a SQL
   engine; the exact tests it uses are in :mod:`core.metrics.exact_tests`.

Per-class results (confusion matrices, one-against-the-rest precision, recall and F1) are
in :mod:`core.metrics.classes`. This module re-exports the public names of all of them.
"""

from slicewise.core.intervals import Z_95 as Z_95  # re-exported: the 95% normal quantile
from slicewise.core.intervals import wilson_interval as wilson_interval
from slicewise.core.metrics.classes import (
    DEFAULT_MATRIX_CLASSES,
    F1_FULL_BOOT_CLASSES,
    F1_MIN_BOOT,
    OTHER_CLASSES,
    PAIR_COLUMNS,
    compute_class_report,
    compute_confusion_matrix,
    compute_confusion_pairs,
    fold_classes,
    folded_matrix,
)
from slicewise.core.metrics.counts import (
    COUNT_COLUMNS,
    compute_slice_counts,
    compute_tag_coverage,
    sum_by_slice,
)
from slicewise.core.metrics.exact_tests import binomial_test_p, mcnemar_exact_p
from slicewise.core.metrics.outcomes import (
    WORD_ERROR_COLUMNS,
    compute_outcomes,
    compute_word_errors,
)
from slicewise.core.metrics.slice_metrics import MIN_HUMAN_LABELS, compute_slice_metrics
from slicewise.core.metrics.slices import build_slices, format_edges
from slicewise.core.slice_names import OVERALL as OVERALL
from slicewise.core.slice_names import UNTAGGED as UNTAGGED

__all__ = [
    "COUNT_COLUMNS",
    "DEFAULT_MATRIX_CLASSES",
    "F1_FULL_BOOT_CLASSES",
    "F1_MIN_BOOT",
    "MIN_HUMAN_LABELS",
    "OTHER_CLASSES",
    "OVERALL",
    "PAIR_COLUMNS",
    "UNTAGGED",
    "WORD_ERROR_COLUMNS",
    "Z_95",
    "binomial_test_p",
    "build_slices",
    "compute_class_report",
    "compute_confusion_matrix",
    "compute_confusion_pairs",
    "compute_outcomes",
    "compute_slice_counts",
    "compute_slice_metrics",
    "compute_tag_coverage",
    "compute_word_errors",
    "fold_classes",
    "folded_matrix",
    "format_edges",
    "mcnemar_exact_p",
    "sum_by_slice",
    "wilson_interval",
]
