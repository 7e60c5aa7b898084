"""flow.pnr.padfix: the met1 pad edits after a route with the keep-out late, on a small hand-written routed DEF."""

from __future__ import annotations

import re

from flow.pnr import padfix

VIAS = """VIAS 4 ;
- L1M1_PR_R_0
+ RECT mcon ( -17 -17 ) ( 17 17 )
+ RECT met1 ( -23 -29 ) ( 23 29 )
+ RECT li1 ( -17 -17 ) ( 17 17 ) ;
- L1M1_PR_0
+ RECT mcon ( -17 -17 ) ( 17 17 )
+ RECT met1 ( -29 -23 ) ( 29 23 )
+ RECT li1 ( -17 -17 ) ( 17 17 ) ;
- M1M2_PR_0
+ RECT via ( -15 -15 ) ( 15 15 )
+ RECT met2 ( -26 -32 ) ( 26 32 )
+ RECT met1 ( -32 -26 ) ( 32 26 ) ;
- M2M3_PR_0
+ RECT via2 ( -20 -20 ) ( 20 20 )
+ RECT met3 ( -32 -26 ) ( 32 26 )
+ RECT met2 ( -26 -32 ) ( 26 32 ) ;
END VIAS
"""


def _def(nets: str) -> str:
    n = len(re.findall(r"(?m)^- ", nets))
    return ("VERSION 5.6 ;\nDESIGN t ;\nUNITS DISTANCE MICRONS 200 ;\nDIEAREA ( 0 0 ) ( 4000 4000 ) ;\n"
            "TRACKS Y 34 DO 58 STEP 68 LAYER met1 ;\nTRACKS X 46 DO 43 STEP 92 LAYER met2 ;\n" + VIAS
            + f"NETS {n} ;\n{nets}END NETS\nEND DESIGN\n")


# net a: a pin tap at (1000, 1000); net b: an M1M2 via one met1 row above it (1068) in the same column
NETS = """- a
  ( u1 A ) ( u2 Y )
+ ROUTED li1 ( 1000 1000 ) L1M1_PR_0
  NEW met1 ( 1000 1000 ) ( 1460 * ) ;
- b
  ( u3 A ) ( u4 Y )
+ ROUTED met1 ( 600 1068 ) ( 1000 * ) M1M2_PR_0
  NEW met2 ( 1000 1068 ) ( * 1800 ) ;
- c
  ( u5 A ) ( u6 Y )
+ ROUTED li1 ( 2000 2000 ) L1M1_PR_R_0
  NEW met1 ( 2000 2000 ) M1M2_PR_0
  NEW met2 ( 2000 2000 ) ( * 2400 ) ;
"""

BOX = ("Metal1 spacing < 0.14um (met1.2)", (4.9, 5.12, 5.1, 5.21))  # between a's pad top and b's pad bottom (um)


def _segments(text: str, net: str) -> list[str]:
    blk = re.search(rf"(?ms)^- {re.escape(net)}\n(.*?);\n", text)
    assert blk, net
    return [s.strip() for s in re.findall(r"(?:\+ ROUTED|NEW) [^\n]*", blk.group(1))]


def test_the_via_moves_off_its_row_away_from_the_tap_by_what_the_spacing_lacks() -> None:
    text, fx = padfix.fix_pads(_def(NETS), [BOX])
    # pad half heights 0.13 (via) + 0.115 (tap) leave 0.095 um of the 0.14: the via moves 0.045 um = 9 units up
    assert _segments(text, "b") == ["+ ROUTED met1 ( 600 1068 ) ( 1000 * )", "NEW met1 ( 1000 1077 ) M1M2_PR_0",
                                    "NEW met2 ( 1000 1068 ) ( * 1800 )"], text
    assert _segments(text, "a") == _segments(_def(NETS), "a")  # the tap stays
    assert fx == padfix.PadFixes(unrotated_stacked=1, unrotated_boxed=0, moved=1, taps_moved=0)


def test_a_rotated_tap_under_its_own_via_turns_flat_even_without_a_box() -> None:
    text, _ = padfix.fix_pads(_def(NETS), [BOX])
    assert _segments(text, "c")[0] == "+ ROUTED li1 ( 2000 2000 ) L1M1_PR_0"
    assert padfix.unrotated(_def(NETS)) == {"L1M1_PR_R_0": "L1M1_PR_0"}


