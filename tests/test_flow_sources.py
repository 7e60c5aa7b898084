"""A stage's code fingerprint is its module's import closure (flow/sources.py): editing a helper changes exactly the
stages that import it (directly, transitively, lazily inside a function, or relatively), and nothing else; editing a
comment or a docstring changes nothing."""

from __future__ import annotations

import inspect
import shutil
from pathlib import Path

import pytest

from flow import sources
from flow.flows import stage_by_name
from flow.sources import closure, closure_digest

REPO = Path(__file__).resolve().parents[1]


def _stage_file(name: str) -> Path:
    return Path(inspect.getsourcefile(type(stage_by_name()[name][1])))


@pytest.fixture
def toy(tmp_path: Path) -> Path:
    """A toy repository: two stages, each with its own helper; stage_b imports its helper inside a function and
    reaches a shared util through a relative import."""
    pkg = tmp_path / "toyflow"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "util.py").write_text("def twice(x):\n    return 2 * x\n")
    (pkg / "helper_a.py").write_text("import json\n\ndef a():\n    return json.dumps(1)\n")
    (pkg / "sub" / "helper_b.py").write_text("from .. import util\n\ndef b():\n    return util.twice(3)\n")
    (pkg / "stage_a.py").write_text('"""Stage A."""\nfrom toyflow.helper_a import a\n\nRESULT = a()  # run it\n')
    (pkg / "stage_b.py").write_text("def run():\n    from toyflow.sub import helper_b\n    return helper_b.b()\n")
    return tmp_path


def _digests(repo: Path) -> dict[str, str]:
    return {s: closure_digest(repo / "toyflow" / f"{s}.py", repo) for s in ("stage_a", "stage_b")}


def test_closure_follows_direct_lazy_and_relative_imports(toy: Path) -> None:
    assert set(closure(toy / "toyflow" / "stage_a.py", toy)) == {"toyflow", "toyflow.stage_a", "toyflow.helper_a"}
    assert set(closure(toy / "toyflow" / "stage_b.py", toy)) == {
        "toyflow", "toyflow.stage_b", "toyflow.sub", "toyflow.sub.helper_b", "toyflow.util"}


def test_editing_a_helper_changes_only_the_stages_that_use_it(toy: Path) -> None:
    before = _digests(toy)
    (toy / "toyflow" / "helper_a.py").write_text("import json\n\ndef a():\n    return json.dumps(2)\n")
    after = _digests(toy)
    assert after["stage_a"] != before["stage_a"] and after["stage_b"] == before["stage_b"]
    (toy / "toyflow" / "util.py").write_text("def twice(x):\n    return x + x\n")  # two imports away, relative
    again = _digests(toy)
    assert again["stage_b"] != after["stage_b"] and again["stage_a"] == after["stage_a"]


def test_comments_docstrings_and_layout_change_nothing(toy: Path) -> None:
    before = _digests(toy)
    (toy / "toyflow" / "stage_a.py").write_text(
        '"""Stage A, documented at length."""\n\n# a comment\nfrom toyflow.helper_a import a\n\n\nRESULT = a()\n')
    (toy / "toyflow" / "helper_a.py").write_text(
        'import json\n\n\ndef a():\n    """Say one."""\n    return json.dumps(1)  # one\n')
    assert _digests(toy) == before


def test_the_stage_class_carries_its_closure_digest() -> None:
    for name in ("gatesim", "route", "klayout-drc", "render"):
        cls = type(stage_by_name()[name][1])
        assert cls._source_digest == closure_digest(_stage_file(name)), name


def test_real_stages_depend_on_what_they_import_and_nothing_else() -> None:
    gatesim = closure(_stage_file("gatesim"))
    assert {"verif.activity", "verif.sim", "verif.stimulus"} <= set(gatesim)  # the simulation behind the stage
    route, render, lvs = (set(closure(_stage_file(n))) for n in ("route", "render", "lvs"))
    assert "flow.pnr.render" not in route and "flow.pnr.repair" not in render
    assert {"flow.pnr.route_stage", "flow.pnr.repair"}.isdisjoint(lvs)  # LVS runs magic, not the router


def test_bench_only_helpers_stay_out_of_every_stage() -> None:
    """``common.tools`` is in every stage's closure (``flow/stage.py`` imports it), so a helper only the benches use
    lives in ``common.measured``: adding one to ``common.tools`` had made every stage of a finished sweep stale."""
    for name, (_flow, stage) in stage_by_name().items():
        mods = set(closure(Path(inspect.getsourcefile(type(stage)))))
        assert "common.tools" in mods and "common.measured" not in mods, name


def _copy_repo(dst: Path) -> Path:
    for pkg in sources.project_packages(REPO):
        shutil.copytree(REPO / pkg, dst / pkg, dirs_exist_ok=True, ignore=lambda d, names: [
            n for n in names if n == "__pycache__" or not (n.endswith(".py") or (Path(d) / n).is_dir())])
    return dst


def test_an_edit_behind_a_real_stage_makes_it_stale_and_leaves_others(tmp_path: Path) -> None:
    repo = _copy_repo(tmp_path / "repo")
    names = ("gatesim", "route", "lvs", "render", "synth", "klayout-drc")
    files = {n: repo / _stage_file(n).relative_to(REPO) for n in names}
    before = {n: closure_digest(f, repo) for n, f in files.items()}
    act = repo / "verif" / "activity.py"
    act.write_text(act.read_text() + "\n\ndef _edited():\n    return 1\n")
    after = {n: closure_digest(f, repo) for n, f in files.items()}
    assert after["gatesim"] != before["gatesim"]
    assert {n for n in names if after[n] != before[n]} == {"gatesim"}
    rep = repo / "flow" / "pnr" / "repair.py"
    rep.write_text(rep.read_text() + "\n\ndef _edited():\n    return 1\n")
    again = {n: closure_digest(f, repo) for n, f in files.items()}
    assert {n for n in names if again[n] != after[n]} == {"route"}
