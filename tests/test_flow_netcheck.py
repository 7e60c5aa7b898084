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


def _def(y_b: int) -> str:
    """Net a: met1 wire into an M1M2 via at (43976, 34612); net b: met2 wire into an M2M3 via at (43976, y_b)."""
    return f"""VERSION 5.6 ;
DESIGN t ;
UNITS DISTANCE MICRONS 200 ;
DIEAREA ( 0 0 ) ( 50000 50000 ) ;
{VIAS}NETS 3 ;
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
END DESIGN
"""


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
