"""Messages and error guards: flash messages, shown errors and reads/writes that may fail.

A :class:`core.errors.DataError` raised by a store read or write is shown with its message,
never as a traceback: :func:`read` and :func:`section` around reads, :func:`run_write` around
writes. A read-only or damaged store's advice is said once per run (:func:`error_text`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import streamlit as st

from slicewise.core.errors import DataError
from slicewise.core.store import Store
from slicewise.ui.context import get_store
from slicewise.ui.text import md

FLASH = "_flash"
ADVICE_SHOWN = "_store_advice_shown"  # the store's advice already on the page in this run
_T = TypeVar("_T")
_STOP: Any = object()  # read(): no fallback given, stop the page


def flash(message: str, kind: str = "success") -> None:
    """Queue a message to show at the top of the next run (callbacks and reruns lose output)."""
    st.session_state.setdefault(FLASH, []).append((kind, message))


def show_flash() -> None:
    """Show and clear the queued messages."""
    for kind, message in st.session_state.pop(FLASH, []):
        # Messages quote names and values from users' files: shown literally.
        if kind == "error":
            st.error(md(error_text(message)), icon=":material/error:")
        elif kind == "warning":
            st.warning(md(message), icon=":material/warning:")
        else:
            st.toast(md(message), icon=":material/check_circle:")


def run_write(
    action: Callable[..., Any],
    *args: Any,
    success: str | Callable[[Any], str] | None = None,
    **kwargs: Any,
) -> bool:
    """Call a store write; a :class:`DataError` becomes a flash error instead of a traceback.

    ``success`` is the message to flash when it worked (or a function of the action's
    result returning it). Returns whether the write succeeded.
    """
    try:
        result = action(*args, **kwargs)
    except DataError as exc:
        flash(str(exc), "error")
        return False
    if success:
        flash(success(result) if callable(success) else success)
    return True


def error_text(error: object) -> str:
    """Return the text of an error to show, the store's advice in it once per page run.

    A read-only or damaged store ends its messages with what to do about it
    (:attr:`core.store.Store.read_only_advice`: for a damaged one, a paragraph on how to
    recover). The first message of a run showing it (usually the banner of
    :func:`read_only_banner`) keeps it; later ones point to it instead.
    """
    text = str(error)
    try:
        advice = get_store().read_only_advice
    except DataError:  # the store cannot be opened at all: the error says why, whole
        return text
    if not advice or advice not in text:
        return text
    if st.session_state.get(ADVICE_SHOWN) == advice:
        return text.replace(advice, "What to do: see the message above.")
    st.session_state[ADVICE_SHOWN] = advice
    return text


def show_error(error: object, prefix: str = "") -> None:
    """Show an error (e.g. a :class:`DataError`) with ``st.error``, literally (:func:`error_text`).

    ``prefix`` comes first, e.g. ``"The dataset cannot be opened: "``.
    """
    st.error(md(prefix + error_text(error)), icon=":material/error:")


def _left_out(what: str) -> str:
    return f"{what} cannot be shown: " if what else ""


def read(
    action: Callable[..., _T], *args: Any, otherwise: Any = _STOP, what: str = "", **kwargs: Any
) -> _T:
    """Call a store read; a :class:`DataError` is shown (:func:`show_error`), not a traceback.

    E.g. ``sets = state.read(store.list_annotation_sets, otherwise=None, what="The saved
    annotation sets")``. Returns what the read returned; when it raised a
    :class:`DataError` (a damaged store, see :class:`core.errors.StoreDamaged`), shows
    "``what`` cannot be shown: " and the message, then returns ``otherwise`` when given,
    else stops the page there (``st.stop``).
    """
    try:
        return action(*args, **kwargs)
    except DataError as exc:
        show_error(exc, _left_out(what))
        if otherwise is _STOP:
            st.stop()
        return otherwise


@contextmanager
def section(what: str = "") -> Iterator[None]:
    """Run a part of a page; a :class:`DataError` ends that part with its message.

    The rest of the page goes on (``with state.section("The lineage"): ...`` around a
    table or a download whose reads may fail on a damaged store, see
    :class:`core.errors.StoreDamaged`); the message starts "``what`` cannot be shown: ".
    """
    try:
        yield
    except DataError as exc:
        show_error(exc, _left_out(what))


def read_only_banner(store: Store) -> None:
    """Say, once at the top of a page, that the store is read-only (or damaged) and why.

    Later messages of the run leave out what to do (:func:`error_text`).
    """
    reason = store.read_only_reason
    if reason is None:
        return
    st.session_state[ADVICE_SHOWN] = store.read_only_advice
    if store.damaged:
        st.error(md(reason), icon=":material/report:")
    else:
        st.warning(md(reason), icon=":material/lock:")
