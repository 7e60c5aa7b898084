"""Different-net shorts from a routed DEF alone (flow/pnr/netcheck.py): abutting via pads of two nets on adjacent
grid points are a short (what LVS found on baseline_w2a2_n32), the same vias one grid point further are not."""

from __future__ import annotations

import pytest

pytest.importorskip("klayout.db", reason="PyPI klayout (pip install 'bitbranch[layout]')")

from flow.pnr import netcheck  # noqa: E402

VIAS = """VIAS 2 ;
- M1M2_PR_0
+ RECT via ( -15 -15 ) ( 15 15 )
+ RECT met1 ( -32 -26 ) ( 32 26 )
+ RECT met2 ( -28 -31 ) ( 28 31 ) ;
- M2M3_PR_0
+ RECT via2 ( -20 -20 ) ( 20 20 )
+ RECT met2 ( -28 -37 ) ( 28 37 )
+ RECT met3 ( -33 -33 ) ( 33 33 ) ;
END VIAS
"""


def _design(vias: str, die: str, sections: str) -> str:
    """A routed DEF of 200 units per micron: the header, ``vias``, then ``sections`` (NETS, SPECIALNETS)."""
    return f"""VERSION 5.6 ;
DESIGN t ;
UNITS DISTANCE MICRONS 200 ;
DIEAREA {die} ;
{vias}{sections}END DESIGN
"""


def _def(y_b: int) -> str:
    """Net a: met1 wire into an M1M2 via at (43976, 34612); net b: met2 wire into an M2M3 via at (43976, y_b)."""
    return _design(VIAS, "( 0 0 ) ( 50000 50000 )", f"""NETS 3 ;
- a
  ( PIN a ) ( u1 A )
+ ROUTED met1 ( 44068 34612 ) ( 43976 * ) M1M2_PR_0 ;
- b
  ( u2 Y ) ( u3 A )
+ ROUTED met2 ( 43884 {y_b} ) ( 43976 * ) M2M3_PR_0
  NEW met3 ( 43976 {y_b} ) ( 43700 * ) ;
- VPWR
+ ROUTED met1 ( 0 34612 ) ( 50000 * ) ;
END NETS
""")


def test_abutting_via_pads_of_two_nets_are_a_short():
    found = netcheck.shorts(_def(34544))  # 0.34 um apart: pads 0.31 and 0.37 um tall touch
    assert [layer for layer, _ in found] == ["met2"]
    x1, y1, x2, y2 = found[0][1]
    assert 219.7 < x1 < x2 < 220.1 and 172.85 < y1 <= y2 < 172.95
    assert netcheck.obstructions(found)[0].endswith(" met2")


def test_the_same_vias_one_grid_point_apart_are_not():
    assert netcheck.shorts(_def(34476)) == []  # 0.68 um apart


def test_power_nets_and_one_nets_own_metal_are_not_shorts():
    text = _def(34476).replace("+ ROUTED met1 ( 44068 34612 ) ( 43976 * ) M1M2_PR_0 ;",
                               "+ ROUTED met1 ( 44068 34612 ) ( 43976 * ) M1M2_PR_0\n  NEW met1 ( 44068 34612 ) ( 44068 34700 ) ;")
    assert netcheck.shorts(text) == []  # a's two wires overlap each other; VPWR crosses a's met1: not looked at


