"""core.cli.options: the shared option groups packed into one object, and their parsers."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from slicewise.core.cli import main
from slicewise.core.cli.options import (
    ReadOptions,
    examples,
    packed,
    pairs,
    prediction_options,
    role,
)
from slicewise.core.dataset import NO_COLUMN
from slicewise.core.errors import DataError


def test_prediction_options_arrive_as_one_read_options():
    seen = {}

    @click.command()
    @click.argument("file")
    @prediction_options
    @click.option("--top", type=int, default=3)
    def command(file, read, top):
        seen.update(file=file, read=read, top=top)

    args = ["f.csv", "--label", "y", "--id", "none", "--drop-missing", "--sheet", "S2"]
    result = CliRunner().invoke(command, [*args, "--decimal", ",", "--top", "7"])
    assert result.exit_code == 0, result.output
    read = seen["read"]
    assert isinstance(read, ReadOptions) and seen["top"] == 7 and seen["file"] == "f.csv"
    assert (read.label, read.id_col, read.sheet, read.decimal) == ("y", "none", "S2", ",")
    assert read.drop_missing and read.missing == "drop" and ReadOptions().missing == "fail"


def test_packed_groups_fields_and_leaves_the_rest():
    import dataclasses

    @dataclasses.dataclass(frozen=True)
    class Pair:
        a: int = 0
        b: int = 0

    @packed(Pair, "pair")
    def command(pair, c):
        return pair, c

    assert command(a=1, b=2, c=3) == (Pair(1, 2), 3)


def test_pairs_reads_fractions_percents_and_refuses_typos():
    assert pairs(["car=93%", "x=0.5"], "--hlp", percent=True) == {"car": 0.93, "x": 0.5}
    assert pairs(["a=5"], "--importance", percent=False) == {"a": 5.0}
    with pytest.raises(DataError, match="--hlp 'car': write it as NAME=VALUE"):
        pairs(["car"], "--hlp", percent=True)
    with pytest.raises(DataError, match="fraction between 0 and 1"):
        pairs(["car=120%"], "--hlp", percent=True)
    with pytest.raises(DataError, match="weight from 1 to 5"):
        pairs(["a=6"], "--ease", percent=False)


def test_role_and_examples():
    assert role("None") == NO_COLUMN and role(" none ") == NO_COLUMN and role("id") == "id"
    assert role(None) is None
    assert examples(1) == "1 example" and examples(1200) == "1,200 examples"


def test_every_command_is_registered_on_the_group():
    assert sorted(main.commands) == [
        "agreement",
        "analyze",
        "app",
        "compare",
        "demo",
        "drift",
        "label-issues",
        "members",
        "recover",
        "suggest",
        "tag",
    ]
