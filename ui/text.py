"""Put text from users' files (names, labels, values) into Streamlit Markdown literally.

Streamlit renders ``st.markdown``, ``st.caption``, ``st.info``... as Markdown (CommonMark
with GitHub extensions). A dataset, tag or label named ``![x](https://…/pixel.png)``
would otherwise load a remote image in every teammate's browser, and ``**``, ``_`` or ``$``
would restyle the page. CommonMark lets any ASCII punctuation be escaped with a backslash
and then shows it as it is, so escaping all of it keeps every character visible.

What escaping cannot stop: Streamlit links bare URLs and e-mail addresses in the rendered
text (checked in Chromium; character references behave the same). Such a link goes where
its visible text says, in a new tab; breaking it would take an invisible character, and a
name copied from the page would then no longer match its tag.
"""

from __future__ import annotations

import re
from typing import Any

_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character
_LINE_BREAKS = re.compile("[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+")


def md(value: Any) -> str:
    """Return ``value`` as Markdown text that renders literally, on one line."""
    return _PUNCTUATION.sub(r"\\\1", _LINE_BREAKS.sub(" ", str(value)))


def code(value: Any) -> str:
    """Return ``value`` as an inline code span, whatever backticks it holds.

    Backslashes do not escape inside code spans; the fence is one backtick longer than the
    longest run in the value, and padded with spaces when the value starts or ends with one.
    """
    text = _LINE_BREAKS.sub(" ", str(value))
    runs = [len(r) for r in re.findall(r"`+", text)]
    fence = "`" * (max(runs, default=0) + 1)
    # A renderer strips one space from each end when both ends have one (unless the span is
    # all spaces): pad so that it strips the padding, not the value's own spaces.
    ends_with_space = text[:1] == " " and text[-1:] == " "
    pad = " " if text.strip() and (text[:1] == "`" or text[-1:] == "`" or ends_with_space) else ""
    return f"{fence}{pad}{text or ' '}{pad}{fence}"
