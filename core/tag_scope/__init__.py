"""Honest per-tag figures when a tag's status is known only on the examples someone reviewed.

A tag read from the lecture's spreadsheet of *errors* says nothing about the correct
examples; Slicewise keeps, per tag, which examples are known and estimates the tag's figures
from them (stratified Horvitz–Thompson, with Wilson and Jeffreys Monte Carlo intervals).

- :mod:`core.tag_scope.figures`: the estimator and its intervals (:func:`known_matrix`,
  :func:`estimate_tag_figures`, :func:`figures_from_counts`), and the seeded review sample
  (:func:`draw_review_sample`, :func:`sample_figures`); its docstring states the estimator.
- :mod:`core.tag_scope.table`: the figures in the per-slice metrics table (scopes of tag
  rows, :func:`infer_row_scopes`; :func:`count_figures`, :func:`table_figures`,
  :func:`apply_tag_figures`).

Every public name of both is importable from here.
"""

from slicewise.core.tag_scope.figures import (
    FIGURE_COLUMNS,
    SCOPES,
    draw_review_sample,
    estimate_tag_figures,
    figures_from_counts,
    known_matrix,
    sample_figures,
    untagged_known,
)
from slicewise.core.tag_scope.table import (
    CHANCE_ALL_ERRORS,
    FILE_SCOPES,
    apply_tag_figures,
    count_figures,
    infer_row_scopes,
    table_figures,
)

__all__ = [
    "CHANCE_ALL_ERRORS",
    "FIGURE_COLUMNS",
    "FILE_SCOPES",
    "SCOPES",
    "apply_tag_figures",
    "count_figures",
    "draw_review_sample",
    "estimate_tag_figures",
    "figures_from_counts",
    "infer_row_scopes",
    "known_matrix",
    "sample_figures",
    "table_figures",
    "untagged_known",
]
