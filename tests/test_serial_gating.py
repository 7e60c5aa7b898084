"""The clock-gated serial PE (issue #16 item 3): which specs are gated, what the RTL and manifest say, the cycle
model's gated handshake, and the energy model's clock accounting. Pure Python (the RTL/model agreement under
cocotb is tests/test_cycle_agreement.py, the regressions are `make verify ARCH=serial`)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from common.errors import BitbranchError
from model.contract import expected_y, pack_bus
from model.cycle import Inputs, serial_model
from model.energy import costs_from_calibration, estimate_detail, features, load_calibration
from model.energy_activity import activity_for, serial_activity
from model.spec import DesignSpec
from rtl.archs import cycle_model, get
from rtl.archs.serial import clock_gated
from rtl.generate import generate


@pytest.mark.parametrize(("wbits", "abits", "gated"), [(1, 1, False), (1, 2, True), (2, 2, True), (4, 1, True)])
def test_gated_from_two_steps_on(tmp_path, wbits, abits, gated):
    spec = DesignSpec("serial", wbits, abits, 4)
    assert clock_gated(spec) is gated
    manifest = json.loads(generate(spec, tmp_path).read_text())
    text = (tmp_path / spec.id / "rtl" / f"bb_{spec.id}.v").read_text()
    assert ("clock_gates" in manifest["pipeline"]) is gated
    assert ("s1_gclk" in text) is gated
    if gated:
        # every enable is a register function; the gated registers load without a hold condition
        assert set(manifest["pipeline"]["clock_gates"]) == {"s1_gclk", "acc_gclk", "y_gclk", "kind"}
        assert "wire out_free = ~out_valid;" in text
        assert "always @(posedge s1_gclk) begin\n        s1_w <= w;" in text
        assert "always @(posedge y_gclk) begin\n        y <= y_next;" in text
    else:
        assert "wire out_free = ~out_valid | out_ready;" in text and "if (accept) begin" in text


def test_manifest_and_model_must_agree_on_gating(tmp_path):
    spec = DesignSpec("serial", 2, 2, 4)
    manifest = json.loads(generate(spec, tmp_path).read_text())
    cycle_model(spec, manifest)  # the registered arch builds the gated model
    with pytest.raises(BitbranchError, match="has clock gates"):
        serial_model(spec, manifest, gated=False)
    ungated = json.loads(json.dumps(manifest))
    del ungated["pipeline"]["clock_gates"]
    with pytest.raises(BitbranchError, match="has no clock gates"):
        cycle_model(spec, ungated)


def _to_last_step(m, spec, w, a):
    """Reset, accept (w, a) and step to the edge before its last step completes; returns the inputs used."""
    m.reset_edge()
    m.edge(Inputs())
    inp = Inputs(in_valid=1, w=pack_bus(w, spec.wbits), a=pack_bus(a, spec.abits))
    assert m.comb(inp)[0] == 1
    m.edge(inp)
    for _ in range(len(m.schedule) - 1):
        m.edge(Inputs(in_valid=0, out_ready=1))
    return inp


def test_gated_in_ready_depends_on_registers_only():
    spec = DesignSpec("serial", 2, 2, 3)
    w, a = [3, 0, 2], [1, 2, 3]
    for gated in (False, True):
        m = serial_model(spec, gated=gated)
        _to_last_step(m, spec, w, a)
        # first result out, stalled; the second input reaches its last step while out_valid is still 1
        m.edge(Inputs(in_valid=1, w=pack_bus(w, 2), a=pack_bus(a, 2), out_ready=0))
        assert m.out_valid == 1 and m.y == expected_y(spec, w, a)
        for _ in range(len(m.schedule) - 1):
            m.edge(Inputs(out_ready=0))
        ready = {r: m.comb(Inputs(out_ready=r))[0] for r in (0, 1)}
        if gated:  # the last step waits for an empty y register: in_ready is 0 whatever out_ready does
            assert ready == {0: 0, 1: 0}
        else:      # plain: out_ready high at this edge frees y and lets the next input in
            assert ready == {0: 0, 1: 1}


def test_gated_operands_load_at_every_ready_edge_and_y_is_right():
    """The gated operand register takes (w, a) at every edge where in_ready is 1, also without in_valid;
    an accepted input's y is unaffected."""
    spec = DesignSpec("serial", 2, 3, 4)
    m = serial_model(spec, gated=True)
    m.reset_edge()
    m.edge(Inputs(w=5, a=9))
    assert m.s1 is None  # in_ready was 0 (one edge after reset): not clocked
    m.edge(Inputs(in_valid=0, w=5, a=9))
    assert m.s1 == (5, 9)  # clocked without an accept: an input nobody reads
    w, a = [3, 1, 0, 2], [7, 0, 5, 2]
    inp = Inputs(in_valid=1, w=pack_bus(w, 2), a=pack_bus(a, 3))
    m.edge(inp)
    for _ in range(len(m.schedule) - 1):
        m.edge(Inputs(in_valid=0, w=1, a=1))
        assert m.s1 == (inp.w, inp.a)  # held while the dot is in flight
    m.edge(Inputs(in_valid=0))
    assert m.out_valid == 1 and m.y == expected_y(spec, w, a)


