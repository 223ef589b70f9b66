"""Build Slicewise's demo data sets, deterministically.

Run ``python demo_data/make_demo.py`` (from anywhere) to rewrite the CSV files next to this
script, or call :func:`build_demo` with another folder. All randomness comes from one
``np.random.default_rng(42)``, so every run writes byte-identical files.

Files written:

- ``speech_predictions.csv``: voice-search speech recognition. Its per-tag table
  reproduces the lecture's (accuracy clean 94%, car noise 89%, people noise 87%, low
  bandwidth 70%; human-level performance 95/93/89/70%), with car noise ranked first by
  potential gain. The counts are solved exactly in :data:`SPEECH_CELLS`.
- ``speech_predictions_retrained.csv``: the same utterances (ids, labels, tags, metadata)
  transcribed by a retrained model, for comparing iterations: better on car noise (89% ->
  93%), worse on low bandwidth (70% -> 62%), clean speech unchanged (94%); people noise,
  mostly heard in cars, gains a little (87% -> 88.7%). Exact per cell in
  :data:`RETRAINED_CHANGES`.
- ``inspection_predictions.csv``: visual inspection of phones (scratch, dent, pit mark,
  discoloration, ok) with a model score, an inspector's label and ``;``-delimited tags.
- ``inspection_annotations.csv``: several annotators' labels for ~300 inspection items.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

# With its defaults, the text task's normaliser: "differs after normalisation" below means
# what Slicewise's exact match of transcripts means.
from slicewise.core.text_normalise import normalise_text

SEED = 42
HERE = Path(__file__).resolve().parent
FILES = {
    "speech": "speech_predictions.csv",
    "inspection": "inspection_predictions.csv",
    "annotations": "inspection_annotations.csv",
    "retrained": "speech_predictions_retrained.csv",
}

# =========================================================================== speech

SPEECH_TAGS = ("clean_speech", "car_noise", "people_noise", "low_bandwidth")


@dataclass(frozen=True)
class Cell:
    """One disjoint combination of tags and its exact error counts."""

    tags: tuple[str, ...]
    n: int
    model_errors: int
    human_errors: int
    both_wrong: int  # examples where the model and the human are both wrong


# The disjoint tag combinations. Their sums give every tag's marginal exactly:
#
#   tag            n     share  model errors  accuracy   human errors  HLP
#   clean_speech   2900  58%    174           94%        145           95%
#   car_noise      1900  38%    209           89%        133           93%
#   people_noise   1500  30%    195           87%        165           89%
#   low_bandwidth   300   6%     90           70%         90           70%
#
# Clean speech never carries car or people noise; most people noise is heard in cars.
# 0.94·n and 0.95·n are whole only when n is a multiple of 100, hence 2,900 clean rows.
# The lecture's shares (60 + 40% with people noise inside car noise) would leave no room
# for people noise outside cars, where the extra human errors of people noise belong,
# so car noise gets 38%. Rates by cell (model / human error): clean 5.2 / 4.2%, car only
# 9.8 / 4.2% (the model trails humans: the 4-point gap), car + people 9.5 / 6.4%, people
# only 27 / 27% (babble in cafes and crowds is hard for everyone), low bandwidth 25-41%.
SPEECH_CELLS: tuple[Cell, ...] = (
    Cell(("clean_speech",), 2780, 144, 118, 40),
    Cell(("clean_speech", "low_bandwidth"), 120, 30, 27, 12),
    Cell(("car_noise",), 550, 54, 23, 8),
    Cell(("car_noise", "low_bandwidth"), 40, 14, 8, 4),
    Cell(("car_noise", "people_noise"), 1250, 119, 80, 30),
    Cell(("car_noise", "people_noise", "low_bandwidth"), 60, 22, 22, 12),
    Cell(("people_noise",), 110, 30, 30, 12),
    Cell(("people_noise", "low_bandwidth"), 80, 24, 33, 14),
    Cell((), 10, 1, 1, 0),
)

#: Lecture targets per tag: (share of data, model accuracy, human-level performance).
SPEECH_TARGETS: dict[str, tuple[float, float, float]] = {
    "clean_speech": (0.60, 0.94, 0.95),
    "car_noise": (0.40, 0.89, 0.93),
    "people_noise": (0.30, 0.87, 0.89),
    "low_bandwidth": (0.06, 0.70, 0.70),
}

# The lecture's four example rows become utt-00001..utt-00004:
# (tags, label, model transcript); the human transcriber gets them right.
LECTURE_EXAMPLES: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("car_noise",), "stir fried lettuce recipe", "stir fry lettuce recipe"),
    (("people_noise", "low_bandwidth"), "sweetened coffee", "swedish coffee"),
    (("people_noise",), "sail away song", "sell away some"),
    (("car_noise", "people_noise", "low_bandwidth"), "let's catch up", "let's ketchup"),
)

# Voice-search queries: templates (with weights) filled from the vocabularies below.
QUERY_TEMPLATES: tuple[tuple[str, int], ...] = (
    ("{dish} recipe", 6),
    ("how to make {dish}", 3),
    ("easy {dish} recipe", 2),
    ("calories in {dish}", 1),
    ("{drink}", 2),
    ("{drink} near me", 2),
    ("play {song}", 4),
    ("{song} song", 2),
    ("{song} lyrics", 2),
    ("nearest {place}", 4),
    ("{place} near me", 4),
    ("directions to the nearest {place}", 2),
    ("is the {place} open", 1),
    ("weather {when} in {city}", 4),
    ("weather in {city}", 2),
    ("will it rain {when}", 2),
    ("flights to {city}", 2),
    ("what time is it in {city}", 1),
    ("call {contact}", 3),
    ("text {contact} {message}", 2),
    ("{message}", 1),
    ("set a timer for {number} minutes", 3),
    ("set an alarm for {hour} am", 2),
    ("{team} score", 2),
    ("when do the {team} play next", 1),
    ("turn on the {room} lights", 2),
)
VOCAB: dict[str, tuple[str, ...]] = {
    "dish": (
        "stir fried lettuce",
        "chicken tikka masala",
        "banana bread",
        "pad thai",
        "beef stew",
        "vegetable lasagna",
        "french toast",
        "mushroom risotto",
        "pancakes",
        "guacamole",
        "shrimp scampi",
        "chili con carne",
        "tomato soup",
        "apple pie",
        "fried rice",
        "gnocchi",
        "quinoa salad",
        "meatballs",
        "chocolate chip cookies",
        "pho",
        "baked salmon",
        "butter chicken",
        "lemon cake",
        "ice cream",
        "fish tacos",
    ),
    "drink": (
        "sweetened coffee",
        "iced coffee",
        "green tea",
        "chai latte",
        "hot chocolate",
        "oat milk latte",
        "lemonade",
        "sparkling water",
        "bubble tea",
        "decaf coffee",
    ),
    "song": (
        "sail away",
        "yellow submarine",
        "bohemian rhapsody",
        "hotel california",
        "let it be",
        "sweet caroline",
        "dancing queen",
        "wonderwall",
        "hey jude",
        "shallow",
        "bad guy",
        "blinding lights",
        "river flows in you",
        "here comes the sun",
        "take on me",
        "fix you",
    ),
    "place": (
        "gas station",
        "pharmacy",
        "coffee shop",
        "atm",
        "grocery store",
        "hardware store",
        "post office",
        "car wash",
        "pizza place",
        "hospital",
        "train station",
        "parking garage",
        "sushi restaurant",
        "bank",
        "library",
    ),
    "city": (
        "boston",
        "austin",
        "seattle",
        "denver",
        "chicago",
        "miami",
        "dallas",
        "portland",
        "phoenix",
        "atlanta",
        "san diego",
        "new york",
        "london",
        "paris",
        "rome",
        "toronto",
        "dublin",
    ),
    "when": ("today", "tomorrow", "tonight", "this weekend", "on friday"),
    "contact": ("mom", "dad", "sarah", "john", "katie", "steven", "grandma", "alex"),
    "message": (
        "let's catch up",
        "running late",
        "on my way",
        "call me back",
        "see you soon",
        "happy birthday",
    ),
    "number": ("five", "ten", "fifteen", "twenty", "thirty", "forty five"),
    "hour": ("six", "six thirty", "seven", "seven fifteen", "eight", "nine"),
    "team": ("red sox", "lakers", "yankees", "celtics", "warriors", "patriots"),
    "room": ("kitchen", "living room", "bedroom", "garage", "porch"),
}
# Written with capitals in references and by careful transcribers.
PROPER_NOUNS: tuple[str, ...] = (
    *VOCAB["city"],
    "sarah",
    "john",
    "katie",
    "steven",
    "alex",
    *VOCAB["team"],
    "atm",
)
QUESTION_WORDS = ("how", "what", "when", "is", "will")

# Near-homophones an ASR model produces (phrase -> alternatives), including inverse text
# normalisation ("five" -> "5"), which exact match counts as an error.
ASR_CONFUSIONS: dict[str, tuple[str, ...]] = {
    "stir fried": ("stir fry", "stir free"),
    "sweetened": ("swedish", "sweeten"),
    "sail away": ("sell away",),
    "song": ("some", "son"),
    "catch up": ("ketchup",),
    "let's": ("lets", "let"),
    "weather": ("whether",),
    "boston": ("austin",),
    "austin": ("boston",),
    "recipe": ("recipes", "receipt"),
    "lettuce": ("let us",),
    "nearest": ("nearer", "newest"),
    "gas station": ("guest station", "gas stations"),
    "coffee": ("toffee",),
    "tea": ("tee",),
    "ice cream": ("i scream",),
    "pad thai": ("pat tie", "pad tie"),
    "pho": ("fo", "foe"),
    "gnocchi": ("knocky", "yoki"),
    "quinoa": ("keen wah",),
    "seattle": ("settle",),
    "paris": ("pairs",),
    "rome": ("roam",),
    "dublin": ("doubling",),
    "dallas": ("dollars",),
    "miami": ("my amy",),
    "phoenix": ("phoenix's",),
    "tomorrow": ("to morrow", "tomorrow's"),
    "tonight": ("to night",),
    "rain": ("reign", "train"),
    "call": ("cole", "car"),
    "text": ("next", "texts"),
    "mom": ("mum", "tom"),
    "dad": ("that", "ted"),
    "sarah": ("sara", "zara"),
    "katie": ("katy", "kt"),
    "steven": ("stephen",),
    "john": ("jon",),
    "play": ("pay", "played"),
    "lyrics": ("lyric",),
    "let it be": ("leave it be",),
    "wonderwall": ("wonder wall",),
    "blinding lights": ("blinding light",),
    "shallow": ("shadow",),
    "dancing queen": ("dancing green",),
    "sweet caroline": ("sweet carolina",),
    "hey jude": ("hey you",),
    "here comes the sun": ("here comes the son",),
    "bohemian rhapsody": ("bohemian rap city",),
    "timer": ("time or", "tamer"),
    "minutes": ("minute",),
    "five": ("5", "fine"),
    "ten": ("10", "then"),
    "fifteen": ("fifty", "15"),
    "twenty": ("20", "plenty"),
    "thirty": ("30", "dirty"),
    "forty five": ("45", "forty-nine"),
    "six thirty": ("6:30", "sixty"),
    "seven fifteen": ("7:15", "seven fifty"),
    "eight": ("8", "ate"),
    "pharmacy": ("pharmacies",),
    "atm": ("atms", "at m"),
    "hardware store": ("hard wear store",),
    "post office": ("post offices",),
    "car wash": ("car was",),
    "pizza": ("piece of",),
    "meatballs": ("meat balls",),
    "pancakes": ("pan cakes",),
    "french toast": ("french toes",),
    "beef stew": ("beef stu", "beef too"),
    "guacamole": ("guac a molly",),
    "chai latte": ("shy latte",),
    "oat milk": ("oatmeal",),
    "lemonade": ("lemon aid",),
    "on my way": ("on the way",),
    "running late": ("running light",),
    "see you soon": ("see you son",),
    "call me back": ("call me black",),
    "red sox": ("red socks",),
    "flights": ("flight", "fights"),
    "directions": ("direction",),
    "grandma": ("grammar",),
    "open": ("opened", "opening"),
    "salmon": ("sam and",),
    "butter chicken": ("but a chicken",),
    "fried rice": ("fried ice",),
    "lights": ("light", "likes"),
    "porch": ("portion",),
    "bubble tea": ("double tea",),
    "fish tacos": ("fish tackles",),
    "yankees": ("yankee",),
    "warriors": ("worriers",),
}
# What careful transcribers still get "wrong" against the reference: labelling
# conventions (digits, contractions, spellings of names and dishes) and plural/tense slips.
HUMAN_VARIANTS: dict[str, tuple[str, ...]] = {
    "stir fried": ("stir fry",),
    "let's": ("lets", "let us"),
    "five": ("5",),
    "ten": ("10",),
    "fifteen": ("15",),
    "twenty": ("20",),
    "thirty": ("30",),
    "forty five": ("45",),
    "six thirty": ("6:30",),
    "seven fifteen": ("7:15",),
    "gnocchi": ("gnocci", "nyoki"),
    "quinoa": ("keenwa",),
    "guacamole": ("guacomole",),
    "pho": ("fo",),
    "sarah": ("sara",),
    "katie": ("katy",),
    "steven": ("stephen",),
    "john": ("jon",),
    "mom": ("mum",),
    "atm": ("a t m",),
    "wonderwall": ("wonder wall",),
    "chai latte": ("chai tea latte",),
    "pancakes": ("pancake",),
    "meatballs": ("meat balls",),
    "lyrics": ("lyric",),
    "minutes": ("mins",),
    "tonight": ("tonite",),
    "sweetened": ("sweeten",),
    "recipe": ("recipes",),
    "chili con carne": ("chilli con carne",),
    "san diego": ("san deigo",),
    "phoenix": ("pheonix",),
    "decaf": ("decaff",),
    "yankees": ("yankee",),
    "red sox": ("redsox",),
    "song": ("songs",),
    "lights": ("light",),
    "station": ("stations",),
    "shop": ("shops",),
    "store": ("stores",),
    "score": ("scores",),
    "cookies": ("cookie",),
    "fish tacos": ("fish taco",),
    "nearest": ("near",),
}
FUNCTION_WORDS = ("the", "a", "to", "in", "for", "me", "an", "of", "on")
ASR_INSERTIONS = ("the", "a", "to", "and", "in", "of")
BABBLE_INSERTIONS = ("yeah", "okay", "so", "no", "right", "hi", "and")
TYPO_MIN_LETTERS = 5

SPEECH_DEVICES = ("android", "ios", "web", "car_kit", "smart_speaker")
SPEECH_REGIONS = ("us-east", "us-west", "us-south", "uk", "canada", "india", "australia")
SPEECH_REGION_P = (0.26, 0.2, 0.16, 0.12, 0.08, 0.1, 0.08)


def _pick(rng: np.random.Generator, options: Sequence[str]) -> str:
    return str(options[int(rng.integers(len(options)))])


def _phrase_pattern(phrase: str) -> str:
    return rf"(?<![\w']){re.escape(phrase)}(?![\w'])"


def _present(text: str, table: dict[str, tuple[str, ...]]) -> list[str]:
    return [p for p in table if re.search(_phrase_pattern(p), text)]


def _substitute(
    text: str,
    table: dict[str, tuple[str, ...]],
    rng: np.random.Generator,
) -> str | None:
    """Replace one phrase of ``text`` found in ``table`` by one of its alternatives."""
    found = _present(text, table)
    if not found:
        return None
    phrase = _pick(rng, found)
    return re.sub(_phrase_pattern(phrase), _pick(rng, table[phrase]), text, count=1)


def _delete_word(text: str, rng: np.random.Generator, *, prefer_function: bool) -> str | None:
    words = text.split()
    if len(words) < 2:
        return None
    candidates = [i for i, w in enumerate(words) if w in FUNCTION_WORDS] if prefer_function else []
    i = int(rng.choice(candidates)) if candidates else int(rng.integers(len(words)))
    return " ".join(words[:i] + words[i + 1 :])


def _truncate(text: str) -> str | None:
    """Lose the end of the utterance, as a dropped low-bandwidth connection does."""
    words = text.split()
    return " ".join(words[:-1]) if len(words) >= 2 else None


def _insert_word(text: str, rng: np.random.Generator, vocabulary: Sequence[str]) -> str:
    words = text.split()
    i = int(rng.integers(len(words) + 1))
    return " ".join(words[:i] + [_pick(rng, vocabulary)] + words[i:])


def _typo(text: str, rng: np.random.Generator) -> str | None:
    """Swap two adjacent inner letters of a longer word ("recipe" -> "recpie")."""
    words = text.split()
    long_words = [i for i, w in enumerate(words) if len(w) >= TYPO_MIN_LETTERS and w.isalpha()]
    if not long_words:
        return None
    i = int(rng.choice(long_words))
    w = words[i]
    j = int(rng.integers(1, len(w) - 2))
    if w[j] == w[j + 1]:
        return None
    words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    return " ".join(words)


def asr_error(text: str, tags: tuple[str, ...], rng: np.random.Generator) -> str:
    """A wrong model transcript of ``text`` (differs after normalisation)."""
    noisy = "car_noise" in tags or "people_noise" in tags
    narrow = "low_bandwidth" in tags
    ops = ["substitute", "delete", "insert"]
    p = [0.7, 0.18, 0.12]
    if noisy:
        p = [0.55, 0.25, 0.2]
    if narrow:
        ops, p = [*ops, "truncate"], [0.45, 0.2, 0.1, 0.25]
    n_ops = 2 if (noisy or narrow) and rng.random() < 0.2 else 1
    out = text
    for _ in range(n_ops):
        op = str(rng.choice(ops, p=p))
        if op == "substitute":
            new = _substitute(out, ASR_CONFUSIONS, rng)
        elif op == "delete":
            new = _delete_word(out, rng, prefer_function=rng.random() < 0.5)
        elif op == "truncate":
            new = _truncate(out)
        else:
            babble = "people_noise" in tags and rng.random() < 0.6
            new = _insert_word(out, rng, BABBLE_INSERTIONS if babble else ASR_INSERTIONS)
        out = new or _substitute(out, ASR_CONFUSIONS, rng) or _insert_word(out, rng, ASR_INSERTIONS)
    return out if normalise_text(out) != normalise_text(text) else asr_error(text, tags, rng)


def human_error(text: str, tags: tuple[str, ...], rng: np.random.Generator) -> str:
    """A wrong human transcript of ``text`` (differs after normalisation)."""
    noisy = any(t in tags for t in ("car_noise", "people_noise", "low_bandwidth"))
    ops = ("mishear", "drop", "variant", "typo")
    p = (0.45, 0.3, 0.22, 0.03) if noisy else (0.1, 0.25, 0.55, 0.1)
    op = str(rng.choice(ops, p=p))
    if op == "mishear":
        new = _substitute(text, ASR_CONFUSIONS, rng)
    elif op == "drop":
        new = _delete_word(text, rng, prefer_function=True)
    elif op == "variant":
        new = _substitute(text, HUMAN_VARIANTS, rng)
    else:
        new = _typo(text, rng)
    new = (
        new
        or _substitute(text, HUMAN_VARIANTS, rng)
        or _delete_word(text, rng, prefer_function=True)
        or _typo(text, rng)
    )
    if new is None or normalise_text(new) == normalise_text(text):
        return human_error(text, tags, rng)
    return new


def _capitalise_proper(text: str) -> str:
    for name in PROPER_NOUNS:
        written = name.upper() if name == "atm" else name.title()
        text = re.sub(_phrase_pattern(name), written, text)
    return text


def _sentence(text: str, *, proper: bool, question_mark: bool) -> str:
    if proper:
        text = _capitalise_proper(text)
    text = text[:1].upper() + text[1:]
    if question_mark and text.split(" ", 1)[0].lower() in QUESTION_WORDS:
        text += "?"
    return text


def render_reference(text: str) -> str:
    """The reference transcript's house style: sentence case, names capitalised."""
    return _sentence(text, proper=True, question_mark=True)


