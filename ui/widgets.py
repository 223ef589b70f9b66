"""Widgets whose options depend on other widgets: never show or act on a stale value.

An item list that changes with a class-pair filter, a dataset list that changes with the
project, a column list that changes with the uploaded file: when the value a keyed widget
holds is no longer among its options, the page must not go on with it.

Deleting the stale value from ``st.session_state`` is not enough: the widget then falls back
to its default on the server while the browser, which was not told, keeps showing the old
value (and sends it back with the next click). So the helpers here *write* a valid value
under the widget's key before the widget is drawn; a value written through
``st.session_state`` is sent to the browser with the widget, so what the browser shows and
what the script uses are the same value.

Use :func:`keep_valid` (one value) or :func:`keep_valid_many` (a multiselect) just before a
widget, or :func:`selectbox`, which does both in one call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

_UNSET = object()


def keep_valid(key: str, options: Sequence[Any], *, default: Any = _UNSET) -> bool:
    """Make the value stored under ``key`` one of ``options`` before its widget is drawn.

    Parameters
    ----------
    key
        The widget's key.
    options
        The options the widget is about to be drawn with.
    default
        The value to use instead of a stale one: an option, or ``None`` for a widget drawn
        with ``index=None`` (empty until chosen). Default: the first option (``None`` when
        there is none).

    Returns
    -------
    bool
        Whether a stale value was replaced. Nothing is written when ``key`` holds no value
        yet (the widget starts from its own default) or holds ``None`` (an empty widget).

    Examples
    --------
    >>> keep_valid("agree_item", items)  # doctest: +SKIP
    >>> item = st.selectbox("Item", items, key="agree_item")  # doctest: +SKIP
    """
    if key not in st.session_state:
        return False
    value = st.session_state[key]
    if value is None or _contains(options, value):
        return False
    if default is _UNSET or (default is not None and not _contains(options, default)):
        default = options[0] if len(options) else None
    st.session_state[key] = default
    return True


def keep_valid_many(key: str, options: Sequence[Any]) -> bool:
    """Drop the values stored under a multiselect's ``key`` that are not among ``options``.

    Returns
    -------
    bool
        Whether a stale value was dropped (the kept ones keep their order).
    """
    if key not in st.session_state or st.session_state[key] is None:
        return False
    values = list(st.session_state[key])
    kept = [v for v in values if _contains(options, v)]
    if len(kept) == len(values):
        return False
    st.session_state[key] = kept
    return True


def selectbox(
    container: Any,
    label: str,
    options: Sequence[Any],
    *,
    key: str,
    index: int | None = 0,
    format_func: Callable[[Any], Any] = str,
    **kwargs: Any,
) -> Any:
    """Draw ``container.selectbox`` after replacing a stale value (:func:`keep_valid`).

    ``index`` is the option shown the first time (and instead of a stale value); ``None``
    draws the box empty until a choice is made. Other keyword arguments go to
    ``st.selectbox``. Returns the selected option, always one of ``options`` (or ``None``).
    """
    options = list(options)
    default = options[index] if index is not None and options else None
    keep_valid(key, options, default=default)
    if key in st.session_state:
        # The stored value wins over ``index``; leaving ``index`` at 0 avoids Streamlit's
        # "default value but also set via the Session State API" warning.
        index = 0 if options else None
    return container.selectbox(
        label, options, index=index, key=key, format_func=format_func, **kwargs
    )


def _contains(options: Sequence[Any], value: Any) -> bool:
    try:
        return any(value == o for o in options)
    except (TypeError, ValueError):  # incomparable values: not an option
        return False
