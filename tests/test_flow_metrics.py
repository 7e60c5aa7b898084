"""Metrics file: atomic merge, provenance, status marker, fmax, and parsing of tool reports."""

import json
from pathlib import Path

import pytest

from flow.metrics import (
    corner_key,
    fmax_mhz,
    is_complete,
    merge_metrics,
    read_metrics,
    set_status,
)
from flow.power import parse_report_power
from flow.sta import parse_slacks
from flow.synth import parse_stat_area

STA_LOG = """worst slack 7.7713
BB_SETUP_WS 7.771341123916547
BB_HOLD_WS 0.06762217366353292
"""

POWER_LOG = """Group                    Internal    Switching      Leakage        Total
                            Power        Power        Power        Power
------------------------------------------------------------------------
Sequential           3.180958e-04 4.216659e-05 2.362818e-10 3.602626e-04  49.5%
Combinational        2.877123e-04 7.968825e-05 2.144937e-10 3.674007e-04  50.5%
------------------------------------------------------------------------
Total                6.058079e-04 1.218548e-04 4.507756e-10 7.276632e-04 100.0%
"""


def test_merge_keeps_earlier_values_and_provenance(tmp_path):
    p = tmp_path / "flow" / "metrics.json"
    merge_metrics(p, {"design__instance__count": 10}, {"tools": {"yosys": "0.23"}}, "synth")
    merge_metrics(p, {corner_key("timing__setup__ws", "tt"): 1.5}, {"corner": "tt"}, "sta")
    data = read_metrics(p)
    assert data["design__instance__count"] == 10
    assert data["timing__setup__ws__corner:tt"] == 1.5
    assert data["provenance"]["synth"]["tools"]["yosys"] == "0.23"
    assert data["provenance"]["sta"]["corner"] == "tt"
    assert p.read_text().endswith("\n") and not list(p.parent.glob(".*.tmp"))


def test_status_marker(tmp_path):
    p = tmp_path / "metrics.json"
    set_status(p, "running synth")
    assert not is_complete(read_metrics(p))
    set_status(p, "ok")
    assert is_complete(read_metrics(p))


def test_nan_becomes_null(tmp_path):
    p = tmp_path / "m.json"
    merge_metrics(p, {"x": float("nan")})
    assert json.loads(p.read_text())["x"] is None


def test_fmax():
    assert fmax_mhz(10.0, 5.0) == pytest.approx(200.0)
    assert fmax_mhz(10.0, -10.0) == pytest.approx(50.0)
    with pytest.raises(ValueError):
        fmax_mhz(10.0, 10.0)


def test_parse_slacks():
    s = parse_slacks(STA_LOG)
    assert s["setup"] == pytest.approx(7.771341123916547) and s["hold"] == pytest.approx(0.0676221736)
    assert parse_slacks("BB_SETUP_WS 1e+30\nBB_HOLD_WS -1e+30\n") == {"setup": None, "hold": None}
    with pytest.raises(ValueError):
        parse_slacks("Error: something broke\n")


def test_parse_report_power():
    p = parse_report_power(POWER_LOG)
    assert p == {"internal": 6.058079e-04, "switching": 1.218548e-04, "leakage": 4.507756e-10, "total": 7.276632e-04}
    with pytest.raises(ValueError):
        parse_report_power("nothing here")


def test_parse_stat_area(tmp_path):
    f = tmp_path / "stat.txt"
    f.write_text("   Number of cells: 96\n   Chip area for module '\\bb_x': 1126.080000\n")
    assert parse_stat_area(f) == pytest.approx(1126.08)
    assert parse_stat_area(tmp_path / "missing.txt") is None


def test_propagated_clock_slacks_are_read_apart_from_the_ideal_ones():
    from flow.sta import parse_propagated, propagated_metrics, sta_script

    text = sta_script(Path("lib"), Path("nl.v"), "top", Path("c.sdc"), "tt")
    assert text.index('"BB_HOLD_WS') < text.index("set_propagated_clock [all_clocks]") < text.index('"BB_PROP_HOLD_WS')
    log = "BB_SETUP_WS 5.0\nBB_HOLD_WS 0.03\nBB_PROP_SETUP_WS 4.1\nBB_PROP_HOLD_WS -1.36\n"
    assert parse_slacks(log) == {"setup": 5.0, "hold": 0.03}
    assert parse_propagated(log) == {"setup": 4.1, "hold": -1.36}
    with pytest.raises(ValueError):
        parse_propagated("BB_SETUP_WS 5.0\nBB_HOLD_WS 0.03\n")  # an older log without the propagated pass
    m = propagated_metrics({"tt": 4.1, "ff": 6.0}, {"tt": -2.0, "ff": -1.36})
    assert m["timing__hold__ws__propagated"] == -2.0 and m["timing__setup__ws__propagated"] == 4.1
    assert m["timing__hold__ws__propagated__corner:ff"] == -1.36