def render_model(text: str, rng: np.random.Generator) -> str:
    """Raw ASR output: mostly lower case; sometimes auto-punctuated."""
    if rng.random() < 0.75:
        return text
    return _sentence(text, proper=True, question_mark=True)


def render_human(text: str, rng: np.random.Generator) -> str:
    """A transcriber's writing, with variations that do not count as errors."""
    if "stir fried" in text and rng.random() < 0.4:
        text = text.replace("stir fried", "stir-fried")
    out = _sentence(text, proper=rng.random() < 0.8, question_mark=rng.random() < 0.6)
    if rng.random() < 0.04:
        out = out.replace(" ", "  ", 1)
    if rng.random() < 0.03:
        out += "."
    return out


def sample_query(rng: np.random.Generator) -> str:
    """One voice-search query in lower case."""
    weights = np.array([w for _, w in QUERY_TEMPLATES], dtype=float)
    template = QUERY_TEMPLATES[int(rng.choice(len(weights), p=weights / weights.sum()))][0]
    slots = re.findall(r"\{(\w+)\}", template)
    return template.format(**{s: _pick(rng, VOCAB[s]) for s in slots})


def _speech_rows(rng: np.random.Generator) -> list[tuple[int, bool, bool]]:
    """(cell index, model wrong, human wrong) per example, lecture examples first."""
    rows: list[tuple[int, bool, bool]] = []
    for k, cell in enumerate(SPEECH_CELLS):
        model_only = cell.model_errors - cell.both_wrong
        human_only = cell.human_errors - cell.both_wrong
        if min(model_only, human_only) < 0 or cell.model_errors + human_only > cell.n:
            raise ValueError(f"inconsistent counts in {cell}")
        rows += [(k, True, True)] * cell.both_wrong
        rows += [(k, True, False)] * model_only
        rows += [(k, False, True)] * human_only
        rows += [(k, False, False)] * (cell.n - cell.model_errors - human_only)
    rows = [rows[i] for i in rng.permutation(len(rows))]
    first = []
    for tags, _, _ in LECTURE_EXAMPLES:
        k = next(i for i, c in enumerate(SPEECH_CELLS) if c.tags == tags)
        first.append(rows.pop(rows.index((k, True, False))))
    return first + rows


