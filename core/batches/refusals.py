"""Errors found batch by batch, raised as the pandas engine raises them for the whole table.

:func:`guarded` runs an engine's work; a :class:`~core.errors.DataError` it raises is re-raised
by :func:`raise_as_loaded`, which reads a table of up to :data:`RELOAD_ROWS` rows whole and
prepares it with the loader's code, so the class and message are the loader's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from slicewise.core.batches.plan import numbering_of
from slicewise.core.batches.source import BatchSource
from slicewise.core.dataset import prepare
from slicewise.core.errors import DataError
from slicewise.core.metrics.slices import build_slices
from slicewise.core.task import TaskSpec, infer_task_kind

#: Rows above which an error is not re-raised by re-reading the table in pandas (memory).
RELOAD_ROWS = 2_000_000
#: Rows up to which an early refusal is re-raised as the pandas engine words it.
EXACT_REFUSAL_ROWS = 100_000


class EarlyRefusal(Exception):
    """A refusal decided before any pass over the rows (``error``: the one to raise).

    Above :data:`EXACT_REFUSAL_ROWS` rows it is raised as it is (re-reading the table to
    word it as the pandas engine does would cost what the refusal saves).
    """

    def __init__(self, error: DataError, rows: int) -> None:
        super().__init__(str(error))
        self.error, self.rows = error, rows


def raise_as_loaded(source: BatchSource, options: dict[str, Any], error: DataError) -> None:
    """Raise the error the pandas engine raises for ``source`` (else ``error``).

    Reads every column of ``source`` whole, prepares it with ``options`` (the user's
    :func:`core.dataset.prepare` options, ``slice_by``/``bins``/``max_slices`` and the
    ``spec`` for the analysis steps that check values) and re-raises what they raise.
    Above :data:`RELOAD_ROWS` rows the table is not read whole (memory would grow with
    it): ``error`` itself is raised, the batch's rows named by their file rows.
    """
    if source.count_rows() > RELOAD_ROWS:
        raise error
    frame = pd.concat(
        [b.rows for b in source.batches(source.columns, group=False)], ignore_index=True
    )
    numbering_of(source).attach(frame)
    load = {k: v for k, v in options.items() if k not in ("slice_by", "bins", "max_slices")}
    spec = load.pop("spec", None)
    dataset = prepare(frame, source_name=source.source_name, **load)
    from slicewise.core.metrics import compute_outcomes

    spec = spec or TaskSpec(kind=infer_task_kind(dataset.frame["label"]))
    compute_outcomes(dataset.frame, spec, source=dataset.source_name)
    build_slices(
        dataset,
        slice_by=options.get("slice_by", ()),
        bins=options.get("bins", 4),
        max_slices=options.get("max_slices"),
    )
    raise error


def guarded(source: BatchSource, options: dict[str, Any], work: Callable[[], Any]) -> Any:
    """Run ``work()``; a :class:`DataError` is re-raised as the pandas engine raises it."""
    try:
        return work()
    except EarlyRefusal as early:
        if early.rows > EXACT_REFUSAL_ROWS:
            raise early.error from None
        raise_as_loaded(source, options, early.error)
        raise early.error from None
    except DataError as error:
        raise_as_loaded(source, options, error)
        raise
