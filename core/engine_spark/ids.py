"""The Spark engine's answer to which id cells trimming may change (one Spark filter).

:class:`SparkIds` is a part of :class:`core.engine_spark.source.SparkSource`: the planner
checks ids as trimmed text (:func:`core.batches.planning._check_ids`); a source that names
the few cells trimming or a missing-value text may change spares it a pass of every id
through the driver.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from slicewise.core.engine_spark.session import quiet


class SparkIds:
    """``suspect_ids`` of a :class:`~core.engine_spark.source.SparkSource`.

    It uses the source's ``_frame``, ``_spark_names`` and ``_as_read``.
    """

    _frame: Any
    _spark_names: dict[str, str]

    def suspect_ids(self, column: str, na: Sequence[str] = ()) -> pd.Series | None:
        """Return the distinct cells of a text column that trimming or ``na`` may change.

        A superset of the cells whose Python ``str.strip()`` differs from them (every cell
        empty, or starting or ending with a character outside printable ASCII) and of the
        cells equal to a missing-value text of ``na``; ``None`` when the column is not text.
        """
        from pyspark.sql import functions as F

        c = self._spark_names[column]
        if dict(self._frame.dtypes)[c] != "string":
            return None
        cell = F.col(c)
        odd = cell.rlike("^[^!-~]|[^!-~]$") | (cell == "")
        if na:
            odd = odd | cell.isin([str(v) for v in na])
        with quiet():
            found = self._frame.filter(odd).select(c).distinct().toPandas()
        return self._as_read(found)[column].astype(object)  # type: ignore[attr-defined]