def _speech_metadata(
    tags: tuple[str, ...], model_wrong: bool, n_words: int, rng: np.random.Generator
) -> dict[str, object]:
    car, people, narrow = ("car_noise" in tags, "people_noise" in tags, "low_bandwidth" in tags)
    if car:
        device_p = (0.2, 0.15, 0.0, 0.65, 0.0) if narrow else (0.25, 0.22, 0.0, 0.53, 0.0)
    elif narrow:
        device_p = (0.35, 0.2, 0.3, 0.1, 0.05)
    elif people:
        device_p = (0.5, 0.4, 0.05, 0.0, 0.05)
    else:
        device_p = (0.42, 0.33, 0.12, 0.03, 0.1)
    snr_mean = 24.0
    if car and people:
        snr_mean = 7.0
    elif car:
        snr_mean = 11.0
    elif people:
        snr_mean = 8.5
    elif not tags:
        snr_mean = 17.0
    snr = snr_mean + rng.normal(0, 3.0) - (2.5 if model_wrong else 0.0) - (1.5 if narrow else 0)
    duration = 0.5 + 0.32 * n_words + rng.normal(0, 0.22)
    return {
        "device": str(rng.choice(SPEECH_DEVICES, p=device_p)),
        "region": str(rng.choice(SPEECH_REGIONS, p=SPEECH_REGION_P)),
        "snr_db": round(float(np.clip(snr, -5.0, 40.0)), 1),
        "duration_s": round(float(max(duration, 0.6)), 2),
    }


