"""Back-end pieces without tools: DEF legalisation, router script/log, SPEF, LVS/DRC parsing, error paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from common.errors import BitbranchError
from flow import backend
from flow.pnr import defedit, lvs, magic, netcheck, route, route_stage, spef, tech
from model.spec import DesignSpec

U = 200
DEF = """VERSION 5.6 ;
DESIGN t ;
UNITS DISTANCE MICRONS 200 ;
DIEAREA ( -184 -68 ) ( 4600 1156 ) ;
TRACKS Y -68.0 DO 20 STEP 68 LAYER met1 ;
TRACKS X -184.0 DO 30 STEP 92 LAYER met2 ;
COMPONENTS 6 ;
- f0 sky130_fd_sc_hd__fill_8 + PLACED ( 92 34 ) N ;
- u1 sky130_fd_sc_hd__nand2_1 + PLACED ( 737 34 ) N ;
- f1 sky130_fd_sc_hd__fill_4 + PLACED ( 1012 34 ) N ;
- u2 sky130_fd_sc_hd__inv_2 + PLACED ( 1380 34 ) N ;
- f2 sky130_fd_sc_hd__fill_8 + PLACED ( 1656 34 ) N ;
- f3 sky130_fd_sc_hd__fill_8 + PLACED ( 3128 34 ) N ;
END COMPONENTS
PINS 2 ;
- a + NET a
  + LAYER met1 ( -14 -14 ) ( 14 14 )
  + PLACED ( 0 600 ) N ;
- y + NET y
  + LAYER met1 ( -14 -14 ) ( 14 14 )
  + PLACED ( 4416 40 ) N ;
END PINS
NETS 3 ;
- a
  ( PIN a ) ( u1 A ) ( u1 B )
+ ROUTED met1 ( 0 600 ) ( 737 * ) ;
- n1
  ( u1 Y ) ( u2 A )
+ ROUTED met1 ( 800 100 ) ( 1400 * )
  NEW met2 ( 1400 100 ) ( * 300 ) ;
- y
  ( u2 Y ) ( PIN y ) ;
