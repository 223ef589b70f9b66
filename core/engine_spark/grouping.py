"""Merging identical rows in Spark, the cells of one bin of a number as one value.

:func:`grouped_rows` is the Spark side of a grouped batch (:class:`core.batches.source.Batch`
with weights): ``GROUP BY`` the columns, each group's row count and first ``_mid``. A column
with bin edges is grouped by its bin code where a cell is binned, by the cell otherwise;
the group shows the bin's first cell (by position), as
:func:`core.batches.frame_source.bin_keys` and the streaming engine's ``bin_sql`` do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from slicewise.core.engine_spark.reading import MID

#: How near an edge (relative) a value stays its own cell: a reader may differ by an ulp.
NEAR_EDGE = 1e-9
#: Spark types whose cells can be binned: numbers, and text holding plain numbers.
BINNABLE = ("string", "double", "float", "int", "bigint", "smallint", "tinyint")
#: A plain dot number (``-12.5``), the only text the loader reads alike on every engine.
_PLAIN = r"^-?[0-9]+(\.[0-9]+)?\z"


def bin_exprs(cell: Any, edges: Sequence[float], *, text: bool) -> tuple[Any, Any]:
    """Return Spark expressions: whether ``cell`` is binned, and its bin code.

    Binned: a finite number (text: plain dot numbers only) not within :data:`NEAR_EDGE`
    (relative) of an edge; the code is how many inner edges are ``<=`` it
    (``np.searchsorted(edges[1:-1], v, "right")``, ``slice_codes``').
    """
    from pyspark.sql import functions as F

    value = cell.try_cast("double")
    inside = value.isNotNull() & ~F.isnan(value) & (F.abs(value) != float("inf"))
    if text:
        inside = cell.rlike(_PLAIN) & inside
    for e in (float(x) for x in edges):
        inside = inside & (F.abs(value - F.lit(e)) > F.lit(NEAR_EDGE * abs(e)))
    code = F.lit(0)
    for e in (float(x) for x in edges[1:-1]):
        code = code + (value >= F.lit(e)).cast("int")
    return F.coalesce(inside, F.lit(False)), code


def binnable(
    types: Mapping[str, str], names: Sequence[str], bins: Mapping[str, Sequence[float]]
) -> dict[str, tuple[float, ...]]:
    """Return the ``bins`` (keyed by Spark name) of ``names`` whose type can be binned."""
    return {
        n: tuple(float(e) for e in edges)
        for n, edges in bins.items()
        if n in names and types.get(n) in BINNABLE
    }


def group_keys(
    frame: Any, names: Sequence[str], bins: Mapping[str, Sequence[float]]
) -> tuple[list[str], list[Any]]:
    """Return the grouping keys of ``names`` and the expressions that make the bin keys.

    A binned column ``names[i]`` is keyed by ``_k{i}`` (its bin code; null when the cell
    is not binned) and ``_r{i}`` (the cell when it is not binned), another by itself.
    """
    from pyspark.sql import functions as F

    types = dict(frame.dtypes)
    keys, keyed = [], []
    for i, n in enumerate(names):
        if n not in bins:
            keys.append(n)
            continue
        inside, code = bin_exprs(F.col(n), bins[n], text=types[n] == "string")
        keyed += [F.when(inside, code).alias(f"_k{i}"), F.when(~inside, F.col(n)).alias(f"_r{i}")]
        keys += [f"_k{i}", f"_r{i}"]
    return keys, keyed


def distinct_estimate(frame: Any, names: Sequence[str], bins: Mapping[str, Sequence[float]]) -> int:
    """Estimate how many groups :func:`grouped_rows` makes (HyperLogLog of a key hash, 5%)."""
    from pyspark.sql import functions as F

    keys, keyed = group_keys(frame, names, bins)
    hashed = F.xxhash64(*[F.col(k) for k in keys])
    return int(frame.select("*", *keyed).select(F.approx_count_distinct(hashed, 0.05)).first()[0])


def grouped_rows(frame: Any, names: Sequence[str], bins: Mapping[str, Sequence[float]]) -> Any:
    """Return ``frame``'s identical rows of ``names`` merged: ``names``, ``_n``, ``_mid``.

    ``_n``: the rows a group stands for; ``_mid``: its first row's. ``bins`` (Spark name ->
    ascending edges, see :func:`binnable`): the binned cells of one bin of that column
    merge, the bin's first cell (smallest ``_mid``) standing for them.
    """
    from pyspark.sql import functions as F

    count = [F.count("*").alias("_n"), F.min(MID).alias(MID)]
    if not bins:
        return frame.groupBy(*names).agg(*count)
    keys, keyed = group_keys(frame, names, bins)
    firsts = [F.min_by(n, MID).alias(f"_f{i}") for i, n in enumerate(names) if n in bins]
    merged = frame.select(*names, MID, *keyed).groupBy(*keys).agg(*count, *firsts)
    shown = [
        F.when(F.col(f"_k{i}").isNull(), F.col(f"_r{i}")).otherwise(F.col(f"_f{i}")).alias(n)
        if n in bins
        else F.col(n)
        for i, n in enumerate(names)
    ]
    return merged.select(*shown, "_n", MID)
