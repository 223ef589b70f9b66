"""The text and Markdown outputs of `compare` list at most 20 classes, the clearest first."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from click.testing import CliRunner

from slicewise.core.cli import main


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_compare_with_many_classes_shows_the_clearest_twenty(tmp_path, fmt):
    labels = [f"c{i:03d}" for i in range(300)] * 4
    before = pd.DataFrame(
        {"id": range(len(labels)), "label": labels, "prediction": ["zzz"] * len(labels)}
    )
    after = before.copy()
    # c007 goes from 0 of 4 right to 4 of 4; every other class stays at 0
    after.loc[after["label"] == "c007", "prediction"] = "c007"
    before.to_csv(tmp_path / "a.csv", index=False)
    after.to_csv(tmp_path / "b.csv", index=False)
    out = CliRunner().invoke(
        main, ["compare", str(tmp_path / "a.csv"), str(tmp_path / "b.csv"), "--format", fmt]
    )
    assert out.exit_code == 0, out.output
    section = out.output.split("Per class")[1].split("Confusion matrix")[0]
    rows = [line for line in section.splitlines() if re.match(r"c\d{3}|zzz", line.lstrip("| "))]
    assert len(rows) == 20
    assert rows[0].lstrip("| ").startswith("c007")  # the one class that changed, first
    # 300 labels and the prediction "zzz": 301 classes
    assert "281 more classes with less clear changes in --format json" in section