END NETS
END DESIGN
"""


def test_snap_sites_moves_off_grid_component() -> None:
    text, moved = defedit.snap_sites(DEF)
    assert moved == 1  # u1 at 737 is 1 unit off the 92-unit site grid
    assert "( 736 34 )" in text


def test_insert_taps_covers_every_row_point() -> None:
    text, taps, worst = defedit.insert_taps(DEF, 7.0)
    assert taps >= 2
    assert worst <= 7.0 + defedit.SITE_UM
    assert text.count(defedit.TAP) == taps
    # the furthest filler within reach of the row start (f1, a fill_4) becomes tap (1 site) + fill_2 + fill_1
    assert "TAP_1 sky130_fd_sc_hd__tapvpwrvgnd_1 + PLACED ( 1012 34 )" in text
    assert "f1_r0 sky130_fd_sc_hd__fill_2 + PLACED ( 1104 34 )" in text and "f1_r1 sky130_fd_sc_hd__fill_1 + PLACED ( 1288 34 )" in text


def _row(cells: list[tuple[str, str, int]]) -> str:
    """A one-row DEF (components only) from (name, master suffix, x in sites)."""
    comps = "".join(f"- {n} sky130_fd_sc_hd__{m} + PLACED ( {x * 92} 34 ) N ;\n" for n, m, x in cells)
    return (f"UNITS DISTANCE MICRONS 200 ;\nDIEAREA ( 0 0 ) ( 20000 600 ) ;\nCOMPONENTS {len(cells)} ;\n{comps}"
            "END COMPONENTS\n")


def test_insert_taps_takes_a_decap_only_where_fillers_leave_a_latch_up_gap() -> None:
    # parallel_twos_w3a3_n32 at 18 %: a top row starting with ~20 um of decaps, its first filler 43 sites (19.8 um)
    # in; magic LU.3 on the decaps' P-diff. Now a decap near the row start becomes the tap.
    row = [("d0", "decap_12", 0), ("d1", "decap_12", 12), ("d2", "decap_12", 24), ("d3", "decap_6", 36),
           ("f0", "fill_8", 43), ("u1", "inv_2", 51)]
    text, taps, worst = defedit.insert_taps(_row(row), 7.0)
    assert "TAP_1 sky130_fd_sc_hd__tapvpwrvgnd_1 + PLACED ( 1104 34 )" in text  # d1 (x 5.52 um) as far as reach allows
    assert "d1_r0 sky130_fd_sc_hd__fill_4 + PLACED ( 1196 34 )" in text  # the rest of its 12 sites: 4 + 4 + 2 + 1
    assert "d1_r3 sky130_fd_sc_hd__fill_1 + PLACED ( 2116 34 )" in text and "- d1 " not in text
    assert worst <= defedit.TAP_LIMIT_UM and taps == 2
    old = defedit.insert_taps(_row(row), 7.0, limit_um=100.0)  # without the limit: the filler, 19.8 um in
    assert "TAP_1 sky130_fd_sc_hd__tapvpwrvgnd_1 + PLACED ( 3956 34 )" in old[0] and old[2] > 15.0
    # a gap the fillers keep under the limit is left as it was: no decap is touched
    near = [("d0", "decap_12", 0), ("d1", "decap_12", 12), ("f0", "fill_8", 24), ("u1", "inv_2", 32)]
    assert defedit.insert_taps(_row(near), 7.0) == defedit.insert_taps(_row(near), 7.0, limit_um=100.0)
    assert "- d0 sky130_fd_sc_hd__decap_12" in defedit.insert_taps(_row(near), 7.0)[0]


def test_fix_pins_moves_pins_off_the_edge_and_rails() -> None:
    text, moved = defedit.fix_pins(DEF)
    assert moved >= 1
    # the west pin at x=0 moves one site in from the die edge
    assert "PLACED ( -92 " in text


def test_rail_obstructions_block_li1() -> None:
    obs = defedit.rail_obstructions(DEF).splitlines()
    assert all(o.startswith("obstruction ") and o.endswith(" li1") for o in obs)
    assert len(obs) == 1 + 2  # core block + the two rails of one row


def test_rail_obstructions_span_the_whole_die() -> None:
    core = defedit.rail_obstructions(DEF).splitlines()[0].split()
    assert (float(core[1]), float(core[3])) == (-0.92, 23.0)  # DIEAREA x -184..4600 at 200 units/um


def test_widen_die_moves_edges_tracks_and_side_pins() -> None:
    text, moved = defedit.widen_die(DEF, 2)
    assert moved == 2
    assert "DIEAREA ( -368 -68 ) ( 4784 1156 ) ;" in text  # 2 sites (184 units) more on the west and on the east
    assert "TRACKS X -368.0 DO 34 STEP 92 LAYER met2 ;" in text  # the same grid, 4 more columns
    assert "TRACKS Y -68.0 DO 20 STEP 68 LAYER met1 ;" in text
    assert "PLACED ( -184 600 )" in text and "PLACED ( 4600 40 )" in text  # pins keep their distance to the edge
    assert defedit._components(text).group(0) == defedit._components(DEF).group(0)  # no cell moves
    assert defedit.widen_die(DEF, 0) == (DEF, 0)
    met4 = DEF.replace("LAYER met2 ;", "LAYER met2 ;\nTRACKS X -184.0 DO 15 STEP 184 LAYER met4 ;")
    with pytest.raises(ValueError, match="met4 pitch 184"):
        defedit.widen_die(met4, 1)  # one site would put the met4 tracks off their grid


def test_edge_obstructions_leave_the_margin_columns_free() -> None:
    text, _ = defedit.widen_die(DEF, 2)
    obs = [(float(a), float(b), float(c), float(d), lay) for _, a, b, c, d, lay in
           (line.split() for line in defedit.edge_obstructions(text).splitlines())]
    assert len(obs) == 12 and {o[4] for o in obs} == {"li1", "met1", "met2", "met3", "met4"}
    met2 = sorted(o for o in obs if o[4] == "met2")
    # west pin at -0.92, east pin at 23.0: the met2/met4 fences start half a met2 pitch past them, so every met2
    # column between the rows (0.46..19.32) and the pins is free (-0.46, 0.0 west; 19.78..22.54 east)
    assert met2[0][:4] == (-2.3, -0.06, -0.69, 3.06) and met2[1][:4] == (22.77, -0.06, 24.38, 3.06)
    south = [o for o in obs if o[4] == "met1" and o[1] < 0]
    assert south == [(-0.69, -0.68, 22.77, -0.06, "met1")]  # met1 fenced below the rows, between the side fences


def test_with_edge_obstructions_replaces_qflows_fence_in_place() -> None:
    cfg = ("verbose 1\nvdd VPWR\nobstruction 0 0 1 1 li1\nobstruction 0 0 1 1 met2\n"
           "read_def t.def\nqrouter::standard_route t_route.def false\n")
    out = defedit.with_edge_obstructions(cfg, DEF)
    assert out.startswith("verbose 1\nvdd VPWR\nobstruction ") and "obstruction 0 0 1 1" not in out
    assert out.endswith("read_def t.def\nqrouter::standard_route t_route.def false\n")
    assert out.count("obstruction ") == 12
    assert defedit.with_edge_obstructions("verbose 1\nread_def t.def\n", DEF).index("obstruction") > 0


def test_offtrack_obstructions_block_the_rows_between_met3_tracks() -> None:
    # met1 grid every 0.34 um from -0.34, met3 tracks every 0.68 um from 0: the rows at -0.34, 0.34, 1.02, ... are
    # between met3 tracks and get a stripe across the die; the met3 tracks themselves stay free
    text = DEF.replace("TRACKS X -184.0 DO 30 STEP 92 LAYER met2 ;",
                       "TRACKS X -184.0 DO 30 STEP 92 LAYER met2 ;\nTRACKS Y 0.0 DO 9 STEP 136 LAYER met3 ;")
    obs = route.offtrack_obstructions(text).splitlines()
    rows = [round((float(o.split()[2]) + float(o.split()[4])) / 2, 3) for o in obs]
    assert rows == [round(-0.34 + 0.68 * k, 3) for k in range(10)]  # 20 met1 rows from -0.34: 10 between tracks
    assert all(o.endswith(" met3") for o in obs)
    assert all(float(o.split()[1]) < -0.92 and float(o.split()[3]) > 23.0 for o in obs)  # the die is -0.92..23.0
    assert all(float(o.split()[4]) - float(o.split()[2]) < 0.34 - 2 * 0.15 for o in obs)  # clear of the next row
    assert route.offtrack_obstructions(DEF) == ""  # no met3 tracks in the DEF: nothing blocked


def test_route_script_and_log() -> None:
    head = "verbose 1\nread_lef x.lef\nvia stack 3\nqrouter::drc met1 0 0\nread_def t.def\nqrouter::standard_route\n"
    s = route.script(head, "u.def", "r.def", ["obs.tcl"])
    assert "via stack 3" not in s and "via stack 2" in s and "qrouter::drc met1 -0.06 -0.06" in s
    assert s.index("source obs.tcl") < s.index("read_def u.def") < s.index("proc bb_route") < s.index("bb_route r.def r.rc")
    assert "standard_route" not in s and s.rstrip().endswith("quit")
    assert s.count("[stage3]") == 1 and "$k < 1}" in s and "$k < 2}" in route.script(head, "u.def", "r.def", [], 2)
    with pytest.raises(ValueError):
        route.route_proc(-1)
    assert route.parse_log("...\nFinal: No failed routes!\n").failed_nets == 0
    assert route.parse_log("Final: Failed net routes: 3\n").failed_nets == 3
    assert route.parse_log("crashed") .failed_nets > 0  # no Final line is never success


def test_route_script_times_each_stage_call() -> None:
    s = route.script("verbose 1\nread_def t.def\n", "u.def", "r.def", ["obs.tcl"])
    # the wrappers replace stage1/2/3 before the route procedure calls them, and log one bb_stage line per call
    assert s.index("source obs.tcl") < s.index("rename $bb_cmd _bb_$bb_cmd") < s.index("read_def u.def")
    assert "foreach bb_cmd {stage1 stage2 stage3}" in s and 'puts stdout "bb_stage @CMD@' in s
    log = ("Nets remaining: 3\nbb_stage stage1 13389 ms -> 475 : \n"
           "bb_stage stage2 317 ms -> 289 : mask 10 effort 10\nbb_stage stage2 72153 ms -> 0 : mask 120 effort 20\n"
           "bb_stage stage3 13409 ms -> 0 : \nFinal: No failed routes!\n")
    times = route.stage_times(log)
    assert [(t.stage, t.options, t.failed) for t in times] == [
        ("stage1", "", 475), ("stage2", "mask 10 effort 10", 289), ("stage2", "mask 120 effort 20", 0), ("stage3", "", 0)]
    assert times[2].seconds == pytest.approx(72.153)
    assert route.stage_summary(times) == {"stage1_s": 13.389, "stage2_s": 72.47, "stage3_s": 13.409, "stage2_calls": 2}
    assert route.stage_summary([]) == {"stage1_s": 0.0, "stage2_s": 0.0, "stage3_s": 0.0, "stage2_calls": 0}
    assert route.parse_log(log).failed_nets == 0  # the timing lines do not disturb the failed-net count


def test_wirelength_and_caps() -> None:
    assert route.def_wirelength_um(DEF) == pytest.approx((737 + 600 + 200) / U)
    caps = {"met1": spef.LayerRC(0.14, 25.7784e-6, 40.567e-6), "met2": spef.LayerRC(0.14, 16.9423e-6, 37.759e-6)}
    c = spef.net_wire_caps(DEF, caps)
    assert c["y"] == 0.0
    assert c["n1"] == pytest.approx(3.0 * (0.14 * 25.7784e-6 + 2 * 40.567e-6) + 1.0 * (0.14 * 16.9423e-6 + 2 * 37.759e-6))


def test_spef_lumped_caps_on_pins() -> None:
    text = spef.spef_text("t", DEF, {"a": 0.001, "n1": 0.002})
    assert "*C_UNIT 1 PF" in text
    assert "*D_NET n1 0.002" in text and "*I u1:Y B" in text and "1 u1:Y 0.002" in text
    assert "*P a B" in text


def test_drc_obstructions_merge_and_filter() -> None:
    boxes = [("Metal3 spacing < 0.3um (met3.2)", (1.0, 1.0, 1.1, 1.1)),
             ("Metal3 spacing < 0.3um (met3.2)", (1.1, 1.0, 1.2, 1.1)),
             ("Metal1 spacing < 0.14um (met1.2)", (5.0, 5.0, 5.1, 5.1)),
             ("Local interconnect width < 0.17um (li.1)", (0, 0, 1, 1))]
    obs = route.drc_obstructions(boxes)
    assert len(obs) == 2 and any(o.endswith("met3") for o in obs)
    assert route.drc_obstructions(boxes, skip_met1=True) == [o for o in obs if not o.endswith("met1")]


def test_via_site_obstructions_take_only_the_m1m2_via_beside_a_met1_box() -> None:
    # parallel_twos_w1a1_n32: w[31]'s M1M2 via at (124.66, 17.68) one met1 row below w[11]'s L1M1 tap on a nand2_1 A pin
    text = ("UNITS DISTANCE MICRONS 200 ;\nNETS 2 ;\n- w[31]\n+ ROUTED met1 ( 25392 3536 ) ( 24932 * ) M1M2_PR_0 \n"
            "  NEW met2 ( 24932 3468 ) ( 24840 * ) ( * 3536 ) M2M3_PR_0 \n  NEW met1 ( 23000 3536 ) M1M2_PR_0 ;\n"
            "- w[11]\n+ ROUTED met1 ( 25392 3672 ) ( 25300 * ) ( * 3604 ) ( 24932 * ) L1M1_PR_0 ;\nEND NETS\n")
    assert route.via_sites(text, "M1M2") == [(124.66, 17.68), (115.0, 17.68)]
    assert route.via_sites(text, "M2M3") == [(124.2, 17.68)]
    boxes = [("Metal1 spacing < 0.14um (met1.2)", (124.53, 17.765, 124.79, 17.81)),
             ("Metal1 spacing < 0.14um (met1.2)", (124.53, 17.905, 124.79, 17.935)),
             ("Metal2 spacing < 0.14um (met2.2)", (114.9, 17.6, 115.1, 17.7))]  # not met1: the via at 115.0 stays free
    assert route.via_site_obstructions(text, boxes) == ["obstruction 124.650 17.670 124.670 17.690 met1",
                                                        "obstruction 124.650 17.330 124.670 17.350 met1"]  # away
    below = [("Metal1 spacing < 0.14um (met1.2)", (124.53, 17.40, 124.79, 17.55))]  # a box under the via: row above
    assert route.via_site_obstructions(text, below)[1] == "obstruction 124.650 18.010 124.670 18.030 met1"
    assert route.via_site_obstructions(text, []) == []
    # spare_taps: w[31]'s via stacked on a tap of its own (an L1M1 via at its point) is its pin's access: no point
    # there, the point a row away stays
    stacked = text.replace("( 24932 * ) L1M1_PR_0 ;", "( 24932 * ) L1M1_PR_0 \n  NEW li1 ( 24932 3536 ) L1M1_PR_0 ;")
    assert route.via_site_obstructions(stacked, boxes) == route.via_site_obstructions(text, boxes)  # default: as before
    assert route.via_site_obstructions(stacked, boxes, spare_taps=True) == ["obstruction 124.650 17.330 124.670 17.350 met1"]
    # the taps beside the boxes, a via stacked on them or not: w[11]'s on the nand2_1 A pin and w[31]'s stacked one
    # (the late loop keeps a pin's last free point: halo.spare_access)
    assert route.tap_site_obstructions(stacked, boxes) == ["obstruction 124.650 18.010 124.670 18.030 met1",
                                                           "obstruction 124.650 17.670 124.670 17.690 met1"]
    assert route.tap_site_obstructions(stacked, []) == []


def test_magic_drc_file_round_trip(tmp_path: Path) -> None:
    p = tmp_path / "x.drc.txt"
    p.write_text("Metal3 spacing < 0.3um (met3.2)\t1.000 2.000 3.000 4.000\n")
    assert magic.read_drc(p) == [("Metal3 spacing < 0.3um (met3.2)", (1.0, 2.0, 3.0, 4.0))]
    assert magic.drc_count("x\nDRC_BOXES = 7\n") == 7
    with pytest.raises(ValueError):
        magic.drc_count("magic crashed")


def test_magic_scripts_split_drc_from_extraction() -> None:
    """The LVS extraction runs no DRC and extracts no parasitics; the DRC run extracts nothing."""
    drc = magic.script(Path("t.tech"), Path("a b.gds"), "top", Path("/o/drc"))
    ext = magic.extract_script(Path("t.tech"), Path("a b.gds"), "top", Path("/o/ext"))
    assert "drc check" in drc and "extract" not in drc and "DRC_BOXES" in drc
    assert "drc check" not in ext and "extract no all" in ext and 'ext2spice -o "/o/ext.spice"' in ext
    for text in (drc, ext):
        assert 'gds read "a b.gds"' in text
        assert text.rstrip().endswith("quit -noprompt")


def test_magic_drc_style_is_the_decks_variant_and_full_by_default() -> None:
    """The triage deck differs from sign-off by its style line only; an unknown style is refused, not run."""
    full = magic.script(Path("t.tech"), Path("a.gds"), "top", Path("/o/drc"))
    fast = magic.script(Path("t.tech"), Path("a.gds"), "top", Path("/o/drc"), style="fast")
    assert "drc style drc(full)\n" in full and fast == full.replace("drc(full)", "drc(fast)")
    with pytest.raises(ValueError, match="routing"):
        magic.script(Path("t.tech"), Path("a.gds"), "top", Path("/o/drc"), style="routing")


def _triage_setup(monkeypatch, tmp_path, counts: dict[str, int]) -> list[str]:
    """Fake GDS, repair and short check; magic gives ``counts[style]`` boxes. Returns the styles run, in order."""
    monkeypatch.setattr("flow.pnr.route_stage.gds.def_to_gds", lambda t, routed, raw, top: None)
    monkeypatch.setattr("flow.pnr.route_stage.repair.patched_metal", lambda text: (None, None))
    monkeypatch.setattr("flow.pnr.route_stage.repair.repair", lambda raw, fixed, routed, patched: {"grown": 1})
    monkeypatch.setattr("flow.pnr.route_stage.netcheck.shorts", lambda text, patched: [])
    ran: list[str] = []

    def run_magic(stage, ctx, t, gds_path, top, prefix, style="full"):
        ran.append(f"{style}:{Path(prefix).name}")
        return counts[style]

    monkeypatch.setattr("flow.pnr.route_stage.run_magic", run_magic)
    (tmp_path / "routed_r1p.def").write_text("DEF")
    return ran


@pytest.mark.parametrize("counts, ran, style, drc", [
    ({"fast": 12, "full": 13}, ["fast:drc_r1p_fast"], "fast", 12),  # boxes: the fast count steers the pad edits
    ({"fast": 0, "full": 2}, ["fast:drc_r1p_fast", "full:drc_r1p"], "full", 2),  # none: only full calls it clean
])
def test_triage_check_runs_the_full_deck_only_when_the_fast_one_finds_nothing(monkeypatch, tmp_path, counts, ran,
                                                                              style, drc):
    got = _triage_setup(monkeypatch, tmp_path, counts)
    c = route_stage.RouteStage().check(type("Ctx", (), {"top": "t"})(), None, tmp_path, tmp_path / "routed_r1p.def",
                                       "r1p", triage=True)
    assert got == ran and (c.style, c.drc) == (style, drc)
    assert c.drc_file.name == ("drc_r1p_fast.drc.txt" if style == "fast" else "drc_r1p.drc.txt")
    assert ("drc_style" in c.record()) == (style == "fast") and c.record()["repairs"] == {"grown": 1}


def test_a_reported_round_gets_the_full_decks_count(monkeypatch, tmp_path):
    """A dirty late round the stage goes on from (no clean attempt) is counted again by the sign-off deck."""
    ran = _triage_setup(monkeypatch, tmp_path, {"fast": 12, "full": 13})
    stage, ctx = route_stage.RouteStage(), type("Ctx", (), {"top": "t"})()
    r = {"drc": 12, "gds": str(tmp_path / "t_r1p.gds"), "drc_file": str(tmp_path / "drc_r1p_fast.drc.txt"),
         "drc_style": "fast"}
    stage.full_count(ctx, None, r)
    assert r == {"drc": 13, "gds": str(tmp_path / "t_r1p.gds"), "drc_file": str(tmp_path / "drc_r1p.drc.txt")}
    assert ran == ["full:drc_r1p"]
    stage.full_count(ctx, None, r)  # already full: nothing run again
    assert ran == ["full:drc_r1p"]


def test_lvs_source_and_result(tmp_path: Path) -> None:
    cells = tmp_path / "cells.spice"
    cells.write_text(".subckt sky130_fd_sc_hd__nand2_1 A B VGND VNB VPB VPWR Y\n.ends\n"
                     ".subckt sky130_fd_sc_hd__inv_2 A VGND VNB VPB VPWR Y\n.ends\n")
    src, unconnected = lvs.source_spice(DEF, cells, "t")
    assert "Xu1 a a VGND VGND VPWR VPWR n1 sky130_fd_sc_hd__nand2_1" in src
    assert "Xf0" not in src and unconnected == 0
    ok = lvs.parse_result("Circuits match uniquely.\n", "")
    assert ok.match and ok.errors == 0
    bad = lvs.parse_result("", "Number of devices: 10 | Number of devices: 12\nNetlists do not match.\n")
    assert not bad.match and bad.errors >= 1
    assert not lvs.parse_result("", "").match  # no verdict is never a match


def test_routed_verilog_rebuilds_ports_and_cells() -> None:
    lef = ("MACRO sky130_fd_sc_hd__nand2_1\n  PIN A\n    DIRECTION INPUT ;\n  END A\n  PIN B\n    DIRECTION INPUT ;\n  END B\n"
           "  PIN Y\n    DIRECTION OUTPUT ;\n  END Y\nEND sky130_fd_sc_hd__nand2_1\n"
           "MACRO sky130_fd_sc_hd__inv_2\n  PIN A\n    DIRECTION INPUT ;\n  END A\n  PIN Y\n    DIRECTION OUTPUT ;\n  END Y\n"
           "END sky130_fd_sc_hd__inv_2\n")
    v = spef.routed_verilog("t", DEF, lef, {"a": "input", "y": "output"})
    assert "module t (a, y);" in v and "input a;" in v and "output y;" in v
    assert "sky130_fd_sc_hd__nand2_1 \\u1 (.A(a), .B(a), .Y(\\n1 ));" in v
    assert "fill" not in v


def test_tech_files(tmp_path: Path) -> None:
    from flow.pdk import PdkError, find_pdk

    try:
        pdk = find_pdk()
    except PdkError as e:
        pytest.skip(f"no Sky130 PDK: {e}")
    assert "requires magic-8.3.111" not in tech.magic_tech_text(pdk)
    lef = tech.router_lef_text(pdk)
    for land in tech.LANDINGS:  # each landing is an extra met1 port of its own pin, nowhere else
        macro = lef[lef.index(f"MACRO {land.cell}\n"):]
        macro = macro[: macro.index(f"END {land.cell}\n")]
        pin = macro[macro.index(f"  PIN {land.pin}\n"): macro.index(f"  END {land.pin}\n")]
        rect = "LAYER met1 ;\n        RECT " + " ".join(f"{v:.6f}" for v in land.met1)
        assert rect in pin and macro.count(rect) == 1
        assert tech.GDS_PATCHES[land.cell].count((tech.MCON_GDS, land.mcon)) == 1
    assert {land.cell for land in tech.LANDINGS} >= {"sky130_fd_sc_hd__dfxtp_1", "sky130_fd_sc_hd__fa_1",
                                                     "sky130_fd_sc_hd__and4b_1"}
    cdl = tech.lvs_spice_text(pdk)
    assert "sky130_fd_pr__nfet_01v8 w=" in cdl and "short" not in cdl.split(".SUBCKT sky130_fd_sc_hd__conb_1")[1][:200]
    assert "sky130_fd_sc_hd__fa_1" not in tech.dont_use_cells()
    # dfxtp_1 keeps its landing but is listed (the default W2A2 layout with it was not clean: qrouter_dont_use.txt)
    assert "sky130_fd_sc_hd__dfxtp_1" in tech.dont_use_cells()
    assert "sky130_fd_sc_hd__fa_2" in tech.dont_use_cells()
    t1 = tech.prepare(pdk, tmp_path, tmp_path / "x.lib")
    before = {p: p.read_bytes() for p in t1.dir.rglob("*") if p.is_file()}
    tech.prepare(pdk, tmp_path, tmp_path / "x.lib")
    assert before == {p: p.read_bytes() for p in t1.dir.rglob("*") if p.is_file()}  # deterministic


def test_landing_geometry() -> None:
    """Every landing as its docstring states it: the mcon on the pin's own li1 (the PDK LEF), the met1 over one
    router grid point, enclosing the mcon by >= 0.03 all round and >= 0.06 on both sides in x or in y, and
    >= 0.14 from the rails' met1 (VGND below y 0.24, VPWR above 2.48 in every hd cell)."""
    from flow.pdk import PdkError, find_pdk

    try:
        lef = find_pdk().lef.read_text()
    except PdkError as e:
        pytest.skip(f"no Sky130 PDK: {e}")
    eps = 1e-9
    for land in tech.LANDINGS:
        macro = lef[lef.index(f"MACRO {land.cell}\n"):]
        pin = macro[macro.index(f"  PIN {land.pin}\n"): macro.index(f"  END {land.pin}\n")]
        li1 = [tuple(map(float, r.split()[1:5])) for r in pin.split("LAYER li1 ;")[1].split("END")[0].splitlines()
               if r.strip().startswith("RECT")]
        (x1, y1, x2, y2), (m1, n1, m2, n2) = land.mcon, land.met1
        assert any(a - eps <= x1 and x2 <= c + eps and b - eps <= y1 and y2 <= d + eps for a, b, c, d in li1), land
        enc = (x1 - m1, m2 - x2, y1 - n1, n2 - y2)
        assert min(enc) >= 0.03 - eps, land
        assert min(enc[:2]) >= 0.06 - eps or min(enc[2:]) >= 0.06 - eps, land
        assert any(m1 <= 0.23 + 0.46 * k <= m2 and n1 <= 0.17 + 0.34 * j <= n2 for k in range(40) for j in range(8)), land
        assert n1 >= 0.24 + 0.14 - eps and n2 <= 2.48 - 0.14 + eps, land


