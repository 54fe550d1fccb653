"""The Redis backends' Lua scripts are `.lua` package data: each file is read through the
package's resources (as an installed package reads it), every file is a script a backend
runs, and a wheel built from the tree ships them all, so `pip install .` gives a node
that can run with REDIS_URL. A node without it imports neither redis-py nor the scripts."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import clubpengu
from clubpengu.realtime.lua import read_script

PACKAGE_DIR = Path(clubpengu.__file__).parent
REPO = PACKAGE_DIR.parent
# Each backend module and the names of its script constants.
DIRECTORY_SCRIPTS = ["RESERVE", "LIST", "RELEASE", "UPDATE", "REAP", "RESTORE"]
BACKENDS = {
    "clubpengu.realtime.directory.redis": DIRECTORY_SCRIPTS,
    "clubpengu.realtime.owners.redis": ["RELEASE", "ROUTE", "RECONCILE"],
    "clubpengu.realtime.counters.redis": ["BUCKET", "OPEN", "REFRESH", "MESSAGES"],
}


def _script_files() -> list[Path]:
    return sorted(PACKAGE_DIR.rglob("*.lua"))


def _package_of(path: Path) -> str:
    """The dotted package a `lua/` folder belongs to."""
    assert path.parent.name == "lua"
    return ".".join(path.parent.parent.relative_to(REPO).parts)


def _loaded_scripts() -> dict[str, str]:
    return {
        f"{module}.{name}": getattr(importlib.import_module(module), name)
        for module, names in BACKENDS.items()
        for name in names
    }


def test_every_script_file_is_read_from_the_package_resources_without_its_comments() -> None:
    files = _script_files()

    scripts = {path: read_script(_package_of(path), path.name) for path in files}

    assert len(files) == 7 + 3 + 4  # the directory's, the session owners', the counters'
    for path, code in scripts.items():
        source = path.read_text(encoding="utf-8").splitlines()
        assert source[0].startswith("--"), f"{path.name} says first what it does"
        assert code.strip(), path.name
        assert code.splitlines() == [line for line in source if not line.startswith("--")]


def test_every_script_file_is_run_by_a_backend() -> None:
    loaded = "\n".join(_loaded_scripts().values())

    unused = [
        path.name
        for path in _script_files()
        if read_script(_package_of(path), path.name) not in loaded
    ]

    assert unused == []


def test_the_node_s_modules_import_neither_redis_py_nor_a_redis_backend() -> None:
    probe = """
import sys
import clubpengu.transport.app
loaded = [m for m in sys.modules if m == "redis" or m.startswith("redis.")]
loaded += [m for m in sys.modules if m.startswith("clubpengu.") and m.endswith(".redis")]
print(",".join(loaded))
"""

    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


@pytest.mark.slow
def test_a_wheel_built_from_the_tree_ships_every_script_and_its_backends_load_them(
    tmp_path: Path,
) -> None:
    source = tmp_path / "source"
    source.mkdir()
    shutil.copy(REPO / "pyproject.toml", source)
    shutil.copy(REPO / "README.md", source)
    shutil.copytree(PACKAGE_DIR, source / "clubpengu", ignore=shutil.ignore_patterns("__pycache__"))
    wheels, installed = tmp_path / "wheels", tmp_path / "installed"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(wheels), str(source)], check=True)
    [wheel] = wheels.glob("*.whl")
    subprocess.run(
        [*pip, "install", "--no-deps", "--target", str(installed), str(wheel)], check=True
    )

    # A fresh interpreter with the installed copy first on the path (ahead of this
    # checkout's editable install) imports the backends and reports their scripts.
    probe = f"""
import importlib, json, sys
sys.path.insert(0, {str(installed)!r})
out = {{}}
for module, names in {BACKENDS!r}.items():
    loaded = importlib.import_module(module)
    assert loaded.__file__.startswith({str(installed)!r}), loaded.__file__
    out.update({{f"{{module}}.{{name}}": getattr(loaded, name) for name in names}})
print(json.dumps(out))
"""
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)

    assert result.returncode == 0, result.stderr
    shipped = sorted(p.relative_to(installed) for p in installed.rglob("*.lua"))
    assert shipped == [p.relative_to(REPO) for p in _script_files()]
    assert json.loads(result.stdout) == _loaded_scripts()
