"""Pin access points of a placed DEF and the re-route points that would take a pin's last one
(``flow/pnr/halo.py``)."""

from __future__ import annotations

import pytest

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


def test_net_pin_shapes_place_each_connected_pins_li1_rects_by_net():
    shapes = halo.net_pin_shapes(DEF, LEF)
    assert set(shapes) == {"n1", "n2"}  # power pins and the design's own pins have none
    # u1 (N at 10, 20): A as in the LEF, moved; u2 (FS at 10, 22.72): flipped about the cell's middle row
    assert shapes["n1"] == [(10.84, 21.075, 11.39, 21.275), (10.84, 24.165, 11.39, 24.365), (10.3, 25.04, 10.4, 25.14)]
    assert shapes["n2"] == [(10.6, 20.1, 10.7, 22.0)]
    assert halo.net_pin_shapes(DEF, LEF, layer="met1") == {}


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



def test_open_cells_route_their_plain_macro_and_get_the_library_name_back():
    """A late route that leaves a net failed is routed again with that net's cells on a halo-free copy of their
    macros (baseline pm1 W2A2: ``qa_19[1]`` failed at six cells' halo points, complete once they were opened)."""
    assert halo.net_cells(DEF, ["n1"]) == ["u1", "u2"]
    assert halo.net_cells(DEF, ["n2"]) == ["u1"]  # the top-level PIN is no cell
    assert halo.net_cells(DEF, ["n3"]) == []
    text, macros = halo.open_cells(DEF, ["u2"])
    assert macros == ["c"]
    assert "- u2 c__open + PLACED ( 2000 4544 ) FS ;" in text and "- u1 c + PLACED" in text
    assert halo.open_cells(text, ["u2"])[1] == []  # already open: not renamed twice
    assert halo.close_cells(text) == DEF
    assert halo.close_cells(DEF) == DEF
    halo_text, n = halo.halo_lef("VERSION 5.7 ;\n" + LEF + "END LIBRARY\n")
    assert n > 0
    both = halo.open_lef(halo_text, LEF, macros)
    assert both.startswith(halo_text[:halo_text.rfind("END LIBRARY")]) and both.endswith("END c__open\n\nEND LIBRARY\n")
    plain = both[both.index("MACRO c__open"):]
    assert plain.count("RECT") == LEF.count("RECT")  # the pins as they are, no halo point
    with pytest.raises(ValueError, match="macro d is not in the router LEF"):
        halo.open_lef(halo_text, LEF, ["d"])