def test_no_box_moves_nothing_and_no_flat_twin_turns_nothing() -> None:
    text, fx = padfix.fix_pads(_def(NETS), [])
    assert _segments(text, "b") == _segments(_def(NETS), "b") and fx.moved == 0
    no_flat = _def(NETS).replace("- L1M1_PR_0\n+ RECT mcon ( -17 -17 ) ( 17 17 )\n+ RECT met1 ( -29 -23 ) ( 29 23 )\n"
                                 "+ RECT li1 ( -17 -17 ) ( 17 17 ) ;\n", "").replace(
        "+ ROUTED li1 ( 1000 1000 ) L1M1_PR_0", "+ ROUTED li1 ( 1000 1000 ) L1M1_PR_R_0")
    text, fx = padfix.fix_pads(no_flat, [BOX])
    assert fx.unrotated_stacked == fx.unrotated_boxed == 0 and "L1M1_PR_R_0" in _segments(text, "c")[0]


def test_a_via_between_two_other_nets_taps_stays_and_the_taps_move_away() -> None:
    between = NETS + """- d
  ( u7 A ) ( u8 Y )
+ ROUTED met1 ( 1400 1136 ) ( 1000 * ) L1M1_PR_0 ;
"""
    box_above = ("Metal1 spacing < 0.14um (met1.2)", (4.9, 5.47, 5.1, 5.56))
    pins = {"a": [(4.9, 4.8, 5.1, 5.2)], "d": [(4.9, 5.5, 5.1, 6.0)]}  # li1 of the pins the taps sit on (um)
    text, fx = padfix.fix_pads(_def(between), [BOX, box_above])
    assert fx.taps_moved == 0 and _segments(text, "a") == _segments(_def(between), "a")  # without pins: no tap moves
    text, fx = padfix.fix_pads(_def(between), [BOX, box_above], pins=pins)
    assert fx.moved == 0 and _segments(text, "b") == _segments(_def(between), "b")
    assert fx.taps_moved == 2 and fx.taps_kept == 0
    assert _segments(text, "a")[0] == "+ ROUTED li1 ( 1000 991 ) L1M1_PR_0"  # wire a still starts inside the pad
    assert _segments(text, "d") == ["+ ROUTED met1 ( 1400 1136 ) ( 1000 * )", "NEW met1 ( 1000 1145 ) L1M1_PR_0"]
    third = between + """- e
  ( u9 A ) ( u10 Y )
+ ROUTED li1 ( 1000 1204 ) L1M1_PR_0 ;
"""
    text, fx = padfix.fix_pads(_def(third), [BOX, box_above], pins=pins)
    assert fx.taps_moved == 0  # d has a third net's pad a row beyond it: neither tap moves


def test_a_tap_whose_li1_pad_would_leave_its_pin_does_not_move_nor_does_its_partner() -> None:
    between = NETS + "- d\n  ( u7 A ) ( u8 Y )\n+ ROUTED met1 ( 1400 1136 ) ( 1000 * ) L1M1_PR_0 ;\n"
    box_above = ("Metal1 spacing < 0.14um (met1.2)", (4.9, 5.47, 5.1, 5.56))
    # a's pad (li1 4.915-5.085 um) would move 0.045 down to 4.87, below its pin's li1 edge at 4.9 (baseline W2A2)
    pins = {"a": [(4.8, 4.9, 5.2, 5.2)], "d": [(4.9, 5.5, 5.1, 6.0)]}
    text, fx = padfix.fix_pads(_def(between), [BOX, box_above], pins=pins)
    assert fx.taps_moved == 0 and fx.taps_kept == 1, fx
    assert _segments(text, "a") == _segments(_def(between), "a") and _segments(text, "d") == _segments(
        _def(between), "d")
    # a pin of two shapes that together hold the moved pad: the move is made
    pins["a"] = [(4.8, 4.9, 5.2, 5.2), (4.85, 4.85, 5.0, 4.95), (4.95, 4.8, 5.15, 4.95)]
    text, fx = padfix.fix_pads(_def(between), [BOX, box_above], pins=pins)
    assert fx.taps_moved == 2 and fx.taps_kept == 0, fx


