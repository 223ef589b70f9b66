"""Nothing harmful gets through: safe exports, no evaluated user text, no path traversal.

The report writers' unit tests (``neutralise_formula``, escaping, ``report_filename``) are in
``test_report.py``; here every export *path* is checked end to end — the CLI's formats and
the app's downloads — with hostile labels, tags, file names and dataset names.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from hostile_files import hostile_strings
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from slicewise.core import agreement as ag
from slicewise.core.dataset import ColumnMapping, dataset_from_frame, load_dataset
from slicewise.core.report import neutralise_frame, to_safe_csv
from slicewise.core.store import Store
from slicewise.core.task import TaskSpec
from slicewise.ui.tagging import OPERATORS, rule_mask

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 60
USER = "Ana"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"


# ----------------------------------------------------------------------------- helpers


def run_cli(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "slicewise.core.cli", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_csv_is_safe(text: str) -> list[list[str]]:
    """No cell a spreadsheet would run: formula-like cells must be plain numbers."""
    rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    assert rows, "empty CSV"
    for row in rows:
        for cell in row:
            if cell.startswith(FORMULA_START):
                float(cell)  # "-0.25" is a number, "-1+cmd|..." is not and raises
    return rows


class Page(HTMLParser):
    """Tag names, attributes and text of an HTML page (entities decoded)."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self._script = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._script = tag == "script"

    def handle_endtag(self, tag):
        self._script = False

    def handle_data(self, data):
        if not self._script:
            self.text.append(data)


#: The elements the HTML report itself writes (core.report.to_html): the page, headings,
#: the headline as a definition list, lists, the tables (an interval on a second line in a
#: span), and the inline SVG chart. No script, image, link, frame, form or embed.
REPORT_TAGS = {
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "h1",
    "h2",
    "h3",
    "p",
    "ul",
    "ol",
    "li",
    "dl",
    "dt",
    "dd",
    "div",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "br",
    "span",
    "svg",
    "g",
    "rect",
    "line",
    "text",
}
#: Attributes that load, link or style from outside, never on a report's element.
FETCHING_ATTRIBUTES = {
    "href",
    "xlink:href",
    "src",
    "srcset",
    "srcdoc",
    "action",
    "formaction",
    "style",
    "background",
    "data",
}


def assert_html_is_safe(page: str, must_show: list[str]) -> None:
    """Only the report's own elements; hostile strings appear as text, not as markup."""
    parsed = Page(page)
    names = {t for t, _ in parsed.tags}
    assert names <= REPORT_TAGS, names - REPORT_TAGS
    assert not names & {
        "script",
        "img",
        "image",
        "a",
        "iframe",
        "object",
        "embed",
        "use",
        "foreignobject",
        "form",
        "input",
        "link",
        "base",
    }
    for tag, attrs in parsed.tags:
        assert not any(a.lower().startswith("on") for a in attrs), (tag, attrs)
        assert not {a.lower() for a in attrs} & FETCHING_ATTRIBUTES, (tag, attrs)
    text = "".join(parsed.text)
    for s in must_show:
        assert s in text, s
    # the report holds no script at all (it opens offline, its chart is inline SVG), so no
    # user string can open or end one
    assert "<script" not in page.lower() and "</script" not in page.lower()


def pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


def markdown_tables(md: str) -> list[list[str]]:
    """The report's tables: runs of consecutive lines that start with a pipe."""
    tables: list[list[str]] = []
    run: list[str] = []
    for line in [*md.splitlines(), ""]:
        if line.startswith("|"):
            run.append(line)
        elif run:
            tables.append(run)
            run = []
    return tables


def assert_markdown_table_is_intact(md: str) -> list[str]:
    """Every table (slices, per class, confusion matrix...) keeps its header's cell count.

    A pipe or newline in a user string that escaped the escaping would add a cell to a row
    or cut a table in two (the second part then lacks its header and separator row).
    Returns the rows of all tables.
    """
    tables = markdown_tables(md)
    assert tables, md
    for rows in tables:
        assert len(rows) >= 3, rows  # header, separator, at least one row
        assert set(rows[1]) <= set("|-: "), rows[:2]  # the separator follows the header
        assert {pipes(r) for r in rows} == {pipes(rows[0])}, rows
    return [r for rows in tables for r in rows]


