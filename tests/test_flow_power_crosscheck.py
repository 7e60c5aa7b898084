"""Cross-check the power arithmetic against OpenSTA on a netlist where activity propagation is exact."""

import subprocess

import pytest

from flow.liberty import load_library
from flow.netlist import parse_netlist
from flow.power import compute_power, parse_report_power
from flow.sta import TimingConstraints, sdc_text

pytestmark = pytest.mark.slow

CHAIN = """module chain(clk, a, y);
  input clk;
  input a;
  output y;
  wire n1, n2;
  sky130_fd_sc_hd__inv_1 u1 (.A(a), .Y(n1));
  sky130_fd_sc_hd__inv_2 u2 (.A(n1), .Y(n2));
  sky130_fd_sc_hd__buf_1 u3 (.A(n2), .X(y));
endmodule
"""


def test_inverter_chain_against_opensta(tmp_path, need_tools, tt_liberty):
    need_tools("sta")
    lib_path = tt_liberty
    (tmp_path / "chain.v").write_text(CHAIN)
    (tmp_path / "c.sdc").write_text(sdc_text(TimingConstraints(clock_ns=10.0)))
    (tmp_path / "p.tcl").write_text(
        f"read_liberty {lib_path}\nread_verilog {tmp_path / 'chain.v'}\nlink_design chain\n"
        f"set_operating_conditions tt_025C_1v80\nset_wire_load_model -name Small\nread_sdc {tmp_path / 'c.sdc'}\n"
        "set_power_activity -input -activity 0.5 -duty 0.5\nreport_power -digits 8\n")
    out = subprocess.run(["sta", "-no_init", "-exit", str(tmp_path / "p.tcl")], capture_output=True, text=True, timeout=120)
    sta_p = parse_report_power(out.stdout + out.stderr)
    # activity 0.5 per 10 ns cycle on every net (inverters and buffers pass the density on unchanged)
    lib = load_library(lib_path, tmp_path / "cache")
    mine = compute_power(parse_netlist(CHAIN), {n: (250, 250) for n in ("a", "n1", "n2", "y")}, 10_000.0, lib)
    assert mine.switching_w == pytest.approx(sta_p["switching"], rel=0.01)
    assert mine.leakage_w == pytest.approx(sta_p["leakage"], rel=0.01)
    # OpenSTA 2.0.17 charges (rise + fall) table energy per transition, i.e. twice the per-transition mean
    # used here (newer OpenSTA averages the two): expect a ratio near 2, the rest is the slew assumption.
    assert 1.6 < sta_p["internal"] / mine.internal_w < 2.5
