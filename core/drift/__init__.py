"""Data drift: how far a production sample moved from the labelled reference, and when.

- :mod:`core.drift.distances`: the distances between two distributions of one feature
  (TFDV's L-infinity for categories, Jensen-Shannon divergence over the reference's quantile
  bins for numbers, population stability index for both);
- :mod:`core.drift.features`: :func:`feature_drift`, one row per feature with its
  threshold, the features that moved most first; :func:`category_shares` for charts;
- :mod:`core.drift.windows`: :func:`drift_windows`, the same per time window (day, week,
  N rows), with the measured accuracy per window when production carries labels.
"""

from slicewise.core.drift.distances import (
    DEFAULT_BINS,
    EMPTY_SHARE_EPSILON,
    bin_shares_table,
    category_shares_table,
    js_divergence,
    js_of_shares,
    linf_distance,
    linf_of_shares,
    numeric_bin_edges,
    psi,
    psi_of_shares,
)
from slicewise.core.drift.features import (
    DEFAULT_THRESHOLDS,
    DRIFT_COLUMNS,
    category_shares,
    default_features,
    feature_drift,
)
from slicewise.core.drift.windows import (
    WINDOW_COLUMNS,
    WindowSpec,
    drift_windows,
    parse_timestamps,
)

__all__ = [
    "DEFAULT_BINS",
    "DEFAULT_THRESHOLDS",
    "DRIFT_COLUMNS",
    "EMPTY_SHARE_EPSILON",
    "WINDOW_COLUMNS",
    "WindowSpec",
    "bin_shares_table",
    "category_shares",
    "category_shares_table",
    "default_features",
    "drift_windows",
    "feature_drift",
    "js_divergence",
    "js_of_shares",
    "linf_distance",
    "linf_of_shares",
    "numeric_bin_edges",
    "parse_timestamps",
    "psi",
    "psi_of_shares",
]