# ----------------------------------------------------------------------------- no eval


SOURCE_DIRS = ("core", "ui", "pages")
FORBIDDEN = re.compile(r"\beval\(|\bexec\(|\.query\(|\bpd\.eval\b|\.eval\(|__import__\(")


def test_no_code_evaluation_anywhere_in_the_app_or_core():
    files = [ROOT / "app.py", *(p for d in SOURCE_DIRS for p in (ROOT / d).rglob("*.py"))]
    assert len(files) > 20
    found = [
        f"{p.relative_to(ROOT)}:{i}: {line.strip()}"
        for p in files
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if FORBIDDEN.search(line)
    ]
    assert found == []


def test_every_csv_the_app_offers_is_written_by_the_safe_writer():
    # A download built with a plain DataFrame.to_csv skips the formula neutralising.
    try:
        listed = subprocess.run(
            ["git", "ls-files", *SOURCE_DIRS], cwd=ROOT, text=True, capture_output=True, check=True
        ).stdout.split()
        files = [ROOT / f for f in listed if f.endswith(".py")]
    except (OSError, subprocess.CalledProcessError):
        files = [p for d in SOURCE_DIRS for p in (ROOT / d).rglob("*.py")]
    found = [
        f"{p.relative_to(ROOT)}:{i}: {line.strip()}"
        for p in files
        if p.parts[-2] in ("ui", "pages")
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if ".to_csv(" in line
    ]
    assert found == [], "use core.report.to_safe_csv for every CSV the app offers"


PAYLOAD = "__import__('os').system('touch {marker}')"


@pytest.fixture
def payload(tmp_path, monkeypatch) -> tuple[str, Path]:
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "pwned"
    return PAYLOAD.format(marker=marker), marker


@pytest.mark.parametrize("op", OPERATORS)
def test_a_rule_value_that_is_code_only_matches_literally(payload, op):
    text, marker = payload
    cells = [text, f"  {text} ", f"x{text}", "other", None, "__import__"]
    hit = rule_mask(pd.Series(cells, name="note"), op, text)
    assert not marker.exists()
    literal = {
        "==": [True, True, False, False, False, False],
        "!=": [False, False, True, True, False, True],
        "contains": [True, True, True, False, False, False],
        "regex": [v is not None and re.search(text, v, re.I) is not None for v in cells],
    }
    if op in literal:
        assert hit.tolist() == literal[op]


# ----------------------------------------------------------------------------- the app


@pytest.fixture
def fresh(tmp_path, monkeypatch) -> Path:
    db = tmp_path / "app" / "slicewise.db"
    monkeypatch.setenv("SLICEWISE_DB", str(db))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield db
    st.cache_data.clear()
    st.cache_resource.clear()


class Downloads(MemoryMediaFileStorage):
    """Keeps every AppTest media store, to read the bytes a download button offers."""

    made: list[MemoryMediaFileStorage] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        Downloads.made.append(self)


@pytest.fixture
def downloads(monkeypatch):
    import streamlit.testing.v1.app_test as app_test

    Downloads.made = []
    monkeypatch.setattr(app_test, "MemoryMediaFileStorage", Downloads)

    def read(button) -> tuple[str, bytes]:
        file_id = button.proto.url.rsplit("/", 1)[-1]
        media = Downloads.made[-1].get_file(file_id.split(".")[0])
        return media.filename, media.content

    return read


HOSTILE_TAGS = ['=HYPERLINK("http://x","y")', IMG, "a|b\nc", "d\re\u2028f", "@risk", "+1", "-2"]
#: A tag with exactly the examples of IMG's tag: shown once, in IMG's ``same_as``.
SAME_TAG = "=SUM(1)|<b>x</b>"


