"""``--engine spark``: count on a Spark session (local, a cluster, or Spark Connect).

:func:`open_source` opens a CSV/TSV or Parquet path (a file, or a folder of part files,
also on object storage: ``s3a://``, ``gs://``, ``abfss://``) or a table the session knows,
as a :class:`core.batches.source.BatchSource`. The shared code in :mod:`core.batches`
decides and counts; Spark answers the global questions and runs the counting code on its
executors. Needs pyspark and Java 17 (see :mod:`.session`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from slicewise.core.engine_spark.session import SparkUnavailableError, spark_session
from slicewise.core.engine_spark.source import SparkSource

__all__ = ["SparkSource", "SparkUnavailableError", "open_source", "spark_session"]


@contextmanager
def open_source(
    target: str | Path, *, sep: str | None = None, master: str | None = None
) -> Iterator[SparkSource]:
    """Open ``target`` on Spark as a :class:`SparkSource`.

    Parameters
    ----------
    target
        A CSV/TSV or Parquet file, a folder of part files (local or a URL such as
        ``s3a://bucket/predictions/``), or a table name (``db.predictions``) the session's
        catalog knows.
    sep
        A CSV's delimiter; ``None`` detects it from the header (tab for ``.tsv``).
    master
        The Spark master (``local[4]``, ``spark://host:7077``, ``yarn``); ``None`` reads
        ``SLICEWISE_SPARK_MASTER``, else ``local[2]``. ``SPARK_REMOTE`` (Spark Connect)
        takes precedence.

    Yields
    ------
    SparkSource

    Raises
    ------
    SparkUnavailableError
        pyspark or Java is missing, or the session cannot start.
    DataError
        The target cannot be read (its subclasses as the pandas reader raises them).
    """
    source = SparkSource(str(target), sep=sep, master=master)
    try:
        yield source
    finally:
        source.close()
