"""The peers of the speed targets, each run in its own process as a user would run it.

    python benchmarks/peers.py read_csv FILE
    python benchmarks/peers.py duckdb FILE --tags blurry,night --slice-by factory --bin snr_db

``read_csv`` is ``pandas.read_csv(FILE)`` with its defaults. ``duckdb`` is ONE DuckDB
statement computing the counts ``slicewise analyze`` needs on the benchmark data
(:mod:`benchmarks.generate`): per slice (every tag, the rows with no tag, every value of each
``--slice-by`` column, each quantile bin of each ``--bin`` column, and all rows) the rows
``n``, the model's correct rows, the rows with a human label, the human's correct rows and the
two paired discordant counts; and the confusion matrix (label x prediction), from which the
per-class report derives. Quantile edges (``quantile_cont``, numpy's linear rule, as pandas'
``qcut``) come from a CTE of the same statement, bins are left-closed, the last one closed.

This module imports only DuckDB (and pandas for ``read_csv``) so the peer's start-up is not
burdened by ours.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

#: The count columns the peer computes, in order (names of ``core.metrics.COUNT_COLUMNS``).
PEER_COUNTS = ("n", "correct", "human_n", "human_correct", "model_only", "human_only")


def _quote(name: str) -> str:
    """A SQL identifier for a column name."""
    return '"' + name.replace('"', '""') + '"'


def _reader(path: str) -> str:
    """DuckDB's table function for ``path`` (CSV cells read as text, as slicewise reads them)."""
    literal = "'" + path.replace("'", "''") + "'"
    if path.endswith(".parquet"):
        return f"read_parquet({literal})"
    return f"read_csv({literal}, header = true, all_varchar = true)"


def peer_sql(
    path: str,
    *,
    tags: Sequence[str],
    slice_by: Sequence[str] = (),
    bins: Sequence[str] = (),
    n_bins: int = 4,
    label: str = "label",
    prediction: str = "prediction",
    human: str = "human_label",
) -> str:
    """Return the peer's one ``GROUP BY GROUPING SETS`` statement over ``path``.

    Parameters
    ----------
    path
        A CSV (header row) or ``.parquet`` file.
    tags
        Tag columns; a row carries a tag where the cell is ``'x'`` (as in
        :func:`benchmarks.generate.make_predictions`).
    slice_by, bins
        Columns sliced by value, and numeric columns sliced in ``n_bins`` quantile bins.
    label, prediction, human
        The label, prediction and human-label columns.

    Returns
    -------
    str
        A statement whose rows are one slice each: the grouping columns (``NULL`` where a
        row is not of that grouping set; the tag columns are booleans), ``grouping_id`` and
        :data:`PEER_COUNTS`.
    """
    y, p, h = _quote(label), _quote(prediction), _quote(human)
    probs = ", ".join(f"{k / n_bins!r}" for k in range(1, n_bins))
    edges = ", ".join(
        f"quantile_cont(TRY_CAST({_quote(b)} AS DOUBLE), [{probs}]) AS e{i}"
        for i, b in enumerate(bins)
    )
    facts = [f"{y} = {p} AS c", f"{h} IS NOT NULL AS hn", f"coalesce({h} = {y}, false) AS hc"]
    flags = [f"coalesce({_quote(t)} = 'x', false)" for t in tags]
    facts += [f"{flag} AS t{i}" for i, flag in enumerate(flags)]
    if flags:
        facts.append(f"NOT ({' OR '.join(flags)}) AS untagged")
    facts += [f"{_quote(s)} AS s{i}" for i, s in enumerate(slice_by)]
    for i, b in enumerate(bins):
        value = f"TRY_CAST({_quote(b)} AS DOUBLE)"
        steps = " + ".join(f"({value} >= e{i}[{k}])::INT" for k in range(1, n_bins))
        facts.append(f"CASE WHEN {value} IS NULL THEN NULL ELSE {steps} END AS b{i}")
    keys = [f"t{i}" for i in range(len(tags))] + (["untagged"] if tags else [])
    keys += [f"s{i}" for i in range(len(slice_by))] + [f"b{i}" for i in range(len(bins))]
    sets = ["()", *(f"({k})" for k in keys), "(y, p)"]
    facts += [f"{y} AS y", f"{p} AS p"]
    source = _reader(path) + (f", (SELECT {edges} FROM {_reader(path)})" if bins else "")
    counts = (
        "count(*) AS n, sum(c::INT) AS correct, sum(hn::INT) AS human_n, "
        "sum(hc::INT) AS human_correct, sum((c AND NOT hc)::INT) AS model_only, "
        "sum((hc AND NOT c)::INT) AS human_only"
    )
    return (
        f"WITH r AS (SELECT {', '.join(facts)} FROM {source}) "
        f"SELECT {', '.join([*keys, 'y', 'p'])}, GROUPING({', '.join([*keys, 'y', 'p'])}) "
        f"AS grouping_id, {counts} FROM r GROUP BY GROUPING SETS ({', '.join(sets)})"
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Run one peer on a file (the command line in the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("peer", choices=["read_csv", "duckdb"])
    ap.add_argument("file")
    ap.add_argument("--tags", default="")
    ap.add_argument("--slice-by", default="")
    ap.add_argument("--bin", default="")
    ap.add_argument("--threads", type=int, help="DuckDB threads (default: DuckDB's, all cores)")
    args = ap.parse_args(argv)
    if args.peer == "read_csv":
        import pandas as pd

        frame = pd.read_csv(args.file)
        print(len(frame))
        return
    import duckdb

    def split(text: str) -> list[str]:
        return [c for c in text.split(",") if c]

    con = duckdb.connect()
    if args.threads:
        con.execute(f"SET threads = {int(args.threads)}")
    sql = peer_sql(
        args.file, tags=split(args.tags), slice_by=split(args.slice_by), bins=split(args.bin)
    )
    rows = con.execute(sql).fetchall()
    print(len(rows))


if __name__ == "__main__":
    main(sys.argv[1:])
