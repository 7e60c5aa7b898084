"""PPA table rows from build/ files, staleness, and the report writers."""

import json
import os
import time
from dataclasses import replace
from pathlib import Path

import pytest

from model.spec import DesignSpec
from reports.sweep import write_report
from reports.table import COLUMNS, row_from_build, to_csv

SPEC = DesignSpec("parallel", 2, 2, 32)


def _design(root, metrics, manifest_extra=None):
    d = SPEC.build_dir(root)
    (d / "rtl").mkdir(parents=True)
    (d / "flow").mkdir(parents=True)
    (d / "rtl" / "pe.v").write_text("module m; endmodule\n")
    man = dict(top="bb", arch="parallel", wbits=2, abits=2, n=32, out_width=10, latency_cycles=3,
               initiation_interval=1, verilog_files=["pe.v"], **(manifest_extra or {}))
    (d / "rtl" / "manifest.json").write_text(json.dumps(man))
    old = time.time() - 100
    for p in (d / "rtl").iterdir():
        os.utime(p, (old, old))
    (d / "flow" / "metrics.json").write_text(json.dumps(metrics))
    return d


GOOD = {
    "flow__status": "ok",
    "design__instance__area": 2000.0,
    "design__instance__count": 400,
    "clock__period": 10.0,
    "timing__fmax__mhz": 250.0,
    "power__total": 1.5e-3,
    "power__energy_per_mac__pj": 0.5,
    "power__energy_per_dot__pj": 16.0,
    "provenance": {"synth": {"tools": {"yosys": "Yosys 0.23"}, "corner": "tt_025C_1v80", "pdk": "/pdk"}},
}


def test_row_derived_figures(tmp_path):
    _design(tmp_path, GOOD)
    r = row_from_build(SPEC, tmp_path)
    assert r.status == "ok" and r.source == "post-synthesis"
    assert r.throughput_gmacs == pytest.approx(250e6 * 32 / 1e9)  # 8 GMAC/s at II 1
    assert r.tops_per_w == pytest.approx(2 / 0.5)  # 2 ops per MAC at 0.5 pJ -> 4 TOPS/W
    assert r.tops_per_mm2 == pytest.approx(2 * 8 / 1e3 / 0.002)  # 16 GOPS on 0.002 mm^2 -> 8 TOPS/mm^2
    assert r.power_mw == pytest.approx(1.5) and r.weight_bits == 64
    assert (r.synth_area_um2, r.synth_fmax_mhz, r.synth_energy_per_mac_pj) == (2000.0, 250.0, 0.5)  # same stage
    assert "Yosys 0.23" in r.provenance and "tt_025C_1v80" in r.provenance


def test_failed_flow_is_not_current(tmp_path):
    _design(tmp_path, {**GOOD, "flow__status": "failed at sta: sta exited with status 1"})
    r = row_from_build(SPEC, tmp_path)
    assert r.status.startswith("failed") and r.area_um2 is None and r.energy_per_mac_pj is None
    assert r.synth_area_um2 is None  # without the stamp check nothing vouches for the front-end numbers


def test_interrupted_flow_is_incomplete(tmp_path):
    _design(tmp_path, {**GOOD, "flow__status": "running route"})
    r = row_from_build(SPEC, tmp_path)
    assert r.status == "incomplete: running route" and r.area_um2 is None


def test_model_columns_and_model_only_rows(tmp_path):
    from reports.sweep import model_only_row, with_model_columns

    _design(tmp_path, GOOD)
    # a stand-in estimator with known numbers; post-synthesis energy without routed wires is lower
    fake = lambda spec, stage="post-route": (2200.0, 0.45 if stage == "post-route" else 0.4)  # noqa: E731
    r = with_model_columns(row_from_build(SPEC, tmp_path), fake)  # GOOD is a post-synthesis row
    assert r.model_area_err_pct == pytest.approx(10.0) and r.model_energy_err_pct == pytest.approx(-20.0)
    m = with_model_columns(row_from_build(DesignSpec("serial", 2, 2, 32), tmp_path), fake)
    assert m.status == "missing" and m.model_area_um2 == 2200.0 and m.model_area_err_pct is None
    o = model_only_row(DesignSpec("baseline", 8, 8, 32), fake, "model x")
    assert o.status == "model-only" and o.area_um2 is None and o.model_energy_per_mac_pj == 0.45


