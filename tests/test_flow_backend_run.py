"""The whole local back end on one small PE (parallel, BITS=1, N=8): GDS, DRC count, LVS, routed sim, metrics."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from model.spec import DesignSpec

TOOLS = ("yosys", "qflow", "graywolf", "qrouter", "magic", "netgen-lvs", "sta", "iverilog", "klayout")


@pytest.mark.slow
def test_local_flow_small_design(tmp_path: Path) -> None:
    missing = [t for t in TOOLS if shutil.which(t) is None and not Path(f"/usr/lib/qflow/bin/{t}").exists()]
    if missing:
        pytest.skip(f"local P&R tools missing: {', '.join(missing)} (make debian-deps)")
    pytest.importorskip("klayout.db", reason="PyPI klayout (pip install 'bitbranch[layout]') is needed for GDS")
    from flow.backend import run_gds
    from flow.pdk import PdkError, find_pdk

    try:
        find_pdk()
    except PdkError as e:
        pytest.skip(f"no Sky130 PDK: {e}")
    spec = DesignSpec("parallel", 1, 1, 8)
    m = run_gds(spec, 10.0, "local", tmp_path)
    flow = spec.build_dir(tmp_path) / "flow"
    assert m["flow__status"] == "ok"
    gds = flow / "06-route" / f"bb_{spec.id}.gds"
    assert gds.is_file() and gds.stat().st_size > 10_000
    assert (flow / "13-render").is_dir() and any(flow.glob("*.png"))
    lvs = json.loads((flow / "07-lvs" / "lvs.json").read_text())
    assert lvs["match"] and m["design__lvs_error__count"] == 0
    assert m["route__failed_nets"] == 0
    assert m["sim__routed__mismatch__count"] == 0 and m["sim__routed__vectors"] > 0
    for key in ("design__die__area", "design__core__area", "route__wirelength", "magic__drc_error__count",
                "timing__setup__ws__corner:tt", "timing__setup__ws__corner:ss", "power__total"):
        assert isinstance(m[key], (int, float)), key
    assert m["design__die__area"] > m["design__core__area"] > 0
    # the DRC count is what magic reported for the kept round (recorded, not asserted to be 0)
    drc_lines = [l for l in (flow / "06-route" / "drc.txt").read_text().splitlines() if l.strip()]
    assert m["magic__drc_error__count"] == len(drc_lines)
    # the second DRC deck ran on the same GDS: its total is the sum of its per-rule counts
    kl = json.loads((flow / "08-klayout-drc" / "drc.json").read_text())
    assert m["klayout__drc_error__count"] == kl["total"] == sum(kl["by_rule"].values())
    assert {k for k in m if k.startswith("klayout__drc_error__count__rule:")} == \
        {f"klayout__drc_error__count__rule:{r}" for r in kl["by_rule"]}
    assert m["provenance"]["sta-routed"]["config"]["parasitics"].startswith("post-route")
    # a second run reuses every stage
    m2 = run_gds(spec, 10.0, "local", tmp_path)
    assert m2["magic__drc_error__count"] == m["magic__drc_error__count"]
