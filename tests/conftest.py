"""Shared test fixtures: the Sky130 PDK, the external tools, a per-test build root.

A test that needs the PDK or a tool asks for it here, so the reason it cannot run is said in one place:
on a developer's machine it is skipped with that reason (``-ra`` prints it); under CI (``CI=true``) the
same absence fails the test, because CI must exercise the flow, not skip it.
Every test builds under its own ``tmp_path``; a session check fails if anything wrote into the repo's build/.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable

import pytest

REPO = Path(__file__).resolve().parents[1]
QFLOW_BIN = Path("/usr/lib/qflow/bin")


def unavailable(reason: str) -> None:
    """Skip with the reason, or fail under CI where every prerequisite must be installed."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: .ci/run must install it)")
    pytest.skip(reason)


def missing_tools(names: tuple[str, ...]) -> list[str]:
    """Executables not on PATH (qflow's helpers live in its own bin folder)."""
    return [t for t in names if shutil.which(t) is None and not (QFLOW_BIN / t).exists()]


@pytest.fixture
def need_tools() -> Callable[..., None]:
    """``need_tools("yosys", "sta")``: skip (or fail under CI) naming the tools that are missing."""

    def check(*names: str) -> None:
        missing = missing_tools(names)
        if missing:
            unavailable(f"tools not installed: {', '.join(missing)} (make debian-deps)")

    return check


@pytest.fixture(scope="session")
def pdk():
    """The Sky130 PDK found the way the flow finds it (PDK_ROOT, else ../shared/pdk)."""
    from flow.pdk import PdkError, find_pdk

    try:
        return find_pdk()
    except PdkError as e:
        unavailable(f"no Sky130 PDK: {e}")


@pytest.fixture(scope="session")
def tt_liberty(pdk, tmp_path_factory) -> Path:
    """The flow's derived typical-corner liberty (dont-use cells filtered), made once per session."""
    from flow.pdk import derived_liberty

    return derived_liberty(pdk, "tt", tmp_path_factory.mktemp("pdk"))


@pytest.fixture
def build_root(tmp_path: Path) -> Path:
    """A fresh build root for one test (never the repo's build/)."""
    return tmp_path / "build"


def _tree(root: Path) -> dict[str, int]:
    out: dict[str, int] = {}
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            p = os.path.join(dirpath, f)
            try:
                out[p] = os.stat(p).st_mtime_ns
            except OSError:
                pass
    return out


@pytest.fixture(scope="session", autouse=True)
def repo_build_untouched():
    """Fail the session when a test wrote into the repository's own build/ folder."""
    build = REPO / "build"
    before = _tree(build)
    yield
    after = _tree(build)
    changed = sorted(p for p in after if before.get(p) != after[p])
    if changed:
        pytest.fail(f"tests wrote into the repo's build/ ({len(changed)} files, e.g. {changed[0]}): "
                    "build under tmp_path (the build_root fixture)", pytrace=False)
