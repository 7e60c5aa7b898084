"""One real front-end run (yosys, OpenSTA, iverilog) of a tiny PE: numbers exist, gates match the model."""

import json
import os
import shutil

import pytest

from flow.__main__ import main as flow_main
from flow.backend import front_end_metrics, out_of_date_stages
from flow.flows import FLOWS
from flow.metrics import read_metrics
from flow.pdk import PdkError, find_pdk
from flow.stage import FlowConfig, FlowContext, StageError, execute
from model.spec import DesignSpec
from reports.table import row_from_build

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pdk():
    missing = [t for t in ("yosys", "sta", "iverilog", "vvp") if shutil.which(t) is None]
    if missing:
        pytest.skip(f"EDA tools not installed: {', '.join(missing)} (make debian-deps)")
    try:
        return find_pdk()
    except PdkError as e:
        pytest.skip(f"no Sky130 PDK: {e}")


def test_tiny_parallel_pe_end_to_end(pdk, tmp_path):
    root = tmp_path / "build"
    args = ["power", "--arch", "parallel", "--bits", "1", "--n", "8", "--root", str(root), "--vectors", "60"]
    assert flow_main(args) == 0
    spec = DesignSpec("parallel", 1, 1, 8)
    m = read_metrics(spec.build_dir(root) / "flow" / "metrics.json")
    assert m["flow__status"] == "ok"
    assert m["design__instance__count"] > 8 and m["design__instance__area"] > 0
    for c in ("tt", "ss", "ff"):
        assert isinstance(m[f"timing__setup__ws__corner:{c}"], float)
        assert isinstance(m[f"timing__hold__ws__corner:{c}"], float)
    # ff is the fastest corner, ss the slowest
    assert m["timing__setup__ws__corner:ff"] > m["timing__setup__ws__corner:tt"] > m["timing__setup__ws__corner:ss"]
    assert m["timing__setup__ws"] == m["timing__setup__ws__corner:ss"]
    assert m["sim__mismatch__count"] == 0 and m["sim__vectors"] == 60
    assert m["power__total"] > m["power__internal__total"] > 0 and m["power__switching__total"] > 0
    assert m["power__opensta__total"] > 0 and m["power__energy_per_mac__pj"] > 0
    assert m["power__energy_per_mac__pj"] == pytest.approx(m["power__energy_per_dot__pj"] / 8)
    prov = m["provenance"]
    assert prov["synth"]["tools"]["yosys"].startswith("Yosys") and prov["sta"]["pdk_root"] == str(pdk.root)
    assert "seed 1" in prov["power"]["config"]["activity_source"]
    # a second run reuses every stage
    ctx = FlowContext(spec, root, pdk, FlowConfig(vectors=60)).with_flow(FLOWS["power"])
    assert execute(FLOWS["power"].stage("synth"), ctx).skipped
    # the report's stamp check agrees (however the root is spelled), and names the stage an edit makes stale
    assert out_of_date_stages(spec, root, m) == []
    assert out_of_date_stages(spec, os.path.relpath(root), m) == []
    front = front_end_metrics(spec, root, m)  # what a report keeps when the back end fails later
    assert front is not None and front["design__instance__area"] == m["design__instance__area"]
    assert front["power__energy_per_mac__pj"] == m["power__energy_per_mac__pj"]
    assert front["timing__fmax__mhz"] == m["timing__fmax__mhz"]
    # a back end that fails after this front end: the report's row keeps the post-synthesis numbers only
    failed = {**m, "flow__status": "failed at route: no placement routed without failed nets"}
    (spec.build_dir(root) / "flow" / "metrics.json").write_text(json.dumps(failed))
    row = row_from_build(spec, root, m["flow__config"], check_stamps=True)
    assert row.status.startswith("failed: failed at route")
    assert row.area_um2 is None and row.synth_area_um2 == m["design__instance__area"]
    assert row.synth_energy_per_mac_pj == m["power__energy_per_mac__pj"]
    top = spec.build_dir(root) / "rtl" / f"bb_{spec.id}.v"
    top.write_text(top.read_text() + "// edited\n")
    assert out_of_date_stages(spec, root, m) == ["synth"]
    assert front_end_metrics(spec, root, m) is None


def test_broken_rtl_stops_at_synth(pdk, tmp_path):
    """A syntax error in the RTL fails the synth stage with its log, and the metrics say so."""
    root = tmp_path / "build"
    spec = DesignSpec("parallel", 1, 1, 4)
    flow_main(["synth", "--bits", "1", "--n", "4", "--root", str(root)])
    rtl = spec.build_dir(root) / "rtl"
    # the manifest was just written, so it is newer than the generator: the flow keeps the broken file
    v = sorted(rtl.glob("*.v"))[0]
    v.write_text(v.read_text() + "\nthis is not verilog\n")
    with pytest.raises(StageError) as e:
        flow_main(["synth", "--bits", "1", "--n", "4", "--root", str(root)])
    assert "stage synth" in str(e.value) and "yosys" in str(e.value)
    m = read_metrics(spec.build_dir(root) / "flow" / "metrics.json")
    assert m["flow__status"].startswith("failed at synth")
