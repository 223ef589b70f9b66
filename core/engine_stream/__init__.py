"""The streaming engine: a CSV/TSV or Parquet file on one machine, in bounded memory.

:func:`open_source` opens a file as a :class:`core.batches.source.BatchSource`
(:class:`StreamSource`); :func:`core.batches.count.analyze_source` turns it into the table.
"""

from slicewise.core.engine_stream.source import BATCH_ROWS, StreamSource, open_source

__all__ = ["BATCH_ROWS", "StreamSource", "open_source"]