def test_energy_model_counts_gated_clocks():
    spec = DesignSpec("serial", 2, 2, 32)
    rng = np.random.default_rng(0)
    w, a = rng.integers(0, 4, (64, 32)), rng.integers(0, 4, (64, 32))
    plain, gated = serial_activity(spec, w, a), serial_activity(spec, w, a, gated=True)
    steps = plain.cycles_per_dot
    assert steps == gated.cycles_per_dot == 4
    assert plain.flops == gated.flops
    assert plain.flop_clocks_per_dot == plain.flops * steps
    ctrl = next(p.units for p in gated.parts if p.kind == "ctrl")
    acc = next(p.units for p in gated.parts if p.name == "accumulator")
    # operands and y once per dot, the accumulator at every step but the last, the control every step
    assert gated.flop_clocks_per_dot == 32 * 4 + spec.out_width + acc * (steps - 1) + ctrl * steps
    costs = costs_from_calibration(load_calibration())
    (pa, pe), (ga, ge) = features(plain, costs), features(gated, costs)
    assert ge["clock"] < 0.5 * pe["clock"] and ga["registers"] < pa["registers"]
    # the registered descriptor uses the gated form
    est = estimate_detail(spec, get("serial").activity)
    assert est.energy_features["clock"] == pytest.approx(
        features(activity_for(spec, lambda s, w, a: serial_activity(s, w, a, gated=True), 256, 1), costs)[1]["clock"])


def test_flop_class_is_derived_from_the_calibration_liberty_numbers():
    cal = load_calibration()
    costs = costs_from_calibration(cal)
    u = cal["unit_costs"]
    if "flop" not in u["area_um2"]:  # fitted before the class existed: dfxtp_1 = (dfxtp_1 + mux2_1) - mux2_1
        assert costs.area_um2["flop"] == pytest.approx(u["area_um2"]["reg"] - u["area_um2"]["mux"])
        assert costs.toggle_pj["flop"] == u["toggle_pj"]["ctrl"]
    assert 15.0 < costs.area_um2["flop"] < 25.0  # dfxtp_1 is 20.02 um^2


def test_gated_design_keeps_latency_and_ii():
    for wb, ab in ((1, 2), (2, 2), (3, 3)):
        spec = DesignSpec("serial", wb, ab, 5)
        lat, ii = get("serial").timing(spec)
        assert lat == ii == wb * ab


