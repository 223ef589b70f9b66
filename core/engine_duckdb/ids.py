"""Ids in SQL: blank and repeated ids among the kept rows, found as the loader finds them."""

from __future__ import annotations

from slicewise.core.engine_duckdb.sql import _format_rows, _strip
from slicewise.core.errors import DuplicateIdError, MissingValuesError


class _Ids:
    """Id checks of :class:`~core.engine_duckdb.file.DuckDBFile` (a mixin).

    Reads ``mapping``, ``columns``, ``keep``, ``_id_stats`` (gathered by the profile's
    second scan from :meth:`_id_facts`) and the query helpers of the file. The id is
    compared as :func:`core.prepare_steps.checked_ids` compares it: text trimmed, exactly.
    """

    def _id_value(self) -> tuple[str, str]:
        """Return the SQL of the id as the loader compares it (trimmed) and of a blank id."""
        idc = self.columns[self.mapping.id]
        if idc.group == "text":
            v = _strip(idc.ident)
            return v, f"({v} IS NULL OR {v} = '')"
        return idc.raw, f"({idc.raw} IS NULL)"

    def _id_facts(self, where: str = "true") -> dict[str, str]:
        """Return aggregates finding blank and repeated ids in the rows where ``where`` holds."""
        if self.mapping.id is None:
            return {}
        v, blank = self._id_value()
        w = "" if where == "true" else f" FILTER (WHERE {where})"
        return {
            "id_blank": f"count_if({blank}){w}",
            "id_distinct": f"count(DISTINCT {v}){w}",
            "id_count": f"count({v}){w}",
        }

    def _check_ids(self) -> None:
        """Refuse blank or repeated ids among the kept rows: trimmed text, compared exactly.

        Raises
        ------
        MissingValuesError, DuplicateIdError
            With the loader's messages.
        """
        m = self.mapping
        name = self.source_name
        v, blank = self._id_value()
        ks = self._id_stats if self.keep == "true" else self._aggregate(self._id_facts(self.keep))
        if ks["id_blank"]:
            rows = _format_rows(
                self._first_positions(f"{self.keep} AND {blank}"),
                int(ks["id_blank"]),
                numbering=self.numbering,
            )
            raise MissingValuesError(
                f"{name}: the id column {m.id!r} is blank in {rows}; give every row an id, "
                "or choose no id column to number the rows"
            )
        if ks["id_distinct"] != ks["id_count"]:
            dup = f"{v} IN (SELECT {v} FROM src WHERE {self.keep} GROUP BY ALL HAVING count(*) > 1)"
            n_dup = int(self._aggregate({"n": f"count_if({dup})"}, self.keep)["n"])
            examples = self._examples(
                v, f"{self.keep} AND {dup}", as_loader_text=self.columns[m.id].group != "text"
            )
            rows = _format_rows(
                self._first_positions(f"{self.keep} AND {dup}"), n_dup, numbering=self.numbering
            )
            raise DuplicateIdError(
                f"{name}: the id column {m.id!r} repeats {examples} ({n_dup} rows share an "
                f"id: {rows}); ids must be unique: fix them, or choose no id column to "
                "number the rows"
            )
