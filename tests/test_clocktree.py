"""Gated-clock buffer trees (flow/clocktree.py): balanced depth, every sink moved, ungated netlists untouched."""

from __future__ import annotations

import pytest

from flow.clocktree import buffer_gated_clocks, gated_clock_sinks, tree_levels
from flow.liberty import parse_liberty
from flow.netlist import parse_netlist

LIB = """
library (toyclk) {
  time_unit : "1ns"; voltage_unit : "1V"; leakage_power_unit : "1nW";
  capacitive_load_unit (1, pf);
  operating_conditions (typ) { voltage : 1.0; }
  cell (OR2) { area : 1.0; pin (A) { direction : input; } pin (B) { direction : input; }
    pin (X) { direction : output; function : "A|B"; } }
  cell (CB4) { area : 2.0; pin (A) { direction : input; } pin (X) { direction : output; function : "A"; } }
  cell (CB8) { area : 3.0; pin (A) { direction : input; } pin (X) { direction : output; function : "A"; } }
  cell (DFF) { area : 4.0; ff (IQ, IQN) { clocked_on : "CLK"; next_state : "D"; }
    pin (CLK) { direction : input; clock : true; } pin (D) { direction : input; }
    pin (Q) { direction : output; function : "IQ"; } }
}
"""


def netlist(flops: int, gated: bool = True) -> str:
    clock = "gclk" if gated else "clk"
    lines = ["module top(clk, en_n, d, q);", "  input clk; input en_n; input d;", f"  output [{flops - 1}:0] q;",
             "  wire gclk;", "  OR2 g (.A(clk), .B(en_n), .X(gclk));"]
    lines += [f"  DFF f{i} (\n    .CLK({clock}),\n    .D(d),\n    .Q(q[{i}])\n  );" for i in range(flops)]
    return "\n".join(lines + ["endmodule", ""])


def run(text: str, fanout: int = 4):
    lib = parse_liberty(LIB)
    return buffer_gated_clocks(text, parse_netlist(text), lib, fanout, leaf="CB4", root="CB8")


@pytest.mark.parametrize("sinks,fanout,levels", [(1, 16, (1,)), (16, 16, (1,)), (17, 16, (1, 2)), (128, 16, (1, 8)),
                                                 (300, 16, (1, 2, 19)), (9, 4, (1, 3))])
def test_tree_levels(sinks, fanout, levels):
    assert tree_levels(sinks, fanout) == levels


def test_every_gated_sink_sits_behind_the_same_depth_and_the_gate_drives_only_the_root():
    new, trees = run(netlist(10))
    assert [(t.net, t.sinks, t.levels) for t in trees] == [("gclk", 10, (1, 3))]
    nl = parse_netlist(new)
    driver = {pin_net: i for i in nl.instances for p, pin_net in i.pins.items() if p == "X"}
    assert [i.name for i in nl.instances if "gclk" in i.pins.values()] == ["g", "_ct_gclk_0_0_buf"]
    depths = []
    for f in (i for i in nl.instances if i.cell == "DFF"):
        net, depth = f.pins["CLK"], 0
        while driver[net].cell != "OR2":
            net, depth = driver[net].pins["A"], depth + 1
        depths.append(depth)
    assert depths == [2] * 10
    leaf_loads = sorted(sum(1 for f in nl.instances if f.cell == "DFF" and f.pins["CLK"] == b.pins["X"])
                        for b in nl.instances if b.cell == "CB4")
    assert leaf_loads == [3, 3, 4]  # an even split, none above the fan-out


def test_an_ungated_netlist_is_returned_unchanged():
    text = netlist(10, gated=False)
    assert gated_clock_sinks(parse_netlist(text), parse_liberty(LIB)) == {}
    assert run(text) == (text, [])


def test_same_netlist_same_text():
    assert run(netlist(33))[0] == run(netlist(33))[0]


def test_an_unknown_buffer_cell_is_refused():
    text = netlist(3)
    with pytest.raises(ValueError, match="CB16 is not in the liberty"):
        buffer_gated_clocks(text, parse_netlist(text), parse_liberty(LIB), 4, leaf="CB16", root="CB8")