def test_rtl_newer_than_metrics_is_stale(tmp_path):
    d = _design(tmp_path, GOOD)
    os.utime(d / "flow" / "metrics.json", (time.time() - 1000,) * 2)
    r = row_from_build(SPEC, tmp_path)
    assert r.status.startswith("stale: RTL changed") and r.area_um2 is None


def test_metrics_from_another_flow_config_are_stale(tmp_path):
    cfg = {"clock_ns": 10.0, "dont_use_sha256": "aaaa", "seed": 1}
    _design(tmp_path, {**GOOD, "flow__config": cfg})
    assert row_from_build(SPEC, tmp_path, cfg).status == "ok"
    r = row_from_build(SPEC, tmp_path, {**cfg, "dont_use_sha256": "bbbb"})
    assert r.status == "stale: flow configuration differs in dont_use_sha256" and r.energy_per_mac_pj is None


def test_metrics_without_recorded_config_are_stale(tmp_path):
    _design(tmp_path, GOOD)
    assert row_from_build(SPEC, tmp_path, {"clock_ns": 10.0}).status.startswith("stale: no flow configuration")


def test_missing_design(tmp_path):
    assert row_from_build(SPEC, tmp_path).status == "missing"


def test_report_files(tmp_path):
    _design(tmp_path, GOOD)
    rows = [row_from_build(SPEC, tmp_path), row_from_build(DesignSpec("baseline", 2, 2, 32), tmp_path)]
    csv_text = to_csv(rows)
    assert csv_text.splitlines()[0] == ",".join(COLUMNS)
    index = write_report(rows, tmp_path / "out", tmp_path, {"commit": "abc"})
    text = index.read_text()
    assert "parallel_w2a2_n32" in text and "baseline_w2a2_n32" in text and "missing" in text
    assert (tmp_path / "out" / "plots" / "area_vs_bits.png").stat().st_size > 1000
    assert (tmp_path / "out" / "plots" / "pareto_energy_vs_throughput_density.svg").is_file()
    data = json.loads((tmp_path / "out" / "ppa.json").read_text())
    assert data["meta"]["commit"] == "abc" and len(data["rows"]) == 2


def test_markdown_ratios_only_where_both_designs_are_measured():
    from reports.summary import markdown, ratios
    from reports.table import PpaRow

    def row(arch, bits, status="ok", area=None, e=None, f=None, source="post-route"):
        return PpaRow(arch, bits, bits, 32, DesignSpec(arch, bits, bits, 32).id, status, source, area_um2=area,
                      energy_per_mac_pj=e, fmax_mhz=f)

    rows = [row("parallel", 1, area=80.0, e=0.4, f=60.0), row("baseline", 1, area=100.0, e=0.5, f=50.0),
            row("parallel", 2, area=300.0, e=1.0, f=50.0), row("baseline", 2, "failed: route", 99.0, 9.0, 9.0),
            row("serial", 3, "model-only"), row("parallel", 4, area=1.0, e=1.0, f=1.0),
            row("baseline", 4, area=2.0, e=2.0, f=2.0, source="post-synthesis")]
    q = ratios(rows)
    assert [(r["arch"], r["wbits"]) for r in q] == [("parallel", 1)], q  # W4: post-route vs post-synthesis
    assert q[0]["area"] == pytest.approx(0.8) and q[0]["energy_per_mac"] == pytest.approx(0.8) and q[0]["fmax"] == pytest.approx(1.2)
    md = markdown(rows, {"commit": "abc"})
    assert "| parallel W1A1 N32 | post-route | x0.80 | x0.80 | x1.20 |" in md
    assert "| baseline_w2a2_n32 | failed | – |" in md and "99" not in md  # a failed row shows no number
    assert "serial_w3a3_n32" not in md  # model-only rows are not in the measured table


