"""Names of the rows of a per-slice table, and the columns a slice-by may name.

A per-slice table (:func:`core.analysis.analyze`, :func:`core.compare.compare_datasets`, the
DuckDB engine's) is indexed by slice name: ``All data`` (:data:`OVERALL`) first, then the tags,
then one slice per value of each slice-by column, then ``No tag`` (:data:`UNTAGGED`) when there
are tags. Slice names come from users' files, so they are made unique here, once, by the rules
every engine shares:

- A tag whose name reads as a reserved row's (``All data``, ``No tag``, compared without case,
  with ``_`` read as a space and runs of spaces as one, the way :func:`core.prioritize.
  display_name` shows a tag) is named ``<tag> (tag)``: a tag called ``All data`` is the row
  ``All data (tag)``, of kind ``tag``, and never the overall row.
- Any other clash (a tag called ``device = ios`` beside the slice-by value ``device = ios``;
  ``1`` and ``"1"`` in one column) gives the later slice a `` (2)``, `` (3)``... suffix.

Settings the app stores per tag (HLP, importance, ease) are keyed by tag name;
:func:`settings_by_row` re-keys them to the row names, so a tag called ``All data`` gets its
own HLP and the overall row keeps none.

Slice-by columns are named as the file names them: besides the metadata columns, the label,
prediction, human-label and score columns can be given under their file names (the loader
holds them as ``label``, ``prediction``... in ``Dataset.frame``); ``--slice-by true_category``
on a file whose label column is ``true_category`` gives the per-class rows
``true_category = cat``... (:func:`resolve_slice_column`).

A slice-by column's slices are named here, by both engines (:func:`core.metrics.build_slices`
and the DuckDB engine's): ``<col> = <value>`` (:func:`value_slice_name`), ``<col> =
(missing)`` (:func:`missing_slice_name`) and, for a numeric column cut into quantile bins,
``<col> in [a, b)`` with the last bin ``<col> in [a, b]`` (:func:`bin_slice_names`, edges
written by :func:`format_edges`). ``<col>`` is the column as the user named it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

OVERALL = "All data"
UNTAGGED = "No tag"
#: Suffix of a tag named like a reserved row.
TAG_SUFFIX = " (tag)"
#: How a missing value is written in its slice's name (:func:`missing_slice_name`).
MISSING = "(missing)"
#: Roles whose file column can be sliced by under the file's name, in the order offered.
SLICEABLE_ROLES: tuple[str, ...] = ("label", "prediction", "human", "score", "human_accuracy")


def _reading(name: str) -> str:
    """How a reader sees a name: ``_`` as a space, spaces collapsed, case folded."""
    return " ".join(str(name).replace("_", " ").split()).casefold()


_RESERVED_READINGS = frozenset({_reading(OVERALL), _reading(UNTAGGED)})


def is_reserved_name(name: str) -> bool:
    """Whether ``name`` reads as the ``All data`` or ``No tag`` row (see the module notes).

    Examples
    --------
    >>> is_reserved_name("all  data"), is_reserved_name("No_Tag"), is_reserved_name("noisy")
    (True, True, False)
    """
    return _reading(name) in _RESERVED_READINGS


def unique_name(name: str, taken: Collection[str]) -> str:
    """Return ``name``, or ``name (2)``, ``name (3)``... whichever is not in ``taken``."""
    unique, i = name, 2
    while unique in taken:
        unique, i = f"{name} ({i})", i + 1
    return unique


def tag_slice_names(tags: Iterable[Any]) -> dict[str, str]:
    """Map each tag (in order) to the name of its row in a per-slice table.

    Tags named like a reserved row get :data:`TAG_SUFFIX` (then `` (2)``... should a tag
    already be called that); every other tag keeps its name. The names are unique and never
    :data:`OVERALL` or :data:`UNTAGGED`. Every engine names its tag rows with this function.

    Examples
    --------
    >>> names = tag_slice_names(["noisy", "All data", "no tag", "All data (tag)"])
    >>> names["noisy"], names["All data"], names["no tag"], names["All data (tag)"]
    ('noisy', 'All data (tag) (2)', 'no tag (tag)', 'All data (tag)')
    """
    tags = [str(t) for t in tags]
    taken = {OVERALL, UNTAGGED, *(t for t in tags if not is_reserved_name(t))}
    out: dict[str, str] = {}
    for tag in tags:
        if tag in out:
            continue
        if is_reserved_name(tag):
            out[tag] = unique_name(tag + TAG_SUFFIX, taken)
            taken.add(out[tag])
        else:
            out[tag] = tag
    return out


def value_slice_name(column: str, value: Any) -> str:
    """Name the slice of the examples whose ``column`` holds ``value``: ``<column> = <value>``.

    Parameters
    ----------
    column
        The slice-by column as the user named it (``--slice-by``).
    value
        One value of the column, written as Python formats it (``str``): ``3`` for an
        integer, ``3.0`` for a float, ``True`` for a boolean, text as it is.

    Returns
    -------
    str
        The slice's name, before :func:`unique_name` settles clashes with other slices.

    Examples
    --------
    >>> value_slice_name("device", "ios"), value_slice_name("age", 3.0)
    ('device = ios', 'age = 3.0')
    """
    return f"{column} = {value}"


def missing_slice_name(column: str) -> str:
    """Name the slice of the examples whose ``column`` is missing: ``<column> = (missing)``.

    Examples
    --------
    >>> missing_slice_name("device")
    'device = (missing)'
    """
    return value_slice_name(column, MISSING)


def format_edges(edges: Sequence[float]) -> list[str]:
    """Write bin edges as short as they can be while every edge stays distinct.

    Whole numbers are written in full (``2019``, ``1700000000``, not ``2.02e+03``); other
    edges with the fewest significant digits (3 at least, 15 at most) that tell them apart.

    Parameters
    ----------
    edges
        The bin edges, ascending (a list or a 1-d float array), in the column's units.

    Returns
    -------
    list of str
        One text per edge, same order.

    Examples
    --------
    >>> format_edges([2019.0, 0.12345, 0.12349])
    ['2019', '0.12345', '0.12349']
    """

    def fmt(x: float, digits: int) -> str:
        if float(x).is_integer() and abs(x) < 1e15:
            return str(int(x))
        return f"{x:.{digits}g}"

    for digits in range(3, 16):
        names = [fmt(x, digits) for x in edges]
        if len(set(names)) == len(names):
            return names
    return names


def bin_slice_names(column: str, edges: Sequence[float]) -> list[str]:
    """Name the bins cut at ``edges``: ``<column> in [a, b)``, the last ``<column> in [a, b]``.

    Bins are closed on the left; the last is closed on both sides, so the largest value
    falls in it. Edges are written by :func:`format_edges`.

    Parameters
    ----------
    column
        The slice-by column as the user named it.
    edges
        The ``k + 1`` distinct bin edges, ascending (a list or a 1-d float array).

    Returns
    -------
    list of str
        ``k`` names, one per bin, lowest first (none when fewer than two edges).

    Examples
    --------
    >>> bin_slice_names("age", [18.0, 30.0, 65.5])
    ['age in [18, 30)', 'age in [30, 65.5]']
    """
    shown = format_edges(edges)
    last = len(shown) - 2
    return [
        f"{column} in [{shown[k]}, {shown[k + 1]}{']' if k == last else ')'}"
        for k in range(len(shown) - 1)
    ]


def settings_by_row(values: Mapping[str, float] | None, tags: Iterable[Any]) -> dict[str, float]:
    """Re-key per-tag settings (HLP, importance, ease) to the rows of the per-slice table.

    Keys that are tags move to their tag's row (:func:`tag_slice_names`); other keys are
    kept, except ``All data`` and ``No tag`` (a per-tag setting never applies to those rows).
    """
    names = tag_slice_names(tags)
    out: dict[str, float] = {}
    for key, value in (values or {}).items():
        key = str(key)
        if key in names:
            out[names[key]] = value
        elif key not in (OVERALL, UNTAGGED):
            out.setdefault(key, value)
    return out


def slice_info(names: Sequence[str], kinds: Sequence[str], sources: Sequence[str]) -> pd.DataFrame:
    """Build the slice-info frame of :func:`core.metrics.build_slices` (and the engines').

    One row per slice, indexed by name, columns ``kind`` and ``source`` of object dtype even
    when there is no slice (pandas makes empty columns float64, which cannot take a kind).
    """
    return pd.DataFrame(
        {
            "kind": pd.Series(list(kinds), dtype=object),
            "source": pd.Series(list(sources), dtype=object),
        }
    ).set_axis(pd.Index(list(names), dtype=object))


def tag_rows(info: pd.DataFrame) -> list[str]:
    """Return the row names of the tag slices in a slice-info frame, in order."""
    return [str(n) for n in info.index[(info["kind"] == "tag").to_numpy(dtype=bool)]]


def resolve_slice_column(name: str, *, columns: Collection[str], mapping: Any = None) -> str | None:
    """Return the table column that ``--slice-by name`` means, or ``None`` when there is none.

    Parameters
    ----------
    name
        What the user wrote: a role's file column name (the label's ``true_category``), or a
        column of ``columns`` (a metadata column, or a role under its canonical name
        ``label``, ``prediction``, ``human``, ``score``).
    columns
        The columns of the loader's table (``Dataset.frame.columns``).
    mapping
        The resolved :class:`core.dataset.ColumnMapping` (file names of the roles), or
        ``None``.

    A role's file name is looked up first: when the label column of the file is called
    ``region``, ``region`` means the label. Surrounding spaces are ignored, as the loader
    strips them from the header (``"region "`` is ``region``).
    """
    for candidate in dict.fromkeys((name, str(name).strip())):
        if mapping is not None:
            for role in SLICEABLE_ROLES:
                if getattr(mapping, role, None) == candidate and role in columns:
                    return role
        if candidate in columns:
            return candidate
    return None


def slice_by_choices(
    metadata_columns: Iterable[str], *, columns: Collection[str], mapping: Any = None
) -> list[str]:
    """List the names a user can slice by: the roles' file names, then the metadata columns.

    The label, prediction, human-label and score columns are offered under the names the
    file gives them (:data:`SLICEABLE_ROLES` order), when the table has them.
    """
    out = []
    if mapping is not None:
        for role in SLICEABLE_ROLES:
            file_name = getattr(mapping, role, None)
            if file_name is not None and role in columns:
                out.append(str(file_name))
    out += [str(c) for c in metadata_columns if str(c) not in out]
    return out
