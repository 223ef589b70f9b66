"""No CSV download runs a formula in a real spreadsheet, read with ``,``, ``;``, tab or ``|``.

Every CSV the app and the CLI offer is built here from small hostile fixtures through the
functions they use (the Export page's report and its "Download again", the Label
consistency downloads, the Balanced splits download, and ``slicewise analyze``,
``agreement`` and ``label-issues`` with ``--format csv``; ``slicewise tag FILE -o OUT``
writes a data file for Slicewise, exact and not neutralised: tests/test_csv_roundtrip.py).
LibreOffice (Debian's ``libreoffice-calc``) then converts all of them headless to ``.xlsx``
in one call per reading, with formula evaluation on (the worst case; token 13 of the CSV
filter options) and off, and the workbooks are read back:

- no cell of a download holds a formula (an ``<f>`` element in the sheet XML), and
- every cell has the same value with evaluation on as with it off: a formula that ran
  would show its result (``=1+1`` gives 2) where the other reading has the text.

Plain numbers in text cells (``-1.5``, ``+2``, ``-1e-3``) are left unprefixed: every
reading shows each as the number its locale reads (or as text), never as a formula, with
the same value whether formulas are evaluated or not.

Two canaries prove the check can fail in each reading: the same hostile table written by a
plain ``DataFrame.to_csv`` and by ``to_csv`` with every field quoted but nothing prefixed
must both come back with formulas.

The readings: ``,``, ``;`` (the list separator of locales with a decimal comma), and tab
and ``|`` together, all with "trim spaces" on (it turns `` =1+1`` into a formula, so it is
the worse case). Each run uses its own LibreOffice profile, so parallel runs do not clash.
Without ``soffice`` the tests are skipped, except in CI (``CI`` set), where they fail.
Measured with LibreOffice 7.4.7.2 (Debian 12).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from python_calamine import CalamineWorkbook

from slicewise.core import agreement as ag
from slicewise.core.analysis import analyze
from slicewise.core.cli import main
from slicewise.core.dataset import ColumnMapping, dataset_from_frame
from slicewise.core.report import neutralise_formula, to_csv, to_safe_csv
from slicewise.core.splits import split_dataset, splits_frame
from slicewise.core.store import Store
from slicewise.core.task import TaskSpec
from slicewise.ui import export

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
USER = "Ana"

#: Cells that a spreadsheet runs as a formula, directly or once a line is split at a
#: separator or a line break (OWASP "CSV Injection" and the issue's ``x;=1+1``), plus the
#: full-width forms, which LibreOffice does not evaluate (so the neutraliser leaves them).
ONE_LINE = [
    "=1+1",
    "x;=1+1",
    "x,=1+1",
    "a\t=1+1",
    "+1+1",
    "-1+1",
    "@SUM(1)",
    '=HYPERLINK("http://x","y")',
    "x; =1+1",
    '"x";=1+1',
    "=cmd|' /C calc'!A0",
    " =1+1",
    "x|=1+1",
    'x;"=1+1',
    "x;;=1+1",
    "\t=1+1",
    "＝1+1",
    "＋1+1",
    "＠SUM(1)",
]
#: Cells with a line break, which a reader that misjudges the quoting takes as a new row.
MULTI_LINE = ["ok\n=1+1", "ok\r\n=1+1", "ok\r=1+1", 'x"\n=1+1', "ok\n x;@SUM(1)"]
HOSTILE = ONE_LINE + MULTI_LINE
#: Text cells that are plain numbers, left unprefixed, and two that hold one after a
#: separator, with what each reading shows: en-US (``,``) reads the decimal point, German
#: (``;``, tab and ``|``) the decimal comma, so there ``-1.5`` stays text (as ``1.5`` does)
#: and ``-1,5`` is the number.
NUMBERS = [
    "-1.5",
    "+2",
    "-1e-3",
    "-.5",
    " -1.5 ",
    "-3.5",
    "1.5",
    "-1,5",
    "-1,000.5",
    "-1.000,5",
    "x;-1.5",
    "x,-2",
]
NUMBERS_READ = {
    "44": [-1.5, 2.0, -0.001, -0.5, -1.5, -3.5, 1.5, "-1,5", -1000.5, "-1.000,5", "x;-1.5", "x,-2"],
    "59": [
        "-1.5",
        2.0,
        -0.001,
        "-.5",
        " -1.5 ",
        "-3.5",
        "1.5",
        -1.5,
        "-1,000.5",
        -1000.5,
        "x;-1.5",
        "x,-2",
    ],
}
NUMBERS_READ["9/124"] = NUMBERS_READ["59"]
#: Tag names (column names of the files): a tag is a column, so these are header cells.
HOSTILE_TAGS = ["=1+1", "x;=1+1", "-1+1", "@SUM(1)"]

#: The field separators of each reading checked, as LibreOffice's ASCII codes.
READINGS = ["44", "59", "9/124"]
#: Language of each reading: en-US for ``,``, German (decimal comma, ``;`` lists) otherwise.
LANGUAGE = {"44": 1033}
CANARIES = ("canary_plain_to_csv", "canary_quoted_not_prefixed")
XLSX_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def filter_options(separators: str, *, evaluate: bool) -> str:
    """Return LibreOffice's CSV import options (help page "CSV Filter Options").

    Tokens: 1 field separators, 2 text delimiter ``"`` (34), 3 character set UTF-8 (76),
    4 first line 1, 5 column formats (none: detected), 6 language, 7 quoted field as text
    (false: quoted formulas are read as formulas), 8 detect special numbers, 9-10 export
    only, 11 trim spaces (true: `` =1+1`` becomes ``=1+1``, so every formula of the
    untrimmed reading is one here too), 12 sheet (export only), 13 evaluate formulas.
    """
    language = LANGUAGE.get(separators, 1031)
    return (
        f"CSV:{separators},34,76,1,,{language},false,true,false,false,true,0,"
        f"{str(evaluate).lower()}"
    )


# ----------------------------------------------------------------------------- the files


def hostile_frame() -> pd.DataFrame:
    """A classification table whose ids, labels, predictions, slice values and tags are hostile."""
    n = len(HOSTILE)
    frame = pd.DataFrame(
        {
            "id": [f"{cell}#{i}" for i, cell in enumerate(HOSTILE)],  # ids are unique
            "label": HOSTILE,
            "prediction": HOSTILE[1:] + HOSTILE[:1],
            "camera": HOSTILE,
            "score": [-0.25 * i for i in range(n)],
        }
    )
    for j, tag in enumerate(HOSTILE_TAGS):
        frame[tag] = [(i + j) % 2 == 0 for i in range(n)]
    return frame


def cli(*args: object) -> str:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.stdout_bytes.decode("utf-8")  # .stdout turns CRLF into LF


def build_downloads(folder: Path) -> dict[str, str]:
    """Return every CSV download's text by name, built the way the app and the CLI build it."""
    frame = hostile_frame()
    one_line = frame[frame["label"].isin(ONE_LINE)]  # the file reader keeps one row a line
    dataset = dataset_from_frame(
        frame, ColumnMapping(tag_columns=tuple(HOSTILE_TAGS)), name="hostile.csv"
    )
    table = analyze(dataset, slice_by=["camera"])
    predictions = folder / "predictions.csv"
    one_line.to_csv(predictions, index=False)

    labels = pd.DataFrame(
        {
            "item": [f"{c}#{i // 2}" for i, c in enumerate(h for h in HOSTILE for _ in (0, 1))],
            "annotator": ["=a", "x;=b"] * len(HOSTILE),
            "label": [v for h in HOSTILE for v in (h, h.upper())],
        }
    )
    annotations = folder / "annotations.csv"
    labels[labels["label"].isin([*ONE_LINE, *(h.upper() for h in ONE_LINE)])].to_csv(
        annotations, index=False
    )
    cleaned, log = ag.apply_rules(labels, [ag.NormalizeText(lowercase=True)])
    cleaned_csv, log_csv = ag.changelog_csv(cleaned, log)

    classes = ["=1+1", "x;=1+1", "@SUM(1)"]
    rows = [
        {
            "id": f"-{i};=1+1",
            "label": classes[(i + (i in (0, 4))) % 3],
            "prediction": classes[i % 3],
            **{f"prob_{c}": 0.9 if c == classes[i % 3] else 0.05 for c in classes},
        }
        for i in range(12)
    ]
    probabilities = folder / "probabilities.csv"
    pd.DataFrame(rows).to_csv(probabilities, index=False)

    with Store(folder / "slicewise.db") as store:
        project = store.get_or_create_project("=1+1", user=USER)
        dataset_id = store.save_dataset(project, "x;=1+1", dataset, task=TaskSpec(), user=USER)
        # a report saved the old way: unquoted, apostrophes only at cell starts
        old = frame.assign(
            label=frame["label"].map(
                lambda v: "'" + v if v.startswith(("=", "+", "-", "@", "\t", "\r")) else v
            )
        )
        report_id = store.save_report(
            dataset_id, "csv", "old.csv", old.to_csv(index=False, lineterminator="\r\n"), user=USER
        )
        saved_again = export.saved_content(store, report_id, "csv")
        set_id = store.save_annotation_set(
            project,
            "labels",
            labels,
            source_name="labels.csv",
            content_hash=hashlib.sha256(labels.to_csv().encode()).hexdigest(),
            user=USER,
        )
        for i, cell in enumerate(HOSTILE[:8]):
            store.save_review_decision(
                set_id, f"{cell}#{i}", decision=HOSTILE[-1 - i], note=HOSTILE[i + 8], user=USER
            )
        decisions = store.review_decisions(set_id)

    return {
        "export_page_report": to_csv(table),
        "export_page_download_again": saved_again,
        "cli_analyze": cli("analyze", predictions, "--slice-by", "camera", "--format", "csv"),
        "cli_agreement": cli("agreement", annotations, "--format", "csv"),
        "cli_label_issues": cli("label-issues", probabilities, "--format", "csv"),
        "label_consistency_cleaned_labels": cleaned_csv,
        "label_consistency_change_log": log_csv,
        "label_consistency_review_decisions": to_safe_csv(decisions),
        "label_consistency_final_labels": ag.final_labels_csv(labels, decisions),
        "balanced_splits": to_safe_csv(splits_frame(dataset, split_dataset(dataset))),
        "to_safe_csv_cells": to_safe_csv(pd.DataFrame({"cell": HOSTILE, "n": range(len(HOSTILE))})),
        # one column, so that every reading reads each cell whole
        "to_safe_csv_numbers": to_safe_csv(pd.DataFrame({"number": NUMBERS})),
        # canaries: the same cells without the neutraliser must run in every reading
        "canary_plain_to_csv": frame.to_csv(index=False, lineterminator="\r\n"),
        "canary_quoted_not_prefixed": frame.to_csv(
            index=False, lineterminator="\r\n", quoting=csv.QUOTE_ALL
        ),
    }