def test_design_area() -> None:
    sizes = {"sky130_fd_sc_hd__fill_8": (3.68, 2.72), "sky130_fd_sc_hd__nand2_1": (1.38, 2.72),
             "sky130_fd_sc_hd__fill_4": (1.84, 2.72), "sky130_fd_sc_hd__inv_2": (1.38, 2.72)}
    a = backend.design_area(DEF, sizes)
    assert a["design__die__area"] == pytest.approx((4600 + 184) / U * (1156 + 68) / U)
    assert a["design__core__area"] == pytest.approx(((3128 - 92) / U + 3.68) * 2.72)


def test_unknown_flow_is_one_clear_error() -> None:
    with pytest.raises(BitbranchError, match="choose local or openlane"):
        backend.run_gds(DesignSpec(), 10.0, "magic", Path("build"))


def test_openlane_flow_without_runner_writes_config(tmp_path: Path, monkeypatch) -> None:
    from flow import openlane
    from flow.pdk import PdkError, find_pdk

    try:
        find_pdk()
    except PdkError as e:
        pytest.skip(f"no Sky130 PDK: {e}")
    monkeypatch.setattr(openlane, "find_runner", lambda: openlane.Runner((), "none", "OpenLane cannot run here: install Docker"))
    spec = DesignSpec("parallel", 1, 1, 4)
    with pytest.raises(BitbranchError, match="install Docker.*config written"):
        backend.run_gds(spec, 10.0, "openlane", tmp_path)
    cfg = json.loads((spec.build_dir(tmp_path) / "flow" / "01-openlane" / "config.json").read_text())
    assert cfg["meta"]["version"] == 2 and cfg["CLOCK_PERIOD"] == 10.0
    assert not (spec.build_dir(tmp_path) / "flow" / "metrics.json").exists()  # no metrics from a run that never ran


