"""Tests for ui.text: users' text shown through Streamlit Markdown stays literal.

The oracle is an independent CommonMark renderer (markdown-it-py): rendering the escaped
text must give back the original characters, and never a link, image or emphasis.
"""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from slicewise.ui.text import code, md

RENDER = MarkdownIt("commonmark")

HOSTILE = [
    "![x](https://evil.invalid/pixel.png)",
    "[click](javascript:alert(1))",
    "**bold** _it_",
    "# heading",
    "- item",
    "1. item",
    "> quote",
    "a | b",
    "<img src=x onerror=alert(1)>",
    "$x^2$",
    "~~gone~~",
    "`tick`",
    "``two``",
    "car_noise",
    "back\\slash",
    "&amp; &lt;",
    "line\nbreak",
    ":red[colour]",
    "   spaced   ",
    "*",
    "_",
    "\\",
    "!",
]


def rendered_text(markdown: str) -> str:
    """Render one paragraph and return its text (tags dropped, entities decoded)."""
    out = RENDER.render(markdown).strip()
    assert out.startswith("<p>") and out.endswith("</p>"), out
    return out[3:-4]


@pytest.mark.parametrize("value", HOSTILE)
def test_md_renders_back_to_the_same_characters_and_no_markup(value):
    inner = rendered_text(md(value))
    assert "<" not in inner.replace("&lt;", ""), inner  # no element: no a, img, em, strong
    assert html.unescape(inner) == re.sub(r"\s+", " ", value).strip()


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")),
        min_size=1,
    ).filter(lambda s: s.strip() and s == s.strip())
)
def test_md_is_literal_for_any_text(value):
    inner = rendered_text(md(value))
    assert "<" not in inner.replace("&lt;", "")
    assert html.unescape(inner) == value


@pytest.mark.parametrize("value", [*HOSTILE, "`", "a`", "``", " a ", "x ` y"])
def test_code_span_shows_the_value_whatever_backticks_it_holds(value):
    out = RENDER.render(code(value)).strip()
    match = re.fullmatch(r"<p><code>(.*)</code></p>", out, flags=re.S)
    assert match, out
    assert html.unescape(match.group(1)) == value.replace("\n", " ")
