"""bench/energy_breakdown.py: a routed design's energy per dot by cell class, equal to flow.power's total."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from test_serial_gating import GATE_LIB, GATE_NETLIST  # the toy gated-clock library and netlist

REPO = Path(__file__).resolve().parents[1]

# clk toggles 4 times, en_n twice, gclk twice, d/q0/q1 once each; window 0..4000 ps
GATE_VCD = """$timescale 1ps $end
$scope module tb $end
$scope module dut $end
$var wire 1 ! clk $end
$var wire 1 " en_n $end
$var wire 1 # d $end
$var wire 1 $ gclk $end
$var wire 1 % q0 $end
$var wire 1 & q1 $end
$upscope $end
$upscope $end
$enddefinitions $end
#0
$dumpvars
0!
0"
0#
0$
0%
0&
$end
#1000
1!
1$
1#
#2000
0!
0$
1"
#3000
1!
1%
1&
#4000
0!
0"
"""


def _bench():
    spec = importlib.util.spec_from_file_location("bench_energy_breakdown", REPO / "bench" / "energy_breakdown.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_breakdown_sums_to_flow_power_total(tmp_path: Path) -> None:
    from flow.liberty import parse_liberty
    from flow.netlist import parse_netlist
    from flow.power import compute_power
    from flow.vcd import count_toggles

    d = tmp_path / "toy_n2"
    (d / "rtl").mkdir(parents=True)
    (d / "rtl" / "manifest.json").write_text(json.dumps({"n": 2, "clock_port": "clk"}))
    nd, sd = d / "flow" / "09-routed-netlist", d / "flow" / "10-gatesim-routed"
    nd.mkdir(parents=True)
    sd.mkdir(parents=True)
    (nd / "routed.v").write_text(GATE_NETLIST)
    (nd / "wire_caps.json").write_text(json.dumps({"clk": 0.005, "gclk": 0.004}))
    (sd / "activity.vcd").write_text(GATE_VCD)
    (sd / "sim.json").write_text(json.dumps({"outputs": 2}))
    lib_path = tmp_path / "gate.lib"
    lib_path.write_text(GATE_LIB)

    parts, outputs = _bench().breakdown(d, lib_path, tmp_path / "cache")
    assert outputs == 2
    lib, nl = parse_liberty(GATE_LIB), parse_netlist(GATE_NETLIST)
    tg = count_toggles(sd / "activity.vcd", "dut")
    window = (tg.end_time - tg.start_time) * tg.timescale_s * 1e9
    ref = compute_power(nl, tg.counts, window, lib, wire_cap_pf={"clk": 0.005, "gclk": 0.004}, clock_port="clk")
    per_dot_pj = (ref.internal_w + ref.switching_w) * window * 1e-9 / 2 * 1e12
    assert sum(parts.values()) == pytest.approx(per_dot_pj)
    # the clock port's net and the gated clock are both clock nets; the flops' CLK pins are their own class
    assert parts["switching: clock nets"] == pytest.approx(0.5 * 1.0 * ((0.03 + 0.005) * 4 + (0.02 + 0.004) * 2) / 2)
    # clock pins (1.0 pJ a rise, 0.5 a fall): f0 sees gclk's rise and fall, f1 clk's two of each: 4.5 pJ over 2 dots
    assert parts["internal: flop clock pins"] == pytest.approx(2.25)


def test_missing_design_is_one_line(tmp_path: Path, capsys) -> None:
    (tmp_path / "pdk" / "lib").mkdir(parents=True)
    (tmp_path / "pdk" / "lib" / "x_tt_025C_1v80.lib").write_text("")
    assert _bench().main(["--root", str(tmp_path), "serial_w2a2_n32"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no routed gate-level VCD" in err[0]