def test_routed_cell_area_counts_logic_cells_and_keeps_fill_apart():
    from flow.pnr.post import routed_cell_area

    lef = "".join(f"MACRO sky130_fd_sc_hd__{n}\n  CLASS CORE ;\n  SIZE {w} BY 2.72 ;\nEND sky130_fd_sc_hd__{n}\n"
                  for n, w in (("fill_8", 3.68), ("fill_4", 1.84), ("nand2_1", 1.38), ("inv_2", 1.38)))
    got = routed_cell_area(DEF, lef)
    assert got["design__instance__count"] == 2  # u1, u2
    assert got["design__instance__area"] == pytest.approx(2 * 1.38 * 2.72)
    assert got["design__instance__area__physical"] == pytest.approx((3 * 3.68 + 1.84) * 2.72)


def test_same_net_gap_fills_bridge_only_one_nets_pieces() -> None:
    db = pytest.importorskip("klayout.db")
    from flow.pnr import repair

    def reg(*boxes):
        return db.Region([db.Box(*b) for b in boxes])

    wire = (850, 71215, 990, 71810)  # net a: a met2 wire ending 0.11 um below ...
    pad = (790, 71920, 1050, 72240)  # ... net a's via pad (the serial_w3a3_n32 a[43] geometry, nm)
    far = (5000, 71215, 5140, 72240)  # net b, far away
    layer = reg(wire, pad, far).merged()
    nets = {"a": reg(wire, pad), "b": reg(far)}
    fills = repair.same_net_gap_fills(layer, nets, 140, 5)
    assert [str(b.bbox()) for b in fills.each()] == ["(850,71810;990,71920)"]  # the gap where the two face, on the grid
    assert (layer + fills).merged().count() == 2  # a is one polygon now, b untouched
    # the same gap between two nets is a real spacing error: never bridged
    assert repair.same_net_gap_fills(layer, {"a": reg(wire), "b": reg(pad, far)}, 140, 5).is_empty()
    # a third net's metal within the spacing of the bridge: not bridged either
    near = (1100, 71700, 1240, 72000)
    layer2 = reg(wire, pad, far, near).merged()
    assert repair.same_net_gap_fills(layer2, {**nets, "c": reg(near)}, 140, 5).is_empty()


