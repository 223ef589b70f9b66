"""Blank and repeated ids in the DuckDB engine (core/engine_duckdb/ids.py).

Rows are named as the file numbers them (CSV: the header is line 1), worked out by hand
from the files below; each message is also compared with the pandas loader's.
"""

import pytest

pytest.importorskip("duckdb")

from slicewise.core.dataset import load_dataset  # noqa: E402
from slicewise.core.engine_duckdb import DuckDBFile  # noqa: E402
from slicewise.core.errors import DuplicateIdError, MissingValuesError  # noqa: E402


def _write(tmp_path, text):
    path = tmp_path / "preds.csv"
    path.write_text(text)
    return path


def test_a_repeated_id_after_trimming_names_its_rows(tmp_path):
    # " a " trims to "a": lines 2 and 4 share an id.
    path = _write(tmp_path, "id,label,prediction\na,x,x\nb,y,x\n a ,x,y\n")
    with pytest.raises(DuplicateIdError) as err:
        DuckDBFile(path)
    message = str(err.value)
    assert "repeats 'a'" in message
    assert "2 rows share an id: rows 2, 4" in message
    with pytest.raises(DuplicateIdError) as pandas_err:
        load_dataset(path)
    assert message == str(pandas_err.value)


def test_a_blank_id_names_its_row(tmp_path):
    path = _write(tmp_path, "id,label,prediction\na,x,x\n  ,y,x\nc,x,y\n")
    with pytest.raises(MissingValuesError) as err:
        DuckDBFile(path)
    assert "the id column 'id' is blank in row 3" in str(err.value)
    with pytest.raises(MissingValuesError) as pandas_err:
        load_dataset(path)
    assert str(err.value) == str(pandas_err.value)


def test_ids_are_compared_as_text_and_only_over_kept_rows(tmp_path):
    # "007" and "7" are two ids; the second "a" is on a row without a label, left out.
    path = _write(tmp_path, "id,label,prediction\n007,x,x\n7,y,x\na,x,y\na,,y\n")
    with DuckDBFile(path, missing="drop") as f:
        assert f.n_rows == 4
        assert f.n_kept == 3
    with pytest.raises(MissingValuesError):  # without dropping, the missing label is refused
        DuckDBFile(path)