def test_covered_is_the_union_of_the_shapes() -> None:
    assert padfix._covered((0, 0, 10, 10), [(0, 0, 10, 5), (0, 5, 4, 10), (4, 4, 10, 10)])
    assert not padfix._covered((0, 0, 10, 10), [(0, 0, 10, 5), (0, 5, 4, 10), (5, 4, 10, 10)])  # a 1-wide gap
    assert not padfix._covered((0, 0, 10, 10), [])


def test_a_via_on_its_own_tap_stays() -> None:
    box_c = ("Metal1 spacing < 0.14um (met1.2)", (9.9, 10.12, 10.1, 10.2))
    text, fx = padfix.fix_pads(_def(NETS), [box_c])
    assert fx.moved == 0  # c's via sits on c's own tap: moving it would not move the tap's pad


def test_a_def_without_nets_or_tracks_comes_back_unchanged() -> None:
    bare = "VERSION 5.6 ;\nDESIGN t ;\nUNITS DISTANCE MICRONS 200 ;\nEND DESIGN\n"
    assert padfix.fix_pads(bare, [BOX]) == (bare, padfix.PadFixes(0, 0, 0))


def test_a_via_written_alone_moves_in_place() -> None:
    alone = """- f
  ( u1 A ) ( u2 Y )
+ ROUTED li1 ( 3000 3000 ) L1M1_PR_0 ;
- g
  ( u3 A ) ( u4 Y )
+ ROUTED met2 ( 3000 3600 ) ( * 3068 )
  NEW met1 ( 3000 3068 ) M1M2_PR_0 ;
"""
    box = ("Metal1 spacing < 0.14um (met1.2)", (14.9, 15.12, 15.1, 15.21))
    text, fx = padfix.fix_pads(_def(alone), [box])
    # no point without a via left behind: the one-point segment itself moves
    assert _segments(text, "g") == ["+ ROUTED met2 ( 3000 3600 ) ( * 3068 )", "NEW met1 ( 3000 3077 ) M1M2_PR_0"]
    assert fx.moved == 1


def test_a_via_move_that_would_crowd_another_nets_wire_is_not_made_and_the_tap_moves_instead() -> None:
    # a tap a row above b's via, net w's met1 wire a row below it
    crowded = """- a
  ( u1 A ) ( u2 Y )
+ ROUTED li1 ( 1000 1136 ) L1M1_PR_0
  NEW met1 ( 1000 1136 ) ( 1460 * ) ;
- b
  ( u3 A ) ( u4 Y )
+ ROUTED met1 ( 600 1068 ) ( 1000 * ) M1M2_PR_0
  NEW met2 ( 1000 1068 ) ( * 1800 ) ;
- w
  ( u5 A ) ( u6 Y )
+ ROUTED met1 ( 800 1000 ) ( 1200 * ) ;
"""
    box = ("Metal1 spacing < 0.14um (met1.2)", (4.9, 5.47, 5.1, 5.56))  # between b's pad top and a's tap bottom
    # alone, b's via would move 9 units down, 0.095 um from w's wire (0.14 wanted): a's tap moves 9 units up instead
    pins = {"a": [(4.9, 5.5, 5.1, 6.0)]}
    text, fx = padfix.fix_pads(_def(crowded), [box], pins=pins)
    assert fx.moved == 0 and _segments(text, "b") == _segments(_def(crowded), "b"), text
    assert fx.taps_moved == 1 and _segments(text, "a")[0] == "+ ROUTED li1 ( 1000 1145 ) L1M1_PR_0"
    # without w's wire the via moves as before
    text, fx = padfix.fix_pads(_def(crowded.split("- w")[0]), [box])
    assert fx.moved == 1 and fx.taps_moved == 0 and "NEW met1 ( 1000 1059 ) M1M2_PR_0" in _segments(text, "b")
    # with another net's pad a row beyond a's tap neither moves
    beyond = crowded + "- e\n  ( u7 A ) ( u8 Y )\n+ ROUTED li1 ( 1000 1204 ) L1M1_PR_0 ;\n"
    text, fx = padfix.fix_pads(_def(beyond), [box], pins=pins)
    assert fx.moved == fx.taps_moved == 0
    # a's pin ending at its pad's top: its tap stays too (the via neither), one move kept
    text, fx = padfix.fix_pads(_def(crowded), [box], pins={"a": [(4.9, 5.5, 5.1, 5.77)]})
    assert fx.moved == fx.taps_moved == 0 and fx.taps_kept == 1