def test_qrouter_patches_are_trimmed_to_the_metal_they_join() -> None:
    """parallel_twos_w2a2_n32 (nm): w[51]'s 0.32 um patch from its M1M2 pad (0.26 wide) up to its met2 wire, and a[7]'s
    from an M2M3 pad (0.28) up to an M1M2 pad (0.26) on the next column, 0.135 apart corner to corner (met2.2)."""
    db = pytest.importorskip("klayout.db")
    from flow.pnr import repair

    text = """UNITS DISTANCE MICRONS 200 ;
SPECIALNETS 2 ;
- w[51]
+ ROUTED met2 64 ( -91 18904 ) ( * 18836 ) ;
- a[7]
+ ROUTED met2 64 ( 0 18972 ) ( * 18904 ) ;
END SPECIALNETS
"""
    stubs = repair.special_stubs(text)
    assert [(n, lay, r) for n, lay, r, _ in stubs] == [("w[51]", "met2", (-615, 94180, -295, 94520)),
                                                     ("a[7]", "met2", (-160, 94520, 160, 94860))]

    def reg(*boxes):
        return db.Region([db.Box(*b) for b in boxes]).merged()

    nets = {"met2": {"w[51]": reg((-585, 94020, -325, 94340), (-900, 94450, -385, 94590)),
                     "a[7]": reg((-140, 94335, 140, 94705), (-130, 94700, 130, 95020))}}
    cut = repair.stub_trims(stubs, nets, 140)["met2"]
    patches = reg(*(r for *_, r, _ in stubs))
    kept = patches - cut
    # w[51]: cut to x -0.585..-0.385, where its pad and wire overlap; a[7]: to its pads' -0.14..0.14 (the two pads
    # touch: one polygon); what the nets' own metal covers stays
    metal = (nets["met2"]["w[51]"] + nets["met2"]["a[7]"]).merged()
    assert (kept - metal - reg((-585, 94180, -385, 94520), (-140, 94520, 140, 94860))).is_empty()
    assert not (patches - metal - kept).is_empty()
    after = (kept + metal).merged()
    assert after.count() == 2  # each net still one piece
    assert after.space_check(140).is_empty() and not (patches + metal).merged().space_check(140).is_empty()
    # an end that touches nothing of its net, or a band that would split the net: the patch stays as qrouter drew it
    assert repair.stub_trims(stubs[:1], {"met2": {"w[51]": reg((-585, 94020, -325, 94340))}}, 140) == {}
    spur = reg((-585, 94020, -325, 94340), (-900, 94450, -385, 94590), (-660, 94250, -600, 94300))  # joined by the patch
    assert repair.stub_trims(stubs[:1], {"met2": {"w[51]": spur}}, 140) == {}


