"""The Spark session the Spark engine runs in: Spark Connect, a cluster, or local mode.

``SPARK_REMOTE`` (a Spark Connect address, ``sc://host:15002``) wins; otherwise a classic
session on the master given (``master=``), else ``SLICEWISE_SPARK_MASTER``, else
``local[2]``. A missing pyspark or Java is a :class:`SparkUnavailableError` saying what to
install, never a Java gateway traceback.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from slicewise.core.errors import DataError

#: Environment variable naming the master of a classic session (``spark://host:7077``,
#: ``yarn``, ``k8s://...``, ``local[4]``).
MASTER_ENV = "SLICEWISE_SPARK_MASTER"
#: The driver's memory in local mode (executors share the driver's JVM there).
DRIVER_MEMORY_ENV = "SLICEWISE_SPARK_DRIVER_MEMORY"
DEFAULT_MASTER = "local[2]"
#: Rows per Arrow batch handed to the partition code (Spark's default is 10,000).
ARROW_BATCH_ROWS = 100_000


class SparkUnavailableError(DataError):
    """pyspark is not installed, Java is not found, or the Spark session cannot start."""


def spark_session(master: str | None = None) -> Any:
    """Return the running Spark session, or start one.

    Parameters
    ----------
    master
        The master of a classic session; ``None`` reads ``SLICEWISE_SPARK_MASTER``, then
        uses ``local[2]``. Ignored when ``SPARK_REMOTE`` names a Spark Connect server.

    Returns
    -------
    pyspark.sql.SparkSession
        With Arrow transfers on and Spark's own logging at ERROR.

    Raises
    ------
    SparkUnavailableError
        pyspark cannot be imported, Java is not found (``JAVA_HOME`` pointing nowhere, no
        ``java`` on the PATH), or the session fails to start.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkUnavailableError(
            "--engine spark needs pyspark (pip install 'pyspark>=4') and Java 17 "
            "(e.g. apt-get install openjdk-17-jre-headless); or use --engine pandas or stream"
        ) from None
    remote = os.environ.get("SPARK_REMOTE")
    if remote:
        builder = SparkSession.builder.remote(remote)
    else:
        _check_java()
        master = master or os.environ.get(MASTER_ENV) or DEFAULT_MASTER
        builder = (
            SparkSession.builder.master(master)
            .appName("slicewise")
            .config("spark.driver.memory", os.environ.get(DRIVER_MEMORY_ENV, "2g"))
            .config("spark.ui.enabled", "false")
            .config("spark.log.level", "ERROR")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "4" if master.startswith("local") else "200")
        )
        if master.startswith("local"):  # the driver is this machine's: keep its log quiet
            builder = builder.config(
                "spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={_quiet_log4j()}"
            )
    builder = builder.config("spark.sql.execution.arrow.pyspark.enabled", "true").config(
        "spark.sql.execution.arrow.maxRecordsPerBatch", str(ARROW_BATCH_ROWS)
    )
    log = driver_log()
    try:
        with quiet(), contextlib.nullcontext() if remote else _stderr_to(log):
            return builder.getOrCreate()
    except Exception as exc:  # the gateway raises several types, with Java's output
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        where = f"Spark Connect at {remote}" if remote else "a local Spark session"
        said = "" if remote else f" (Java's output: {log})"
        raise SparkUnavailableError(
            f"--engine spark: cannot start {where} ({reason}){said}; check Java 17 "
            f"(JAVA_HOME) and {'SPARK_REMOTE' if remote else MASTER_ENV}, or use --engine "
            "pandas or stream"
        ) from None


def driver_log() -> Path:
    """Return the file the Spark driver's own output (Java's stderr) goes to."""
    return Path(tempfile.gettempdir()) / "slicewise-spark-driver.log"


@contextlib.contextmanager
def _stderr_to(path: Path) -> Iterator[None]:
    """Point this process's stderr (file descriptor 2) at ``path`` for the block.

    A driver JVM started in the block inherits it and keeps it: Java's start-up notes
    (the JDK's incubator-module warning, printed before any log configuration applies)
    and later output go to the file, never to the user's terminal. A JVM already running
    is not affected (the session is reused).
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(path, "w", encoding="utf-8") as log:
            os.dup2(log.fileno(), 2)
    except OSError:  # no writable temporary folder: leave stderr as it is
        os.close(saved)
        yield
        return
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def _check_java() -> None:
    """Raise when no Java runtime is found where pyspark looks for one."""
    home = os.environ.get("JAVA_HOME")
    if home:
        if not (Path(home) / "bin" / "java").exists():
            raise SparkUnavailableError(
                f"--engine spark needs Java 17: JAVA_HOME ({home}) holds no bin/java; point "
                "JAVA_HOME at a Java 17 runtime (e.g. /usr/lib/jvm/java-17-openjdk-amd64), "
                "or use --engine pandas or stream"
            )
    elif shutil.which("java") is None:
        raise SparkUnavailableError(
            "--engine spark needs Java 17: no java found (JAVA_HOME is not set and java is "
            "not on the PATH); install it (apt-get install openjdk-17-jre-headless), or use "
            "--engine pandas or stream"
        )


def _quiet_log4j() -> str:
    """Return the path of a log4j2 configuration printing only errors (written once)."""
    path = Path(tempfile.gettempdir()) / "slicewise-spark-log4j2.properties"
    if not path.exists():
        path.write_text(_LOG4J)
    return str(path)


_LOG4J = """rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex
"""


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence pyspark's warning about pandas 3 (its pandas code paths used here work)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*PySpark does not yet fully support pandas")
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="pyspark")
        yield
