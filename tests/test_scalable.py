"""The run-time-precision PE (``scalable``, #16 item 4/5): reference, cycle model, checks, RTL on both simulators,
out-of-range widths, the power stimulus at run-time widths and the default sweep leaving it out."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import unavailable

from common.errors import BitbranchError
from model import runtime
from model.contract import expected_y
from model.energy import estimate
from model.spec import DesignSpec
from rtl import archs
from rtl.generate import design_for, generate, manifest_for
from verif.checks import check_trace
from verif.driver import replay
from verif.runtime import mixed_stimulus, segments
from verif.stimulus import StimulusConfig

REPO = Path(__file__).resolve().parents[1]
SMALL = StimulusConfig(seed=3, n_random=30)


def _replay_segments(spec: DesignSpec, cfg: StimulusConfig = SMALL):
    man = manifest_for(spec, design_for(spec))
    for label, stim, check_spec in segments(spec, cfg):
        ii = check_spec.wbits * check_spec.abits
        trace = replay(stim, archs.cycle_model(spec, man), ii)
        yield label, stim, check_spec, trace, check_trace(check_spec, stim, trace.columns, 0, ii, f"{spec.id} {label}")


def test_manifest_states_the_width_ports_timing_and_out_of_range_rule():
    spec = DesignSpec("scalable", 3, 2, 5)
    man = manifest_for(spec, design_for(spec))
    rt = man["runtime_precision"]
    assert rt["ports"] == {"wprec": {"width": 2, "valid": [1, 3], "meaning": rt["ports"]["wprec"]["meaning"]},
                           "aprec": {"width": 2, "valid": [1, 2], "meaning": rt["ports"]["aprec"]["meaning"]}}
    assert rt["flag_port"] == "prec_err" and rt["initiation_interval"] == "wprec*aprec"
    assert rt["latency_cycles"].startswith("0 ")
    assert [(t["wprec"], t["aprec"], t["latency_cycles"], t["initiation_interval"]) for t in rt["timing"]] == [
        (m, k, 0, m * k) for m in (1, 2, 3) for k in (1, 2)]
    assert "y = 0 with prec_err = 1" in rt["out_of_range"] and "unchanged until accepted" in rt["operands"]
    assert (man["latency_cycles"], man["initiation_interval"]) == (0, 6) == archs.timing(spec)
    text = design_for(spec).modules[0].text
    assert "input  wire [1:0] wprec" in text and "output reg  prec_err" in text
    assert "s1_w" not in text  # operands read in place: no operand register


@pytest.mark.parametrize("spec_id", ["scalable_w2a3_n5", "scalable_twos_w3a2_n7", "scalable_w1a1_n1",
                                     "scalable_twos_w1a1_n1", "scalable_twos_w4a1_n4", "scalable_w1a4_n32"])
def test_cycle_model_meets_the_reference_at_every_run_time_width(spec_id):
    spec = DesignSpec.from_id(spec_id)
    labels = []
    for label, stim, check_spec, trace, rep in _replay_segments(spec):
        assert rep.passed, rep.failures
        labels.append(label)
        if label == "mixed":
            assert rep.coverage["prec_err_flagged"] > 0  # out-of-range inputs came back flagged
            assert {p for p in stim.precs if runtime.in_range(spec, *p)} == set(runtime.widths(spec))
        else:  # the width's own extremes, through junk upper bits
            assert rep.coverage["y_max_hit"] and rep.coverage["y_min_hit"]
            assert set(rep.clean_latencies) == {0}
            assert set(rep.clean_intervals) == {check_spec.wbits * check_spec.abits}
    assert labels == [f"w{m}a{k}" for m, k in runtime.widths(spec)] + ["mixed"]


def test_the_checks_catch_a_wrong_flag_a_wrong_y_and_a_wrong_latency():
    spec = DesignSpec("scalable", 2, 2, 6, encoding="twos")
    stim = mixed_stimulus(spec, SMALL)
    trace = replay(stim, archs.cycle_model(spec), 4)
    good = check_trace(spec, stim, trace.columns, 4, 4, "good")
    assert good.passed, good.failures
    cols = {k: list(v) for k, v in trace.columns.items()}
    k = next(i for i, (f, r) in enumerate(zip(cols["flag"], cols["out_ready"])) if f == 1 and r)
    bad_flag = dict(cols, flag=[0 if i == k else f for i, f in enumerate(cols["flag"])])
    assert any("expected prec_err=1, actual 0" in f for f in check_trace(spec, stim, bad_flag, 4, 4, "t").failures)
    bad_y = dict(cols, y=[(y + 1 if i == k else y) for i, y in enumerate(cols["y"])])
    assert any("MISMATCH" in f and "expected y=0" in f for f in check_trace(spec, stim, bad_y, 4, 4, "t").failures)
    # a run-time-width stream whose outputs come a cycle late: the per-input latency check fires
    late = replay(stim, archs.cycle_model(spec), 4).columns
    shifted = {c: ([None] + list(v[:-1]) if c in ("out_valid", "y", "flag") else list(v)) for c, v in late.items()}
    assert not check_trace(spec, stim, shifted, 4, 4, "t").passed


def test_out_of_range_widths_give_zero_and_the_flag_in_one_cycle():
    spec = DesignSpec("scalable", 3, 2, 4)
    w, a = (1, 2, 3, 4), (1, 2, 3, 0)
    for m, k in ((0, 1), (1, 0), (4, 1), (3, 3), (0, 0), (7, 3)):
        assert runtime.expected(spec, w, a, m, k) == (0, 1)
        assert runtime.steps(spec, m, k) == 1
    assert runtime.expected(spec, w, a, 3, 2) == (expected_y(spec, w, a), 0)
    assert runtime.steps(spec, 3, 2) == 6


@pytest.mark.parametrize("encoding", ["pm1", "twos"])
def test_only_the_low_bits_count_and_low_bit_data_re_encodes_for_a_fixed_pe(encoding):
    rng = np.random.default_rng(5)
    spec = DesignSpec("scalable", 4, 4, 16, encoding=encoding)
    base = DesignSpec("baseline", 4, 4, 16, encoding=encoding)
    for m, k in ((1, 1), (2, 3), (3, 1), (4, 4)):
        w = rng.integers(0, 16, size=16)
        a = rng.integers(0, 16, size=16)
        want = int(spec.enc.integer_dot(w % (1 << m), a % (1 << k), m, k))
        assert runtime.expected(spec, w, a, m, k) == (want, 0)
        ww, aa = runtime.words_at(base, w, a, runtime.RunBits(m, k), native=False)
        assert expected_y(base, ww, aa) == want  # the same values in the full-width PE's encoding


def test_run_bits_are_parsed_and_checked_against_the_spec():
    spec = DesignSpec("scalable", 4, 2, 8)
    assert runtime.parse_run_bits("", spec) is None
    assert runtime.parse_run_bits("2", spec) == runtime.RunBits(2, 2)
    assert runtime.parse_run_bits("3x1", spec) == runtime.RunBits(3, 1)
    for bad in ("3", "0", "5x1", "x", "2x2x2", "a"):
        with pytest.raises(BitbranchError, match="RUN_BITS="):
            runtime.parse_run_bits(bad, spec)


@pytest.mark.parametrize("args, message", [
    (("power", "--arch", "scalable", "--bits", "2", "--run-bits", "3"), "error: RUN_BITS='3': use b or mxk"),
    (("synth", "--arch", "scalable", "--bits", "2", "--run-bits", "1"), "error: --run-bits (RUN_BITS) sets the power"),
])
def test_a_bad_run_bits_is_one_error_line(args, message, tmp_path):
    run = subprocess.run([sys.executable, "-m", "flow", *args, "--root", str(tmp_path)], cwd=REPO,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and run.stderr.startswith(message) and len(run.stderr.strip().splitlines()) == 1, run.stderr


def test_energy_model_follows_the_run_time_width_and_the_area_does_not():
    spec = DesignSpec("scalable", 4, 4, 32)
    at = {b: estimate(spec, runtime.runtime_activity_at(runtime.RunBits(b, b)), "post-synthesis") for b in (1, 2, 4)}
    assert at[4] == estimate(spec, archs.get("scalable").activity, "post-synthesis")
    assert at[1][0] == at[2][0] == at[4][0]
    assert at[1][1] < at[2][1] < at[4][1]
    base = DesignSpec("baseline", 4, 4, 32)
    low = estimate(base, runtime.low_bit_activity(archs.get("baseline").activity, runtime.RunBits(1, 1)), "post-synthesis")
    assert low[0] == estimate(base, archs.get("baseline").activity, "post-synthesis")[0] and low[1] > 0


def test_the_default_ppa_sweep_leaves_it_out_but_names_it_on_request():
    from reports.sweep import flow_specs

    assert "scalable" not in {s.arch for s in flow_specs()}
    assert {s.arch for s in flow_specs(archs=["scalable"], bits=[4])} == {"scalable"}


def test_regeneration_is_byte_identical(tmp_path):
    spec = DesignSpec("scalable", 3, 3, 7, encoding="twos")
    one, two = generate(spec, tmp_path / "a").parent, generate(spec, tmp_path / "b").parent
    assert all((one / p.name).read_bytes() == p.read_bytes() for p in two.iterdir())


# --- simulators -------------------------------------------------------------------------------------------


@pytest.fixture
def sims():
    """``sims("verilator")``: skip (fail under CI) when that simulator is missing."""

    def check(sim: str) -> None:
        from verif.sim import check_simulator

        try:
            check_simulator(sim)
        except BitbranchError as e:
            unavailable(str(e))

    return check


@pytest.mark.slow
@pytest.mark.parametrize("spec_id, sim", [("scalable_w2a3_n5", "icarus"), ("scalable_w2a3_n5", "verilator"),
                                          ("scalable_twos_w3a2_n7", "icarus"), ("scalable_twos_w3a2_n7", "verilator")])
def test_rtl_passes_every_run_time_width_on_both_simulators(spec_id, sim, build_root, sims):
    from verif.runner import RunOptions, rtl_target, run

    sims(sim)
    spec = DesignSpec.from_id(spec_id)
    target = rtl_target(spec, build_root)
    assert target.bench == "verif.bench_runtime"
    r = run(spec, target, RunOptions(sim=sim, stimulus=SMALL, root=build_root))
    assert r.error is None and r.passed, (r.error, r.data.get("failures"))
    segs = [s["segment"] for s in r.data["segments"]]
    assert segs == [f"w{m}a{k}" for m, k in runtime.widths(spec)] + ["mixed"]
    assert all(s["passed"] and s["delivered"] > 20 for s in r.data["segments"])
    assert r.data["coverage"]["prec_err_flagged"] > 0 and r.data["coverage"]["reset_flushed_outputs"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("pattern, replacement, symptom", [
    (r"y <= in_bad \? \d+'d0 : (acc_next[^;]*);", r"y <= \1;", "expected y=0"),  # out-of-range input not zeroed
    (r"\| \(i_c == s_c\);", ";", "MISMATCH"),  # the diagonal walk ignores the lower bound of the plane index
    (r"prec_err <= in_bad;", "prec_err <= 1'b0;", "expected prec_err=1, actual 0"),
])
def test_a_mutant_scalable_pe_is_caught(pattern, replacement, symptom, build_root, sims):
    from verif.runner import RunOptions, run, target_from_manifest

    sims("icarus")
    spec = DesignSpec("scalable", 3, 2, 5)  # 3 weight planes: diagonals bounded by i <= s as well as i <= m-1
    rtl_dir = generate(spec, build_root).parent
    mutant = build_root / "mutant"
    shutil.copytree(rtl_dir, mutant)
    top = mutant / f"bb_{spec.id}.v"
    text, hits = re.subn(pattern, replacement, top.read_text(), count=1)
    assert hits == 1
    top.write_text(text)
    r = run(spec, target_from_manifest(spec, mutant / "manifest.json"), RunOptions(stimulus=SMALL, root=build_root))
    assert not r.passed and any(symptom in f for f in r.data.get("failures", [])), r.data.get("failures")


@pytest.mark.slow
@pytest.mark.parametrize("spec_id", ["scalable_w2a3_n5", "scalable_twos_w3a2_n7"])
def test_rtl_and_cycle_model_agree_every_cycle_with_mixed_widths(spec_id, build_root, sims):
    from verif.cycle_agreement import run_agreement

    sims("icarus")
    r = run_agreement(DesignSpec.from_id(spec_id), build_root)
    assert r["passed"] and r["mismatching_cycles"] == 0, r["mismatches"]
    assert all(s["delivered"] > 20 and s["stalled_outputs"] > 0 for s in r["streams"])


@pytest.mark.slow
@pytest.mark.parametrize("arch, run_bits", [("scalable", "1x2"), ("scalable", ""), ("baseline", "1")])
def test_the_power_stimulus_runs_at_run_time_widths(arch, run_bits, build_root, sims):
    """The flow's activity run (here on the RTL instead of a netlist) with RUN_BITS: y checked in order."""
    from model.contract import manifest_files, read_manifest
    from verif.activity import run_activity
    from verif.runtime import is_runtime

    sims("icarus")
    spec = DesignSpec(arch, 2, 2, 6)
    mpath = generate(spec, build_root)
    man = read_manifest(mpath)
    r = run_activity(spec, man["top"], man["latency_cycles"], man["initiation_interval"],
                     manifest_files(man, mpath.parent), build_root / "act", vectors=40, seed=2, in_valid_duty=1.0,
                     out_ready_duty=1.0, clock_ns=10.0, run_bits=run_bits, runtime=is_runtime(man))
    assert r.result["outputs"] == 40 and r.result["mismatch_count"] == 0 and not r.result["timeout"], r.result
    assert (build_root / "act" / "activity.vcd").is_file()


