"""One text normaliser: how two texts are made comparable before they are compared.

Used by the text task (:class:`core.task.TextNormalization`: a transcript prediction counts
as correct when it equals the label after normalisation, and word error rate is counted on
the normalised words), by the Label consistency rule :class:`core.agreement.NormalizeText`
(labels rewritten before agreement is measured) and by ``demo_data/make_demo.py``. The same
options therefore give the same text everywhere; only the callers' defaults differ.

Steps, in this order (each one optional):

1. ``replacements``: ``(old, new)`` pairs, in order.
2. ``unicode_form``: Unicode normal form (:func:`unicodedata.normalize`).
3. ``lowercase``: :meth:`str.lower`.
4. ``strip_punctuation``: typographic apostrophes become ``'``, then punctuation goes.
5. ``collapse_whitespace``: every run of whitespace becomes one space, trimmed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import Literal

from slicewise.core.errors import InvalidValueError

UnicodeForm = Literal["NFC", "NFKC", "NFD", "NFKD"]
UNICODE_FORMS: tuple[str, ...] = ("NFC", "NFKC", "NFD", "NFKD")

# Typographic apostrophes written in place of "'" ("let’s" is "let's").
_APOSTROPHES = re.compile("[\u2018\u2019\u02bc\u2032`]")
# One punctuation character: anything but a letter, a digit, whitespace, a square bracket
# (tags such as "[inaudible]" stay tags) and an apostrophe inside a word; the underscore and
# apostrophes not inside a word are punctuation too.
_PUNCT = r"(?:[^\w\s'\[\]]|_|(?<!\w)'|'(?!\w))"
# A run of punctuation between two words (a bracket counts as part of its tag-word).
_BETWEEN_WORDS = re.compile(rf"(?<=[\w\]]){_PUNCT}+(?=[\w\[])")
_ANY_PUNCT = re.compile(rf"{_PUNCT}+")
_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=256)
def _replacement_patterns(
    replacements: tuple[tuple[str, str], ...], match_case: bool, whole_words: bool
) -> tuple[tuple[re.Pattern[str] | str, str], ...]:
    """Compile the replacements once per set of options (empty ``old`` strings are skipped).

    A literal, case-sensitive replacement stays a string (:meth:`str.replace` is faster).
    """
    flags = 0 if match_case else re.IGNORECASE
    out: list[tuple[re.Pattern[str] | str, str]] = []
    for old, new in replacements:
        if not old:
            continue
        if match_case and not whole_words:
            out.append((old, new))
            continue
        pattern = re.escape(old)
        if whole_words:
            pattern = (
                (r"(?<!\w)" if old[0].isalnum() else "")
                + pattern
                + (r"(?!\w)" if old[-1].isalnum() else "")
            )
        out.append((re.compile(pattern, flags), new))
    return tuple(out)


def normalise_text(
    text: str,
    *,
    replacements: Iterable[tuple[str, str]] = (),
    match_case: bool = True,
    whole_words: bool = False,
    unicode_form: UnicodeForm | None = "NFC",
    lowercase: bool = True,
    strip_punctuation: bool = True,
    collapse_whitespace: bool = True,
) -> str:
    r"""Return ``text`` normalised; the defaults are the text task's.

    Parameters
    ----------
    text
        One string (callers map this over the distinct values of a column).
    replacements
        ``(old, new)`` pairs applied first, in order, each to the result of the previous
        one (``("Umm,", "Um,")``; ``("[unintelligible]", "[inaudible]")``). ``new`` is
        inserted literally (no regex groups); an empty ``old`` is skipped.
    match_case
        ``True``: ``old`` matches only with the same case. ``False``: any case
        (``"umm,"`` matches ``"Umm,"``; ``new`` is inserted as written).
    whole_words
        ``True``: ``old`` matches only where it is not part of a longer word, i.e. when it
        starts (ends) with a letter or digit, the character before (after) it is not a
        letter, digit or underscore (``"um"`` does not touch ``"umbrella"``; ``"Umm,"`` is
        not found in ``"Ummm,"``). ``False``: any occurrence, as :meth:`str.replace`.
    unicode_form
        ``"NFC"``, ``"NFKC"``, ``"NFD"`` or ``"NFKD"`` (:func:`unicodedata.normalize`), or
        ``None`` to skip. NFC makes a composed ``"é"`` equal ``"e"`` + combining acute;
        NFKC also folds compatibility forms (``"ﬁ"`` -> ``"fi"``, full-width letters).
    lowercase
        :meth:`str.lower` (Unicode lower case; ``"ß"`` stays ``"ß"``, no case folding).
    strip_punctuation
        First the typographic apostrophes ``‘ ’ ʼ ′`` and the backtick become ``'``. Then
        punctuation is every character that is not a letter, a digit (``\w``), whitespace,
        ``[`` or ``]``, plus the underscore and any ``'`` that is not between two word
        characters: ``"let's"`` and ``"rock'n'roll"`` keep their apostrophes, ``"'quoted'"``
        and ``"dogs'"`` lose them, ``"[inaudible]"`` keeps its brackets. A run of
        punctuation between two words (a letter, digit or bracket on both sides) becomes
        one space so the words stay apart (``"well...ok"`` -> ``"well ok"``,
        ``"e-mail"`` -> ``"e mail"``, ``"5-6"`` -> ``"5 6"``); any other run is removed
        (``"Hi, there!"`` -> ``"Hi there"``).
    collapse_whitespace
        Every run of Unicode whitespace (including tabs, newlines and no-break spaces)
        becomes one ``" "``, and the ends are trimmed.

    Returns
    -------
    str
        The normalised text; ``""`` when the steps leave nothing (``"?!"``).

    Raises
    ------
    InvalidValueError
        ``unicode_form`` is not one of the four forms or ``None``.

    Examples
    --------
    >>> normalise_text("Umm, Let’s  GO!", replacements=(("Umm,", "Um,"),))
    "um let's go"
    >>> normalise_text("nearest [unintelligible], please!")
    'nearest [unintelligible] please'
    """
    text = _replace(text, replacements, match_case=match_case, whole_words=whole_words)
    if unicode_form:
        text = _unicode_normal_form(text, unicode_form)
    if lowercase:
        text = text.lower()
    if strip_punctuation:
        text = _APOSTROPHES.sub("'", text)
        text = _BETWEEN_WORDS.sub(" ", text)
        text = _ANY_PUNCT.sub("", text)
    if collapse_whitespace:
        text = _SPACES.sub(" ", text).strip()
    return text


def _replace(
    text: str,
    replacements: Iterable[tuple[str, str]],
    *,
    match_case: bool,
    whole_words: bool,
) -> str:
    """Apply the ``(old, new)`` pairs in order (see :func:`normalise_text`)."""
    pairs = tuple((str(old), str(new)) for old, new in replacements)
    for old, new in _replacement_patterns(pairs, match_case, whole_words):
        if isinstance(old, str):
            text = text.replace(old, new)
        else:
            text = old.sub(lambda _m, new=new: new, text)
    return text


def _unicode_normal_form(text: str, form: str) -> str:
    """Return ``text`` in Unicode normal ``form``; an unknown form is an InvalidValueError."""
    if form not in UNICODE_FORMS:
        raise InvalidValueError(
            f"unicode_form must be one of {', '.join(UNICODE_FORMS)} or None, not {form!r}"
        )
    return unicodedata.normalize(form, text)
