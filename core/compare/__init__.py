"""Compare two iterations of a model or its data, slice by slice.

The data-centric loop changes one thing at a time (the model, or the data) and asks whether
every slice improved. :func:`compare_datasets` answers that from two prediction tables:
accuracy before and after on every tag (and every value of a ``slice_by`` column), the change,
the gap to human-level performance before and after, and whether the change is more than
chance.

Which test
----------
- **Paired** (McNemar's exact test): when the slice holds exactly the same examples (matched by
  id, compared as text) in both tables, only the examples whose outcome changed carry
  information: ``b`` right before and wrong after, ``c`` wrong before and right after;
  ``p = min(1, 2 · P[Binomial(b + c, 1/2) <= min(b, c)])``.
- **Unpaired**, otherwise (different or partly different examples): the pooled two-proportion
  z-test, ``z = (p_after − p_before) / sqrt(p (1 − p) (1/n_before + 1/n_after))`` with the
  pooled rate ``p``, two-sided; when an expected cell count ``n·p`` or ``n·(1 − p)`` is under 5
  the normal approximation is poor and Fisher's exact test on the 2×2 table of (right, wrong)
  × (before, after) is used instead.

The ``test`` column says which was used per slice: ``mcnemar``, ``two-proportion``,
``fisher``, or ``none`` when a side has no examples.

Tags of the comparison
----------------------
The slices are the union of both tables' tags. An example's value for a tag comes from the
AFTER table when AFTER has both the example and the tag, otherwise from BEFORE (``False``
when neither has it): tags are usually refined between iterations, so the newer tagging is
the better description of an example, and a slice then holds the same examples on both sides
whenever the ids match, which keeps the paired test available. ``slice_by`` columns follow
the same rule; a ``slice_by`` name may be a metadata column or the label, prediction or
human-label column under its file name (per-class rows, ``true_category = cat``), resolved
in each table on its own (:func:`core.slice_names.resolve_slice_column`). Rows are named
as in :func:`core.metrics.build_slices`: a tag called ``All data`` is the row
``All data (tag)``, never the overall row.
Rooms
-----
- :mod:`core.compare.pairing`: matching the examples by id, the union of both tables and
  each side scored on its slices;
- :mod:`core.compare.significance`: the tests (two-proportion, Fisher, randomization,
  Welch; McNemar is :func:`core.metrics.mcnemar_exact_p`);
- :mod:`core.compare.accuracy`: accuracy slice by slice (:func:`compare_datasets`,
  :func:`compare_tables`) and its summaries;
- :mod:`core.compare.metric_specs`: the metrics a comparison can follow (:data:`METRICS`);
- :mod:`core.compare.slice_change`: any of them slice by slice (:func:`compare_slice_metrics`);
- :mod:`core.compare.classes`: class by class (:func:`compare_classes`);
- :mod:`core.compare.gate`: the regression gate (:func:`find_regressions`);
- :mod:`core.compare.history`: iterations in one table (:func:`iteration_history`).

The charts are in :mod:`core.charts.compare`. The public names of the rooms are
re-exported here.
"""

from slicewise.core.compare.accuracy import (
    COMPARE_COLUMNS,
    compare_datasets,
    compare_overall,
    compare_tables,
    review_order,
)
from slicewise.core.compare.classes import ClassComparison, compare_classes
from slicewise.core.compare.gate import describe_regression, find_regressions
from slicewise.core.compare.history import iteration_history
from slicewise.core.compare.metric_specs import (
    CHANGE_COLUMNS,
    CLASS_METRICS,
    DEFAULT_CLASS_METRICS,
    METRICS,
    Metric,
    check_metric,
    slice_metric_names,
)
from slicewise.core.compare.pairing import (
    Pairing,
    describe_pairing,
    label_differences,
    union_tag_names,
)
from slicewise.core.compare.significance import (
    EXACT_PAIRED_LIMIT,
    MIN_EXPECTED,
    RANDOMIZATION_DRAWS,
    RANDOMIZATION_SEED,
    TESTS,
    paired_randomization_p,
    two_proportion_p,
    unpaired_randomization_p,
    welch_p,
)
from slicewise.core.compare.slice_change import compare_slice_metrics

__all__ = [
    "CHANGE_COLUMNS",
    "CLASS_METRICS",
    "COMPARE_COLUMNS",
    "ClassComparison",
    "DEFAULT_CLASS_METRICS",
    "EXACT_PAIRED_LIMIT",
    "METRICS",
    "MIN_EXPECTED",
    "Metric",
    "Pairing",
    "RANDOMIZATION_DRAWS",
    "RANDOMIZATION_SEED",
    "TESTS",
    "check_metric",
    "compare_classes",
    "compare_datasets",
    "compare_overall",
    "compare_slice_metrics",
    "compare_tables",
    "describe_pairing",
    "describe_regression",
    "find_regressions",
    "iteration_history",
    "label_differences",
    "paired_randomization_p",
    "review_order",
    "slice_metric_names",
    "two_proportion_p",
    "union_tag_names",
    "unpaired_randomization_p",
    "welch_p",
]