def test_ratios_at_each_stage_both_designs_reached():
    from dataclasses import replace

    from reports.summary import markdown, ratios
    from reports.table import PpaRow

    def row(arch, status="ok", source="post-route", main=(None, None, None), synth=(None, None, None)):
        return PpaRow(arch, 4, 4, 32, DesignSpec(arch, 4, 4, 32).id, status, source, area_um2=main[0],
                      energy_per_mac_pj=main[1], fmax_mhz=main[2], synth_area_um2=synth[0],
                      synth_energy_per_mac_pj=synth[1], synth_fmax_mhz=synth[2])

    par = row("parallel", main=(90.0, 3.0, 40.0), synth=(80.0, 2.0, 40.0))
    base = row("baseline", "failed: failed at route: no placement routed", "", synth=(100.0, 2.5, 50.0))
    q = ratios([par, base])
    # the baseline never routed: the only comparison is post-synthesis against post-synthesis
    assert [(r["arch"], r["source"]) for r in q] == [("parallel", "post-synthesis")], q
    assert (q[0]["area"], q[0]["energy_per_mac"], q[0]["fmax"]) == pytest.approx((0.8, 0.8, 0.8))
    routed_base = replace(base, status="ok", source="post-route", area_um2=120.0, energy_per_mac_pj=3.0, fmax_mhz=50.0)
    assert [r["source"] for r in ratios([par, routed_base])] == ["post-route", "post-synthesis"]
    md = markdown([par, base], {"commit": "abc"})
    assert "| baseline_w4a4_n32 | failed | – | – |" in md  # the measured table leaves a failed row blank
    assert "| baseline_w4a4_n32 | failed | 100 | 50.0 | 2.500 |" in md  # its post-synthesis numbers stay visible
    assert "| parallel W4A4 N32 | post-synthesis | x0.80 | x0.80 | x0.80 |" in md


def test_report_commit_is_dirty_for_source_changes_not_for_its_own_outputs(tmp_path, monkeypatch):
    import subprocess

    from reports import sweep

    repo = tmp_path / "repo"
    (repo / "reports").mkdir(parents=True)
    (repo / "reports" / "ppa.md").write_text("old\n")
    (repo / "code.py").write_text("x = 1\n")
    git = lambda *a: subprocess.run(["git", "-C", str(repo), *a], check=True, capture_output=True, text=True)  # noqa: E731
    git("init", "-q")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init", "--allow-empty")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "files")
    monkeypatch.setattr(sweep, "REPO", repo)
    rev = git("rev-parse", "--short", "HEAD").stdout.strip()
    (repo / "reports" / "ppa.md").write_text("regenerated\n")
    assert sweep.git_describe(Path("reports")) == rev  # rewriting the report is not a source change
    assert sweep.git_describe() == rev + "-dirty"
    (repo / "code.py").write_text("x = 2\n")
    assert sweep.git_describe(Path("reports")) == rev + "-dirty"


def test_demo_reports_beside_the_snapshot_not_over_it():
    """`make demo` writes build/report/; only `make ppa` (and `table`) refresh the committed reports/."""
    from reports.__main__ import DEMO_OUT, parser

    assert parser().parse_args(["demo"]).out == DEMO_OUT == "build/report"
    assert parser().parse_args(["ppa"]).out == "reports"
    assert parser().parse_args(["table"]).out == "reports"