def test_bridge_box_spans_only_where_the_edges_face() -> None:
    db = pytest.importorskip("klayout.db")
    from flow.pnr import repair

    # parallel_twos_w1a1_n32, w[31] (nm): a via's met2 pad bottom edge 124.53-124.79 at 17.52 over its wire's top edge,
    # which the Euclidean edge pair reports from 124.443 (0.087 past the pad) to 124.73 at 17.41
    pad_edge, wire_edge = db.Box(124530, 17520, 124790, 17520), db.Box(124443, 17410, 124730, 17410)
    assert repair.bridge_box(pad_edge, wire_edge, 140) == db.Box(124530, 17410, 124730, 17520)
    # the same for a horizontal gap between two vertical edges
    assert repair.bridge_box(db.Box(0, 0, 0, 300), db.Box(110, 100, 110, 500), 140) == db.Box(0, 100, 110, 300)
    # facing over less than the minimum width (or diagonal corners): both edges' bounding box, as before
    assert repair.bridge_box(db.Box(0, 0, 100, 0), db.Box(50, 110, 300, 110), 140) == db.Box(0, 0, 300, 110)


def test_repair_drops_li1_stubs_inside_a_nudged_via_pad(tmp_path):
    """baseline_twos_w1a1_n32 (a22oi_1 A2): qrouter's li1 tap stub lies inside the L1M1 via's li1 pad, which sticks
    0.025 um out of the pin towards the A1 pin 0.17 away; the nudge moves the pad into the pin and the stub must go with
    it (left behind it was a li.3 box)."""
    import klayout.db as db

    from flow.pnr import repair

    ly = db.Layout()
    ly.dbu = 0.001
    top = ly.create_cell("t")
    li, mcon, m1 = ly.layer(67, 20), ly.layer(67, 44), ly.layer(68, 20)
    cell = ly.create_cell("sky130_fd_sc_hd__a22oi_1")
    cell.shapes(li).insert(db.Box(1680, 895, 2030, 1095))  # A1
    cell.shapes(li).insert(db.Box(2200, 845, 2525, 1175))  # A2
    top.insert(db.CellInstArray(cell.cell_index(), db.Trans(0, 0)))
    via = ly.create_cell("VIA_L1M1_PR_R")
    via.shapes(li).insert(db.Box(-85, -85, 85, 85))
    via.shapes(mcon).insert(db.Box(-85, -85, 85, 85))
    via.shapes(m1).insert(db.Box(-115, -145, 115, 145))
    top.insert(db.CellInstArray(via.cell_index(), db.Trans(2260, 980)))
    top.shapes(li).insert(db.Box(2175, 895, 2285, 1065))  # the stub: li1 34 ( 21257 13396 ) ( 21235 * )
    src, out = tmp_path / "in.gds", tmp_path / "out.gds"
    ly.write(str(src))
    stats = repair.repair(src, out)
    res = db.Layout()
    res.read(str(out))
    t = res.top_cells()[0]
    top_li = db.Region(t.shapes(res.layer(67, 20))).merged()
    assert top_li.bbox().left >= 2200  # nothing left of the A2 pin: 0.17 um from A1
    assert stats["via_nudge"] == 1 and stats["li1_stub"] == 1


