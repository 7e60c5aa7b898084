"""Pin access points of a placed DEF and the re-route points that would take a pin's last one
(``flow/pnr/halo.py``)."""

from __future__ import annotations

from flow.pnr import halo

LEF = """MACRO c
  CLASS CORE ;
  SIZE 1.380000 BY 2.720000 ;
  PIN A
    DIRECTION INPUT ;
    USE SIGNAL ;
    PORT
      LAYER li1 ;
        RECT 0.840000 1.075000 1.390000 1.275000 ;
    END
  END A
  PIN B
    DIRECTION INPUT ;
    USE SIGNAL ;
    PORT
      LAYER li1 ;
        RECT 0.300000 0.300000 0.400000 0.400000 ;
    END
  END B
  PIN Y
    DIRECTION OUTPUT ;
    USE SIGNAL ;
    PORT
      LAYER li1 ;
        RECT 0.600000 0.100000 0.700000 2.000000 ;
    END
  END Y
  PIN VPWR
    USE POWER ;
    PORT
      LAYER met1 ;
        RECT 0.000000 2.480000 1.380000 2.960000 ;
    END
  END VPWR
END c
"""

DEF = """UNITS DISTANCE MICRONS 200 ;
COMPONENTS 2 ;
- u1 c + PLACED ( 2000 4000 ) N ;
- u2 c + PLACED ( 2000 4544 ) FS ;
END COMPONENTS
NETS 2 ;
- n1
  ( u1 A ) ( u2 A ) ( u2 B ) ;
- n2
  ( u1 Y ) ( PIN n2 ) ;
END NETS
"""


def test_access_points_place_the_cell_grid_points_of_each_connected_pin():
    acc = halo.access_points(DEF, LEF)
    assert set(acc) == {("u1", "A"), ("u2", "A"), ("u2", "B"), ("u1", "Y")}  # u1/B, u2/Y and power not connected
    assert acc[("u1", "A")] == {(11.15, 21.19)}  # one grid point (1.15, 1.19) in the cell
    assert acc[("u2", "A")] == {(11.15, 24.25)}  # flipped south: y from the cell's top
    # B holds no grid point: those within half a pitch, where qrouter puts an offset tap
    assert acc[("u2", "B")] == {(10.23, 25.27), (10.23, 24.93)}
    assert acc[("u1", "Y")] == {(10.69, round(20 + y, 3)) for y in (0.17, 0.51, 0.85, 1.19, 1.53, 1.87)}


def point(x: float, y: float, layer: str = "met1") -> str:
    return f"obstruction {x - 0.01:.3f} {y - 0.01:.3f} {x + 0.01:.3f} {y + 0.01:.3f} {layer}"


def test_spare_access_keeps_one_free_point_per_pin():
    acc = halo.access_points(DEF, LEF)
    last = point(11.15, 21.19)  # u1/A's only point
    y1, y2 = point(10.69, 20.17), point(10.69, 20.51)
    assert halo.spare_access([last, y1], [], acc) == ([y1], [("u1", "A")])
    assert halo.spare_access([last], [], acc, margin_um=0.2)[0] == []
    assert halo.spare_access([point(11.15, 21.19, "met2")], [], acc) == ([point(11.15, 21.19, "met2")], [])  # met2
    assert halo.spare_access([point(11.15, 21.53)], [], acc) == ([point(11.15, 21.53)], [])  # a row off: not its point
    # Y keeps its points as long as one is free: the obstructions in place and the candidates kept count
    others = [point(10.69, 20 + y) for y in (0.85, 1.19, 1.53, 1.87)]
    assert halo.spare_access([y1, y2], others, acc) == ([y1], [("u1", "Y")])
    box = "obstruction 10.500 20.000 10.900 22.000 met1"  # covers all of Y's points at once
    assert halo.spare_access([box], [], acc) == ([], [("u1", "Y")])
    assert halo.spare_access(["via at box 4"], [], acc) == (["via at box 4"], [])  # not an obstruction line


def test_tap_conflicts_take_one_point_of_each_pair_a_row_apart():
    # xor2_1-like: A's only point right under one of B's four; a row pair of two one-point pins stays
    pins = {"A": {(1.15, 1.19)}, "B": {(0.69, 1.53), (1.15, 1.53), (1.61, 1.53), (1.61, 1.19)},
            "C": {(2.53, 0.85)}, "D": {(2.53, 1.19)}}
    assert halo.tap_conflicts(pins) == {(1.15, 1.53)}
    # xnor2_1-like: two pairs, B loses both, A keeps its two
    pins = {"A": {(1.15, 1.19), (1.61, 1.19)}, "B": {(1.15, 1.53), (1.61, 1.53), (0.69, 1.53), (0.23, 1.53)}}
    assert halo.tap_conflicts(pins) == {(1.15, 1.53), (1.61, 1.53)}
    # a tie: the upper point goes; a point a column or two rows off is no pair
    assert halo.tap_conflicts({"A": {(0.23, 1.19), (0.69, 0.51)}, "Y": {(0.23, 1.53), (0.69, 1.19)}}) == \
        {(0.23, 1.53)}
    assert halo.tap_conflicts({"A": {(0.23, 1.19), (0.69, 0.51)}, "Y": {(0.69, 1.19), (0.23, 1.87)}}) == set()


def test_the_halo_lef_obstructs_a_conflict_point_and_access_points_leave_it_out():
    lef = LEF.replace("RECT 0.300000 0.300000 0.400000 0.400000", "RECT 1.100000 1.450000 1.200000 1.600000") \
        .replace("RECT 0.600000 0.100000 0.700000 2.000000", "RECT 1.100000 1.800000 1.200000 2.000000")
    # A, B and Y one point each, stacked a row apart in one column
    pins = halo.pin_points(lef)
    assert pins == {"A": {(1.15, 1.19)}, "B": {(1.15, 1.53)}, "Y": {(1.15, 1.87)}}
    assert halo.tap_conflicts(pins) == set()  # three one-point pins: nothing to spare
    wide = lef.replace("RECT 1.100000 1.800000 1.200000 2.000000", "RECT 0.600000 1.800000 1.200000 2.000000")
    assert halo.tap_conflicts(halo.pin_points(wide)) == {(1.15, 1.87)}  # Y has (0.69, 1.87) too
    text, n = halo.halo_lef(wide)
    assert "RECT 1.145 1.865 1.155 1.875 ;" in text  # Y's point above B obstructed
    assert "RECT 1.145 1.185 1.155 1.195 ;" not in text and "RECT 1.145 1.525 1.155 1.535 ;" not in text
    acc = halo.access_points(DEF, wide)
    assert acc[("u1", "Y")] == {(10.69, 21.87)}  # u1 placed at (10, 20), N