GATE_LIB = """
library (toygate) {
  time_unit : "1ns"; voltage_unit : "1V"; leakage_power_unit : "1nW";
  capacitive_load_unit (1, pf);
  operating_conditions (typ) { voltage : 1.0; }
  cell (OR2) {
    area : 1.0; cell_leakage_power : 0.0;
    pin (A) { direction : input; capacitance : 0.01; }
    pin (B) { direction : input; capacitance : 0.01; }
    pin (X) { direction : output; function : "A|B"; }
  }
  cell (DFF) {
    area : 4.0; cell_leakage_power : 0.0;
    pin (CLK) { direction : input; capacitance : 0.02;
      internal_power () {
        rise_power (p1) { index_1 ("0.0, 1.0"); values ("1.0, 1.0"); }
        fall_power (p1) { index_1 ("0.0, 1.0"); values ("0.5, 0.5"); } } }
    pin (D) { direction : input; capacitance : 0.01; }
    pin (Q) { direction : output; }
  }
}
"""

GATE_NETLIST = """
module top(clk, en_n, d, q0, q1);
  input clk; input en_n; input d;
  output q0; output q1;
  wire gclk;
  OR2 g (.A(clk), .B(en_n), .X(gclk));
  DFF f0 (.CLK(gclk), .D(d), .Q(q0));
  DFF f1 (.CLK(clk), .D(d), .Q(q1));
endmodule
"""


def test_flow_power_charges_a_gated_clock_per_gated_edge():
    """The flow's power arithmetic on a gate: the flop behind it pays clock-pin energy for the gated clock's
    transitions only, the gated net's switching is charged to the design, the clock port's is not."""
    from flow.liberty import parse_liberty
    from flow.netlist import parse_netlist
    from flow.power import compute_power

    lib, nl = parse_liberty(GATE_LIB), parse_netlist(GATE_NETLIST)
    toggles = {"clk": (10, 10), "en_n": (2, 2), "d": (0, 0), "gclk": (3, 3), "q0": (0, 0), "q1": (0, 0)}
    r = compute_power(nl, toggles, 100.0, lib, wire_cap_pf={}, output_load_pf=0.0, slew_ns=0.5)
    # clock pins: f0 sees 3 rises + 3 falls of gclk, f1 10 + 10 of clk: (3 + 10) * 1.0 + (3 + 10) * 0.5 pJ
    assert r.internal_w == pytest.approx(19.5e-12 / 100e-9)
    # gclk (cell-driven, 0.02 pF) is charged: 0.5 * 0.02 * 1 V^2 * 6 transitions
    assert r.switching_w == pytest.approx(0.06e-12 / 100e-9)
    # clk (0.01 + 0.02 pF) and en_n (0.01 pF) are input ports, reported apart
    assert r.switching_input_ports_w == pytest.approx(0.5 * (0.03 * 20 + 0.01 * 4) * 1e-12 / 100e-9)
    assert r.switching_clock_port_w == 0.0


def test_flow_power_charges_the_clock_port_net_when_named():
    """With ``clock_port`` (what both power stages pass), the ungated flop's clock net is the design's load too:
    its switching moves from the input ports into the design's switching, and is reported on its own."""
    from flow.liberty import parse_liberty
    from flow.netlist import parse_netlist
    from flow.power import compute_power

    lib, nl = parse_liberty(GATE_LIB), parse_netlist(GATE_NETLIST)
    toggles = {"clk": (10, 10), "en_n": (2, 2), "d": (0, 0), "gclk": (3, 3), "q0": (0, 0), "q1": (0, 0)}
    r = compute_power(nl, toggles, 100.0, lib, wire_cap_pf={}, output_load_pf=0.0, slew_ns=0.5, clock_port="clk")
    clk_pj = 0.5 * 0.03 * 20  # f1.CLK 0.02 + g.A 0.01 pF, 20 transitions, 1 V
    assert r.switching_clock_port_w == pytest.approx(clk_pj * 1e-12 / 100e-9)
    assert r.switching_w == pytest.approx((0.06 + clk_pj) * 1e-12 / 100e-9)
    assert r.switching_input_ports_w == pytest.approx(0.5 * 0.01 * 4 * 1e-12 / 100e-9)  # en_n only
    assert r.internal_w == pytest.approx(19.5e-12 / 100e-9)  # unchanged
