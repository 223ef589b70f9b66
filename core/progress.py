"""How far along long work is: a tiny reporter of rows read and batches counted.

A :class:`ProgressLine` is a ``progress(done, total)`` callback
(:data:`core.batches.source.Progress`): engines call it after each batch they count. It
draws one line on standard error, redrawn in place (carriage return), and only when standard error
is a terminal: piped or redirected output (scripts, tests, CI logs) stays clean.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO


class ProgressLine:
    """A ``progress(done, total)`` callback drawing ``rows read of total, batches counted``.

    Parameters
    ----------
    label
        What the work is, at the start of the line (e.g. ``"slicewise: preds.parquet"``).
    stream
        Where to draw (default: ``sys.stderr``, read when the line is made).
    interval
        Seconds between redraws (s); the last call of a pass is always drawn.
    enabled
        Whether to draw; ``None``: only when ``stream`` is a terminal (``isatty``).

    Notes
    -----
    Each call counts one batch. A ``done`` lower than the one before starts a new pass
    over the data (a planning pass, then the counting pass), numbered on the line.
    """

    def __init__(
        self,
        label: str,
        stream: TextIO | None = None,
        *,
        interval: float = 0.2,
        enabled: bool | None = None,
    ) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.interval = interval
        if enabled is None:
            isatty = getattr(self.stream, "isatty", None)
            enabled = bool(isatty and isatty())
        self.enabled = enabled
        self.passes = 0
        self.batches = 0
        self._done = -1
        self._last = float("-inf")  # the first call always draws
        self._width = 0

    def __call__(self, done: int, total: int | None) -> None:
        """Record that ``done`` rows (of ``total``, ``None`` if unknown) are read."""
        if done < self._done or self.passes == 0:
            self.passes += 1
            self.batches = 0
        self._done = done
        self.batches += 1
        now = time.monotonic()
        last_of_pass = total is not None and done >= total
        if self.enabled and (last_of_pass or now - self._last >= self.interval):
            self._last = now
            self._draw(self.line(done, total))

    def line(self, done: int, total: int | None) -> str:
        """Return the text drawn for ``done`` of ``total`` rows, e.g. ``... 40% ...``."""
        of = f" of {total:,}" if total is not None else ""
        share = f" ({100 * done / total:.0f}%)" if total else ""
        batches = f"{self.batches:,} batch" + ("" if self.batches == 1 else "es")
        step = f"pass {self.passes}: " if self.passes > 1 else ""
        return f"{self.label}: {step}{done:,}{of} rows read{share}, {batches} counted"

    def phase(self, text: str) -> None:
        """Draw a step without a count (e.g. ``reading preds.csv``)."""
        if self.enabled:
            self._draw(f"{self.label}: {text}")

    def close(self) -> None:
        """Clear the line, so that what follows starts on a clean line."""
        if self.enabled and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0

    def __enter__(self) -> ProgressLine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _draw(self, text: str) -> None:
        # A line longer than the terminal wraps, and "\r" then redraws only its last part,
        # leaving stale lines above: keep the counts (the end) and cut the label instead.
        room = self._columns() - 1
        if 0 < room < len(text):
            text = "…" + text[len(text) - room + 1 :]
        pad = " " * max(self._width - len(text), 0)
        self.stream.write("\r" + text + pad)
        self.stream.flush()
        self._width = len(text)

    def _columns(self) -> int:
        """Return the terminal's width in characters (0 when unknown: nothing is cut)."""
        try:
            return os.get_terminal_size(self.stream.fileno()).columns
        except (AttributeError, OSError, ValueError):
            return 0
