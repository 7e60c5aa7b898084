"""bench/box_sites.py: magic boxes grouped into sites, the room a tap has on its pin, the site classes, and one
whole report on a hand-written route attempt folder (no tool run)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from test_padfix import VIAS  # the L1M1 and M1M2 vias of the padfix tests (DEF units of 200 per um)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bs():
    spec = importlib.util.spec_from_file_location("box_sites", REPO / "bench" / "box_sites.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclass looks itself up there
    spec.loader.exec_module(mod)
    return mod


def test_boxes_closer_than_the_join_distance_are_one_site(bs):
    m = "Metal1 spacing < 0.14um (met1.2)"
    boxes = [(m, (0.0, 0.0, 0.1, 0.1)), (m, (0.3, 0.0, 0.4, 0.1)), (m, (5.0, 5.0, 5.1, 5.1)),
             (m, (0.5, 0.0, 0.6, 0.1))]  # the first, second and fourth chain up (0.2 and 0.1 um gaps)
    got = bs.sites(boxes)
    assert sorted(len(g) for g in got) == [1, 3]
    assert [b for _w, b in next(g for g in got if len(g) == 1)] == [(5.0, 5.0, 5.1, 5.1)]


def test_room_is_how_far_the_pad_stays_on_its_pin(bs):
    pad = (1.0, 1.0, 1.17, 1.17)
    shapes = [(0.9, 1.0, 1.5, 1.17), (1.0, 1.17, 1.17, 1.3)]  # a bar east and west, a stub up
    assert bs.room(pad, shapes) == {"up": 0.13, "down": 0.0, "west": 0.1, "east": 0.33}
    assert bs.room((0.0, 0.0, 0.1, 0.1), shapes)["up"] == -1  # not on the pin where it is


def test_classes(bs):
    def pad(net, via, x, y):
        return bs.Pad(net, via, x, y, (x - 0.1, y - 0.1, x + 0.1, y + 0.1))
    row, col = 0.34, 0.46
    assert bs.classify([pad("a", "L1M1_PR", 1, 1), pad("b", "L1M1_PR", 1, 1.34)], row, col) == "taps a row apart"
    assert bs.classify([pad("a", "L1M1_PR", 1, 1), pad("b", "M1M2_PR", 1, 1.34)], row, col) \
        == "tap and via a row apart"
    assert bs.classify([pad("a", "M1M2_PR", 1, 1), pad("b", "M1M2_PR", 1.46, 1)], row, col) \
        == "vias a column apart"
    # one net's own tap and via a row apart are not a class; nor is a pair two rows apart
    assert bs.classify([pad("a", "L1M1_PR", 1, 1), pad("a", "M1M2_PR", 1, 1.34),
                        pad("b", "M1M2_PR", 1, 1.68)], row, col) == "other"


LEF = """MACRO c
  SIZE 1.380000 BY 2.720000 ;
  PIN A
    USE SIGNAL ;
    PORT
      LAYER li1 ;
        RECT 0.800000 0.800000 1.300000 1.200000 ;
    END
  END A
END c
"""



def test_report_on_an_attempt_folder(bs, tmp_path):
    head = ("VERSION 5.6 ;\nDESIGN t ;\nUNITS DISTANCE MICRONS 200 ;\nDIEAREA ( 0 0 ) ( 4000 4000 ) ;\n"
            "TRACKS Y 34 DO 58 STEP 68 LAYER met1 ;\nTRACKS X 46 DO 43 STEP 92 LAYER met2 ;\n"
            "COMPONENTS 1 ;\n- u1 c + PLACED ( 800 800 ) N ;\nEND COMPONENTS\n")
    # net a taps u1/A at (5.0, 5.0) um (the pin's li1: 4.8-5.3 x 4.8-5.2); net b's via a met1 row above it
    nets = """NETS 2 ;
- a
  ( u1 A ) ( u2 Y )
+ ROUTED li1 ( 1000 1000 ) L1M1_PR_0 ;
- b
  ( u3 A ) ( u4 Y )
+ ROUTED met1 ( 600 1068 ) ( 1000 * ) M1M2_PR_0 ;
END NETS
"""
    attempt = tmp_path / "d28-seed1-late"
    attempt.mkdir()
    (attempt / "unrouted.def").write_text(head + "NETS 1 ;\n- a\n  ( u1 A ) ( u2 Y ) ;\nEND NETS\nEND DESIGN\n")
    (attempt / "routed_r0p.def").write_text(head + VIAS + nets + "END DESIGN\n")
    (attempt / "drc_r0p_fast.drc.txt").write_text("Metal1 spacing < 0.14um (met1.2)\t4.9 5.12 5.1 5.21\n")
    lines = bs.report(attempt, "r0p", LEF)
    assert lines[0].startswith("tap and via a row apart: (4.9, 5.12)-(5.1, 5.21) 1 boxes [met1.2]; "), lines
    # the tap's li1 pad (4.915-5.085 x 4.915-5.085) on the pin 4.8-5.3 x 4.8-5.2
    assert "a L1M1_PR_0 (5, 5) room up 0.115 down 0.115 west 0.115 east 0.215" in lines[0]
    assert "b M1M2_PR_0 (5, 5.34)" in lines[0]
    assert lines[-1] == "1 boxes at 1 sites: tap and via a row apart 1"
    assert bs.main([str(attempt), "--tag", "r9"]) == 2  # a round that is not there: one error line


def test_a_clean_or_unchecked_round_is_one_error(bs, tmp_path, capsys):
    (tmp_path / "routed_r0.def").write_text("VERSION 5.6 ;\n")
    (tmp_path / "unrouted.def").write_text("VERSION 5.6 ;\n")
    assert bs.main([str(tmp_path), "--tag", "r0", "--lef", str(tmp_path / "routed_r0.def")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no magic boxes for round r0") and err.count("\n") == 1