@pytest.mark.slow
def test_the_fusesoc_smoke_bench_ties_the_widths_to_the_maximum(build_root, sims):
    from verif.sim import run_plain_icarus

    sims("icarus")
    spec = DesignSpec("scalable", 3, 2, 7, encoding="twos")
    mpath = generate(spec, build_root)
    man = json.loads(mpath.read_text())
    tb = mpath.parent / man["fusesoc"]["testbench"]
    assert ".wprec(2'd3), .aprec(2'd2), .prec_err()" in tb.read_text()
    out = run_plain_icarus([tb, *(mpath.parent / f for f in man["verilog_files"])], tb.stem, build_root / "smoke")
    assert "smoke bench: PASS" in out, out


def test_stimulus_precs_default_to_the_spec_widths_for_plain_streams():
    """A plain stream (no precs) drives a run-time-precision PE at its own maximum widths."""
    from verif.driver import Driver
    from verif.stimulus import make_stimulus

    spec = DesignSpec("scalable", 2, 3, 4)
    stim = make_stimulus(spec, SMALL, 6, 6)
    assert stim.precs == ()
    inp = Driver(stim, 3).inputs(5)
    assert (inp.wprec, inp.aprec) == (2, 3)
    assert dataclasses.replace(stim, precs=((1, 1),) * len(stim.vectors)).precs[0] == (1, 1)


@pytest.mark.parametrize("bits", [(4, 4), (3, 3), (1, 4), (4, 1)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_mixed_segment_resets_while_vectors_remain(bits, seed):
    """The mixed segment's inputs take m*k cycles each, one when out of range, so its traffic before the mid-stream
    reset is sized by the fastest rate: even an input accepted after exactly its own interval, from the first
    cycle after the reset on, leaves vectors for after the mid-stream reset (CI's `make verify` once found the
    W4A4 stream exhausted before it: coverage holes reset_mid_stream, reset_flushed_outputs)."""
    from verif.runtime import mixed_stimulus
    from verif.stimulus import StimulusConfig

    spec = DesignSpec("scalable", *bits, 32)
    stim = mixed_stimulus(spec, StimulusConfig(seed=seed))
    cycles = sum(1 for k in range(stim.midreset_at) if not stim.rst[k])
    used = accepted = 0
    for m, k in stim.precs:
        used += runtime.steps(spec, m, k)
        if used > cycles:
            break
        accepted += 1
    assert 0 < stim.midreset_at < len(stim.offer)
    assert accepted < len(stim.vectors), f"all {len(stim.vectors)} inputs can be accepted in the {cycles} cycles before the reset"
