"""The cycle models (model.cycle, picked per arch by rtl.archs) in pure Python: their traces obey the port
contract and the RTL manifest's timing."""

from __future__ import annotations

import json

import pytest

from common.errors import BitbranchError
from model.cycle import Inputs, serial_schedule
from model.spec import DesignSpec
from rtl import archs
from rtl.archs import cycle_model, timing
from verif.checks import check_trace
from verif.driver import replay
from verif.stimulus import StimulusConfig, make_stimulus


@pytest.mark.parametrize("spec_id", [
    "parallel_w2a2_n32", "parallel_w1a4_n7", "parallel_w3a3_n1", "parallel_w5a2_n9",
    "serial_w2a2_n32", "serial_w1a4_n7", "serial_w3a3_n1", "serial_w1a1_n1", "serial_w3a2_n5",
    "baseline_w2a2_n32", "baseline_w1a4_n7", "baseline_w3a3_n1", "baseline_w4a1_n3",
    "parallel_twos_w3a2_n7", "parallel_twos_w1a1_n1", "serial_twos_w3a2_n7", "serial_twos_w1a4_n7",
    "serial_twos_w4a1_n3", "baseline_twos_w3a2_n7", "baseline_twos_w1a1_n1",
])
@pytest.mark.parametrize("seed", [1, 2])
def test_model_trace_passes_the_bench_checks(spec_id, seed):
    """Scoreboard, ordering, hold under back-pressure, latency and II: the same checks the RTL passes."""
    spec = DesignSpec.from_id(spec_id)
    lat, ii = timing(spec)
    stim = make_stimulus(spec, StimulusConfig(seed=seed, n_random=60, p_valid=0.6, p_ready=0.5), lat, ii)
    trace = replay(stim, cycle_model(spec), lat)
    rep = check_trace(spec, stim, trace.columns, lat, ii, spec_id)
    assert rep.passed, rep.failures
    assert rep.delivered > 60 and rep.coverage["reset_mid_stream"] > 0


def test_model_is_built_from_and_checked_against_the_manifest(tmp_path):
    from rtl.generate import generate

    spec = DesignSpec.from_id("serial_w2a3_n4")
    path = generate(spec, tmp_path)
    manifest = json.loads(path.read_text())
    model = cycle_model(spec, manifest)
    assert list(model.schedule) == serial_schedule(2, 3)
    assert timing(spec) == (manifest["latency_cycles"], manifest["initiation_interval"])
    bad = json.loads(json.dumps(manifest))
    bad["pipeline"]["step_schedule"].reverse()
    with pytest.raises(BitbranchError, match="step_schedule"):
        cycle_model(spec, bad)
    par = DesignSpec.from_id("parallel_w2a2_n4")
    pm = json.loads(generate(par, tmp_path).read_text())
    pm["latency_cycles"] = 3
    with pytest.raises(BitbranchError, match="latency 3"):
        cycle_model(par, pm)


@pytest.mark.parametrize("arch", archs.names())
def test_state_is_unknown_until_the_first_reset_then_known(arch):
    spec = DesignSpec(arch, 2, 2, 4)
    m = cycle_model(spec)
    assert m.comb(Inputs())[:2] == (None, None)
    m.reset_edge()
    assert m.comb(Inputs()) [:2] == (0, 0)  # in_ready low one edge after reset (live)
    m.edge(Inputs())
    # scalable reads its operands in place and raises in_ready on an input's last step only (a W2A2 input: 4 steps)
    assert m.comb(Inputs())[:2] == ((0 if arch == "scalable" else 1), 0)


def test_one_input_gives_the_right_y_after_latency_cycles():
    spec = DesignSpec("serial", 3, 2, 3)
    from model.contract import expected_y, pack_bus

    w, a = [7, 0, 5], [1, 3, 2]
    m = cycle_model(spec)
    m.reset_edge()
    m.edge(Inputs())
    inp = Inputs(in_valid=1, w=pack_bus(w, 3), a=pack_bus(a, 2))
    assert m.comb(inp)[0] == 1
    m.edge(inp)
    lat, _ = timing(spec)
    for _ in range(lat):
        assert m.comb(Inputs())[1] == 0
        m.edge(Inputs())
    ready, valid, y = m.comb(Inputs(out_ready=0))
    assert valid == 1 and y == expected_y(spec, w, a)


def _select_changes(sched, dots: int = 3) -> int:
    """Plane-select changes over ``dots`` back-to-back dot products (the walk restarts at step 0 for each)."""
    walk = [(i, j) for _ in range(dots) for i, j, _, _ in sched]
    return sum((p[0] != q[0]) + (p[1] != q[1]) for p, q in zip(walk, walk[1:]))


@pytest.mark.parametrize("m", range(1, 6))
@pytest.mark.parametrize("k", range(1, 6))
def test_serial_schedule_is_an_exact_horner_walk_with_fewer_select_changes(m, k):
    from model.cycle import diagonal_schedule

    sched = serial_schedule(m, k)
    assert sorted((i, j) for i, j, _, _ in sched) == [(i, j) for i in range(m) for j in range(k)]
    # walking the steps as the RTL does gives sum 2^(i+j) x_ij for any branch values x (distinct primes here)
    primes = iter([2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97])
    x = {(i, j): next(primes) for i in range(m) for j in range(k)}
    acc = 0
    for s, (i, j, dbl, sh) in enumerate(sched):
        acc = (0 if s == 0 else 2 * acc if dbl else acc) + (x[i, j] << sh)
    assert acc == sum(v << (i + j) for (i, j), v in x.items())
    assert max(sh for *_, sh in sched) == min(m, k) - 1  # the shifter spans the narrower operand's planes
    assert _select_changes(sched) <= _select_changes(diagonal_schedule(m, k))
    per_dot = lambda sc: _select_changes(sc, 2) - _select_changes(sc, 1)  # noqa: E731  (steady state, wrap included)
    if (m, k) == (2, 2):
        assert per_dot(sched) == 4 and per_dot(diagonal_schedule(m, k)) == 6
    if (m, k) == (4, 4):
        assert per_dot(sched) == 16 and per_dot(diagonal_schedule(m, k)) == 30
