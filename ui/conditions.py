"""Rows of metadata conditions (column, operator, value) that a reviewer adds and removes.

Used by the *Tag errors* page twice: the rule that tags examples and the filter bar. The
rows live in session state under a page-prefixed key (``<prefix>_n`` rows; the first row's
widgets are ``<prefix>_column``, ``<prefix>_op``, ``<prefix>_value``, the next ones end in
``_1``, ``_2``...), so they survive reruns; the conditions mean what :mod:`core.rules` says.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from slicewise.core.rules import MISSING_OPERATORS, OPERATORS, Condition
from slicewise.ui.widgets import keep_valid

_FIELDS = ("column", "op", "value")


def _key(prefix: str, field: str, i: int) -> str:
    return f"{prefix}_{field}" if i == 0 else f"{prefix}_{field}_{i}"


def _add(prefix: str) -> None:
    st.session_state[f"{prefix}_n"] = int(st.session_state.get(f"{prefix}_n", 0)) + 1


def _remove(prefix: str, i: int) -> None:
    """Drop row ``i``: the rows after it move up one (their widget values with them)."""
    n = int(st.session_state.get(f"{prefix}_n", 0))
    for j in range(i, n - 1):
        for field in _FIELDS:
            later = _key(prefix, field, j + 1)
            if later in st.session_state:
                st.session_state[_key(prefix, field, j)] = st.session_state[later]
            else:
                st.session_state.pop(_key(prefix, field, j), None)
    for field in _FIELDS:
        st.session_state.pop(_key(prefix, field, n - 1), None)
    st.session_state[f"{prefix}_n"] = max(n - 1, 0)


def condition_rows(
    prefix: str, columns: Sequence[str], *, first: int = 1, add_label: str = "Add a condition"
) -> list[Condition]:
    """Draw the condition rows and return the complete ones (AND of them is the rule).

    Parameters
    ----------
    prefix
        Page-prefixed key of the rows (e.g. ``tag_rule``).
    columns
        The columns a condition may name.
    first
        How many rows a new session starts with (0: none until *Add a condition*).
    add_label
        The add button's label.

    Returns
    -------
    list of core.rules.Condition
        The rows with a column and, unless the operator needs none, a value.
    """
    n = int(st.session_state.setdefault(f"{prefix}_n", first))
    out = []
    for i in range(n):
        c1, c2, c3, c4 = st.columns([4, 2, 4, 1], vertical_alignment="bottom")
        shown = "visible" if i == 0 else "collapsed"
        keep_valid(_key(prefix, "column", i), columns)  # another dataset: another column list
        column = c1.selectbox(
            "Column", columns, key=_key(prefix, "column", i), label_visibility=shown
        )
        op = c2.selectbox("Operator", OPERATORS, key=_key(prefix, "op", i), label_visibility=shown)
        value = c3.text_input(
            "Value",
            key=_key(prefix, "value", i),
            label_visibility=shown,
            placeholder="e.g. car_kit or 5",
            disabled=op in MISSING_OPERATORS,
        )
        c4.button(
            ":material/close:",
            key=f"{prefix}_remove_{i}",
            help="Remove this condition",
            on_click=_remove,
            args=(prefix, i),
        )
        condition = Condition(str(column or ""), str(op), str(value or ""))
        if condition.complete:
            out.append(condition)
    st.button(add_label, key=f"{prefix}_add", icon=":material/add:", on_click=_add, args=(prefix,))
    return out