def test_repair_grows_a_min_area_island_on_both_axes_when_one_axis_is_too_tight(tmp_path):
    """baseline_w4a4_n32 (keep-out late, pad edits): a via2+via3 met3 island of 0.125 um^2 (0.24 needed) with 0.30 um
    free in x (0.35 needed) and 0.115 in y (0.31 needed). Before, the repair grew along one axis only and left it
    (met3.6); a rectangle grown on both axes fits and keeps the 0.3 um spacing."""
    import klayout.db as db

    from flow.pnr import repair

    ly = db.Layout()
    ly.dbu = 0.001
    top = ly.create_cell("t")
    m3 = ly.layer(70, 20)
    island = db.Box(0, 0, 350, 355)
    others = [db.Box(-1200, -1200, -360, 1600),  # left: 0.36 away (0.06 free)
              db.Box(890, -1200, 1600, 1600),  # right: 0.54 away (0.24 free)
              db.Box(-1200, 715, 1600, 1600),  # above: 0.36 away
              db.Box(-1200, -1200, 1600, -355)]  # below: 0.355 away
    for b in [island, *others]:
        top.shapes(m3).insert(b)
    src, out = tmp_path / "in.gds", tmp_path / "out.gds"
    ly.write(str(src))
    stats = repair.repair(src, out)
    assert (stats["minarea"], stats["minarea_fail"]) == (1, 0)
    res = db.Layout()
    res.read(str(out))
    metal = db.Region(res.top_cells()[0].shapes(res.layer(70, 20))).merged()
    grown = [p for p in metal.each() if p.inside(db.Point(175, 177))]
    assert len(grown) == 1 and grown[0].area() >= 240000, grown
    gb = grown[0].bbox()
    assert gb.width() > island.width() and gb.height() > island.height()  # both axes
    assert metal.space_check(300).is_empty()  # nothing closer than met3.2 to anything else
    assert all(v % 5 == 0 for v in (gb.left, gb.bottom, gb.right, gb.top))  # on the manufacturing grid
    # with no room on either axis the island is left and counted
    tight = db.Layout()
    tight.dbu = 0.001
    tt = tight.create_cell("t")
    for b in [island, db.Box(-1200, -1200, -310, 1600), db.Box(660, -1200, 1600, 1600),
              db.Box(-1200, 665, 1600, 1600), db.Box(-1200, -1200, 1600, -310)]:
        tt.shapes(tight.layer(70, 20)).insert(b)
    tight.write(str(src))
    assert repair.repair(src, out)["minarea_fail"] == 1


def test_lvs_counts_disconnected_layout_pins() -> None:
    def log(lay: str, src: str) -> str:
        return ("Contents of circuit 1:  Circuit: 'sky130_fd_sc_hd__conb_1'\nCircuit contains 4 nets, and 2 disconnected pins.\n"
                "Contents of circuit 2:  Circuit: 'sky130_fd_sc_hd__conb_1'\nCircuit contains 4 nets, and 2 disconnected pins.\n"
                f"Contents of circuit 1:  Circuit: 'top'\nCircuit contains 909 nets{lay}.\n"
                f"Contents of circuit 2:  Circuit: 'top'\nCircuit contains 909 nets{src}.\nCircuits match uniquely.\n")

    assert lvs.disconnected_pins(log(", and 2 disconnected pins", "")) == (2, 0)  # the top circuits, not conb_1's
    bad = lvs.parse_result(log(", and 2 disconnected pins", ""), "")
    assert not bad.match and bad.errors == 2
    assert lvs.parse_result(log("", ""), "").match
    one = log(", and 1 disconnected pin", ", and 1 disconnected pin")  # an unused input on both sides
    assert lvs.parse_result(one, "").match and lvs.disconnected_pins(one) == (1, 1)