def hostile_dataset(payload_text: str = "plain") -> pd.DataFrame:
    """Six rows with hostile ids, labels, a note and hostile tags.

    Tag k is on the rows i with (i + k) % 7 < 3, so every hostile tag has its own examples
    (k = 0..6: rows 012, 01, 05, 45, 345, 234, 123) and stays a row of its own in a report
    (slices with the same examples are shown once); :data:`SAME_TAG` repeats IMG's rows 0, 1.
    """
    return pd.DataFrame(
        {
            "id": ["=1+1", "@x", "e3", "e4", "e5", "e6"],
            "label": ["=cmd|' /C calc'!A0", SCRIPT, "a|b", "x", "-1+1", "\tx"],
            "prediction": ["=cmd|' /C calc'!A0", "b", "a|b", "y", "-1+1", "\tx"],
            "note": [payload_text, f" {payload_text}", f"x{payload_text}", "other", None, "o"],
            **{t: [(i + k) % 7 < 3 for i in range(6)] for k, t in enumerate(HOSTILE_TAGS)},
            SAME_TAG: [i < 2 for i in range(6)],
        }
    )


def seed(db: Path, name: str, frame: pd.DataFrame) -> int:
    with Store(db) as store:
        project = store.get_or_create_project(f"{SCRIPT} project", user="seed")
        tags = tuple(c for c in frame.columns if c in (*HOSTILE_TAGS, SAME_TAG))
        ds = dataset_from_frame(frame, ColumnMapping(id="id", tag_columns=tags), name=f"{IMG}.csv")
        return store.save_dataset(project, name, ds, task=TaskSpec(), user="seed")


def app(page: str, dataset_id: int | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / page), default_timeout=TIMEOUT)
    at.session_state["user_name"] = USER
    if dataset_id is not None:
        at.session_state["dataset_id"] = dataset_id
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_every_download_of_the_export_page_is_safe(fresh, downloads):
    name = f"../../etc/passwd {SCRIPT}"
    did = seed(fresh, name, hostile_dataset())
    at = app("pages/5_Export.py", did)
    assert len(at.download_button) == 4
    got = dict(downloads(b) for b in at.download_button)
    assert len(got) == 4
    for file_name in got:
        assert "/" not in file_name and "\\" not in file_name and not file_name.startswith(".")
        assert file_name.startswith("slicewise-etc-passwd-script-alert-1-script-")
    by_ext = {Path(f).suffix: content.decode() for f, content in got.items()}

    rows = assert_csv_is_safe(by_ext[".csv"])
    names = [r[0] for r in rows[1:]]
    assert '\'=HYPERLINK("http://x","y")' in names and "'@risk" in names
    # the tag with IMG's examples is named in IMG's row (its same_as cell), neutralised
    img_row = dict(zip(rows[0], rows[1 + names.index(IMG)], strict=True))
    assert img_row["same_as"] == f"'{SAME_TAG}"
    assert_html_is_safe(by_ext[".html"], [name, IMG, 'HYPERLINK("http://x","y")', SAME_TAG])
    md = by_ext[".md"]
    assert md.splitlines()[0] == (
        "# Slicewise report: ../../etc/passwd \\<script\\>alert(1)\\</script\\>"
    )
    table = assert_markdown_table_is_intact(md)
    assert any("a\\|b c" in line for line in table)
    assert any("=SUM(1)\\|\\<b\\>x\\</b\\>" in line for line in table)  # the same_as name
    report = json.loads(by_ext[".json"])
    slices = {s["name"]: s for s in report["slices"]}
    assert set(slices) >= set(HOSTILE_TAGS) and SAME_TAG not in slices
    assert slices[IMG]["same_as"] == SAME_TAG

    # a download is kept under the same sanitised name
    at.download_button(key="export_csv").click().run()
    with Store(fresh) as store:
        kept = store.list_reports(did)
        assert kept["filename"].tolist() == [n for n in got if n.endswith(".csv")]
        assert_csv_is_safe(store.report_content(int(kept["id"].iloc[0])).decode())


