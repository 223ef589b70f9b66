"""A CSV row with another field count than the header: the streaming engine names its lines.

The expected lines are counted by hand from each file's text (line 1 is the header, or
the ``sep=`` line of an Excel export).
"""

from __future__ import annotations

import gzip

import pytest

from slicewise.core.engine_stream import open_source
from slicewise.core.errors import FileFormatError

GOOD = "id,label,prediction\n1,a,a\n2,b,b\n3,a,b\n"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        pytest.param(GOOD + "4,b,b,extra\n", ["line 5 has 4"], id="extra field last"),
        pytest.param(GOOD.replace("2,b,b", "2,b"), ["line 3 has 2"], id="missing field"),
        pytest.param(
            GOOD.replace("2,b,b", "2,b,b,x").replace("3,a,b", "3,a"),
            ["line 3 has 4", "line 4 has 2"],
            id="two rows",
        ),
        pytest.param(
            'id,label,prediction\n1,"a\nstill a",a\n2,b,b,x\n',
            ["line 4 has 4"],
            id="after a quoted line break",
        ),
        pytest.param(
            GOOD.replace(",", "\t").replace("2\tb\tb", "2\tb\tb\tz"), ["line 3 has 4"], id="tsv"
        ),
        pytest.param(
            "sep=;\nid;label;prediction\n1;a;a\n2;b\n", ["line 4 has 2"], id="excel sep line"
        ),
        pytest.param(
            GOOD + "".join(f"{i},a\n" for i in range(5, 10)),
            ["line 5 has 2", "line 6 has 2", "line 7 has 2", "(5 rows in all)"],
            id="many rows",
        ),
    ],
)
@pytest.mark.parametrize("packed", [False, True])
def test_ragged_rows_are_named_by_line(text, shown, packed, tmp_path):
    tsv = "\t" in text
    path = tmp_path / ("r.tsv" if tsv else "r.csv")
    if packed:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    with pytest.raises(FileFormatError) as got:
        with open_source(path):
            pass
    message = str(got.value)
    assert message.startswith(f"{path.name}: the header has 3 fields but ")
    for part in shown:
        assert part in message
