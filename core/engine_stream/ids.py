"""The streaming engine's id checks: one scan answers whether ids repeat or are missing.

:class:`IdChecks` is a part of :class:`core.engine_stream.source.StreamSource`: the planner
asks a source whether an id column repeats a value, how many of its cells are missing and
which cells trimming may change (:func:`core.batches.planning._check_ids`); one scan of the
column answers all three, remembered per column.
"""

from __future__ import annotations

import threading
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
    _pending: dict[str, tuple]  # column -> (na, thread, cursor, answer) of a started scan

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

    def prefetch_ids(self, column: str, na: Sequence[str] = ()) -> None:
        """Start the scan behind :meth:`suspect_ids` now, on a second DuckDB connection.

        The scan (a distinct count over every row) then runs while the caller does other
        work; the first question about ``column`` waits for it. Its DuckDB errors are
        raised then, as if it had run at that question.
        """
        (column,) = self._check([column])
        na = tuple(str(v) for v in na)
        if column in self._profiles or column in self._pending:
            return
        query, _, _ = self._profile_sql(column, na)
        cursor = self._con.cursor()
        done: dict[str, Any] = {}

        def scan() -> None:
            try:
                done["row"] = cursor.sql(query).fetchall()[0]
            except Exception as exc:  # noqa: BLE001 - raised by the question that waits
                done["error"] = exc

        thread = threading.Thread(target=scan, name=f"slicewise-ids-{column}", daemon=True)
        thread.start()
        self._pending[column] = (na, thread, cursor, done)

    def _stop_prefetch(self) -> None:
        """Stop the scans :meth:`prefetch_ids` started (on close)."""
        pending = getattr(self, "_pending", {})  # absent when opening failed
        for _, thread, cursor, _ in pending.values():
            if thread.is_alive():
                cursor.interrupt()
            thread.join()
            cursor.close()
        pending.clear()

    def _profile_sql(self, column: str, na: tuple[str, ...]) -> tuple[str, str, bool]:
        """Return the one-scan profile query of ``column``, its suspect test, whether text."""
        c = ident(column)
        dtype = self._dtypes.get(column)
        text = dtype is None or pd.api.types.is_string_dtype(dtype)
        # Python's strip() removes white space, ASCII or not: any cell starting or ending
        # outside printable ASCII is a suspect, checked exactly by the caller; so is an
        # empty one. A blank cell (missing) is one of them: counted from the suspects.
        # Byte order: a cell below "!" is empty or starts with a space or control; one from
        # chr(127) on starts with DEL or a non-ASCII character (UTF-8 lead byte >= 0xC2).
        last = f"substr({c}, -1)"
        where = f"{c} < '!' OR {c} >= chr(127) OR {last} < '!' OR {last} >= chr(127)"
        if na:
            where += f" OR {c} IN ({', '.join(lit(v) for v in na)})"
        odd = f"count(*) FILTER (WHERE {where})" if text else "0"
        missing = "0" if text else f"count(*) FILTER (WHERE {self._missing_sql(column)})"
        # Distinct hashes prove distinct cells; fewer (a collision?) ask exactly. Nulls
        # share one hash of their own: one less is counted where there are nulls
        # (_profile_row); a cell hashing as a null does only asks exactly.
        query = (
            f"SELECT count({c}), count(*) - count({c}), count(DISTINCT hash({c})), "
            f"{missing}, {odd} FROM t0"
        )
        return query, where, text

    def _profile_row(self, column: str, na: tuple[str, ...]) -> tuple:
        """Return the profile query's answer: from a scan started before, else scanned now."""
        pending = self._pending.pop(column, None)
        if pending is not None:
            started_na, thread, cursor, done = pending
            thread.join()
            cursor.close()
            if started_na == na:
                with self._errors():
                    if "error" in done:
                        raise done["error"]
                return done["row"]
        return self._fetch(self._profile_sql(column, na)[0])[0]

    @staticmethod
    def _present_hashes(row: tuple) -> tuple:
        """Return the profile row with the nulls' one hash taken from the distinct hashes."""
        n, nulls, hashes, *rest = row
        return (n, nulls, hashes - (1 if nulls else 0), *rest)

    def _profile(self, column: str, na: tuple[str, ...] | None = None) -> dict[str, Any]:
        """One scan of an id-like column: all distinct?, missing cells, suspect cells.

        Remembered per column; ``na`` ``None`` takes any remembered profile (its distinct
        and missing counts do not depend on ``na``), else the suspects are ``na``'s.
        """
        known = self._profiles.get(column)
        if known is None or na is not None and known["na"] != na:
            if na is None:
                pending = self._pending.get(column)
                na = pending[0] if pending is not None else ()
            c = ident(column)
            _, where, text = self._profile_sql(column, na)
            n, nulls, hashes, missing, odd = self._present_hashes(self._profile_row(column, na))
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
