"""The flow as data: the flow table's artifacts, side-effect-free inputs, root-independent fingerprints, CLI flags."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from common.errors import BitbranchError
from flow.__main__ import main as flow_main
from flow.flows import FLOW_TABLE, FLOWS, flow_for
from flow.pdk import Pdk, PdkError, find_pdk
from flow.stage import PRIMARY_INPUTS, Flow, FlowConfig, FlowContext, FlowError, Stage, execute, is_up_to_date
from model.spec import DesignSpec

REPO = Path(__file__).resolve().parents[1]


def test_every_consumed_artifact_is_produced_earlier_or_primary():
    for name, flow in FLOWS.items():
        made: set[str] = set(PRIMARY_INPUTS)
        for stage in flow.stages:
            missing = [a for a in stage.consumes if a not in made]
            assert not missing, f"flow {name}: {stage.name} consumes {missing} before any stage produces it"
            made |= set(stage.produces)


def test_a_flow_with_an_unproduced_artifact_is_refused():
    from flow.derived import LibertyStage
    from flow.sta import StaStage
    from flow.synth import SynthStage

    with pytest.raises(FlowError, match="'sta' consumes 'netlist'"):
        Flow("bad", [LibertyStage, StaStage, SynthStage])  # sta before the stage that makes its netlist
    with pytest.raises(FlowError, match="twice"):
        Flow("bad", [LibertyStage, SynthStage, SynthStage])


def test_folder_numbers_follow_the_table_and_agree_across_flows():
    gds = [s for s in FLOWS["gds"].stages if not s.shared]
    assert [(s.index, s.name) for s in gds][:4] == [(1, "synth"), (2, "sta"), (3, "gatesim"), (4, "power")]
    assert [s.index for s in gds] == list(range(1, len(gds) + 1))
    for name in ("synth", "sta", "power"):  # the front-end flows are prefixes of gds: same folders
        assert [type(s) for s in FLOWS[name].stages] == list(FLOW_TABLE["gds"][: len(FLOW_TABLE[name])])
    assert flow_for("gds", "openlane") is FLOWS["openlane"] and flow_for("gds") is FLOWS["gds"]


def test_no_stage_constructs_another():
    """Stages get their inputs from the context, never by instantiating the stage before them."""
    import re

    for path in sorted((REPO / "flow").rglob("*.py")):
        if path.name in ("flows.py", "backend.py"):
            continue
        calls = re.findall(r"\b([A-Z]\w*Stage)\(\)", path.read_text())
        assert not calls, f"{path.relative_to(REPO)} constructs {calls}"


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")}


@pytest.fixture
def pdk():
    try:
        return find_pdk()
    except PdkError as e:
        pytest.skip(f"no Sky130 PDK: {e}")


def test_inputs_and_fingerprints_write_no_file(tmp_path, pdk):
    from rtl.generate import generate

    spec = DesignSpec("parallel", 1, 1, 4)
    root = tmp_path / "build"
    generate(spec, root=str(root))  # the RTL is a primary input (made by a stage's prepare(), not by inputs())
    before = _tree(tmp_path)
    for flow in FLOWS.values():
        ctx = FlowContext(spec, root, pdk, FlowConfig()).with_flow(flow)
        for stage in flow.stages:
            stage.inputs(ctx)
            stage.outputs(ctx)
            stage.fingerprint(ctx)
            assert not is_up_to_date(stage, ctx)
    assert _tree(tmp_path) == before


class Consumer(Stage):
    """Reads the RTL manifest and a file it declares as its source; nothing else."""

    name, metric_names = "consumer", ("consumer__bytes",)
    consumes = ("rtl_manifest",)
    produces = {"copy": "copy.json"}

    def run(self, ctx):
        text = ctx.path("rtl_manifest").read_text()
        ctx.path("copy").write_text(text)
        return {"consumer__bytes": len(text)}


def test_fingerprint_does_not_depend_on_how_the_root_is_spelled(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = DesignSpec(n=4)
    flow = Flow("one", [Consumer])
    pdk = Pdk(tmp_path / "nopdk", "test")
    rel = FlowContext(spec, Path("build"), pdk).with_flow(flow)
    absolute = FlowContext(spec, tmp_path / "build", pdk).with_flow(flow)
    dotted = FlowContext(spec, tmp_path / "x" / ".." / "build", pdk).with_flow(flow)
    rel.rtl_dir.mkdir(parents=True)
    (tmp_path / "x").mkdir()
    (rel.rtl_dir / "manifest.json").write_text('{"top": "t"}')
    stage = flow.stages[0]
    assert stage.fingerprint(rel) == stage.fingerprint(absolute) == stage.fingerprint(dotted)
    assert not execute(stage, rel).skipped
    assert execute(stage, absolute).skipped and execute(stage, dotted).skipped  # the same build, up to date
    other = FlowContext(spec, tmp_path / "other", pdk).with_flow(flow)  # a copy of the build elsewhere
    os.makedirs(other.rtl_dir)
    (other.rtl_dir / "manifest.json").write_text('{"top": "t"}')
    assert stage.fingerprint(other) == stage.fingerprint(rel)


def test_artifacts_resolve_through_the_context(tmp_path):
    flow = Flow("one", [Consumer])
    ctx = FlowContext(DesignSpec(n=4), tmp_path / "b", Pdk(tmp_path / "nopdk", "test")).with_flow(flow)
    assert ctx.path("copy") == flow.stages[0].dir(ctx) / "copy.json" and flow.stages[0].dir(ctx).name == "01-consumer"
    assert ctx.path("rtl_manifest") == ctx.rtl_dir / "manifest.json"
    with pytest.raises(FlowError, match="produces artifact 'netlist'"):
        ctx.path("netlist")


@pytest.mark.parametrize("argv, message", [
    (["synth", "--flow", "openlane"], "--flow openlane applies to gds only"),
    (["power", "--flow", "magic"], "choose local or openlane"),
    (["synth", "--vectors", "60"], "--vectors set the gate-level simulation's stimulus: synth runs none"),
    (["sta", "--seed", "3"], "--seed set the gate-level simulation's stimulus: sta runs none"),
    (["gds", "--flow", "openlane", "--seed", "2"], "--flow openlane runs none"),
    (["power", "--vectors", "many"], "--vectors must be an integer"),
    (["gds", "--vectors", "0"], "--vectors must be at least 1"),
])
def test_flags_a_command_cannot_use_are_refused(argv, message, tmp_path):
    with pytest.raises(BitbranchError, match=message):
        flow_main([*argv, "--n", "4", "--root", str(tmp_path)])
    assert not any(tmp_path.iterdir())  # refused before anything ran


def test_refusal_is_one_error_line(tmp_path):
    out = subprocess.run([sys.executable, "-m", "flow", "synth", "--flow", "openlane", "--root", str(tmp_path)],
                         capture_output=True, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.returncode == 2 and out.stderr.startswith("error: --flow openlane applies to gds only")
    assert len(out.stderr.strip().splitlines()) == 1


def test_gds_passes_force_vectors_seed_to_the_local_flow(monkeypatch, tmp_path):
    from flow import backend

    seen = {}
    monkeypatch.setattr(backend, "run_local", lambda spec, clock_ns, root, **kw: seen.update(kw, root=root, clock=clock_ns))
    flow_main(["gds", "--n", "4", "--root", str(tmp_path), "--force", "--vectors", "30", "--seed", "7", "--clock-ns", "5"])
    assert seen == {"force": True, "vectors": 30, "seed": 7, "root": tmp_path, "clock": 5.0}
    flow_main(["gds", "--n", "4", "--root", str(tmp_path)])
    assert seen["force"] is False and seen["vectors"] == 200 and seen["seed"] == 1
