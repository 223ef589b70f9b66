"""Data drift: how far a production sample moved from the labelled reference, and when.

- :mod:`core.drift.distances`: the distances between two distributions of one feature
  (TFDV's L-infinity for categories, Jensen-Shannon divergence over the reference's quantile
  bins for numbers, population stability index for both);
- :mod:`core.drift.features`: :func:`feature_drift`, one row per feature with its
  threshold, the features that moved most first; :func:`category_shares` for charts;
- :mod:`core.drift.windows`: :func:`drift_windows`, the same per time window (day, week,
  N rows), with the measured accuracy per window when production carries labels;
- :mod:`core.drift.mix`: :func:`slice_mix`, each slice's reference and production share
  and the accuracy to expect on production (post-stratified), from
  :func:`read_production` and :func:`production_memberships`;
- :mod:`core.drift.cbpe`: :func:`estimate_accuracy`, the accuracy of an unlabelled
  production sample estimated from calibrated confidence (CBPE).
"""

from slicewise.core.drift.cbpe import (
    CBPE_COLUMNS,
    SAMPLING_ERROR_RANGE,
    ScoreCalibration,
    correct_probability,
    estimate_accuracy,
    fit_calibration,
)
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
from slicewise.core.drift.mix import (
    MIX_COLUMNS,
    ProductionSample,
    SliceMemberships,
    expected_accuracy,
    mix_linf_distance,
    production_memberships,
    read_production,
    slice_mix,
)
from slicewise.core.drift.windows import (
    MIN_WINDOW_ROWS,
    WINDOW_COLUMNS,
    WindowSpec,
    drift_windows,
    parse_timestamps,
    production_correct,
)

__all__ = [
    "CBPE_COLUMNS",
    "DEFAULT_BINS",
    "DEFAULT_THRESHOLDS",
    "DRIFT_COLUMNS",
    "EMPTY_SHARE_EPSILON",
    "MIN_WINDOW_ROWS",
    "MIX_COLUMNS",
    "ProductionSample",
    "SAMPLING_ERROR_RANGE",
    "ScoreCalibration",
    "SliceMemberships",
    "WINDOW_COLUMNS",
    "WindowSpec",
    "bin_shares_table",
    "category_shares",
    "category_shares_table",
    "correct_probability",
    "default_features",
    "drift_windows",
    "estimate_accuracy",
    "expected_accuracy",
    "feature_drift",
    "fit_calibration",
    "js_divergence",
    "js_of_shares",
    "linf_distance",
    "linf_of_shares",
    "mix_linf_distance",
    "numeric_bin_edges",
    "parse_timestamps",
    "production_correct",
    "production_memberships",
    "psi",
    "psi_of_shares",
    "read_production",
    "slice_mix",
]
