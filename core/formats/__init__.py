r"""Containers around a table, and cells no table operation can hash.

:func:`core.dataset.read_table` reads CSV, TSV and Parquet. This package opens what people
wrap those in, recognised by their leading bytes rather than by their names
(:mod:`.containers`):

- gzip (``1f 8b``) and bzip2 (``BZh``) streams, e.g. ``preds.csv.gz`` or ``preds.tsv.bz2``;
- a zip archive (``PK\x03\x04``) holding exactly one table;
- an Excel ``.xlsx`` workbook (a zip archive holding ``xl/workbook.xml``), read with
  python-calamine: one sheet, the first visible one unless another is named (:mod:`.xlsx`).

Decompression streams and stops at :data:`MAX_DECOMPRESSED_BYTES`, so a small file that
expands without end (a "decompression bomb") is refused with a clear message instead of
filling the server's memory.

It also turns nested values (Arrow lists, structs and maps; dicts, lists and arrays in
object columns) into compact JSON text, so that slicing, grouping and exporting see one
hashable value per cell (:mod:`.nested`: :func:`nested_arrow_to_text`,
:func:`nested_cells_to_text`). The warnings a reader gives for nameless columns and blank
rows are in :mod:`.notes`.

Every problem is a :class:`~core.errors.DataError` whose message names the file.
"""

from slicewise.core.formats.containers import (
    MAX_DECOMPRESSED_BYTES,
    MAX_NESTING,
    container_kind,
    unpack,
)
from slicewise.core.formats.nested import (
    json_text,
    nested_arrow_to_text,
    nested_cells_to_text,
    nested_warning,
)
from slicewise.core.formats.notes import blank_rows_note, column_letter, nameless_columns_note
from slicewise.core.formats.xlsx import read_sheet

__all__ = [
    "MAX_DECOMPRESSED_BYTES",
    "MAX_NESTING",
    "blank_rows_note",
    "column_letter",
    "container_kind",
    "json_text",
    "nameless_columns_note",
    "nested_arrow_to_text",
    "nested_cells_to_text",
    "nested_warning",
    "read_sheet",
    "unpack",
]