def test_a_code_like_rule_value_in_the_app_tags_literal_matches_only(fresh, payload):
    text, marker = payload
    did = seed(fresh, "rules", hostile_dataset(text))
    at = app("pages/2_Tag_errors.py", did)
    at.text_input(key="tag_new").set_value("flagged").run()
    at.button(key="tag_create").click().run()
    at.selectbox(key="tag_rule_column").set_value("note")
    at.selectbox(key="tag_rule_op").set_value("==")
    at.text_input(key="tag_rule_value").set_value(text)
    at.selectbox(key="tag_rule_tag").set_value("flagged")
    at.checkbox(key="tag_rule_errors").uncheck()
    at.run()
    next(b for b in at.button if (b.key or "").startswith("tag_rule_apply")).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    at.text_input(key="tag_f_search").set_value(text).run()  # the search box too
    assert not at.exception
    assert not marker.exists()
    with Store(fresh) as store:
        flagged = store.tag_matrix(did)["flagged"]
        ids = store.load_dataset(did).frame["id"]
    assert ids[flagged.to_numpy()].tolist() == ["=1+1", "@x"]  # "x<payload>" is not equal


def test_a_traversing_dataset_name_stores_files_only_under_the_files_folder(fresh):
    root = fresh.parent.parent
    before = {p for p in root.rglob("*")}
    at = app("pages/1_Load_data.py")
    at.file_uploader(key="load_upload").set_value(
        ("../../../evil.csv", b"label,prediction\na,a\nb,a\n", "text/csv")
    ).run()
    name_key = next(t.key for t in at.text_input if t.key and t.key.endswith("_name"))
    assert at.text_input(key=name_key).value == "evil"  # the upload's own path is dropped
    at.text_input(key=name_key).set_value("../../etc/passwd")
    at.button[[b.label for b in at.button].index("Check and save")].click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    with Store(fresh) as store:
        assert store.list_datasets()["name"].tolist() == ["../../etc/passwd"]
        store.save_report(
            int(store.list_datasets()["id"].iloc[0]), "csv", "../../x.csv", "a,b\n", user="u"
        )  # a name kept as text, never a path
        files_dir = store.files_dir.resolve()
    new = {p for p in root.rglob("*")} - before
    allowed = {fresh.parent, fresh, *(fresh.with_name(fresh.name + s) for s in ("-wal", "-shm"))}
    outside = [
        p
        for p in new
        if p not in allowed and p.resolve() != files_dir and files_dir not in p.resolve().parents
    ]
    assert outside == []
    assert not (root / "etc").exists() and not (root.parent / "x.csv").exists()


# ----------------------------------------------------------------------------- the CLI


@pytest.fixture(scope="module")
def hostile_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli") / f"{IMG} a|b*c_.csv"
    path.write_bytes(hostile_strings())
    return path


@pytest.mark.parametrize("fmt", ["csv", "html", "markdown", "json"])
def test_every_cli_format_is_safe(hostile_file, fmt, tmp_path):
    out = tmp_path / "report.out"
    result = run_cli("analyze", hostile_file, "--format", fmt, "--output", out)
    assert result.returncode == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    if fmt == "csv":
        rows = assert_csv_is_safe(text)
        assert '\'=HYPERLINK("http://x")' in [r[0] for r in rows]
    elif fmt == "html":
        assert_html_is_safe(text, [hostile_file.name, IMG, '=HYPERLINK("http://x")'])
    elif fmt == "markdown":
        assert text.splitlines()[0] == (
            "# Slicewise report: \\<img src=x onerror=alert(1)\\> a\\|b\\*c\\_.csv"
        )
        assert_markdown_table_is_intact(text)
    else:
        data = json.loads(text)
        assert data["dataset"] == hostile_file.name
        assert IMG in {s["name"] for s in data["slices"]}


def test_agreement_csv_output_is_safe(tmp_path):
    labels = tmp_path / "labels.csv"
    pd.DataFrame(
        {
            "item": ["=1", "=1", "@2", "@2", "3", "3"],
            "annotator": ["=a", "+b", "=a", "+b", "=a", "+b"],
            "label": ["=cmd|x", "=cmd|x", "-1+1", "ok", "ok", "ok"],
        }
    ).to_csv(labels, index=False)
    result = run_cli("agreement", labels, "--format", "csv")
    assert result.returncode == 0, result.stderr
    assert_csv_is_safe(result.stdout)


