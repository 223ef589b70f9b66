"""Tag columns in SQL: which columns are tags, and each tag's membership test."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pandas as pd

from slicewise.core.column_parsing import FALSE_TOKENS, TRUE_TOKENS, writes_no
from slicewise.core.column_roles import is_boolean_like
from slicewise.core.engine_duckdb.sql import (
    _MAX_TAG_VALUES,
    _WSC,
    _Column,
    _dbl,
    _format_rows,
    _lit,
    _strip,
)
from slicewise.core.errors import (
    InvalidValueError,
)


class _Tags:
    def _resolve_tags(self) -> None:
        """Decide the tag columns on the whole file and build their SQL membership tests.

        Sets ``mapping.tag_columns`` (the chosen columns, else those detected on their
        distinct values), ``tags`` (each tag's SQL, true on its members, in the loader's
        order) and ``blank_tags`` (the tags whose "no" is a blank cell).

        Raises
        ------
        InvalidValueError
            A chosen tag column with too many values, a tags column that holds no text, or
            a tag column with a value that is no true/false token.
        """
        m = self.mapping
        explicit = list(m.tag_columns or ())
        self._check_tag_value_counts(explicit)
        delim, split_tags = self._split_tag_names()
        candidates = [c for c in self._possible_tags if c in self._tag_values]
        detected = [c for c in candidates if self._boolean_like(c)]
        tag_columns = (*explicit, *detected)  # one of the two is empty
        self.mapping = replace(m, tag_columns=tag_columns)
        self._membership(split_tags, delim, tag_columns)

    def _check_tag_value_counts(self, explicit: list[str]) -> None:
        """Refuse a chosen tag column with more than :data:`_MAX_TAG_VALUES` distinct values.

        Raises
        ------
        InvalidValueError
            Naming the column (DuckDB's estimate of its distinct values is over the limit).
        """
        for c in explicit:
            if self.columns[c].group != "bool" and self._tag_stats[f"approx:{c}"] > _MAX_TAG_VALUES:
                raise InvalidValueError(
                    f"{self.source_name}: tag column {c!r} holds more than {_MAX_TAG_VALUES} "
                    "different values; tag columns take true/false, 1/0, yes/no or x/blank "
                    "(choose the tag columns yourself)"
                )

    def _split_tag_names(self) -> tuple[str | None, list[str]]:
        """Return the tags column's delimiter and its tag names, sorted (``None, []`` if none).

        The delimiter is the chosen one, else ``|`` where a cell holds one, else ``;``.

        Raises
        ------
        InvalidValueError
            The tags column does not hold text.
        """
        m = self.mapping
        if m.tags_column is None:
            return None, []
        tc = self.columns[m.tags_column]
        if tc.kind != "str":
            raise InvalidValueError(
                f"{self.source_name}: the tags column {m.tags_column!r} does not "
                "hold text; the duckdb engine splits text tags only"
            )
        delim = m.tag_delimiter or ("|" if self._tag_stats.get("pipe") else ";")
        norm = self._tag_list(tc.ident, delim)
        names = self._fetch(
            f"SELECT DISTINCT t FROM (SELECT unnest(string_split({norm}, "
            f"{_lit(delim)})) AS t FROM src) WHERE t <> ''"
        )
        return delim, sorted(str(r[0]) for r in names)

    def _boolean_like(self, c: str) -> bool:
        """:func:`core.column_roles.is_boolean_like` on column ``c``'s distinct values."""
        col = self.columns[c]
        if col.kind == "bool":
            return is_boolean_like(pd.Series([True, False], dtype=bool))
        vals = [col.python(v) for v in self._tag_values.get(c, [])]
        return is_boolean_like(pd.Series(vals + ([None] if col.nulls else []), dtype=object))

    def _membership(
        self, split_tags: list[str], delim: str | None, tag_columns: tuple[str, ...]
    ) -> None:
        """Set ``tags`` and ``blank_tags``: split tags (sorted), then the boolean columns.

        A tag that is both a split tag and a column holds where either says so. Whether a
        tag's "no" is a blank cell is read as :func:`core.column_parsing.says_no` reads the
        pandas column.
        """
        cols, values = self.columns, self._tag_values
        tags_column = self.mapping.tags_column
        conds: dict[str, str] = {}
        self.blank_tags: set[str] = set(split_tags) if tags_column is not None else set()
        if tags_column is not None:
            norm = self._tag_list(cols[tags_column].ident, delim)
            for t in split_tags:
                conds[t] = (
                    f"coalesce(list_contains(string_split({norm}, {_lit(delim)}), "
                    f"{_lit(t)}), false)"
                )
        for c in tag_columns:
            col = cols[c]
            cond = self._tag_condition(col, values.get(c, []))
            conds[c] = f"({conds[c]} OR {cond})" if c in conds else cond
            if col.group == "bool" or writes_no(
                col.python(v) if col.kind == "float" else v for v in values.get(c, [])
            ):
                self.blank_tags.discard(c)
            else:
                self.blank_tags.add(c)
        self.tags = conds

    @staticmethod
    def _tag_list(expr: str, delim: str) -> str:
        """Write the delimited tags cell with the space around every name removed."""
        d = re.escape(delim)
        inner = f"regexp_replace({expr}, '{_WSC}*{d}{_WSC}*', {_lit(delim)}, 'g')"
        return _strip(inner)

    def _tag_condition(self, col: _Column, values: list) -> str:
        """Write ``parse_boolean_column`` as SQL: true where the value is a true token."""
        if col.group == "bool":
            return f"coalesce({col.ident}, false)"
        tokens = {
            v: str(col.python(v) if col.kind == "float" else v).strip().lower() for v in values
        }
        bad = [v for v, t in tokens.items() if t not in TRUE_TOKENS | FALSE_TOKENS]
        if bad:
            cond = f"{col.ident} IN ({', '.join(self._sql_value(col, v) for v in bad)})"
            n_bad = int(self._aggregate({"n": f"count_if({cond})"})["n"])
            examples = ", ".join(repr(str(v)) for v in sorted(map(str, bad))[:3])
            rows = _format_rows(self._first_positions(cond), n_bad, numbering=self.numbering)
            raise InvalidValueError(
                f"{self.source_name}: tag column {col.name!r} holds {examples} in {rows}; tag "
                "columns take true/false, 1/0, yes/no or x/blank (fix those cells, or choose the "
                "tag columns yourself)"
            )
        truthy = [v for v, t in tokens.items() if t in TRUE_TOKENS]
        if not truthy:
            return "false"
        return (
            f"coalesce({col.ident} IN ({', '.join(self._sql_value(col, v) for v in truthy)})"
            ", false)"
        )

    @staticmethod
    def _sql_value(col: _Column, v: Any) -> str:
        if col.group == "float" or isinstance(v, float):
            return _dbl(v)
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int):
            return str(v)
        return _lit(v)
