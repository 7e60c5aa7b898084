"""Metrics in LibreLane's layout: the files, and LibreLane's own compare on two real bitbranch runs."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest

from flow import librelane_metrics as LL

METRICS = {
    "flow__status": "ok",
    "flow__config": {"clock_ns": 10.0},
    "provenance": {"synth": {"tools": {"yosys": "0.23"}}},
    "design__instance__area": 1234.5,
    "design__instance__count": 99,
    "timing__setup__ws__corner:ss": -1.25,
    "power__total": 1.5e-3,
    "route__attempts__ok": True,
}


def test_export_writes_librelane_final_and_collected_files(tmp_path):
    flow_dir = tmp_path / "build" / "parallel_w1a1_n4" / "flow"
    written = LL.export(METRICS, tmp_path / "build", "parallel_w1a1_n4", flow_dir)
    assert written == [flow_dir / "final" / "metrics.json", flow_dir / "final" / "metrics.csv",
                       tmp_path / "build" / "librelane" / "sky130A-sky130_fd_sc_hd-parallel_w1a1_n4.metrics.json"]
    flat = json.loads(written[0].read_text())
    assert flat == {"design__instance__area": 1234.5, "design__instance__count": 99, "power__total": 1.5e-3,
                    "timing__setup__ws__corner:ss": -1.25, "timing__setup__wns__corner:ss": -1.25}
    # numbers only (no status, config, provenance, bools), plus LibreLane's worst negative slack
    assert written[2].read_text() == written[0].read_text() and written[0].read_text().startswith("{\n    \"")
    rows = list(csv.reader(io.StringIO(written[1].read_text())))
    assert rows[0] == ["Metric", "Value"] and ["design__instance__count", "99"] in rows and len(rows) == 6
    LL.clear(tmp_path / "build", "parallel_w1a1_n4", flow_dir)
    assert not any(p.exists() for p in written)


def _librelane(*args: str) -> subprocess.CompletedProcess:
    try:
        import librelane  # noqa: F401
    except ImportError:
        pytest.fail("librelane not installed: `make deps` installs the [ecosystem] extra (librelane==3.0.17)")
    return subprocess.run([sys.executable, "-m", "librelane.common.metrics", *args], capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL)


@pytest.mark.slow
def test_librelane_compares_two_bitbranch_runs(pdk, need_tools, tmp_path):
    """The same PE synthesized and timed at 10 ns and at 5 ns in two build roots: LibreLane's compare and
    compare-multiple read both runs and report the setup slack that changed; a run that starts again
    removes the files until it completes."""
    need_tools("yosys", "sta")
    from flow.__main__ import main as flow_main
    from model.spec import DesignSpec

    spec = DesignSpec("parallel", 1, 1, 4)
    for name, clock in (("a", "10"), ("b", "5")):
        assert flow_main(["sta", "--arch", "parallel", "--bits", "1", "--n", "4", "--clock-ns", clock,
                          "--root", str(tmp_path / name)]) == 0
    finals = [spec.build_dir(tmp_path / x) / "flow" / "final" / "metrics.json" for x in "ab"]
    a, b = (json.loads(p.read_text()) for p in finals)
    assert a["clock__period"] == 10.0 and b["clock__period"] == 5.0
    assert a["design__instance__area"] == b["design__instance__area"]
    assert a["timing__setup__ws"] - b["timing__setup__ws"] == pytest.approx(5.0)

    one = _librelane("compare", str(finals[0]), str(finals[1]))
    assert one.returncode == 0, one.stderr
    assert "timing__setup__wns" in one.stdout and "design__instance__area" in one.stdout
    assert b["timing__setup__wns"] < 0 and f"| {b['timing__setup__wns']:.4f} " in one.stdout  # 5 ns misses ss
    many = _librelane("compare-multiple", str(tmp_path / "a" / "librelane"), str(tmp_path / "b" / "librelane"))
    assert many.returncode == 0, many.stderr
    assert "sky130A/sky130_fd_sc_hd/parallel_w1a1_n4" in many.stdout and "missing" not in many.stdout
    assert "Changes to critical metrics were detected" in many.stdout

    from flow import metrics as M
    from flow.flows import FLOWS
    from flow.pdk import find_pdk
    from flow.stage import FlowConfig, FlowContext, start_metrics

    ctx = FlowContext(spec, tmp_path / "a", find_pdk(), FlowConfig()).with_flow(FLOWS["sta"])
    start_metrics(ctx, "synth")
    assert not M.is_complete(M.read_metrics(ctx.metrics_path)) and not finals[0].exists()
    assert not list((tmp_path / "a" / "librelane").iterdir())