def test_both_encodings_side_by_side():
    """The sweep covers both encodings; ratios compare an encoded arch with the baseline of its own encoding, and
    twos with pm1 per arch; the model table shows the three families with their ratios."""
    from reports.estimates import estimate
    from reports.summary import encoding_ratios, markdown, ratios
    from reports.sweep import flow_specs, model_points
    from reports.table import PpaRow

    specs = flow_specs([2], 32)
    assert {(s.arch, s.encoding) for s in specs} == {(a, e) for a in ("parallel", "serial", "baseline")
                                                     for e in ("pm1", "twos")}
    assert "parallel_twos_w2a2_n32" in {s.id for s in specs}

    def row(arch, enc, area, e, f):
        spec = DesignSpec(arch, 2, 2, 32, encoding=enc)
        return PpaRow(arch, 2, 2, 32, spec.id, "ok", "post-route", area_um2=area, energy_per_mac_pj=e, fmax_mhz=f,
                      encoding=enc)

    rows = [row("parallel", "pm1", 80.0, 0.8, 50.0), row("baseline", "pm1", 100.0, 1.0, 50.0),
            row("parallel", "twos", 60.0, 0.4, 60.0), row("baseline", "twos", 120.0, 0.5, 40.0)]
    q = {(r["arch"], r["encoding"]): r for r in ratios(rows)}
    assert q[("parallel", "pm1")]["area"] == pytest.approx(0.8)
    assert q[("parallel", "twos")]["area"] == pytest.approx(0.5) and q[("parallel", "twos")]["fmax"] == pytest.approx(1.5)
    e = {r["arch"]: r for r in encoding_ratios(rows)}
    assert e["parallel"]["area"] == pytest.approx(0.75) and e["baseline"]["energy_per_mac"] == pytest.approx(0.5)
    points = model_points(flow_specs([1, 2], 32), estimate)
    md = markdown(rows, {"commit": "abc"}, points)
    assert "| parallel twos W2A2 N32 | post-route | x0.50 | x0.80 | x1.50 |" in md
    assert "| parallel W2A2 N32 (twos / pm1) | post-route | x0.75 | x0.50 | x1.20 |" in md
    assert "| W=A | parallel pm1 | serial pm1 | parallel twos | serial twos | conventional (pm1) | conventional (twos) |" in md
    assert md.count("| 2 (N32) |") == 2  # area and energy tables


def test_both_drc_decks_have_a_column(tmp_path):
    from reports.summary import measured_table

    routed = {**GOOD, "design__die__area": 9000.0, "route__wirelength": 1234.0, "magic__drc_error__count": 3,
              "klayout__drc_error__count": 5, "klayout__drc_error__count__rule:m3.2": 5, "design__lvs_error__count": 0,
              "route__attempt__winner": "d28-seed1-late"}
    _design(tmp_path, routed)
    r = row_from_build(SPEC, tmp_path)
    assert (r.drc_errors, r.klayout_drc_errors, r.lvs_errors) == (3, 5, 0)
    header, _sep, line = measured_table([r])
    assert "DRC magic | DRC KLayout | LVS | route |" in header
    assert line.endswith("| 3 | 5 | 0 | d28-seed1-late |")  # which attempt routed it: its provenance
    assert "klayout_drc_errors" in COLUMNS and ",5," in to_csv([r]).splitlines()[1]


def test_a_design_routed_before_the_klayout_stage_shows_no_klayout_count(tmp_path):
    _design(tmp_path, {**GOOD, "design__die__area": 9000.0, "route__wirelength": 1.0, "magic__drc_error__count": 0})
    assert row_from_build(SPEC, tmp_path).klayout_drc_errors is None


def test_a_damaged_report_json_is_one_line_not_a_traceback(tmp_path, capsys):
    """`reports page` on a damaged ppa.json refuses in one line; a damaged qnn.json only drops the QNN section."""
    from common.errors import BitbranchError
    from reports.sweep import read_qnn, rows_from_json

    (tmp_path / "qnn.json").write_text("null\n")
    assert read_qnn(tmp_path) is None
    assert "qnn.json is damaged" in capsys.readouterr().err
    for text in ("[]\n", "{\"rows\": 1}\n", "{trunc"):
        (tmp_path / "ppa.json").write_text(text)
        with pytest.raises(BitbranchError, match="ppa.json is damaged"):
            rows_from_json(tmp_path / "ppa.json")
    with pytest.raises(BitbranchError, match="no .*missing.json: a report is written by `make ppa`"):
        rows_from_json(tmp_path / "missing.json")


