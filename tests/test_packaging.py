"""The package a user installs: one import name, and the app, pages and demo data travel with it.

The sdist and wheel are built the way a user would (``python -m build``: the wheel is built from
the sdist, so both must carry everything), installed into a fresh virtualenv, and every CLI
command is run from an unrelated folder. The virtualenv sees the test environment's packages
(``--system-site-packages``) so no dependency is downloaded; the test checks the installed copy,
not the checkout, is what runs.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import time
import tomllib
import urllib.request
import venv
import zipfile
from pathlib import Path

import pytest

from tests.browser import BROWSER_MARKS, chromium_page, free_port, shot, wait_idle

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
VERSION = PYPROJECT["project"]["version"]
SOURCE_DIRS = ("core", "ui", "pages", "tests", "benchmarks", "demo_data")


def _python_files() -> list[Path]:
    files = [ROOT / "app.py"]
    for folder in SOURCE_DIRS:
        files += sorted((ROOT / folder).rglob("*.py"))
    return files


# ----------------------------------------------------------------------------- fast checks


def test_every_package_folder_is_listed_in_pyproject():
    """A subpackage missing from the list would be missing from the wheel."""
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    found = {"slicewise"}
    for top in ("core", "ui"):
        for init in (ROOT / top).rglob("__init__.py"):
            parts = init.parent.relative_to(ROOT).parts
            found.add(".".join(("slicewise", *parts)))
    assert listed == found


@pytest.mark.parametrize("path", _python_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_file_imports_core_or_ui_by_their_folder_names(path):
    """``import core`` would load a second copy of the code beside ``slicewise.core``."""
    bad = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        bad += [f"line {node.lineno}: {n}" for n in names if n.split(".")[0] in ("core", "ui")]
    assert bad == []


def test_one_version_number():
    """pyproject.toml holds the version; the changelog's latest release and the CLI agree."""
    changelog = (ROOT / "CHANGELOG.md").read_text()
    released = [line for line in changelog.splitlines() if line.startswith("## ")]
    assert released[0].endswith(f"— {VERSION}"), released[0]
    result = subprocess.run(
        [sys.executable, "-m", "slicewise.core.cli", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0 and VERSION in result.stdout
    from slicewise.core import __version__

    assert __version__ == VERSION


# ----------------------------------------------------------------------------- built and installed


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict[str, Path]:
    """Build the sdist and wheel, install the wheel into a fresh virtualenv."""
    work = tmp_path_factory.mktemp("package")
    dist = work / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    env_dir = work / "venv"
    venv.create(env_dir, system_site_packages=True, with_pip=True)
    python = env_dir / "bin" / "python"
    wheel = next(dist.glob("*.whl"))
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--no-input", "--disable-pip-version-check", wheel],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    elsewhere = work / "elsewhere"  # an unrelated folder: no checkout, no demo_data beside it
    elsewhere.mkdir()
    return {
        "dist": dist,
        "wheel": wheel,
        "sdist": next(dist.glob("*.tar.gz")),
        "bin": env_dir / "bin",
        "python": python,
        "cwd": elsewhere,
    }


def _run(installed, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "HOME": str(installed["cwd"]),
        "PATH": f"{installed['bin']}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": "",
    }
    env.pop("SLICEWISE_DB", None)
    return subprocess.run(
        list(args), cwd=installed["cwd"], env=env, capture_output=True, text=True, timeout=timeout
    )


def test_wheel_holds_one_import_name_with_app_pages_and_demo_data(installed):
    names = zipfile.ZipFile(installed["wheel"]).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"slicewise"}
    pages = sorted(p.name for p in (ROOT / "pages").glob("*.py"))
    assert sorted(n.split("/")[-1] for n in names if n.startswith("slicewise/pages/")) == pages
    demo = sorted(p.name for p in (ROOT / "demo_data").iterdir() if p.suffix in (".csv", ".md"))
    for name in ["slicewise/app.py", "slicewise/.streamlit/config.toml"] + [
        f"slicewise/demo_data/{d}" for d in demo
    ]:
        assert name in names


def test_sdist_carries_the_checkout_layout(installed):
    import tarfile

    with tarfile.open(installed["sdist"]) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    for name in ["pyproject.toml", "README.md", "app.py", "core/cli/__init__.py", "ui/state.py"]:
        assert name in names
    assert any(n.startswith("pages/") for n in names)
    assert any(n.startswith("demo_data/") and n.endswith(".csv") for n in names)


def test_installed_copy_is_the_one_imported(installed):
    result = _run(
        installed,
        str(installed["python"]),
        "-c",
        "import importlib.util, slicewise.core, slicewise.ui; print(slicewise.core.__file__);"
        "print(importlib.util.find_spec('core'), importlib.util.find_spec('ui'))",
    )
    assert result.returncode == 0, result.stderr
    core_file, top_level = result.stdout.splitlines()
    assert core_file.startswith(str(installed["bin"].parent))
    assert top_level == "None None"


def test_version_from_the_installed_command(installed):
    result = _run(installed, "slicewise", "--version")
    assert result.returncode == 0 and VERSION in result.stdout


@pytest.mark.parametrize(
    "command",
    [
        "analyze",
        "agreement",
        "app",
        "compare",
        "demo",
        "drift",
        "label-issues",
        "members",
        "recover",
        "suggest",
        "tag",
    ],
)
def test_every_command_starts_from_an_unrelated_folder(installed, command):
    from slicewise.core.cli import main

    assert command in main.commands
    result = _run(installed, "slicewise", command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage: slicewise" in result.stdout


def test_no_command_is_left_out_of_the_installed_check():
    from slicewise.core.cli import main

    tested = test_every_command_starts_from_an_unrelated_folder.pytestmark[0].args[1]
    assert sorted(tested) == sorted(main.commands)


def _probabilities(folder: Path) -> Path:
    """A small two-class file with the model's probabilities, which label-issues needs."""
    rows = ["id,label,prediction,prob_cat,prob_dog"]
    for i in range(40):
        p_cat = (i % 10) / 10 + 0.05
        label = "cat" if i % 3 else "dog"
        rows.append(f"x{i},{label},{'cat' if p_cat > 0.5 else 'dog'},{p_cat:.2f},{1 - p_cat:.2f}")
    path = folder / "probabilities.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_installed_commands_work_on_the_packaged_demo_data(installed):
    demo = installed["bin"].parent.glob("lib/python*/site-packages/slicewise/demo_data")
    demo = next(demo)
    db = installed["cwd"] / "team.db"
    made = _run(installed, "slicewise", "demo", "--db", str(db))
    assert made.returncode == 0, made.stderr
    assert db.exists()
    members = _run(installed, "slicewise", "members", "list", "--db", str(db), "--project", "Demo")
    assert members.returncode == 0, members.stderr

    speech, retrained = demo / "speech_predictions.csv", demo / "speech_predictions_retrained.csv"
    inspection = demo / "inspection_predictions.csv"
    runs = {
        "analyze": ["analyze", str(speech), "--format", "json"],
        "compare": ["compare", str(speech), str(retrained), "--format", "json"],
        "agreement": ["agreement", str(demo / "inspection_annotations.csv"), "--format", "json"],
        "suggest": ["suggest", str(inspection), "--format", "json"],
        "label-issues": ["label-issues", str(_probabilities(installed["cwd"])), "--format", "json"],
        "tag": [
            "tag",
            str(inspection),
            "--rule",
            "camera == cam-3",
            "--tag",
            "cam3",
            "-o",
            "t.csv",
        ],
        "recover": ["recover", "--db", str(db), "--to", str(installed["cwd"] / "copy.db")],
    }
    for name, args in runs.items():
        result = _run(installed, "slicewise", *args)
        assert result.returncode == 0, (name, result.stderr[-2000:])
    assert (installed["cwd"] / "t.csv").read_text().count("cam3") > 0


@BROWSER_MARKS[0]
@BROWSER_MARKS[1]
def test_installed_app_serves_its_pages_from_an_unrelated_folder(installed):
    port = free_port()
    db = installed["cwd"] / "app.db"
    assert _run(installed, "slicewise", "demo", "--db", str(db)).returncode == 0
    env = {
        **os.environ,
        "HOME": str(installed["cwd"]),
        "PATH": f"{installed['bin']}{os.pathsep}{os.environ['PATH']}",
    }
    log = (installed["cwd"] / "app.log").open("w")
    server = subprocess.Popen(
        ["slicewise", "app", "--db", str(db), "--port", str(port)],
        cwd=installed["cwd"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as answer:
                    if answer.read() == b"ok":
                        break
            except OSError:
                server.poll()
                assert server.returncode is None, (installed["cwd"] / "app.log").read_text()
                time.sleep(0.5)
        with chromium_page() as page:
            for path, heading in [("", "Slicewise"), ("Slices_vs_HLP", "Slices vs HLP")]:
                page.goto(f"{base}/{path}")
                wait_idle(page)
                page.get_by_text(heading).first.wait_for()
                assert page.locator('[data-testid="stException"]').count() == 0
            shot(page, "installed_wheel_slices_vs_hlp")
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
