"""The ``slicewise`` command line: analyse a file, start the app, build the demo project.

One module per group of commands, each registering its commands on :data:`main`
(:mod:`core.cli.group`):

- :mod:`core.cli.analyze`: ``analyze`` (written by :mod:`core.cli.plain_table`);
- :mod:`core.cli.findings`: ``suggest`` and ``label-issues``;
- :mod:`core.cli.compare`: ``compare`` (written by :mod:`core.cli.compare_text`);
- :mod:`core.cli.tag`: ``tag``;
- :mod:`core.cli.agreement`: ``agreement``;
- :mod:`core.cli.drift`: ``drift``;
- :mod:`core.cli.store_admin`: ``demo``, ``members`` and ``recover``;
- :mod:`core.cli.serve`: ``app``.

The options several commands share, and the steps every command takes to read a file and
write its output, are :mod:`core.cli.options`. ``python -m slicewise.core.cli`` runs
:func:`entry_point` (:mod:`core.cli.__main__`).
"""

from slicewise.core.cli import (
    agreement,
    analyze,
    compare,
    drift,
    findings,
    serve,
    store_admin,
    tag,
)
from slicewise.core.cli.compare import GATE_METRICS
from slicewise.core.cli.group import DEMO_DIR, ROOT, SlicewiseGroup, entry_point, main
from slicewise.core.cli.plain_table import render
from slicewise.core.cli.serve import LOCAL_HOSTS, _is_loopback
from slicewise.core.cli.tag import parse_condition, rule_frame

__all__ = [
    "DEMO_DIR",
    "GATE_METRICS",
    "LOCAL_HOSTS",
    "ROOT",
    "SlicewiseGroup",
    "_is_loopback",
    "agreement",
    "analyze",
    "compare",
    "drift",
    "entry_point",
    "findings",
    "main",
    "parse_condition",
    "render",
    "rule_frame",
    "serve",
    "store_admin",
    "tag",
]