def make_speech(rng: np.random.Generator) -> pd.DataFrame:
    """The speech-recognition predictions table (see :data:`SPEECH_CELLS`)."""
    records = []
    for i, (k, model_wrong, human_wrong) in enumerate(_speech_rows(rng)):
        tags = SPEECH_CELLS[k].tags
        if i < len(LECTURE_EXAMPLES):
            _, truth, model_text = LECTURE_EXAMPLES[i]
            prediction = render_reference(model_text)  # as the lecture's slide shows it
        else:
            truth = sample_query(rng)
            model_text = asr_error(truth, tags, rng) if model_wrong else truth
            prediction = render_model(model_text, rng)
        human_text = human_error(truth, tags, rng) if human_wrong else truth
        uid = f"utt-{i + 1:05d}"
        records.append(
            {
                "id": uid,
                "audio_path": f"audio/{uid}.wav",
                "label": render_reference(truth),
                "prediction": prediction,
                "human_label": render_human(human_text, rng),
                **{t: ("x" if t in tags else "") for t in SPEECH_TAGS},
                **_speech_metadata(tags, model_wrong, len(truth.split()), rng),
            }
        )
    return pd.DataFrame.from_records(records)


# =========================================================================== retrained

# The retrained speech model, per tag combination of SPEECH_CELLS: (errors it fixes, correct
# transcripts it breaks). Trained with car-noise augmentation and, by mistake, on audio
# resampled to 16 kHz, it gains on car noise and loses on low bandwidth:
#
#   tag            n     errors before -> after   accuracy        fixed  broken
#   clean_speech   2900  174 -> 174               94.0 -> 94.0%   46     46
#   car_noise      1900  209 -> 133               89.0 -> 93.0%   109    33
#   people_noise   1500  195 -> 169               87.0 -> 88.7%   74     48
#   low_bandwidth   300   90 -> 114               70.0 -> 62.0%   17     41
#   all data       5000  438 -> 375               91.2 -> 92.5%   165    102
RETRAINED_CHANGES: dict[tuple[str, ...], tuple[int, int]] = {
    ("clean_speech",): (40, 37),
    ("clean_speech", "low_bandwidth"): (6, 9),
    ("car_noise",): (42, 4),
    ("car_noise", "low_bandwidth"): (3, 4),
    ("car_noise", "people_noise"): (60, 11),
    ("car_noise", "people_noise", "low_bandwidth"): (4, 14),
    ("people_noise",): (6, 9),
    ("people_noise", "low_bandwidth"): (4, 14),
    (): (0, 0),
}