# ----------------------------------------------------------------------------- LibreOffice


@pytest.fixture(scope="module")
def soffice() -> str:
    if SOFFICE is None:
        if os.environ.get("CI"):
            pytest.fail("soffice is missing: CI must install Debian's libreoffice-calc")
        pytest.skip("LibreOffice is not installed (apt-get install libreoffice-calc)")
    return SOFFICE


@pytest.fixture(scope="module")
def downloads(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    folder = tmp_path_factory.mktemp("csv_downloads")
    texts = build_downloads(tmp_path_factory.mktemp("csv_inputs"))
    for name, text in texts.items():
        (folder / f"{name}.csv").write_bytes(text.encode("utf-8"))
    return folder, texts


@pytest.fixture(scope="module")
def convert(soffice, downloads, tmp_path_factory) -> Callable[[str], dict[str, Path]]:
    """Convert every download with the given filter options (once each); name -> .xlsx."""
    folder, texts = downloads
    profile = tmp_path_factory.mktemp("lo_profile")  # per run: parallel runs do not clash
    done: dict[str, dict[str, Path]] = {}

    def run(options: str) -> dict[str, Path]:
        if options not in done:
            out = tmp_path_factory.mktemp("xlsx")
            proc = subprocess.run(
                [
                    soffice,
                    f"-env:UserInstallation={profile.as_uri()}",
                    "--headless",
                    f"--infilter={options}",
                    "--convert-to",
                    "xlsx",
                    "--outdir",
                    str(out),
                    *(str(folder / f"{name}.csv") for name in texts),
                ],
                capture_output=True,
                text=True,
                timeout=300,
            )
            made = {name: out / f"{name}.xlsx" for name in texts}
            missing = [n for n, p in made.items() if not p.exists()]
            assert proc.returncode == 0 and not missing, (missing, proc.stdout, proc.stderr)
            done[options] = made
        return done[options]

    return run


def formulas(xlsx: Path) -> list[str]:
    """Return the formulas of every sheet of ``xlsx`` (the text of its ``<f>`` elements)."""
    with zipfile.ZipFile(xlsx) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        return [
            f.text or "" for n in sheets for f in ET.fromstring(z.read(n)).iter(f"{XLSX_MAIN}f")
        ]


def values(xlsx: Path) -> list[list[object]]:
    return CalamineWorkbook.from_path(str(xlsx)).get_sheet_by_index(0).to_python()


@pytest.mark.parametrize("separators", READINGS, ids=[f"sep{s}" for s in READINGS])
def test_no_download_evaluates_a_formula(convert, separators):
    on = convert(filter_options(separators, evaluate=True))
    off = convert(filter_options(separators, evaluate=False))
    for canary in CANARIES:  # the reading does evaluate formulas: the check can fail
        assert formulas(on[canary]), f"{canary}: no formula ran; the check is blind"
        assert not formulas(off[canary])
    failures = {
        name: formulas(path) for name, path in on.items() if name not in CANARIES and formulas(path)
    }
    assert failures == {}
    changed = [
        name for name in on if name not in CANARIES and values(on[name]) != values(off[name])
    ]
    assert changed == []


def test_a_comma_reading_gets_every_cell_back_as_the_neutralised_text(convert):
    cells = values(convert(filter_options("44", evaluate=True))["to_safe_csv_cells"])
    assert cells[0] == ["cell", "n"]
    back = [row[0] for row in cells[1:]]
    expected = [neutralise_formula(c).replace("\r\n", "\n").replace("\r", "\n") for c in HOSTILE]
    assert back == expected
    assert [row[1] for row in cells[1:]] == [float(i) for i in range(len(HOSTILE))]  # numbers


@pytest.mark.parametrize("separators", READINGS, ids=[f"sep{s}" for s in READINGS])
def test_a_plain_number_in_a_text_cell_is_read_as_a_number_not_a_formula(
    convert, downloads, separators
):
    _, texts = downloads
    assert texts["to_safe_csv_numbers"].startswith('"number"\r\n"-1.5"\r\n"+2"\r\n')
    for evaluate in (True, False):
        xlsx = convert(filter_options(separators, evaluate=evaluate))["to_safe_csv_numbers"]
        assert formulas(xlsx) == []
        assert values(xlsx) == [["number"], *([v] for v in NUMBERS_READ[separators])]


def test_every_download_is_quoted_and_neutralised_in_python(downloads):
    _, texts = downloads
    for name, text in texts.items():
        if name in CANARIES:
            continue
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
        assert rows and all(len(r) == len(rows[0]) for r in rows), name
        assert text.startswith('"') and '\r\n"' in text, name  # every field quoted
        assert all(
            neutralise_formula(cell) == cell for row in rows for cell in row if not _is_number(cell)
        ), name


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True
