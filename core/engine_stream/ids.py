"""The streaming engine's id checks: one scan answers whether ids repeat or are missing.

:class:`IdChecks` is a part of :class:`core.engine_stream.source.StreamSource`: the planner
asks a source whether an id column repeats a value, how many of its cells are missing and
which cells trimming may change (:func:`core.batches.planning._check_ids`); one scan of the
column answers all three, remembered per column.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from slicewise.core.column_parsing import missing_mask
from slicewise.core.engine_stream.opening import ident, lit


class IdChecks:
    """Id checks of a :class:`~core.engine_stream.source.StreamSource`.

    They use its plumbing: ``_check``, ``_fetch``, ``_arrow``, ``_frame``,
    ``_missing_sql`` and ``_dtypes``.
    """

    _profiles: dict[str, dict[str, Any]]

    def suspect_ids(self, column: str, na: Sequence[str] = ()) -> pd.Series | None:
        """Return the distinct cells of a text column that trimming or ``na`` may change.

        A superset of the cells whose Python ``str.strip()`` differs from them (every cell
        starting or ending with a character outside printable ASCII) and of the cells equal
        to a missing-value text of ``na``; ``None`` when the column is not text. From the
        same scan as :meth:`repeated`'s count of distinct values.
        """
        (column,) = self._check([column])
        profile = self._profile(column, tuple(str(v) for v in na))
        if not profile["text"]:
            return None
        return pd.Series(profile["suspects"].index, dtype=object, name=column)

    def _profile(self, column: str, na: tuple[str, ...] | None = None) -> dict[str, Any]:
        """One scan of an id-like column: all distinct?, missing cells, suspect cells.

        Remembered per column; ``na`` ``None`` takes any remembered profile (its distinct
        and missing counts do not depend on ``na``), else the suspects are ``na``'s.
        """
        known = self._profiles.get(column)
        if known is None or na is not None and known["na"] != na:
            na = na or ()
            c = ident(column)
            dtype = self._dtypes.get(column)
            text = dtype is None or pd.api.types.is_string_dtype(dtype)
            # Python's strip() removes white space, ASCII or not: any cell starting or ending
            # outside printable ASCII is a suspect, checked exactly by the caller; so is an
            # empty one. A blank cell (missing) is one of them: counted from the suspects.
            where = f"{c} = '' OR regexp_matches({c}, '^[^!-~]|[^!-~]$')"
            if na:
                where += f" OR {c} IN ({', '.join(lit(v) for v in na)})"
            odd = f"count(*) FILTER (WHERE {where})" if text else "0"
            missing = "0" if text else f"count(*) FILTER (WHERE {self._missing_sql(column)})"
            # Distinct hashes prove distinct cells; fewer (a collision?) ask exactly.
            n, nulls, hashes, missing, odd = self._fetch(
                f"SELECT count({c}), count(*) - count({c}), count(DISTINCT hash({c})), "
                f"{missing}, {odd} FROM t0"
            )[0]
            unique = hashes == n or self._fetch(f"SELECT count(DISTINCT {c}) FROM t0")[0][0] == n
            profile = {"unique": unique, "text": text, "where": where, "na": na}
            profile["suspects"] = (
                self._suspects(column, where) if odd else pd.Series([], dtype=object)
            )
            if text:  # the loader's blank rule on the few suspects, weighted
                blank = missing_mask(profile["suspects"].index.to_series())
                missing = int(nulls) + int(profile["suspects"][np.asarray(blank, bool)].sum())
            profile["missing"] = int(missing)
            self._profiles[column] = profile
        return self._profiles[column]

    def _suspects(self, column: str, where: str) -> pd.Series:
        """Return the cells of ``column`` matching ``where`` with their counts (few)."""
        c = ident(column)
        rows = self._frame(
            self._arrow(f"SELECT {c}, count(*)::BIGINT AS __n FROM t0 WHERE {where} GROUP BY ALL")
        )
        return pd.Series(
            rows["__n"].to_numpy(np.int64), index=pd.Index(rows[column].astype(object)), name="n"
        )