def make_retrained(rng: np.random.Generator, speech: pd.DataFrame) -> pd.DataFrame:
    """The speech table with a retrained model's transcripts (see :data:`RETRAINED_CHANGES`).

    In each tag combination, ``fixed`` of the old model's errors become right and ``broken``
    of its right transcripts become wrong; every other transcript is kept as it was.
    """
    truth = [normalise_text(t) for t in speech["label"]]
    wrong = np.array(
        [normalise_text(p) != t for p, t in zip(speech["prediction"], truth, strict=True)]
    )
    cells = [
        tuple(t for t in SPEECH_TAGS if row[t] == "x")
        for row in speech[list(SPEECH_TAGS)].to_dict("records")
    ]
    prediction = speech["prediction"].to_numpy(dtype=object).copy()
    for tags, (fixed, broken) in RETRAINED_CHANGES.items():
        in_cell = np.array([c == tags for c in cells])
        to_fix = np.sort(rng.choice(np.flatnonzero(in_cell & wrong), size=fixed, replace=False))
        to_break = np.sort(rng.choice(np.flatnonzero(in_cell & ~wrong), size=broken, replace=False))
        for i in to_fix:
            prediction[i] = render_model(truth[i], rng)
        for i in to_break:
            prediction[i] = render_model(asr_error(truth[i], tags, rng), rng)
    out = speech.copy()
    out["prediction"] = prediction
    return out


