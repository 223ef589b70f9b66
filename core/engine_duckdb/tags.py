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
        """Decide the tag columns on the whole file and build their SQL membership tests."""
        m = self.mapping
        name = self.source_name
        cols = self.columns
        stats = self._tag_stats
        possible = self._possible_tags
        explicit = list(m.tag_columns or ())
        for c in explicit:
            if cols[c].group != "bool" and stats[f"approx:{c}"] > _MAX_TAG_VALUES:
                raise InvalidValueError(
                    f"{name}: tag column {c!r} holds more than {_MAX_TAG_VALUES} different "
                    "values; tag columns take true/false, 1/0, yes/no or x/blank (choose the "
                    "tag columns yourself)"
                )
        candidates = [c for c in possible if c in self._tag_values]
        delim = None
        if m.tags_column is not None:
            tc = cols[m.tags_column]
            if tc.kind != "str":
                raise InvalidValueError(
                    f"{name}: the tags column {m.tags_column!r} does not "
                    "hold text; the duckdb engine splits text tags only"
                )
            delim = m.tag_delimiter or ("|" if stats.get("pipe") else ";")
            norm = self._tag_list(tc.ident, delim)
            names = self._fetch(
                f"SELECT DISTINCT t FROM (SELECT unnest(string_split({norm}, "
                f"{_lit(delim)})) AS t FROM src) WHERE t <> ''"
            )
            split_tags = sorted(str(r[0]) for r in names)
        else:
            split_tags = []
        values = self._tag_values

        def pandas_values(c: str) -> pd.Series:
            col = cols[c]
            vals = [col.python(v) for v in values.get(c, [])]
            if col.kind == "bool":
                return pd.Series([True, False], dtype=bool)
            return pd.Series(vals + ([None] if col.nulls else []), dtype=object)

        detected = [c for c in candidates if is_boolean_like(pandas_values(c))]
        tag_columns = (*explicit, *detected)  # one of the two is empty
        self.mapping = replace(m, tag_columns=tag_columns)

        # Membership, in the loader's order: split tags (sorted), then boolean columns.
        conds: dict[str, str] = {}
        # Tags whose "no" is a blank cell, as core.dataset.says_no reads them.
        self.blank_tags: set[str] = set(split_tags) if m.tags_column is not None else set()
        if m.tags_column is not None:
            norm = self._tag_list(cols[m.tags_column].ident, delim)
            for t in split_tags:
                conds[t] = (
                    f"coalesce(list_contains(string_split({norm}, {_lit(delim)}), "
                    f"{_lit(t)}), false)"
                )
        for c in tag_columns:
            col = cols[c]
            cond = self._tag_condition(col, values.get(c, []))
            conds[c] = f"({conds[c]} OR {cond})" if c in conds else cond
            # Read as core.dataset.says_no reads the pandas column.
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