# ----------------------------------------------------------------------------- other CSVs


def test_the_cleaned_labels_and_change_log_csvs_are_safe():
    labels = pd.DataFrame(
        {
            "item": ["=1", "=1", "@2", "@2"],
            "annotator": ["+a", "-b"] * 2,
            "label": ["=cmd|' /C calc'!A0", "=CMD|' /C calc'!A0", "\tx", "ok\r=HYPERLINK(1)"],
        }
    )
    cleaned, log = ag.apply_rules(labels, [ag.NormalizeText(lowercase=True)])
    assert len(log)  # "=CMD" became "=cmd"
    cells = [
        c
        for text in ag.changelog_csv(cleaned, log)
        for row in assert_csv_is_safe(text)
        for c in row
    ]
    # a carriage return inside a cell is quoted, and what follows it is neutralised too: a
    # reader that starts a new row there gets text, not a formula
    assert "ok\r'=HYPERLINK(1)" in cells  # the change log's "before"


def test_safe_csv_neutralises_text_cells_and_names_but_not_numbers():
    frame = pd.DataFrame(
        {
            "=name": ["=1+1", "ok", None],
            "n": [-1.5, 2.0, 3.0],
            "s": pd.Series(["@x", "-y", "+z"], dtype="string"),
        }
    )
    out = neutralise_frame(frame)
    assert list(out.columns) == ["'=name", "n", "s"]
    assert out["'=name"].tolist()[:2] == ["'=1+1", "ok"] and pd.isna(out["'=name"].iloc[2])
    assert out["n"].tolist() == [-1.5, 2.0, 3.0]
    assert out["s"].tolist() == ["'@x", "'-y", "'+z"]
    assert frame["=name"].iloc[0] == "=1+1"  # the input is not modified
    assert_csv_is_safe(to_safe_csv(frame))


def test_file_names_in_messages_are_just_text(tmp_path):
    path = tmp_path / f"{IMG}.csv"
    path.write_bytes(b"")
    result = run_cli("analyze", path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and IMG in result.stderr
    with pytest.raises(Exception, match="empty"):
        load_dataset(b"", name=f"{SCRIPT}.csv")


def test_every_csv_of_the_label_consistency_page_is_safe(fresh, downloads):
    labels = pd.DataFrame(
        {
            "item": ["=1", "=1", "=1", "@2", "@2", "@2", "i3", "i3", "i3"],
            "annotator": ["+a", "-b", "=c"] * 3,
            "label": [
                "=cmd|x",
                "=CMD|x",
                "ok",
                "-1+1",
                "ok\r=HYPERLINK(1)",
                "ok",
                "ok",
                "ok",
                "=cmd|x",
            ],
        }
    )
    with Store(fresh) as store:
        project = store.get_or_create_project("p", user="seed")
        set_id = store.save_annotation_set(
            project, "hostile", labels, source_name="l.csv", content_hash="h", user="seed"
        )
        store.save_review_decision(set_id, "=1", decision="=cmd|x", note="@SUM(A1)", user="=evil")
    at = AppTest.from_file(str(ROOT / "pages" / "6_Label_consistency.py"), default_timeout=TIMEOUT)
    at.session_state["user_name"] = USER
    at.run()
    at.multiselect(key="agree_merge").set_value(["=cmd|x", "=CMD|x"])
    at.text_input(key="agree_merge_target").set_value("=merged").run()
    assert not at.exception, [e.value for e in at.exception]
    got = dict(downloads(b) for b in at.download_button)
    assert {"labels_cleaned.csv", "labels_changelog.csv", "review_decisions.csv"} <= set(got)
    for name in ("labels_cleaned.csv", "labels_changelog.csv", "review_decisions.csv"):
        cells = [c for row in assert_csv_is_safe(got[name].decode()) for c in row]
        assert any(c.startswith("'=") for c in cells), name