# =========================================================================== inspection

DEFECTS = ("ok", "scratch", "dent", "pit mark", "discoloration")
DEFECT_P = (0.55, 0.17, 0.11, 0.1, 0.07)
# Where a wrong label goes, per true class (model and people confuse alike).
CONFUSION: dict[str, dict[str, float]] = {
    "ok": {"scratch": 0.35, "pit mark": 0.3, "discoloration": 0.25, "dent": 0.1},
    "scratch": {"dent": 0.6, "ok": 0.25, "pit mark": 0.1, "discoloration": 0.05},
    "dent": {"scratch": 0.62, "ok": 0.2, "pit mark": 0.18},
    "pit mark": {"ok": 0.6, "dent": 0.22, "scratch": 0.18},
    "discoloration": {"ok": 0.65, "scratch": 0.2, "dent": 0.15},
}
# Base error rates per true class for the model and the inspector.
MODEL_BASE_ERROR = {
    "ok": 0.025,
    "scratch": 0.1,
    "dent": 0.12,
    "pit mark": 0.18,
    "discoloration": 0.1,
}
HUMAN_BASE_ERROR = {
    "ok": 0.015,
    "scratch": 0.05,
    "dent": 0.06,
    "pit mark": 0.09,
    "discoloration": 0.05,
}
PHONE_MODELS = ("Nova 5", "Nova 5 Pro", "Aria X", "Pulse Mini", "Pulse 2")
PHONE_P = (0.28, 0.18, 0.2, 0.22, 0.12)
CAMERA_P = {"A": (0.5, 0.5, 0.0), "B": (0.4, 0.35, 0.25), "C": (0.15, 0.15, 0.7)}
INSPECTION_N = 1200


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _wrong_labels(truth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = []
    for t in truth:
        choices = CONFUSION[str(t)]
        out.append(str(rng.choice(list(choices), p=list(choices.values()))))
    return np.array(out, dtype=object)


def make_inspection(rng: np.random.Generator) -> pd.DataFrame:
    """Phone-defect inspection predictions: worse on factory C / cam-3, blur and glare."""
    n = INSPECTION_N
    label = rng.choice(DEFECTS, size=n, p=DEFECT_P).astype(object)
    factory = rng.choice(("A", "B", "C"), size=n, p=(0.4, 0.35, 0.25))
    line = rng.integers(1, 5, size=n)
    camera = np.array(
        [str(rng.choice(("cam-1", "cam-2", "cam-3"), p=CAMERA_P[f])) for f in factory]
    )
    phone = rng.choice(PHONE_MODELS, size=n, p=PHONE_P)
    blurry = rng.random(n) < np.where(camera == "cam-3", 0.3, 0.06)
    background = rng.choice(
        ("", "dark background", "light background"), size=n, p=(0.7, 0.15, 0.15)
    )
    reflection = rng.random(n) < np.where(phone == "Aria X", 0.3, 0.08)

    model_logit = (
        np.array([_logit(MODEL_BASE_ERROR[t]) for t in label])
        + 1.4 * blurry
        + 1.0 * reflection
        + 0.4 * (background == "dark background")
        + 0.7 * (factory == "C")
        + 0.5 * (camera == "cam-3")
    )
    human_logit = (
        np.array([_logit(HUMAN_BASE_ERROR[t]) for t in label]) + 1.0 * blurry + 0.4 * reflection
    )
    model_wrong = rng.random(n) < _sigmoid(model_logit)
    human_wrong = rng.random(n) < _sigmoid(human_logit)
    prediction = np.where(model_wrong, _wrong_labels(label, rng), label)
    human = np.where(human_wrong, _wrong_labels(label, rng), label)
    score = np.where(
        model_wrong, 0.3 + 0.65 * rng.beta(3, 3, size=n), 0.4 + 0.599 * rng.beta(7, 1.8, size=n)
    )

    tags = []
    for b, bg, r in zip(blurry, background, reflection, strict=True):
        names = (
            (["blurry"] if b else []) + ([str(bg)] if bg else []) + (["reflection"] if r else [])
        )
        tags.append(";".join(names))
    ids = [f"img-{i + 1:04d}" for i in range(n)]
    return pd.DataFrame(
        {
            "id": ids,
            "image_path": [f"images/{i}.png" for i in ids],
            "label": label,
            "prediction": prediction,
            "human_label": human,
            "score": np.round(score, 3),
            "tags": tags,
            "factory": factory,
            "line": line,
            "camera": camera,
            "phone_model": phone,
        }
    )


# =========================================================================== annotations

ANNOTATOR_ACCURACY = {"ann-1": 0.94, "ann-2": 0.92, "ann-3": 0.9, "ann-4": 0.74, "ann-5": 0.92}
ANNOTATED_ITEMS = 300
BORDERLINE_P = {"pit mark": 0.4, "ok": 0.06}  # items that look like either pit mark or ok
BORDERLINE_FLIP = 0.4


def make_annotations(rng: np.random.Generator, inspection: pd.DataFrame) -> pd.DataFrame:
    """Long-form labels by 3-5 of five annotators for a sample of inspection items."""
    labels = inspection["label"].to_numpy()
    weight = np.where(labels == "ok", 1.0, 2.0)  # audits oversample defects
    picked = np.sort(
        rng.choice(len(labels), size=ANNOTATED_ITEMS, replace=False, p=weight / weight.sum())
    )
    annotators = list(ANNOTATOR_ACCURACY)
    records = []
    for i in picked:
        truth = str(labels[i])
        borderline = rng.random() < BORDERLINE_P.get(truth, 0.0)
        k = int(rng.choice((3, 4, 5), p=(0.4, 0.35, 0.25)))
        for a in sorted(str(x) for x in rng.choice(annotators, size=k, replace=False)):
            if borderline and rng.random() < BORDERLINE_FLIP:
                given = "ok" if truth == "pit mark" else "pit mark"
            elif rng.random() > ANNOTATOR_ACCURACY[a]:
                given = str(_wrong_labels(np.array([truth]), rng)[0])
            else:
                given = truth
            records.append({"item": inspection["id"].iat[i], "annotator": a, "label": given})
    return pd.DataFrame.from_records(records)


# =========================================================================== files


def build_demo(out_dir: Path) -> dict[str, Path]:
    """Write the demo CSV files into ``out_dir``; return their paths by key.

    Keys: ``speech``, ``inspection``, ``annotations``, ``retrained`` (see :data:`FILES`).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    speech = make_speech(rng)
    inspection = make_inspection(rng)
    annotations = make_annotations(rng, inspection)
    retrained = make_retrained(rng, speech)  # last: the other files keep their random draws
    paths = {}
    for key, frame in (
        ("speech", speech),
        ("inspection", inspection),
        ("annotations", annotations),
        ("retrained", retrained),
    ):
        path = out_dir / FILES[key]
        frame.to_csv(path, index=False, lineterminator="\n")
        paths[key] = path
    return paths


def main() -> None:
    """Rewrite the demo files next to this script and print their paths."""
    for path in build_demo(HERE).values():
        print(path)


if __name__ == "__main__":
    main()
