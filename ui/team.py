"""Helpers of the *Team* page: the project's event log as a table a person reads."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pandas as pd

#: At most this many events are shown, newest first (the log itself keeps every one).
SHOWN_EVENTS = 1000
#: At most this many characters of an event's detail are shown.
DETAIL_CHARS = 240


def _summary(detail: str) -> str:
    """Return an event's detail (JSON) as short ``key: value`` text."""
    try:
        values = json.loads(detail)
    except (TypeError, ValueError):
        return str(detail)[:DETAIL_CHARS]
    if not isinstance(values, dict):
        return str(values)[:DETAIL_CHARS]
    text = "; ".join(
        f"{k}: {v if not isinstance(v, (dict, list)) else json.dumps(v)}"
        for k, v in values.items()
        if v not in (None, "", [], {})
    )
    return text if len(text) <= DETAIL_CHARS else text[: DETAIL_CHARS - 1] + "…"


def event_view(events: pd.DataFrame, dataset_names: Mapping[int, str]) -> pd.DataFrame:
    """Return the newest :data:`SHOWN_EVENTS` events, newest first, for the page's table.

    Parameters
    ----------
    events
        :meth:`core.store.Store.events` of one project (oldest first).
    dataset_names
        ``{dataset id: name}`` of the datasets that still exist; a deleted one is shown
        as ``"#<id> (deleted)"``.

    Returns
    -------
    pandas.DataFrame
        Columns ``at`` (UTC, to the second), ``who`` (the identity the write recorded),
        ``what`` (the event kind, e.g. ``tag.set``), ``dataset`` and ``detail`` (short text).
    """
    newest = events.iloc[::-1].head(SHOWN_EVENTS)

    def dataset(value: object) -> str:
        if pd.isna(value):
            return ""
        return dataset_names.get(int(value), f"#{int(value)} (deleted)")

    return pd.DataFrame(
        {
            "at": newest["at"].astype(str).str.slice(0, 19).str.replace("T", " "),
            "who": newest["user"].astype(str),
            "what": newest["kind"].astype(str),
            "dataset": [dataset(v) for v in newest["dataset_id"]],
            "detail": [_summary(d) for d in newest["detail"]],
        }
    ).reset_index(drop=True)
