"""Load a module as an earlier commit wrote it, to build the databases old versions made.

Old code imports ``core.X`` (the folder name, before the ``slicewise`` import name): while it
loads, ``core`` and each ``core.X`` it names are aliases of today's ``slicewise.core``
modules, so old and new code share one ``Dataset`` and one set of error types.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load_from_git(commit: str, path: str, name: str, folder: Path) -> types.ModuleType:
    """Return the module at ``commit:path`` loaded as ``name``; skip the test if git lacks it."""
    try:
        text = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{commit}:{path}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip(f"{path} at {commit[:7]} is not in this checkout's git history")
    file = folder / f"{name}.py"
    file.write_text(text, encoding="utf-8")
    old_names = set(re.findall(r"^\s*from core\.(\w+) import", text, flags=re.M))
    aliases = {"core": importlib.import_module("slicewise.core")}
    aliases |= {f"core.{m}": importlib.import_module(f"slicewise.core.{m}") for m in old_names}
    saved = {key: sys.modules.get(key) for key in aliases}
    sys.modules.update(aliases)
    try:
        spec = importlib.util.spec_from_file_location(name, file)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        for key, before in saved.items():
            if before is None:
                sys.modules.pop(key, None)
            else:
                sys.modules[key] = before
    return module