def test_repair_adds_no_vertex_off_the_manufacturing_grid(tmp_path):
    """A notch whose Euclidean edge pair ends off the 5 nm grid (KLayout's m2_OFFGRID on baseline_w2a2_n32) is
    filled with a box grown to the grid."""
    import klayout.db as db

    from flow.pnr import repair

    ly = db.Layout()
    ly.dbu = 0.001
    top = ly.create_cell("t")
    m2 = ly.layer(69, 20)
    # an L-shaped met2 polygon with a 0.085 um notch next to a jog, as the router left it
    for b in ((5390, 63760, 5650, 64080), (5450, 64080, 5590, 67590), (5450, 67590, 6050, 67730),
              (5840, 67815, 6120, 68185), (5910, 67730, 6050, 67815), (5910, 68185, 6050, 72000)):
        top.shapes(m2).insert(db.Box(*b))
    src, out = tmp_path / "in.gds", tmp_path / "out.gds"
    ly.write(str(src))
    stats = repair.repair(src, out)
    res = db.Layout()
    res.read(str(out))
    pts = [pt for p in db.Region(res.top_cells()[0].begin_shapes_rec(res.layer(69, 20))).each()
           for pt in p.each_point_hull()]
    assert stats["notch"] >= 1 and pts and all(pt.x % 5 == 0 and pt.y % 5 == 0 for pt in pts)


def test_repair_flattens_every_l1m1_via_once(tmp_path):
    """Every L1M1 via instance is read, then removed, and comes back as flat li1/mcon/met1 shapes of the top cell
    (the via instances are now deleted after all of them are read: a read after each delete was 25 of 35 s)."""
    import klayout.db as db

    from flow.pnr import repair

    ly = db.Layout()
    ly.dbu = 0.001
    top = ly.create_cell("t")
    li, mcon, m1 = ly.layer(67, 20), ly.layer(67, 44), ly.layer(68, 20)
    via = ly.create_cell("VIA_L1M1_PR")
    via.shapes(li).insert(db.Box(-85, -85, 85, 85))
    via.shapes(mcon).insert(db.Box(-85, -85, 85, 85))
    via.shapes(m1).insert(db.Box(-145, -85, 145, 85))
    cell = ly.create_cell("sky130_fd_sc_hd__inv_1")  # a cell pin on li1 under each via
    cell.shapes(li).insert(db.Box(0, 0, 170, 2000))
    for k in range(3):
        top.insert(db.CellInstArray(cell.cell_index(), db.Trans(k * 2000, 0)))
        top.insert(db.CellInstArray(via.cell_index(), db.Trans(k * 2000 + 85, 1000)))
    src, out = tmp_path / "in.gds", tmp_path / "out.gds"
    ly.write(str(src))
    repair.repair(src, out)
    res = db.Layout()
    res.read(str(out))
    t = res.top_cells()[0]
    assert not [i for i in t.each_inst() if i.cell.name.startswith("VIA_L1M1")]
    cuts = sorted((b.left, b.bottom) for b in (s.box for s in t.shapes(res.layer(67, 44)).each()))
    assert cuts == [(0, 915), (2000, 915), (4000, 915)]
    assert db.Region(t.shapes(res.layer(68, 20))).merged().count() == 3  # one met1 island per via (min-area grown)


M4_VIAS = """VIAS 1 ;
- M3M4_PR_0
+ RECT via3 ( -20 -20 ) ( 20 20 )
+ RECT met4 ( -33 -33 ) ( 33 33 )
+ RECT met3 ( -38 -32 ) ( 38 32 ) ;
END VIAS
"""


def _patch_def() -> str:
    """parallel_w4a4_n32 (d28-seed1-buf, DEF units of 5 nm): net ``n`` comes up an M3M4 via 0.46 um off the met4
    grid and jogs on met4 to its column, where qrouter added a 1.18 um wide patch; the next column west holds the
    vias of ``p`` (below) and ``q`` (above), the column east ``r``'s via above."""
    return _design(M4_VIAS, "( 0 0 ) ( 73692 69224 )", """NETS 4 ;
- n
+ ROUTED met3 ( 16836 41208 ) ( 31924 * ) M3M4_PR_0
  NEW met4 ( 31924 41208 ) ( 32016 * ) ( * 39168 ) ;
- p
+ ROUTED met3 ( 29992 41072 ) ( 31832 * ) M3M4_PR_0
  NEW met4 ( 31832 41072 ) ( * 36992 ) ;
- q
+ ROUTED met4 ( 31832 45696 ) ( * 41344 ) M3M4_PR_0 ;
- r
+ ROUTED met4 ( 32016 56712 ) ( * 41344 ) M3M4_PR_0 ;
END NETS
SPECIALNETS 1 ;
- n
+ ROUTED met4 236 ( 31924 41208 ) ( 32016 * ) ;
END SPECIALNETS
""")


