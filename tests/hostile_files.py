"""The bad-input battery: malformed and hostile prediction files, made on demand.

Each :class:`Case` builds its file's bytes (nothing is committed; tests write them into
temporary folders) and says what Slicewise must do with it: ``"error"`` — one clear message
containing ``message`` (exit code 2 in the CLI, ``st.error`` in the app) — or ``"ok"`` — a
correct analysis whose headline numbers are in ``numbers``.

``numbers`` holds ``n`` (examples), ``accuracy`` and optionally ``slices`` ({slice name: n})
and ``absent`` (names that must *not* be slices).
"""

from __future__ import annotations

import codecs
import gzip
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

#: The upload limit used by the app tests of the over-limit case (MB); the case's file is
#: a bit larger. The real limit (.streamlit/config.toml) is far larger and is read the same way.
TEST_UPLOAD_LIMIT_MB = 1


@dataclass(frozen=True)
class Case:
    """One file of the battery."""

    name: str
    make_bytes: Callable[[], bytes]
    expected: str  # "error" | "ok"
    message: str = ""  # a substring of the error message ("" for ok)
    numbers: dict[str, Any] = field(default_factory=dict)
    channels: tuple[str, ...] = ("cli", "app")


def text(content: str, encoding: str = "utf-8") -> Callable[[], bytes]:
    """A maker for ``content`` encoded as ``encoding``."""
    return lambda: content.encode(encoding)


def raw(content: bytes) -> Callable[[], bytes]:
    """A maker for fixed bytes."""
    return lambda: content


def table(rows: list[tuple], header: tuple) -> str:
    """Plain CSV text (no quoting) from rows."""
    return "\n".join(",".join(map(str, r)) for r in [header, *rows]) + "\n"


def parquet(frame: pd.DataFrame) -> bytes:
    """``frame`` as Parquet bytes."""
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


# --------------------------------------------------------------------------- the big files


def many_classes() -> bytes:
    """10,000 distinct classes, two rows each: the first right, the second wrong."""
    n = 10_000
    labels = [f"class_{i:05d}" for i in range(n)]
    wrong = labels[1:] + labels[:1]
    df = pd.DataFrame({"id": range(2 * n), "label": labels + labels, "prediction": labels + wrong})
    return df.to_csv(index=False).encode()


def many_tags() -> bytes:
    """200 rows and 500 yes/blank tag columns: tag k marks the rows where row % 50 == k % 50."""
    rows = 200
    idx = np.arange(rows)
    data = {"id": idx, "label": np.where(idx % 4 == 0, "b", "a"), "prediction": np.full(rows, "a")}
    for k in range(500):
        data[f"tag_{k:03d}"] = np.where(idx % 50 == k % 50, "x", "")
    return pd.DataFrame(data).to_csv(index=False).encode()


