"""One local Spark session for the Spark engine's tests (``-m spark``).

Imported by ``tests/test_engine_spark*.py``; the session is shared by every module of the
test run (``getOrCreate``) and ends with the process.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", name="spark")
def spark_fixture():
    """A ``local[2]`` Spark session (skips when pyspark is not installed)."""
    pytest.importorskip("pyspark")
    from slicewise.core.engine_spark import spark_session

    return spark_session("local[2]")
