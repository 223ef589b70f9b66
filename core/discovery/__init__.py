"""Suggest slices: conjunctions of metadata conditions where the model errs far more often.

The search follows SliceLine (Sagadeeva & Boehm, SIGMOD 2021):

1. Every usable metadata column becomes a set of disjoint conditions: one per value of a
   categorical column (``device = android``), one per quantile bin of a numeric column
   (``snr_db < 7.2``, ``snr_db in [7.2, 10)``, ``snr_db >= 13``), and ``col is missing``
   where values are missing. They are one-hot encoded into a sparse matrix ``X`` (one row
   per example, exactly one condition per column set in each row). See :mod:`.conditions`.
2. A slice is a conjunction of conditions on different columns, scored by

   ``score = α · (slice error rate / overall error rate − 1) − (1 − α) · (n / slice size − 1)``

   which rewards a high error rate and penalises small slices (:mod:`.scoring`).
3. The lattice is enumerated level by level. The counts of every extension of the slices
   kept at level ``l`` by one more condition come from two sparse matrix products,
   ``Mₗᵀ X`` (sizes) and ``Mₗ[err]ᵀ X[err]`` (errors), where ``Mₗ`` is the membership matrix
   of the kept slices: no Python loop over rows. A slice is kept for extension only if it
   has at least ``min_support`` examples, some errors, and an upper bound of the score any
   sub-slice could reach (SliceLine's bound from its size and error count) above the
   current k-th best score; a new slice is a candidate only when all of its parents were
   kept (:mod:`.lattice`).
4. Many slices are tried, so chance alone makes some look bad. Each evaluated slice (every
   conjunction whose counts were computed and that has at least ``min_support`` examples)
   gets a one-sided exact binomial p-value of its error count against the overall error
   rate, and the p-values are adjusted with Benjamini-Hochberg over all of them: a slice is
   ``significant`` when its q-value is at most ``fdr``, which keeps the expected share of
   false discoveries among the significant slices at or under ``fdr``. The family is the
   evaluated slices; sub-slices never enumerated because of pruning are not counted
   (:mod:`.suggestions`).

:func:`compute_error_tree` (:mod:`.error_tree`) complements the search with a shallow
decision tree on "is this prediction an error?" over the same metadata, as a table of nodes;
its chart is :func:`core.charts.discovery.error_tree_chart`.
"""

from slicewise.core.discovery.conditions import (
    DEFAULT_BINS,
    DEFAULT_MAX_VALUES,
    Conditions,
    Op,
    Predicate,
    encode_conditions,
    slice_mask,
)
from slicewise.core.discovery.error_tree import (
    TREE_COLUMNS,
    compute_error_tree,
    describe_error_tree,
)
from slicewise.core.discovery.lattice import LOOKUP_LIMIT
from slicewise.core.discovery.scoring import (
    DEFAULT_ALPHA,
    benjamini_hochberg,
    excess_error_p_value,
    score_upper_bound,
    slice_score,
)
from slicewise.core.discovery.suggestions import (
    DEFAULT_FDR,
    MAX_CONDITIONS,
    SLICE_COLUMNS,
    SliceSuggestions,
    candidate_columns,
    error_indicator,
    find_error_slices,
    format_suggestions,
    suggest_slices,
)

__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_BINS",
    "DEFAULT_FDR",
    "DEFAULT_MAX_VALUES",
    "LOOKUP_LIMIT",
    "MAX_CONDITIONS",
    "SLICE_COLUMNS",
    "TREE_COLUMNS",
    "Conditions",
    "Op",
    "Predicate",
    "SliceSuggestions",
    "benjamini_hochberg",
    "candidate_columns",
    "compute_error_tree",
    "describe_error_tree",
    "encode_conditions",
    "error_indicator",
    "excess_error_p_value",
    "find_error_slices",
    "format_suggestions",
    "score_upper_bound",
    "slice_mask",
    "slice_score",
    "suggest_slices",
]
