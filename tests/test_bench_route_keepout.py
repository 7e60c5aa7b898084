"""bench/route_keepout.py and what it shares with the route stage's late keep-out: the halo LEF
(``flow/pnr/halo.py``), the script per keep-out (``route.script``), and bad input (no tool run)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

NAND2 = """MACRO sky130_fd_sc_hd__nand2_1
  SIZE  1.380000 BY  2.720000 ;
  PIN A
    USE SIGNAL ;
    PORT
      LAYER li1 ;
        RECT 0.940000 1.075000 1.275000 1.325000 ;
    END
  END A
  PIN B
    USE SIGNAL ;
    PORT
      LAYER li1 ;
        RECT 0.095000 1.055000 0.430000 1.325000 ;
    END
  END B
  PIN Y
    USE SIGNAL ;
    PORT
      LAYER li1 ;
        RECT 0.600000 0.255000 1.295000 0.885000 ;
    END
  END Y
  PIN VGND
    USE GROUND ;
    PORT
      LAYER li1 ;
        RECT 0.000000 -0.085000 1.380000 0.085000 ;
    END
  END VGND
END sky130_fd_sc_hd__nand2_1
"""

HEAD = """# qrouter runtime script
read_lef /pdk/techlef/sky130_fd_sc_hd__nom.tlef
read_lef  /build/pdk/pnr/sky130_fd_sc_hd_router.lef
catch {layers 5}
vdd VPWR,VPB
read_def unrouted.def
"""


def _bench():
    spec = importlib.util.spec_from_file_location("bench_route_keepout", REPO / "bench" / "route_keepout.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _obs_points(lef: str) -> set[tuple[float, float]]:
    obs = lef.split("  OBS\n", 1)[1]
    out = set()
    for line in obs.splitlines():
        s = line.split()
        if s[:1] == ["RECT"]:
            x1, y1, x2, y2 = map(float, s[1:5])
            assert round(x2 - x1, 3) == 0.01 and round(y2 - y1, 3) == 0.01  # a point, not a box over a tap
            out.add((round((x1 + x2) / 2, 3), round((y1 + y2) / 2, 3)))
    return out


def test_halo_lef_blocks_the_rows_next_to_pin_points_but_no_pin_point() -> None:
    from flow.pnr import halo as b

    pins = b.grid_points((0.095, 1.055, 0.43, 1.325)) | b.grid_points((0.94, 1.075, 1.275, 1.325)) | \
        b.grid_points((0.6, 0.255, 1.295, 0.885))
    assert pins == {(0.23, 1.19), (1.15, 1.19), (0.69, 0.51), (0.69, 0.85), (1.15, 0.51), (1.15, 0.85)}
    lef, n = b.halo_lef(NAND2)
    halo = _obs_points(lef)
    assert n == len(halo)
    # B's point (0.23, 1.19): both rows next to it; A's (1.15, 1.19): the row above only (below is a Y point);
    # Y's column 1.15 down to 0.51: the row below (0.17); the power pin gives none
    assert halo == {(0.23, 0.85), (0.23, 1.53), (1.15, 1.53), (0.69, 0.17), (0.69, 1.19), (1.15, 0.17)}
    assert not halo & pins
    assert "LAYER met1" in lef.split("  OBS\n", 1)[1]


def test_scripts_per_mode() -> None:
    from flow.pnr import route

    b = _bench()
    full = b.script_for("full", HEAD, None)
    assert full.count(route.KEEPOUT) == 1 and route.KEEPOUT_OFF not in full
    assert full == route.script(HEAD, "unrouted.def", "routed.def", ["rail_obs.tcl", "track_obs.tcl"])
    late = b.script_for("late", HEAD, None)
    # off from the start, on again right before the stage-3 loop (and after stage 1 and the ladder)
    assert late.index(route.KEEPOUT_OFF) < late.index("read_def") < late.index("set result [stage1]") \
        < late.index(route.KEEPOUT) < late.index("[stage3]")
    assert late.count(route.KEEPOUT) == 1 and "sky130_fd_sc_hd_router.lef" in late
    halo = b.script_for("late-halo", HEAD, Path("/w/router_halo.lef"))
    assert "read_lef /w/router_halo.lef" in halo and "sky130_fd_sc_hd_router.lef" not in halo
    with pytest.raises(b.Fail, match="router.lef"):
        b.script_for("late-halo", HEAD.replace("_router.lef", ".lef"), Path("/w/x.lef"))


def test_off_grid_cell_is_refused() -> None:
    from flow.pnr import halo

    text = ("UNITS DISTANCE MICRONS 200 ;\nTRACKS X 46 DO 10 STEP 92 LAYER met2 ;\n"
            "TRACKS Y 68 DO 10 STEP 68 LAYER met1 ;\nCOMPONENTS 2 ;\n"
            "- a sky130_fd_sc_hd__nand2_1 + PLACED ( 0 34 ) N ;\n- b sky130_fd_sc_hd__nand2_1 + PLACED ( 10 34 ) N ;\n"
            "END COMPONENTS\n")
    with pytest.raises(halo.OffGrid, match="cell b"):
        halo.check_grid(text)
    halo.check_grid(text.replace("( 10 34 )", "( 92 34 )"))


def test_unknown_mode_is_one_error_line() -> None:
    p = subprocess.run([sys.executable, str(REPO / "bench" / "route_keepout.py"), "--modes", "late,fast"],
                       capture_output=True, text=True, cwd=REPO)
    assert p.returncode == 1
    assert p.stderr.strip() == "error: unknown mode(s) fast; choose from full, late, late-halo"


def test_run_measured_reports_time_and_names_the_failure(tmp_path: Path) -> None:
    from common.errors import BitbranchError
    from common.measured import ToolTimedOut, run_measured

    wall, cpu = run_measured([sys.executable, "-c", "print('hi')"], tmp_path, tmp_path / "ok.log")
    assert (tmp_path / "ok.log").read_text() == "hi\n" and wall > 0 and cpu >= 0
    with pytest.raises(BitbranchError, match=r"exited with 3 \(log .*bad\.log\)"):
        run_measured([sys.executable, "-c", "raise SystemExit(3)"], tmp_path, tmp_path / "bad.log")
    with pytest.raises(BitbranchError, match="no-such-tool-xyz is not on PATH"):
        run_measured(["no-such-tool-xyz"], tmp_path, tmp_path / "missing.log")
    with pytest.raises(ToolTimedOut, match=r"timed out after 0 s"):
        run_measured([sys.executable, "-c", "import time; time.sleep(5)"], tmp_path, tmp_path / "slow.log", timeout=0.2)
