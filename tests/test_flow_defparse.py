"""The DEF reader every layout stage shares: units, sections and their entries, via rectangles."""

from __future__ import annotations

from flow.pnr import defparse

DEF = """VERSION 5.8 ;
UNITS DISTANCE MICRONS 200 ;
DIEAREA ( 0 0 ) ( 2000 2000 ) ;
VIAS 1 ;
- M1M2_PR
+ RECT met1 ( -23 -17 ) ( 23 17 )
+ RECT met2 ( -17 -23 ) ( 17 23 ) ;
END VIAS
NETS 2 ;
- a ( u1 A ) ( u2 Y )
+ ROUTED met1 ( 10 20 ) ( 100 * ) M1M2_PR ;
- b ( u3 A ) ;
END NETS
SPECIALNETS 0 ;
END SPECIALNETS
END DESIGN
"""


def test_units_and_scale():
    assert defparse.def_units(DEF) == 200 and defparse.def_scale(DEF) == 5  # 5 nm per unit


def test_section_body_is_the_text_between_its_count_line_and_its_end():
    m = defparse.section(DEF, "NETS")
    assert m.group(1).startswith("- a ( u1 A )") and m.group(1).endswith("- b ( u3 A ) ;\n")
    assert DEF[m.end(1):].startswith("END NETS")  # the span edits the section in place
    assert defparse.section(DEF, "PINS") is None


def test_section_blocks_name_each_entry_and_an_empty_or_missing_section_has_none():
    blocks = defparse.section_blocks(DEF, "NETS")
    assert [n for n, _ in blocks] == ["a", "b"] and "M1M2_PR" in blocks[0][1]
    assert defparse.section_blocks(DEF, "SPECIALNETS") == [] and defparse.section_blocks(DEF, "PINS") == []


def test_via_rectangles_in_def_units_times_the_scale():
    assert defparse.vias(DEF) == {"M1M2_PR": [("met1", (-23, -17, 23, 17)), ("met2", (-17, -23, 17, 23))]}
    assert defparse.vias(DEF, 5)["M1M2_PR"][0] == ("met1", (-115, -85, 115, 85))
