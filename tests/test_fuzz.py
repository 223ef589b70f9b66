"""Property-based fuzzing of the loader and the analysis: the only failure is a DataError.

``test_dataset.py`` fuzzes the loader alone (random bytes, random text tables); here random
tables and random CSV files go all the way through :func:`core.analysis.analyze`, with random
mappings, task kinds, slices, bins and HLP values.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from slicewise.core.analysis import analyze
from slicewise.core.dataset import ColumnMapping, dataset_from_frame, load_dataset
from slicewise.core.errors import DataError
from slicewise.core.metrics import OVERALL
from slicewise.core.task import TASK_KINDS, TaskSpec, TextNormalization

FUZZ = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

CELLS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 12),
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.sampled_from(
        [
            "",
            " ",
            "a",
            "b",
            "A",
            "a ",
            "1",
            "1.0",
            "-1",
            "x",
            "yes",
            "no",
            "NA",
            "None",
            "true",
            "=cmd()",
            "<b>",
            "a|b;c",
            "é",
            "猫",
            "🐱",
            "two words",
            "a\nb",
            "\t",
            "0",
            "nan",
            "inf",
        ]
    ),
    st.text(max_size=6),
)


def column(n: int, cells=CELLS):
    """A column of one random kind: one pool of values, or mixed Python values."""
    pools = [
        st.lists(cells, min_size=n, max_size=n),
        st.lists(st.sampled_from(["cat", "dog", "bird"]), min_size=n, max_size=n),
        st.lists(st.integers(0, 3), min_size=n, max_size=n),
        st.lists(st.floats(-5, 5, allow_nan=False), min_size=n, max_size=n),
        st.lists(st.sampled_from(["", "x"]), min_size=n, max_size=n),
        st.lists(st.booleans(), min_size=n, max_size=n),
    ]
    return st.one_of(pools)


def series(values: list) -> pd.Series:
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    s = pd.Series(arr, dtype=object)
    try:  # let pandas pick a dtype where it can, as a reader would
        return s.infer_objects()
    except (TypeError, ValueError):
        return s


@st.composite
def tables(draw) -> pd.DataFrame:
    n = draw(st.integers(1, 30))
    names = ["label", "prediction"] + draw(
        st.lists(
            st.sampled_from(
                ["id", "human_label", "score", "noisy", "night", "device", "snr", "tags", "note"]
            ),
            max_size=5,
            unique=True,
        )
    )
    out = {}
    for c in names:
        values = draw(column(n))
        if draw(st.integers(0, 2)):  # mostly values that fit the column's role
            if c in ("label", "prediction", "human_label"):
                values = draw(
                    st.lists(
                        st.sampled_from(["a", "b", 1, 2, "1", "c d", True]), min_size=n, max_size=n
                    )
                )
            elif c == "id":
                values = draw(st.permutations([f"e{i}" for i in range(n)]))
            elif c == "score":
                values = draw(st.lists(st.floats(0, 1), min_size=n, max_size=n))
        out[c] = series(values)
    return pd.DataFrame(out)


@st.composite
def analyses(draw, labels: pd.Series | None = None) -> dict:
    kind = draw(st.sampled_from(TASK_KINDS))
    positive = None
    if kind == "binary":
        options = [] if labels is None else [str(v) for v in pd.unique(labels.dropna())[:5]]
        positive = draw(
            st.sampled_from(options * 4 + ["zzz", None])
            if options
            else st.sampled_from(["a", None])
        )
    tolerance = draw(st.none() | st.floats(0, 2)) if kind == "regression" else None
    norm = TextNormalization(lowercase=draw(st.booleans()), strip_punctuation=draw(st.booleans()))
    return {
        "task": TaskSpec(kind=kind, positive=positive, tolerance=tolerance, normalization=norm),
        "bins": draw(st.integers(2, 6)),
        "hlp": draw(
            st.dictionaries(
                st.sampled_from(["noisy", "night", "x", OVERALL]),
                st.floats(0, 1) | st.floats(-0.5, 1.5) | st.just(math.nan),
                max_size=2,
            )
        ),
    }


def check_table(table: pd.DataFrame, n: int) -> None:
    """What every analysis table must hold, whatever the input."""
    assert OVERALL in table.index
    assert int(table.loc[OVERALL, "n"]) == n
    acc = table.loc[OVERALL, "accuracy"]
    assert math.isnan(acc) or 0.0 <= acc <= 1.0
    assert (table["n"] >= 0).all() and (table["n"] <= n).all()


def run_analysis(dataset, options: dict, slice_by: list[str]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning from pandas or numpy is a bug too
        table = analyze(
            dataset,
            task=options["task"],
            slice_by=slice_by,
            bins=options["bins"],
            hlp=options["hlp"],
        )
    check_table(table, dataset.n)
    event(f"analysed ({options['task'].kind})")


@FUZZ
@given(tables(), st.data())
def test_random_tables_only_raise_data_error(df, data):
    others = [c for c in df.columns if c not in ("label", "prediction")]
    roles = {}
    if others and data.draw(st.booleans()):
        picks = data.draw(st.permutations(others))
        for role, col in zip(("id", "human", "score"), picks, strict=False):
            if data.draw(st.booleans()):
                roles[role] = col
        if data.draw(st.booleans()):
            roles["tag_columns"] = tuple(c for c in picks if c not in roles.values())[:2]
    missing = data.draw(st.sampled_from(["fail", "drop", "drop"]))
    threshold = positive = None
    if ("score" in df.columns or "score" in roles) and data.draw(st.integers(0, 2)) == 0:
        threshold = data.draw(st.floats(0, 1))
        positive = data.draw(st.sampled_from(["a", "cat", "1", "x"]))
    try:
        dataset = dataset_from_frame(
            df,
            ColumnMapping(**roles) if roles else None,
            name="t",
            missing=missing,
            threshold=threshold,
            positive=positive,
        )
        options = data.draw(analyses(dataset.frame["label"]))
        slice_by = data.draw(
            st.lists(st.sampled_from(list(dataset.frame.columns)), max_size=2, unique=True)
        )
        run_analysis(dataset, options, slice_by)
    except DataError as exc:
        assert str(exc) and "\n" not in str(exc).strip()
        event(f"DataError: {type(exc).__name__}")


CSV_CELLS = st.one_of(
    st.sampled_from(
        [
            "",
            "a",
            "b",
            "1",
            "2",
            "1.5",
            "x",
            "yes",
            "no",
            "NA",
            '"q,1"',
            "é",
            "猫",
            "=1+1",
            "-3",
            " ",
            "true",
            "two words",
        ]
    ),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=5),
)
SAFE_CELLS = st.sampled_from(
    [
        "",
        "a",
        "b",
        "1",
        "2",
        "1.5",
        "x",
        "yes",
        "NA",
        "é",
        "猫",
        "=1+1",
        "-3",
        "true",
        "two words",
        "c",
    ]
)
HEADERS = [
    "id",
    "human_label",
    "score",
    "noisy",
    "device",
    "tags",
    "y_pred",
    "target",
    "",
    "note",
    "label",
    "night",
]


@st.composite
def csv_files(draw) -> bytes:
    sep = draw(st.sampled_from([",", ";", "\t", "|"]))
    names = ["label", "prediction"] + draw(
        st.lists(st.sampled_from(HEADERS), max_size=4, unique=draw(st.integers(0, 5)) > 0)
    )
    names = draw(st.permutations(names))
    width = len(names)
    cells = SAFE_CELLS if draw(st.integers(0, 2)) else CSV_CELLS
    rows = draw(
        st.lists(
            st.lists(cells, min_size=width, max_size=width + draw(st.sampled_from([0, 0, 0, 1]))),
            min_size=draw(st.integers(0, 1)),
            max_size=15,
        )
    )
    text = "\n".join(sep.join(r) for r in [names, *rows])
    if draw(st.booleans()):
        text += "\n"
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"]))
    return text.encode(encoding, errors="replace")


@FUZZ
@given(csv_files(), st.data())
def test_random_csv_files_only_raise_data_error(raw, data):
    try:
        dataset = load_dataset(
            raw, name="fuzz.csv", missing=data.draw(st.sampled_from(["fail", "drop", "drop"]))
        )
        options = data.draw(analyses(dataset.frame["label"]))
        slice_by = data.draw(
            st.lists(st.sampled_from(list(dataset.frame.columns)), max_size=2, unique=True)
        )
        run_analysis(dataset, options, slice_by)
    except DataError as exc:
        assert str(exc) and "\n" not in str(exc).strip()
        event(f"DataError: {type(exc).__name__}")


# ----------------------------------------------------------------------------- found by fuzzing


def test_slice_names_that_clash_are_kept_apart():
    # a tag named like a column slice, and 1 and "1" in one column: a ValueError before.
    # The tag is on row 0, the column slice on rows 0 and 2: different members, two rows.
    ds = load_dataset(
        b"label,prediction,device,device = ios\na,a,ios,x\nb,a,web,\na,b,ios,\n", name="c.csv"
    )
    table = analyze(ds, slice_by=["device"])
    assert table.loc["device = ios", ["kind", "n"]].tolist() == ["tag", 1]
    assert table.loc["device = ios (2)", ["kind", "n"]].tolist() == ["column", 2]
    assert (table.loc[["device = ios", "device = ios (2)"], "same_as"] == "").all()
    # With the tag on exactly the ios rows, the two are one slice (same members), shown once
    # under the first name (tags come before column values), the other kept in same_as.
    ds = load_dataset(b"label,prediction,device,device = ios\na,a,ios,x\nb,a,web,\n", name="c.csv")
    table = analyze(ds, slice_by=["device"])
    assert "device = ios (2)" not in table.index
    assert table.loc["device = ios", ["kind", "n", "same_as"]].tolist() == [
        "tag",
        1,
        "device = ios (2)",
    ]
    mixed = pd.DataFrame(
        {"label": ["a", "b", "a"], "prediction": ["a", "a", "a"], "batch": series([1, "1", None])}
    )
    table = analyze(dataset_from_frame(mixed, ColumnMapping(tag_columns=())), slice_by=["batch"])
    # 1 and "1" are one value (core.values: a cell's type never splits a slice).
    assert table.loc[table["kind"] == "column", "n"].tolist() == [2, 1]
    assert table.index[table["kind"] == "column"][-1] == "batch = (missing)"