def test_special_wiring_is_not_extended_past_its_ends():
    """The patch is 0.46 x 1.18 um as magic paints it (no half-width end extension, unlike regular wiring): it
    overlaps r's via pad (a short in the DEF), not q's or p's 0.295 um west of it (three shorts when extended)."""
    found = netcheck.shorts(_patch_def())
    assert len(found) == 1 and found[0][0] == "met4"
    x1, y1, x2, y2 = found[0][1]
    assert (159.91, 206.55) < (x1, y1) and (x2, y2) < (160.09, 206.64)


def test_qrouter_patch_trimmed_to_the_l_shaped_wire_it_joins():
    """The patch is cut to where the via pad and the jog overlap across it (0.315 um): the L-shaped wire reaches
    down past the patch at its east end only, so its bounding box (the measure before) kept the whole south half,
    0.295 um from p's and q's column (met4.2 on parallel_w4a4_n32). The cut takes the patch off r's pad: no short."""
    import klayout.db as db

    from flow.pnr import repair

    text = _patch_def()
    trims, shapes = repair.patched_metal(text)
    assert netcheck.shorts(text, shapes) == []
    metal = {n: db.Region(polys).merged() for n, polys in shapes["met4"].items()}
    west = metal["p"] + metal["q"]
    assert metal["n"].separation_check(west, 300).is_empty()  # now >= 0.3 um from the west column
    assert metal["n"].count() == 1  # still one piece
    beside = db.Region(db.Box(159620, 205450, 159930, 206630))  # the patch west of n's own wire down
    assert (beside & metal["n"]).bbox() == db.Box(159620, 205875, 159930, 206205)
    # the GDS cut never takes another net's metal: r's pad (in the patch's old extent) stays whole
    assert (trims["met4"] & metal["r"]).is_empty()
    # before the trim the patch is within 0.3 um of the west column
    plain = netcheck.net_shapes(text)
    assert not db.Region(plain["met4"]["n"]).merged().separation_check(west, 300).is_empty()


def test_repair_bridges_a_same_net_gap_on_met1(tmp_path):
    """parallel_w4a4_n32's out_ready: two M1M2 vias of the net on neighbouring met1 tracks (0.34 um), their met1 pads
    0.08 um apart (met1.2, 9 magic boxes); bridged when both pads are one net's, left when they are two nets'."""
    import klayout.db as db

    from flow.pnr import repair

    def routed(second: str) -> str:
        return _design(VIAS, "( -368 -68 ) ( 73692 69224 )", f"""NETS 2 ;
- out_ready
+ ROUTED met1 ( 1288 45968 ) M1M2_PR_0
  NEW met2 ( 1288 45968 ) ( * 46036 ) ;
- {second}
+ ROUTED met1 ( 1288 46036 ) M1M2_PR_0 ;
END NETS
""")

    ly = db.Layout()
    ly.dbu = 0.001
    top = ly.create_cell("t")
    m1 = ly.layer(68, 20)
    for y in (229840, 230180):
        top.shapes(m1).insert(db.Box(6280, y - 130, 6600, y + 130))
    src = tmp_path / "in.gds"
    ly.write(str(src))
    for second, pieces in (("out_ready", 1), ("out_valid", 2)):
        d = tmp_path / f"{second}.def"
        d.write_text(routed(second))  # the second via's net: out_ready again (one net in two pieces), or another
        out = tmp_path / f"{second}.gds"
        stats = repair.repair(src, out, d)
        res = db.Layout()
        res.read(str(out))
        got = db.Region(res.top_cells()[0].begin_shapes_rec(res.layer(68, 20))).merged()
        assert got.count() == pieces, (second, stats)
        assert stats["net_gap"] == (1 if pieces == 1 else 0)
