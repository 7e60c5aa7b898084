"""Power arithmetic on a hand-checked two-inverter netlist with a toy liberty, and the VCD toggle counter."""

import pytest

from flow.liberty import parse_liberty
from flow.netlist import parse_netlist
from flow.power import compute_power, input_activity, wire_load_cap_pf
from flow.vcd import count_toggles

TOY_LIB = """
library (toy) {
  time_unit : "1ns"; voltage_unit : "1V"; leakage_power_unit : "1nW";
  capacitive_load_unit (1, pf);
  default_operating_conditions : typ;
  operating_conditions (typ) { voltage : 2.0; }
  default_wire_load : "W";
  wire_load ("W") { capacitance : 0.001; slope : 2.0; fanout_length (1, 1.0); fanout_length (2, 3.0); }
  /* a comment { with braces } */
  cell (INV) {
    area : 2.0; cell_leakage_power : 5.0;
    pin (A) { direction : input; capacitance : 0.01;
      internal_power () {
        rise_power (p1) { index_1 ("0.0, 1.0"); values ("0.1, 0.3"); }
        fall_power (p1) { index_1 ("0.0, 1.0"); values ("0.2, 0.2"); } } }
    pin (Y) { direction : output; function : "!A";
      internal_power () { related_pin : "A";
        rise_power (p2) { index_1 ("0.0, 1.0"); index_2 ("0.0, 0.1");
                          values ("1.0, 2.0", \\
                                  "3.0, 4.0"); }
        fall_power (p2) { index_1 ("0.0, 1.0"); index_2 ("0.0, 0.1"); values ("0.0, 0.0", "0.0, 0.0"); } } }
  }
}
"""

TOY_NETLIST = """
module top(a, y);
  input a;
  output y;
  wire n1;
  wire n2;
  INV u1 (.A(a), .Y(n1));
  INV u2 (.A(n1), .Y(n2));
  assign y = n2;
endmodule
"""


@pytest.fixture(scope="module")
def lib():
    return parse_liberty(TOY_LIB)


def test_toy_liberty_parsed(lib):
    inv = lib.cells["INV"]
    assert lib.voltage == 2.0 and inv.area == 2.0 and inv.leakage == 5.0
    assert inv.pins["A"].capacitance == 0.01 and inv.pins["Y"].direction == "output"
    arc = inv.pins["Y"].power[0]
    assert arc.related_pin == "A"
    assert arc.rise.lookup(0.5, 0.05) == pytest.approx(2.5)  # bilinear centre of 1,2,3,4
    assert inv.pins["A"].power[0].rise.lookup(0.5) == pytest.approx(0.2)
    assert wire_load_cap_pf(1, lib.wire_load) == pytest.approx(0.001)
    assert wire_load_cap_pf(4, lib.wire_load) == pytest.approx(0.001 * (3.0 + 2.0 * 2))  # slope beyond table


def test_netlist_aliases(lib):
    nl = parse_netlist(TOY_NETLIST)
    assert nl.ports == {"a": "input", "y": "output"}
    assert nl.canon("n2") == "y"
    assert [i.pins for i in nl.instances] == [{"A": "a", "Y": "n1"}, {"A": "n1", "Y": "y"}]


def test_power_by_hand(lib):
    """V=2 V, window 100 ns, slew 0.5 ns, output load 0.02 pF; every number below is worked by hand."""
    nl = parse_netlist(TOY_NETLIST)
    toggles = {"a": (3, 2), "n1": (2, 3), "n2": (3, 2)}  # y is seen under its alias n2
    r = compute_power(nl, toggles, 100.0, lib, output_load_pf=0.02, slew_ns=0.5)
    # n1: C = 0.01 (u2.A) + 0.001 (wire, fanout 1) = 0.011 pF; y: 0.001 wire + 0.02 port load = 0.021 pF
    # switching = 0.5 * C * V^2 * transitions = 0.5*4*(0.011*5 + 0.021*5) = 0.32 pJ / 100 ns
    assert r.switching_w == pytest.approx(0.32e-12 / 100e-9)
    # input port a: 0.5*4*0.011*5 = 0.11 pJ, reported apart
    assert r.switching_input_ports_w == pytest.approx(0.11e-12 / 100e-9)
    # internal: pin A 0.2 pJ per transition (5 on a, 5 on n1) = 2.0 pJ;
    # u1.Y rises 2 x (2 + 10*0.011) = 4.22 pJ; u2.Y rises 3 x (2 + 10*0.021) = 6.63 pJ; falls cost 0
    assert r.internal_w == pytest.approx(12.85e-12 / 100e-9)
    assert r.leakage_w == pytest.approx(2 * 5e-9)
    assert r.total_w == pytest.approx(r.internal_w + r.switching_w + r.leakage_w)
    assert r.nets_without_activity == 0


def test_routed_wire_caps_replace_the_wire_load_model(lib):
    nl = parse_netlist(TOY_NETLIST)
    toggles = {"a": (3, 2), "n1": (2, 3), "y": (3, 2)}
    r = compute_power(nl, toggles, 100.0, lib, wire_cap_pf={"n1": 0.0, "y": 0.0}, output_load_pf=0.02, slew_ns=0.5)
    assert r.switching_w == pytest.approx(0.5 * 4 * (0.01 * 5 + 0.02 * 5) * 1e-12 / 100e-9)


def test_power_rejects_empty_window(lib):
    with pytest.raises(ValueError):
        compute_power(parse_netlist(TOY_NETLIST), {}, 0.0, lib)


VCD = """$timescale 1ps $end
$scope module tb $end
$var wire 1 ! clk $end
$scope module dut $end
$var wire 1 ! clk $end
$var wire 3 " v [2:0] $end
$var wire 1 # s $end
$upscope $end
$upscope $end
$enddefinitions $end
#0
$dumpvars
0!
bxxx "
x#
$end
#1000
1!
b101 "
0#
#2000
0!
b011 "
1#
0#
#3000
1!
b1 "
1#
"""


def test_vcd_toggle_counts(tmp_path):
    f = tmp_path / "a.vcd"
    f.write_text(VCD)
    t = count_toggles(f, "dut")
    assert t.counts["clk"] == (2, 1)
    # v: xxx -> 101 -> 011 -> 001 (short value left-extended with 0)
    assert t.counts["v[2]"] == (0, 1) and t.counts["v[1]"] == (1, 1) and t.counts["v[0]"] == (0, 0)
    # s: x -> 0 -> (1 then 0 in one timestep: no net change) -> 1
    assert t.counts["s"] == (1, 0)
    assert (t.start_time, t.end_time, t.timescale_s) == (0, 3000, 1e-12)
    assert input_activity(t.counts, ["v[1]", "v[2]"], 3) == pytest.approx(3 / 6)
