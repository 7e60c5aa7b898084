"""The KLayout DRC stage without running klayout: the report database parser, the command line, and the one-line
errors for a missing deck or a missing executable."""

from __future__ import annotations

from pathlib import Path

import pytest

from flow.pnr import klayout_drc
from flow.pnr.klayout_drc_stage import KlayoutDrcStage
from flow.stage import StageError

REPORT = """<?xml version="1.0" encoding="utf-8"?>
<report-database>
 <description>SKY130 DRC runset</description>
 <top-cell>bb_x</top-cell>
 <categories>
  <category><name>m3.2</name><description>m3.2 : min. m3 spacing : 0.3um</description><categories/></category>
  <category><name>m1.2</name><description>m1.2 : min. m1 spacing : 0.14um</description><categories/></category>
  <category><name>m4.1</name><description>never hit</description><categories/></category>
 </categories>
 <cells><cell><name>bb_x</name><variant/><references/></cell></cells>
 <items>
  <item><tags/><category>'m3.2'</category><cell>bb_x</cell><visited>false</visited><multiplicity>1</multiplicity>
   <values><value>edge-pair: (1,2;3,4)/(5,6;7,8)</value></values></item>
  <item><tags/><category>'m1.2'</category><cell>bb_x</cell><visited>false</visited><multiplicity>1</multiplicity>
   <values><value>edge-pair: (1,2;3,4)/(5,6;7,8)</value></values></item>
  <item><tags/><category>'m3.2'</category><cell>bb_x</cell><visited>false</visited><multiplicity>1</multiplicity>
   <values><value>edge-pair: (1,2;3,4)/(5,6;7,8)</value></values></item>
  <item><tags/><category>'offgrid'.'m2'</category><cell>bb_x</cell><visited>false</visited><multiplicity>1</multiplicity>
   <values><value>polygon: (0,0;0,1;1,1)</value></values></item>
 </items>
</report-database>
"""


def test_report_counts_items_per_rule() -> None:
    assert klayout_drc.parse_report(REPORT) == {"m3.2": 2, "m1.2": 1, "offgrid.m2": 1}


def test_clean_report_has_no_rules() -> None:
    clean = REPORT.split("<items>")[0] + "<items>\n</items>\n</report-database>\n"
    assert klayout_drc.parse_report(clean) == {}


@pytest.mark.parametrize("text", ["", "<html/>", "<report-database><items>"])
def test_a_broken_report_is_an_error_not_zero(text: str) -> None:
    with pytest.raises(ValueError):
        klayout_drc.parse_report(text)


def test_rule_metrics_use_openlanes_modifier_form() -> None:
    assert klayout_drc.rule_metric("m3.2") == "klayout__drc_error__count__rule:m3.2"
    assert "klayout__drc_error__count__rule" in KlayoutDrcStage.metric_names


def test_command_line_runs_every_check(tmp_path: Path) -> None:
    a = klayout_drc.argv(Path("/p/sky130A_mr.drc"), tmp_path / "x.gds", "bb_x", tmp_path / "r.xml", 2)
    assert a[:4] == ["klayout", "-b", "-r", "/p/sky130A_mr.drc"]
    flags = {a[i + 1] for i in range(len(a) - 1) if a[i] == "-rd"}
    assert {"top_cell=bb_x", "feol=1", "beol=1", "offgrid=1", "thr=2", f"input={tmp_path / 'x.gds'}"} <= flags


def test_missing_deck_names_the_fix(tmp_path: Path, pdk) -> None:
    from dataclasses import replace

    from flow.pdk import Pdk
    from flow.stage import FlowContext
    from model.spec import DesignSpec

    ctx = FlowContext(DesignSpec("parallel", 1, 1, 8), tmp_path, Pdk(tmp_path / "nopdk", "test"))
    with pytest.raises(StageError) as e:
        KlayoutDrcStage().prepare(ctx)
    msg = str(e.value)
    assert "sky130A_mr.drc is missing" in msg and "PDK_ROOT" in msg and "\n" not in msg
    assert replace(ctx, pdk=pdk).pdk.klayout_drc_deck.name == "sky130A_mr.drc"


def test_missing_klayout_names_the_fix(tmp_path: Path, monkeypatch) -> None:
    deck = tmp_path / "sky130A_mr.drc"
    deck.write_text("# deck\n")
    monkeypatch.setattr("flow.pnr.klayout_drc.shutil.which", lambda name: None)
    why = klayout_drc.why_unusable(deck)
    assert why is not None and "apt-get install klayout" in why and "no DRC engine" in why