def long_cells() -> bytes:
    """Three rows; a 1 MB label (predicted right), a 1 MB note and a 1 MB wrong prediction."""
    mb = 1_000_000
    big_label = "word " * (mb // 5)
    rows = [
        ("1", big_label.strip(), big_label.strip(), "short"),
        ("2", "cat", "dog", "n" * mb),
        ("3", "cat", "c" * mb, "short"),
    ]
    return table(rows, ("id", "label", "prediction", "note")).encode()


def over_limit() -> bytes:
    """A valid file a bit over :data:`TEST_UPLOAD_LIMIT_MB`."""
    n = 60_000
    df = pd.DataFrame(
        {
            "id": range(n),
            "label": ["cat", "dog"] * (n // 2),
            "prediction": ["cat"] * n,
            "note": ["padding text"] * n,
        }
    )
    data = df.to_csv(index=False).encode()
    assert len(data) > TEST_UPLOAD_LIMIT_MB * 1024 * 1024
    return data


def binary_noise() -> bytes:
    return np.random.default_rng(6).integers(0, 256, 8192, dtype=np.uint8).tobytes()


def utf16_no_bom() -> bytes:
    return "label,prediction\ncat,cat\ndog,cat\n".encode("utf-16-le")


def mixed_encodings() -> bytes:
    """UTF-8 rows and a latin-1 row in one file; every row is consistent with itself."""
    return (
        b"label,prediction\n"
        + "café,café\n".encode()
        + "thé,café\n".encode("latin-1")
        + b"tea,tea\n"
    )


def numbers_frame(as_text: bool) -> pd.DataFrame:
    labels = [1, 2, 3, 1, 2, 3, 10, 2]
    preds = [1, 2, 1, 1, 3, 3, 10, 2]
    noisy = [True, False, True, False, True, False, False, True]
    conv = (lambda v: [str(x) for x in v]) if as_text else (lambda v: v)
    return pd.DataFrame(
        {"id": range(8), "label": conv(labels), "prediction": conv(preds), "noisy": noisy}
    )


NUMBERS_RESULT = {"n": 8, "accuracy": 6 / 8, "slices": {"noisy": 4}}


def unicode_labels() -> bytes:
    rows = [
        ("گربه", "گربه", "x"),  # Persian: cat
        ("سگ", "گربه", "x"),  # dog, predicted cat
        ("猫", "猫", ""),
        ("狗", "猫", ""),
        ("🐱", "🐱", "x"),
        ("🐶", "🐶", ""),
        ("👩🏽‍💻", "👩🏽‍💻", ""),  # a ZWJ emoji sequence
    ]
    return table(rows, ("label", "prediction", "نویز")).encode()


def hostile_strings() -> bytes:
    df = pd.DataFrame(
        {
            "id": ["=1+1", "@SUM(A1)", "<b>x</b>", "-3", "+5", "\tx"],
            "label": ["=cmd|' /C calc'!A0", "<script>alert(1)</script>", "a|b", "a|b", "-1", "x"],
            "prediction": ["=cmd|' /C calc'!A0", "b", "a|b", "c", "-1", "x"],
            '=HYPERLINK("http://x")': ["x", "", "x", "", "", ""],
            "<img src=x onerror=alert(1)>": ["", "x", "", "x", "", ""],
        }
    )
    return df.to_csv(index=False).encode()


# --------------------------------------------------------------------------- the battery

CASES: list[Case] = [
    # ---- not a table at all
    Case("empty.csv", raw(b""), "error", "empty"),
    Case("blank_lines.csv", raw(b"\n  \r\n\t\n"), "error", "empty"),
    Case("header_only.csv", text("id,label,prediction\n"), "error", "no data rows"),
    Case("no_header.csv", text("1,0\n0,0\n1,1\n"), "error", "looks like data"),
    Case("binary_noise.csv", binary_noise, "error", "binary data"),
    Case(
        "nul_bytes.csv",
        raw(b"label,prediction\n\x00\x00\x01\x02a,\x00b\n" * 20),
        "error",
        "binary data",
    ),
    Case("workbook.csv", raw(b"PK\x03\x04\x14\x00\x06\x00" + bytes(300)), "error", "Excel"),
    Case(
        "compressed.csv",
        lambda: gzip.compress(b"label,prediction\na,a\nb,a\n"),
        "ok",
        numbers={"n": 2, "accuracy": 0.5},
    ),  # read by content (core.formats), not by name
    Case(
        "truncated.csv.gz",
        lambda: gzip.compress(b"label,prediction\na,a\n" * 50)[:-9],
        "error",
        "cannot be decompressed",
    ),
    Case("document.csv", raw(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"), "error", "PDF"),
    Case("picture.csv", raw(b"\x89PNG\r\n\x1a\n" + bytes(100)), "error", "PNG"),
    Case("damaged.parquet", raw(b"PAR1" + bytes(64) + b"PAR1"), "error", "not a readable Parquet"),
    Case("text.parquet", text("label,prediction\na,a\n"), "error", "not one"),
    # ---- delimiters and quoting
    Case("semicolons.tsv", text("label;prediction\na;a\nb;a\n"), "error", "semicolon"),
    Case(
        "mixed_delimiters.csv", text("label,prediction\na;a\nb;b\n"), "error", "semicolon-delimited"
    ),
    Case(
        "ragged_rows.csv", text("label,prediction,device\na,a,ios\nb,b\n"), "error", "line 3 has 2"
    ),
    Case("unclosed_quote.csv", text('label,prediction\n"a,a\nb,b\n'), "error", "never closed"),
    # ---- encodings
    Case(
        "bom_then_latin1.csv",
        raw(codecs.BOM_UTF8 + "label,prediction\ncafé,x\n".encode("latin-1")),
        "error",
        "byte-order mark",
    ),
    Case(
        "utf16_bom_broken.csv",
        raw(codecs.BOM_UTF16_LE + "label,prediction\n".encode("utf-16-le") + b"\x00\xd8a\x00"),
        "error",
        "byte-order mark",
    ),
    # ---- column names
    Case(
        "duplicate_columns.csv", text("label,prediction,label\na,a,b\n"), "error", "appears twice"
    ),
    Case("blank_column_name.csv", text("label,,prediction\na,x,a\n"), "error", "no name"),
    # A delimiter at the end of every line: the nameless, empty third column is left out.
    Case(
        "trailing_delimiter.csv",
        text("label,prediction,\na,a,\nb,a,\n"),
        "ok",
        numbers={"n": 2, "accuracy": 0.5},
    ),
    Case("no_label_column.csv", text("truth_value,prediction\na,a\n"), "error", "no label column"),
    # ---- values
    Case(
        "duplicate_ids.csv", text("id,label,prediction\n7,a,a\n8,b,b\n7,c,c\n"), "error", "repeats"
    ),
    Case(
        "labels_all_missing.csv",
        text("id,label,prediction\n1,,a\n2,,b\n3, ,c\n"),
        "error",
        "empty in every row",
    ),
    # NA is a value (a class, North America), not a blank: only rows 2 and 3 miss a label.
    Case(
        "labels_na_is_a_class.csv",
        text("id,label,prediction\n1,,a\n2,,b\n3,NA,c\n"),
        "error",
        "missing in 2 of 3 rows",
    ),
    Case(
        "predictions_all_missing.csv",
        text("id,label,prediction\n1,a,\n2,b, \n"),
        "error",
        "empty in every row",
    ),
    Case(
        "some_labels_missing.csv",
        text("label,prediction\na,a\n,b\nc,c\n"),
        "error",
        "missing in 1 of 3 rows",
    ),
    # ---- valid files, awkward shapes
    Case(
        "one_row.csv", text("label,prediction\ncat,cat\n"), "ok", numbers={"n": 1, "accuracy": 1.0}
    ),
    Case(
        "semicolons.csv",
        text("label;prediction;noisy\na;a;x\nb;a;x\nb;b;\n"),
        "ok",
        numbers={"n": 3, "accuracy": 2 / 3, "slices": {"noisy": 2}},
    ),
    Case(
        "crlf.csv",
        text("label,prediction\r\na,a\r\nb,a\r\n\r\n"),
        "ok",
        numbers={"n": 2, "accuracy": 0.5},
    ),
    Case(
        "quoted_newlines.csv",
        text('id,label,prediction,note\n1,"a, b","a, b","two\nlines"\n2,"say ""hi""",hi,""\n'),
        "ok",
        numbers={"n": 2, "accuracy": 0.5},
    ),
    Case(
        "latin1.csv",
        text("label,prediction\ncafé,café\nthé,café\nœuf,œuf\n", "cp1252"),
        "ok",
        numbers={"n": 3, "accuracy": 2 / 3},
    ),
    Case(
        "utf8_bom.csv",
        lambda: codecs.BOM_UTF8 + "label,prediction\né,é\nè,é\n".encode(),
        "ok",
        numbers={"n": 2, "accuracy": 0.5},
    ),
    Case(
        "utf16_bom.csv",
        text("label,prediction,noisy\nα,α,1\nβ,α,0\nγ,γ,1\n", "utf-16"),
        "ok",
        numbers={"n": 3, "accuracy": 2 / 3, "slices": {"noisy": 2}},
    ),
    Case("utf16_no_bom.csv", utf16_no_bom, "ok", numbers={"n": 2, "accuracy": 0.5}),
    Case("mixed_encodings.csv", mixed_encodings, "ok", numbers={"n": 3, "accuracy": 2 / 3}),
    Case(
        "mixed_types.csv",
        text(
            "id,label,prediction,snr,device\n1,1,1,3.5,ios\n2,cat,cat,n/a,7\n"
            "3,2,2,loud,\n4,cat,1,12,web\n"
        ),
        "ok",
        numbers={"n": 4, "accuracy": 0.75},
    ),
    Case("ten_thousand_classes.csv", many_classes, "ok", numbers={"n": 20_000, "accuracy": 0.5}),
    Case(
        "five_hundred_tags.csv",
        many_tags,
        "ok",
        numbers={"n": 200, "accuracy": 0.75, "slices": {"tag_000": 4, "tag_499": 4}},
    ),
    Case("one_megabyte_cells.csv", long_cells, "ok", numbers={"n": 3, "accuracy": 1 / 3}),
    Case(
        "unicode_labels.csv",
        unicode_labels,
        "ok",
        numbers={"n": 7, "accuracy": 5 / 7, "slices": {"نویز": 3}},
    ),
    Case(
        "perfect_model.csv",
        text(
            "id,label,prediction,noisy\n"
            + "".join(f"{i},c{i % 3},c{i % 3},{i % 2}\n" for i in range(30))
        ),
        "ok",
        numbers={"n": 30, "accuracy": 1.0, "slices": {"noisy": 15}},
    ),
    Case(
        "all_wrong.csv",
        text(
            "id,label,prediction,noisy\n"
            + "".join(f"{i},c{i % 3},c{(i + 1) % 3},{i % 2}\n" for i in range(30))
        ),
        "ok",
        numbers={"n": 30, "accuracy": 0.0, "slices": {"noisy": 15}},
    ),
    Case(
        "tag_values_not_yes_no.csv",
        text(
            "label,prediction,weather,noisy\na,a,sunny,yes\nb,a,rain,no\nb,b,maybe,yes\n"
            "a,b,yes,no\n"
        ),
        "ok",
        numbers={"n": 4, "accuracy": 0.5, "slices": {"noisy": 2}, "absent": ["weather"]},
    ),
    Case(
        "numeric_labels_as_numbers.parquet",
        lambda: parquet(numbers_frame(False)),
        "ok",
        numbers=NUMBERS_RESULT,
    ),
    Case(
        "numeric_labels_as_text.parquet",
        lambda: parquet(numbers_frame(True)),
        "ok",
        numbers=NUMBERS_RESULT,
    ),
    Case(
        "numeric_labels_as_floats.csv",
        lambda: (
            numbers_frame(False)
            .astype({"label": float, "prediction": float})
            .to_csv(index=False)
            .encode()
        ),
        "ok",
        numbers=NUMBERS_RESULT,
    ),
    Case(
        "formulas_and_markup.csv",
        hostile_strings,
        "ok",
        numbers={
            "n": 6,
            "accuracy": 4 / 6,
            "slices": {'=HYPERLINK("http://x")': 2, "<img src=x onerror=alert(1)>": 2},
        },
    ),
    Case(
        "padded_names.parquet",
        lambda: parquet(
            pd.DataFrame(
                {
                    " label ": ["a", "b", "a"],
                    "prediction ": ["a", "a", "a"],
                    " night ": [True, False, True],
                }
            )
        ),
        "ok",
        numbers={"n": 3, "accuracy": 2 / 3, "slices": {"night": 2}},
    ),
    Case(
        "names_clash_when_stripped.parquet",
        lambda: parquet(pd.DataFrame({"label": ["a"], " label": ["b"], "prediction": ["a"]})),
        "error",
        "appears twice",
    ),
    # ---- the upload limit (the CLI has none: it is the way in for files too big to upload)
    Case("over_upload_limit.csv", over_limit, "error", "upload limit", channels=("app",)),
    Case(
        "over_upload_limit.csv",
        over_limit,
        "ok",
        numbers={"n": 60_000, "accuracy": 0.5},
        channels=("cli",),
    ),
]

#: Pairs of files holding the same data in two forms: their results must be identical.
SAME_RESULTS = [
    ("numeric_labels_as_numbers.parquet", "numeric_labels_as_text.parquet"),
    ("numeric_labels_as_numbers.parquet", "numeric_labels_as_floats.csv"),
]


def params(channel: str) -> list[Any]:
    """``pytest.param(name, make_bytes, expected, message, numbers)`` for one channel."""
    return [
        pytest.param(c.name, c.make_bytes, c.expected, c.message, c.numbers, id=c.name)
        for c in CASES
        if channel in c.channels
    ]


def write_all(folder: Path, channel: str) -> dict[str, Path]:
    """Write every file of ``channel`` into ``folder``; return {name: path}."""
    out = {}
    for case in CASES:
        if channel in case.channels:
            path = folder / case.name
            path.write_bytes(case.make_bytes())
            out[case.name] = path
    return out


def summary_from_json(report: dict[str, Any]) -> dict[str, Any]:
    """The headline numbers of a ``--format json`` report: n, accuracy and slice sizes."""
    slices = {}
    for s in report["slices"]:  # a slice shown once names the others with its examples
        for name in [s["name"], *filter(None, (s.get("same_as") or "").split("; "))]:
            slices[name] = s["n"]
    return {
        "n": report["overall"]["n"],
        "accuracy": report["overall"]["accuracy"],
        "slices": slices,
    }


def summary_from_table(table: pd.DataFrame) -> dict[str, Any]:
    """The same numbers from :func:`core.analysis.analyze`'s table."""
    from slicewise.core.metrics import OVERALL

    overall = table.loc[OVERALL]
    same = table["same_as"] if "same_as" in table.columns else pd.Series("", table.index)
    slices = {}
    for k, v in table["n"].items():
        if k != OVERALL:
            for name in [str(k), *filter(None, str(same[k]).split("; "))]:
                slices[name] = int(v)
    return {"n": int(overall["n"]), "accuracy": float(overall["accuracy"]), "slices": slices}


def check_numbers(got: dict[str, Any], numbers: dict[str, Any]) -> None:
    """Assert a summary matches a case's expected numbers."""
    assert got["n"] == numbers["n"], got
    assert got["accuracy"] == pytest.approx(numbers["accuracy"]), got
    for name, n in numbers.get("slices", {}).items():
        assert got["slices"].get(name) == n, (name, got["slices"].get(name))
    for name in numbers.get("absent", ()):
        assert name not in got["slices"], name
