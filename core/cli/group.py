"""The ``slicewise`` command group and the console entry point.

Every command module registers its commands on :data:`main`; :func:`entry_point` runs it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from slicewise.core.errors import DataError

#: The checkout (or installed package) folder: app.py, pages/ and demo_data/ live here.
ROOT = Path(__file__).resolve().parent.parent.parent
DEMO_DIR = ROOT / "demo_data"
#: Exit code of an unexpected error, for commands whose exit code 1 is a finding
#: (``drift``: a threshold crossed); every other command exits 1.
INTERNAL_ERROR_EXIT = {"drift": 3}


class SlicewiseGroup(click.Group):
    """Click group that turns input errors into one line on stderr and exit code 2."""

    def invoke(self, ctx: click.Context) -> object:  # noqa: D102
        try:
            return super().invoke(ctx)
        except DataError as exc:
            click.echo(f"slicewise: error: {exc}", err=True)
            ctx.exit(2)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            ctx.exit(130)
        except Exception as exc:  # last line of defence: never a traceback
            if isinstance(exc, OSError) and exc.filename is not None:
                # A path the user gave that cannot be read or written (no such folder,
                # no permission, a folder where a file was meant): theirs to fix.
                reason = exc.strerror or type(exc).__name__
                click.echo(f"slicewise: error: {exc.filename}: {reason}", err=True)
                ctx.exit(2)
            click.echo(f"slicewise: internal error: {type(exc).__name__}: {exc}", err=True)
            ctx.exit(INTERNAL_ERROR_EXIT.get(ctx.invoked_subcommand or "", 1))


@click.group(cls=SlicewiseGroup)
@click.version_option(package_name="slicewise")
def main() -> None:
    """Slicewise: error analysis and data-centric iteration for ML models."""
    _reuse_freed_memory()


def _reuse_freed_memory() -> None:
    """Ask glibc's malloc to keep freed memory for reuse rather than hand it back at once.

    pandas and numpy allocate and free arrays of tens of MB; by default each one is a
    fresh ``mmap`` whose pages the kernel faults in again, which took 0.2-0.3 s of a 1M-row
    ``analyze`` on a 2-core VM. The thresholds are mallopt(3)'s (the ``MALLOC_*_`` variables);
    the command is short-lived, so holding on to freed memory costs nothing. No-op off glibc.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3
    mallopt(m_mmap_threshold, 1 << 30)
    mallopt(m_trim_threshold, (1 << 31) - 1)
    mallopt(m_top_pad, 64 << 20)


#: Commands that only read files and write their output: they may skip interpreter teardown.
_READ_ONLY_COMMANDS = frozenset({"analyze", "suggest", "compare", "agreement", "drift"})


def entry_point() -> None:
    """Run the ``slicewise`` command (the console script).

    After a read-only command the process leaves with ``os._exit`` once its output is
    flushed: tearing down the interpreter (module state, pyarrow's and BLAS's thread pools)
    took 0.2 s after a 1M-row ``analyze``, longer than counting its slices. Those commands
    leave nothing open: files are written whole and closed, DuckDB closes in a ``with``.
    """
    command = next((a for a in sys.argv[1:] if not a.startswith("-")), None)
    if command not in _READ_ONLY_COMMANDS:
        main()
        return
    try:
        main()
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
    if isinstance(code, str):  # what sys.exit("message") would print
        print(code, file=sys.stderr)
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:  # a closed pipe (| head): nothing more can be written anyway
            pass
    os._exit(code or 0)
