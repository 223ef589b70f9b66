"""The speed targets' data: generated once per size, kept in a cache folder, reused.

``predictions_<rows>.csv`` and ``predictions_<rows>.parquet`` hold the same rows of
:func:`benchmarks.generate.make_predictions` (ids unique across the file), written a chunk
of at most 1,000,000 rows at a time so generating 10M rows stays modest in memory. A file
is written under a temporary name and renamed when complete, so an interrupted run never
leaves a partial file that a later run would reuse.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks.generate import make_predictions

#: Where the data goes by default: never in the repository.
DEFAULT_DATA_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / (
    "slicewise-bench"
)
CHUNK = 1_000_000


def _chunks(rows: int):
    """Yield the file's rows as frames of at most :data:`CHUNK` rows (same seeds every time)."""
    for start in range(0, rows, CHUNK):
        n = min(CHUNK, rows - start)
        frame = make_predictions(n, seed=7 + start // CHUNK)
        frame["id"] = np.char.add("ex-", np.arange(start, start + n).astype(str))
        yield frame


def prediction_files(data_dir: Path, rows: int, *, log=print) -> dict[str, Path]:
    """Return the CSV and Parquet files of ``rows`` predictions, generating what is missing.

    Parameters
    ----------
    data_dir
        The cache folder (created if needed).
    rows
        Rows in each file (>= 1).
    log
        Called with a line of text when a file is generated.

    Returns
    -------
    dict
        ``{"csv": path, "parquet": path}``.

    Raises
    ------
    ValueError
        When ``rows`` < 1.
    """
    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows}")
    data_dir.mkdir(parents=True, exist_ok=True)
    paths = {kind: data_dir / f"predictions_{rows}.{kind}" for kind in ("csv", "parquet")}
    missing = {kind: p for kind, p in paths.items() if not p.exists()}
    if not missing:
        return paths
    log(f"generating {rows:,} rows into {', '.join(map(str, missing.values()))}")
    partial = {kind: p.with_name(p.name + ".partial") for kind, p in missing.items()}
    writer = None
    try:
        for k, frame in enumerate(_chunks(rows)):
            if "csv" in partial:
                frame.to_csv(
                    partial["csv"], index=False, mode="w" if k == 0 else "a", header=k == 0
                )
            if "parquet" in partial:
                table = pa.Table.from_pandas(frame, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(partial["parquet"], table.schema)
                writer.write_table(table, row_group_size=CHUNK)
    finally:
        if writer is not None:
            writer.close()
    for kind, p in partial.items():
        p.rename(missing[kind])
    return paths