GATED_LOG = """Startpoint: _598_ (rising edge-triggered flip-flop clocked by clk)
Endpoint: _438_ (falling clock gating-check end-point clocked by clk)
Path Group: **clock_gating_default**
Path Type: max
                                 4.1466   slack (MET)

Startpoint: _533_ (rising edge-triggered flip-flop clocked by clk)
Endpoint: _608_ (rising edge-triggered flip-flop clocked by clk)
Path Group: clk
Path Type: max
                                 6.6300   slack (MET)

Startpoint: _597_ (rising edge-triggered flip-flop clocked by clk)
Endpoint: _439_ (falling clock gating-check end-point clocked by clk)
Path Group: **clock_gating_default**
Path Type: min
            10.2585   slack (MET)
BB_SETUP_WS 4.1466
BB_HOLD_WS 0.03
"""


def test_fmax_counts_a_clock_gating_check_as_a_half_period_path():
    from flow.sta import GATING_GROUP, group_setup_slacks, min_period_ns, timing_metrics

    groups = group_setup_slacks(GATED_LOG)
    assert groups == {GATING_GROUP: pytest.approx(4.1466), "clk": pytest.approx(6.63)}  # min-delay paths left out
    # register paths need 10 - 6.63 = 3.37 ns, the gating check (required at the half period) 10 - 2 x 4.1466 = 1.71
    assert min_period_ns(10.0, 4.1466, groups) == pytest.approx(3.37)
    m = timing_metrics({"ff": 4.1466}, {"ff": 0.03}, 10.0, {"ff": groups})
    assert m["timing__fmax__mhz"] == pytest.approx(1000 / 3.37)  # not 1000 / (10 - 4.1466) = 171 MHz
    assert m["timing__setup__ws"] == pytest.approx(4.1466)  # the worst slack itself is unchanged
    # a slow gating check limits: slack -0.65 needs 11.3 ns, more than a register path of 9 ns
    assert min_period_ns(10.0, -0.65, {GATING_GROUP: -0.65, "clk": 1.0}) == pytest.approx(11.3)
    # without per-group slacks (an older log), the worst slack as a register path, as before
    assert timing_metrics({"tt": 2.0}, {"tt": 0.1}, 10.0)["timing__fmax__mhz"] == pytest.approx(125.0)


def test_one_corner_log_gives_every_timing_metric():
    from flow.sta import corner_metrics, parse_corner

    t = parse_corner(GATED_LOG + "BB_PROP_SETUP_WS 3.9\nBB_PROP_HOLD_WS -1.36\n")
    assert (t.setup, t.hold, t.setup_propagated, t.hold_propagated) == (4.1466, 0.03, 3.9, -1.36)
    m = corner_metrics({"ff": t}, 10.0)
    assert m["timing__fmax__mhz"] == pytest.approx(1000 / 3.37) and m["timing__hold__ws__propagated"] == -1.36
    with pytest.raises(ValueError):
        parse_corner(GATED_LOG)  # no propagated lines


def test_propagated_hold_is_split_by_launch_point():
    """Paths from registers and from input ports get their own worst hold (a line is missing when no such path is
    constrained: then None, not a number)."""
    from flow.sta import corner_metrics, parse_corner, sta_script

    text = sta_script(Path("lib"), Path("nl.v"), "top", Path("c.sdc"), "tt")
    assert text.index("set_propagated_clock") < text.index("-from [all_registers -clock_pins]") < text.index(
        '"BB_PROP_HOLD_REG_WS') < text.index("-from [all_inputs]") < text.index('"BB_PROP_HOLD_IN_WS')
    prop = "BB_PROP_SETUP_WS 3.9\nBB_PROP_HOLD_WS -1.26\n"
    ss = parse_corner(GATED_LOG + prop + "BB_PROP_HOLD_REG_WS 1.21476e+00\nBB_PROP_HOLD_IN_WS -1.2558e+00\n")
    ff = parse_corner(GATED_LOG + prop + "BB_PROP_HOLD_REG_WS 2.3e-01\n")  # no input-launched path
    assert ss.hold_propagated_from == {"registers": 1.21476, "inputs": -1.2558}
    assert ff.hold_propagated_from == {"registers": 0.23, "inputs": None}
    m = corner_metrics({"ss": ss, "ff": ff}, 10.0)
    assert m["timing__hold__ws__propagated__from_registers"] == 0.23
    assert m["timing__hold__ws__propagated__from_registers__corner:ss"] == 1.21476
    assert m["timing__hold__ws__propagated__from_inputs"] == -1.2558
    assert m["timing__hold__ws__propagated__from_inputs__corner:ff"] is None
