"""Find examples whose given label is probably wrong, from every signal the file holds.

Three kinds of evidence can speak about an example's given label:

- **the model**: one probability (or score) column per class — ``prob_<class>``,
  ``proba_<class>``, ``probability_<class>``, ``score_<class>`` or ``<class>_prob`` —
  read with confident learning (Northcutt, Jiang & Chuang, JAIR 2021):
  :func:`cleanlab.filter.find_label_issues` flags the examples whose label the
  probabilities contradict. The probabilities should be out-of-sample (cross-validated or
  from a held-out model) for the estimate to be sound;
- **the human-label column** (``human``): a second person's label of the same example;
- **annotator votes**: a multi-annotator label set (:mod:`core.agreement`'s long table of
  item, annotator, label), whose items are the examples' ids.

:func:`find_label_issues` combines them with the rule written in its docstring: humans
who confirm the given label veto the model, and the model and the humans naming the same
other class flag an example the model alone would not. With probabilities only, the result
is confident learning's, ranked by cleanlab's self-confidence, as before.

The signals are read in :mod:`.signals`; the rule is :mod:`.find`.
"""

from slicewise.core.label_issues.find import (
    CONFIRM_SHARE,
    ISSUE_COLUMNS,
    SIGNALS,
    TAG_NAME,
    LabelIssues,
    find_label_issues,
)
from slicewise.core.label_issues.signals import PREFIXES, SUFFIXES, find_probability_columns

__all__ = [
    "CONFIRM_SHARE",
    "ISSUE_COLUMNS",
    "PREFIXES",
    "SIGNALS",
    "SUFFIXES",
    "TAG_NAME",
    "LabelIssues",
    "find_label_issues",
    "find_probability_columns",
]