SNAP_DEF = """UNITS DISTANCE MICRONS 200 ;
TRACKS X -368.0 DO 445 STEP 92 LAYER met2 ;
TRACKS Y -68.0 DO 572 STEP 68 LAYER met1 ;
TRACKS Y 0.0 DO 286 STEP 136 LAYER met3 ;
VIAS 3 ;
- L1M1_PR_0
+ RECT li1 ( -17 -17 ) ( 17 17 )
+ RECT met1 ( -23 -29 ) ( 23 29 ) ;
- M1M2_PR_0
+ RECT met1 ( -26 -32 ) ( 26 32 )
+ RECT met2 ( -26 -32 ) ( 26 32 ) ;
- M2M3_PR_0
+ RECT met2 ( -28 -37 ) ( 28 37 )
+ RECT met3 ( -33 -33 ) ( 33 33 ) ;
END VIAS
NETS 2 ;
- a
+ ROUTED li1 ( 25576 6256 ) L1M1_PR_0
  NEW met1 ( 25576 6256 ) ( 25668 * ) ( * 6265 ) M1M2_PR_0
  NEW met2 ( 25668 6265 ) ( 25557 * ) M2M3_PR_0
  NEW met2 ( 31188 24219 ) M2M3_PR_0
  NEW li1 ( 25561 6100 ) L1M1_PR_0 ;
- b
+ ROUTED met2 ( 25484 6256 ) ( * 11000 ) M1M2_PR_0
  NEW met2 ( 40000 6253 ) M2M3_PR_0
  NEW met2 ( 50000 6200 ) M2M3_PR_0 ;
END NETS
"""


def test_snap_offset_vias_moves_only_off_grid_vias_beside_a_box() -> None:
    db = pytest.importorskip("klayout.db")
    # serial_twos_w4a4_n32: net a's M2M3 via 0.095 um left of its met2 track (127.88), 0.095 um from net b's M1M2 pad
    boxes = [("Metal2 spacing < 0.14um (met2.2)", (127.645, 31.14, 127.69, 31.51)),
             ("Metal3 spacing < 0.3um (met3.2)", (199.9, 31.05, 200.1, 31.1)),  # beside b's via at (200, 31.265)
             ("Metal1 spacing < 0.14um (met1.2)", (155.9, 121.0, 156.0, 121.2)),  # met1: not a metal of M2M3
             ("Metal1 spacing < 0.14um (met1.2)", (127.7, 30.4, 127.8, 30.45)),  # beside an L1M1 via (pin tap)
             ("Metal2 spacing < 0.14um (met2.2)", (249.9, 30.9, 250.1, 31.1))]  # beside a via 0.215 um off
    text, moved = route.snap_offset_vias(SNAP_DEF, boxes)
    assert moved == [("M2M3_PR_0", 127.88, 31.28), ("M2M3_PR_0", 200.1, 31.28)]
    assert "  NEW met2 ( 25668 6265 ) ( 25557 * ) ( 25576 * ) ( * 6256 ) M2M3_PR_0\n" in text  # wire to the grid
    assert "  NEW met2 ( 40000 6253 ) ( 40020 * ) ( * 6256 ) M2M3_PR_0\n" in text
    untouched = [ln for ln in SNAP_DEF.splitlines() if "31188" in ln or "25561" in ln or "50000" in ln]
    assert len(untouched) == 3 and all(ln in text.splitlines() for ln in untouched)  # no box / L1M1 / too far off
    shapes = netcheck.net_shapes(text)
    via = db.Box(25576 * 5 - 140, 6256 * 5 - 185, 25576 * 5 + 140, 6256 * 5 + 185)  # nm: the pad, centred on the grid
    assert any(db.Region(s).bbox() == via for s in shapes["met2"]["a"])
    old = db.Region(db.Box(25557 * 5 - 1, 6265 * 5 - 1, 25557 * 5 + 1, 6265 * 5 + 1))
    assert (old - db.Region(shapes["met2"]["a"])).is_empty()  # met2 still covers the old via centre
    assert route.snap_offset_vias(SNAP_DEF, []) == (SNAP_DEF, [])
    assert route.snap_offset_vias(text, boxes) == (text, [])  # snapped vias are on the grid: nothing more to move


def _snap_setup(monkeypatch, tmp_path, drc_after: list[int]):
    """A best round (3 DRC boxes, one beside an off-grid via) and a fake GDS/repair/DRC giving ``drc_after`` in turn."""
    work = tmp_path / "d28-seed1"
    work.mkdir(parents=True)
    (work / "routed_r2.def").write_text(SNAP_DEF)
    (work / "drc_r2.drc.txt").write_text("")
    box = ("Metal2 spacing < 0.14um (met2.2)", (127.645, 31.14, 127.69, 31.51))
    monkeypatch.setattr("flow.pnr.route_stage.magic.read_drc", lambda path: [box])
    checked: list[str] = []

    def check(self, ctx, t, w, routed, tag):
        checked.append(Path(routed).read_text())
        return route_stage.Check(drc_after[len(checked) - 1], Path(w) / f"t_{tag}.gds", Path(w) / f"drc_{tag}.drc.txt")

    monkeypatch.setattr(route_stage.RouteStage, "check", check)
    best = {"attempt": [0.28, 1, False], "round": 2, "failed_nets": 0, "drc": 3, "shorts": [],
            "def": str(work / "routed_r2.def"), "drc_file": str(work / "drc_r2.drc.txt"), "obs": ["obstruction"]}
    return best, checked


def test_snap_round_is_kept_only_when_it_ranks_better(monkeypatch, tmp_path):
    best, checked = _snap_setup(monkeypatch, tmp_path, [0])
    rounds = [best]
    got = route_stage.RouteStage().snap_rounds(None, None, best, rounds, 3)
    assert got["drc"] == 0 and got["round"] == 3 and got["snapped_vias"] == 1 and got["snapped_from_round"] == 2
    assert Path(got["def"]).name == "routed_s0.def" and "( 25576 * ) ( * 6256 ) M2M3_PR_0" in checked[0]
    assert rounds[-1] is got and len(checked) == 1  # clean: no second round

    best, checked = _snap_setup(monkeypatch, tmp_path / "worse", [4])
    rounds = [best]
    assert route_stage.RouteStage().snap_rounds(None, None, best, rounds, 3) is best  # more boxes: the edit is dropped
    assert len(rounds) == 2 and rounds[-1]["drc"] == 4  # but reported in rounds.json


def test_no_snap_round_without_an_off_grid_via_beside_a_box(monkeypatch, tmp_path):
    best, checked = _snap_setup(monkeypatch, tmp_path, [0])
    monkeypatch.setattr("flow.pnr.route_stage.magic.read_drc", lambda path: [])
    rounds = [best]
    assert route_stage.RouteStage().snap_rounds(None, None, best, rounds, 3) is best and checked == [] and rounds == [best]
