"""The layer contract (pyproject's import-linter contract): it holds on the tree, and it catches an upward import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, unavailable

PACKAGES = ("common", "model", "rtl", "verif", "qnn", "flow", "reports")


def _lint_imports(tree: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("lint-imports")
    if not exe.is_file():
        unavailable("import-linter is not installed (pip install -e '.[dev]')")
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([str(exe), "--config", str(tree / "pyproject.toml"), "--no-cache"], cwd=tree, env=env,
                          capture_output=True, text=True, timeout=120)


def _copy_tree(dst: Path) -> Path:
    """The packages' Python sources and the contract, without build outputs."""
    for pkg in PACKAGES:
        shutil.copytree(REPO / pkg, dst / pkg, ignore=shutil.ignore_patterns("__pycache__", "*.png", "*.svg",
                                                                              "*.html", "*.csv", "*.md"))
    shutil.copy(REPO / "pyproject.toml", dst / "pyproject.toml")
    return dst


def test_the_tree_keeps_the_layer_contract(tmp_path):
    res = _lint_imports(_copy_tree(tmp_path))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "1 kept, 0 broken" in res.stdout


@pytest.mark.parametrize("low,high", [("model", "flow.stage"), ("rtl", "verif.stimulus"), ("verif", "reports.table"),
                                      ("common", "model.spec"), ("qnn", "flow.metrics"), ("flow", "qnn.net")])
def test_an_upward_import_breaks_the_contract(tmp_path, low, high):
    tree = _copy_tree(tmp_path)
    (tree / low / "_throwaway.py").write_text(f"import {high}  # an upward import, on purpose\n")
    res = _lint_imports(tree)
    assert res.returncode != 0
    assert f"{low}._throwaway -> {high}" in res.stdout, res.stdout
