"""Every page on a store damaged in one table: the message once, never a traceback.

Issue 15: with the page of the annotation sets zeroed (``dd … seek=19 count=2`` on the demo
store), *Label consistency* and *Compare iterations* stopped on Streamlit's redacted error
(an uncaught ``StoreDamaged``), and pages whose data guard caught the error showed the
recovery advice twice (the banner, then the guard's message). A store holding every kind
of record is damaged in one table at a time (``tests/faults.py`` zeroes its root page) and
every page is run on it in AppTest.
"""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from faults import PROJECT, USER, build, damage
from pagetest import ROOT, run_page, shown, table_with

from slicewise.core.analysis import analyze
from slicewise.core.store import Store, files_dir_of
from slicewise.core.task import TaskSpec

ALL_PAGES = ["app.py", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "pages").glob("*.py"))]
#: The tables damaged, one at a time: what the pages read besides the sidebar's lists; on
#: an open store (no members, as the demo store of the issue) and on one with members (the
#: sidebar reads them, and the events, to list the user's projects).
CASES = [
    *(
        (table, False)
        for table in (
            "annotation_sets",
            "iterations",
            "events",
            "members",
            "tags",
            "reports",
            "review_decisions",
        )
    ),
    ("members", True),
    ("events", True),
]
#: The start of the advice every message about the damaged store ends with.
ADVICE = "To recover:"
KINDS = ("error", "warning", "info", "success", "caption", "markdown", "toast")


def make_store(db, *, members: bool) -> dict:
    """A store with a dataset, tag, report, two iterations, an annotation set, a decision,
    and with ``members`` a member (roles enforced: ``ana`` owns the project, ``bo`` views it).
    """
    ids = build(db)
    with Store(db) as store:
        pid, did = ids["project"], ids["dataset"]
        table = analyze(store.load_dataset(did), task=TaskSpec())
        for version in ("1.0", "1.1"):
            store.save_iteration(
                pid, did, model_name="pets", model_version=version, table=table, user=USER
            )
        labels = pd.DataFrame(
            {
                "item": ["e0000", "e0000", "e0001", "e0001"],
                "annotator": ["a", "b", "a", "b"],
                "label": ["cat", "dog", "dog", "dog"],
            }
        )
        sid = store.save_annotation_set(
            pid,
            "votes",
            labels,
            source_name="votes.csv",
            content_hash="votes",
            user=USER,
            linked_dataset_id=did,
        )
        store.save_review_decision(sid, "e0000", decision="cat", user=USER)
        if members:
            store.set_member(pid, "bo", "viewer", user=USER)
        assert store.roles_enforced() == members
        assert store.list_projects()["name"].tolist() == [PROJECT]
    return {"db": db, **ids}


@pytest.fixture(scope="module")
def templates(tmp_path_factory) -> dict[bool, dict]:
    """The two stores of :func:`make_store`, keyed by whether they have members."""
    return {
        members: make_store(tmp_path_factory.mktemp("template") / "sw.db", members=members)
        for members in (False, True)
    }


def copy_store(source, target) -> None:
    """Copy a closed store (its database and its datasets' files) to ``target``."""
    shutil.copy(source, target)
    shutil.copytree(files_dir_of(source), files_dir_of(target))


def everything(at) -> str:
    """What the page shows in text, main part and sidebar, one element a line."""
    return "\n".join(shown(e) for kind in KINDS for e in getattr(at, kind))


@pytest.mark.parametrize("page", ALL_PAGES)
@pytest.mark.parametrize(
    ("table", "members"), CASES, ids=[f"{t}{'-with-members' if m else ''}" for t, m in CASES]
)
def test_a_page_on_a_store_damaged_in_one_table_says_so_once(
    fresh, templates, table, members, page
):
    template = templates[members]
    copy_store(template["db"], fresh)
    damage(fresh, (table,))
    # The pages' user is "Ana": the member "ana" (member names match regardless of case).
    at = run_page(page, template["dataset"])
    assert not at.exception, [e.value for e in at.exception]
    text = everything(at)
    assert text.count(ADVICE) == 1, text
    assert "is damaged" in text and "slicewise recover" in text
    assert "DatabaseError" not in text and "Traceback" not in text


@pytest.mark.parametrize(
    "page", ["pages/6_Label_consistency.py", "pages/7_Compare_iterations.py", "pages/11_Team.py"]
)
def test_what_can_still_be_read_is_still_shown(fresh, templates, page):
    # The damaged part is left out with the message; the rest of the page is drawn.
    template = templates[True]
    copy_store(template["db"], fresh)
    table, part = {
        "pages/6_Label_consistency.py": ("annotation_sets", "The saved annotation sets"),
        "pages/7_Compare_iterations.py": ("annotation_sets", "The lineage download"),
        "pages/11_Team.py": ("events", "Who did what"),
    }[page]
    damage(fresh, (table,))
    at = run_page(page, template["dataset"])
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.error) == 2  # the banner, then the part that cannot be read
    left_out = shown(at.error[1])
    assert left_out.startswith(f"{part} cannot be shown: ") and "is damaged" in left_out
    assert ADVICE not in left_out and left_out.endswith("What to do: see the message above.")
    if page.endswith("Label_consistency.py"):  # no saved sets: the demo labels instead
        assert at.radio(key="agree_source").value == "Demo annotations"
    elif page.endswith("Compare_iterations.py"):  # the comparison, without the lineage
        assert at.selectbox(key="cmp_before").value is not None
        assert "cmp_lineage" not in [b.key for b in at.download_button]
    else:  # the members, without the history
        assert table_with(at, "member")["member"].tolist() == ["ana", "bo"]
