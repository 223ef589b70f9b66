"""Predictions from a score and a threshold: the positive class where ``score >= threshold``.

Used by the loader (:func:`core.prepare_steps.read_roles`) when a file has a score column but
no prediction column, and by engines that prepare a table in batches, which pass the label's
classes of the whole table (a batch may hold only one of them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from slicewise.core.column_roles import quoted_list
from slicewise.core.errors import InvalidValueError
from slicewise.core.values import as_text, class_key, class_keys


def prediction_from_score(
    score: pd.Series,
    label: pd.Series,
    positive: Any,
    threshold: float,
    *,
    file: str,
    label_col: str,
    classes: Mapping[str, str] | None = None,
) -> pd.Series:
    """Predict ``positive`` where ``score >= threshold``, the other class elsewhere.

    Classes are matched by :func:`core.values.class_keys` (``--positive true`` finds the
    class written ``1`` or ``TRUE``); the prediction uses the label's spelling of each class
    (its first in ``label``). ``classes``: the label's classes of the whole table (class key
    -> a spelling) when ``label`` is a part of it, so a part holding one class still knows
    the other; their spellings serve where the part has none. Missing scores give missing
    predictions (handled like any missing prediction).

    Raises
    ------
    InvalidValueError
        No ``positive``, a positive the labels never hold, or labels not of two classes.
    """
    label = as_text(label)
    keys = class_keys(label)
    spelling = pd.DataFrame({"key": keys, "text": label}).dropna()
    spelling = spelling.drop_duplicates("key").set_index("key")["text"]
    if classes is not None:
        whole = pd.Series(dict(classes), dtype=object)
        spelling = pd.concat([spelling, whole[~whole.index.isin(spelling.index)]])
    classes = sorted(spelling.tolist())
    if positive is None:
        raise InvalidValueError(
            f"{file}: predicting from a score threshold needs the positive class; choose one of "
            f"{quoted_list(classes)} (CLI: --positive CLASS)"
        )
    pos_key = class_key(positive)
    if pos_key not in spelling.index:
        raise InvalidValueError(
            f"{file}: the positive class {positive!r} never occurs in the label column "
            f"{label_col!r} (its classes: {quoted_list(classes)}); choose one of those"
        )
    others = [k for k in spelling.index if k != pos_key]
    if len(others) != 1:
        raise InvalidValueError(
            f"{file}: predicting from a score threshold needs exactly two classes in the label "
            f"column {label_col!r}, found {len(classes)} ({quoted_list(classes)}); give a "
            "prediction column instead"
        )
    values = score.to_numpy(dtype=float)
    pred = np.where(values >= threshold, spelling[pos_key], spelling[others[0]]).astype(object)
    pred[np.isnan(values)] = None
    return pd.Series(pred, dtype=object)