def test_model_error_line_splits_fitted_designs_from_out_of_sample_ones():
    from reports.summary import model_error_line
    from reports.table import PpaRow

    def row(arch, bits, a_err, e_err, encoding="pm1"):
        spec = DesignSpec(arch, bits, bits, 32, encoding=encoding)
        return PpaRow(arch, bits, bits, 32, spec.id, "ok", "post-synthesis", encoding=encoding,
                      model_area_err_pct=a_err, model_energy_err_pct=e_err)

    rows = [row("parallel", 2, -2.0, 1.0), row("parallel", 2, 12.5, -19.9, "twos")]
    meta = {"calibration_date": "2026-11-27", "calibration_energy_designs": ["parallel_w2a2_n32"]}
    line = model_error_line(rows, meta)
    assert "on 2 measured designs: area |err| max 12.5%, energy per MAC |err| max 19.9%" in line
    assert "1 of them carry the id of a design the energy coefficients were fitted on (area |err| max 2.0%, " \
           "energy per MAC |err| max 1.0%" in line
    assert "1 are out of sample (area |err| max 12.5%, energy per MAC |err| max 19.9%)" in line
    assert "not recorded" in model_error_line(rows, {})  # an older report without the calibration's design list


def test_rerendered_report_keeps_the_model_estimates(tmp_path):
    """`python -m reports page` renders ppa.md from ppa.json alone: the model-estimate section must survive it."""
    from reports.estimates import estimate
    from reports.sweep import model_points, page_texts

    _design(tmp_path, GOOD)
    rows = [row_from_build(SPEC, tmp_path)]
    points = model_points([SPEC, DesignSpec("baseline", 2, 2, 32)], estimate)
    write_report(rows, tmp_path / "out", tmp_path, {"commit": "abc", "build_root": "b"}, points)  # keys unsorted
    written = (tmp_path / "out" / "ppa.md").read_text()
    assert "Model estimates of the three families" in written
    assert page_texts(tmp_path / "out")["ppa.md"] == written
    assert page_texts(tmp_path / "out")["index.html"] == (tmp_path / "out" / "index.html").read_text()


def test_hold_with_propagated_clocks_is_a_column_and_a_negative_one_is_explained(tmp_path):
    from reports.summary import markdown
    from reports.table import PROPAGATED_NOTE

    _design(tmp_path, {**GOOD, "timing__hold__ws__propagated": -1.36,
                       "timing__hold__ws__propagated__from_registers": 0.23})
    row = row_from_build(SPEC, tmp_path)
    assert row.hold_ws_propagated_ns == -1.36 and row.hold_ws_propagated_registers_ns == 0.23
    md = markdown([row], {"commit": "abc"})
    assert "| hold ns (prop. clock) |" in md.splitlines()[2] and "| 250.0 | -1.36 | 0.500 |" in md
    assert PROPAGATED_NOTE in md
    assert "launched by registers the worst hold slack of these 1 design(s) is +0.23 ns (met)" in md
    page = write_report([row], tmp_path / "out", tmp_path, {"commit": "abc"}).read_text()
    assert "hold (prop.)" in page and "-1.36" in page
    # a design without a clock gate (propagated equals ideal, positive) gets the column but not the note
    ok = replace(row, hold_ws_propagated_ns=0.03)
    assert PROPAGATED_NOTE not in markdown([ok], {"commit": "abc"})


def test_a_layout_render_is_shown_only_beside_post_route_numbers(tmp_path):
    """A design reported post-synthesis may keep the render of an older route in its folder: it is not shown."""
    from PIL import Image

    from reports.sweep import collect_layouts

    d = _design(tmp_path, GOOD)
    Image.new("RGB", (40, 20), "white").save(d / "flow" / "bb.png")
    row = row_from_build(SPEC, tmp_path)
    assert row.source == "post-synthesis" and collect_layouts([row], tmp_path, tmp_path / "out") == []
    routed = replace(row, source="post-route")
    assert [i for i, _ in collect_layouts([routed], tmp_path, tmp_path / "out")] == [SPEC.id]
