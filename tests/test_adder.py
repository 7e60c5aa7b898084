"""The adder-mapping knob (ADDER=abc|fa, #16): spec, id, errors, the yosys script, the generator's adder modules, and
real fa-mapped netlists simulated at gate level against the model (through the flow's gatesim stage, i.e. verif.sim),
W3A3 among them: yosys 0.23's extract_fa, tried first, gave a netlist that disagreed with the model there."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from flow.pdk import router_dont_use
from flow.synth import (
    ADDER_CELLS,
    FA_CELL,
    HA_CELL,
    PENDING_FA,
    adder_map_text,
    pending_fa_text,
    unavailable_adder_cells,
    yosys_script,
)
from model.spec import ADDER_MAPPINGS, DesignSpec, SpecError, spec_from_vars
from rtl.verilog import header_fields

REPO = Path(__file__).resolve().parents[1]


def test_default_adder_stays_out_of_ids_and_rtl_headers() -> None:
    s = DesignSpec("parallel", 2, 2, 32)
    assert s.adder == "abc" and s.id == "parallel_w2a2_n32"
    assert "adder" not in header_fields(s)
    fa = DesignSpec("baseline", 3, 1, 7, adder="fa")
    assert fa.id == "baseline_w3a1_n7_adder-fa" and header_fields(fa)["adder"] == "fa"
    assert DesignSpec.from_id(fa.id) == fa
    both = DesignSpec("serial", 2, 2, 8, popcount="wallace", adder="fa", encoding="twos")
    assert DesignSpec.from_id(both.id) == both


def test_make_variable_blank_means_default() -> None:
    assert spec_from_vars(bits="1", n="8", adder="").adder == "abc"
    assert spec_from_vars(bits="1", n="8", adder="fa").id == "parallel_w1a1_n8_adder-fa"


@pytest.mark.parametrize("bad", ["cla", "FA", "", "ripple"])
def test_unknown_adder_is_one_spec_error(bad: str) -> None:
    with pytest.raises(SpecError, match=f"unknown adder mapping {bad!r}: choose one of abc, fa"):
        DesignSpec(adder=bad)


@pytest.mark.parametrize("module", ["rtl", "flow"])
def test_cli_unknown_adder_is_one_error_line(module: str, tmp_path: Path) -> None:
    args = ["synth"] if module == "flow" else []
    run = subprocess.run([sys.executable, "-m", module, *args, "--bits", "1", "--n", "4", "--adder", "cla",
                          "--root", str(tmp_path / "b")], capture_output=True, text=True, cwd=REPO)
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0] == "error: unknown adder mapping 'cla': choose one of abc, fa"
    assert not (tmp_path / "b").exists()


def test_every_mapping_has_its_cells() -> None:
    assert set(ADDER_CELLS) == set(ADDER_MAPPINGS)
    assert ADDER_CELLS["fa"] == (FA_CELL, HA_CELL)
    text = adder_map_text("bb_x_fa", "bb_x_ha")
    assert FA_CELL in text and HA_CELL in text and '(* techmap_celltype = "$fa" *)' in text
    assert '(* techmap_celltype = "bb_x_fa" *)' in text and '(* techmap_celltype = "$alu" *)' in text
    assert f'(* techmap_celltype = "{PENDING_FA}" *)' in text and f"module {PENDING_FA} (" in pending_fa_text()
    assert "bb_x_fa" not in adder_map_text()  # a design without the generator's adder modules (the baseline)


def test_script_default_unchanged_fa_maps_before_abc() -> None:
    args = ("top", [Path("a.v")], Path("x.lib"), Path("n.v"), Path("s.txt"), 10000, True)
    abc = yosys_script(*args)
    assert "synth -flatten -top top\n" in abc and "techmap" not in abc and "maccmap" not in abc
    fa = yosys_script(*args, adder="fa", adder_map=Path("adder_map.v"))
    lines = fa.splitlines()
    order = [next(i for i, l in enumerate(lines) if l.startswith(c)) for c in
             ("read_verilog -lib", "techmap -D BITBRANCH_HOLD", "synth -flatten -noabc -top top -run :fine", "maccmap",
              "techmap -D BITBRANCH_ALU", "opt -fast", "synth -noabc -top top -run fine:", 'techmap -map "adder_map.v"',
              "dfflibmap", "abc -D")]
    assert order == sorted(order)
    assert "extract_fa" not in fa  # yosys 0.23's extract_fa drops an inversion (YosysHQ/yosys#3879)
    differ = {"synth -flatten -top top", 'write_verilog -noattr -noexpr -nohex -nodec -defparam "n.v"'}
    assert set(abc.splitlines()) - differ <= set(lines)  # everything else is the same
    assert 'write_verilog -noattr -noexpr -nohex -nodec -defparam -simple-lhs "n.v"' in lines  # OpenSTA reads it


def test_fa_rtl_instantiates_adder_modules_default_rtl_does_not(tmp_path: Path) -> None:
    from rtl.generate import generate
    from rtl.verilog import adder_cell_names

    plain = generate(DesignSpec("parallel", 1, 1, 8), tmp_path)
    assert not any(p.name.endswith(("_fa.v", "_ha.v")) for p in plain.parent.iterdir())
    spec = DesignSpec("parallel", 1, 1, 8, adder="fa")
    fa_path = generate(spec, tmp_path)
    fa_mod, ha_mod = adder_cell_names(spec)
    popcount = (fa_path.parent / f"bb_{spec.id.replace('-', '_')}_popcount.v").read_text()
    assert popcount.count(f"    {fa_mod} u_fa") == 4 and "^" not in popcount  # 8 bits: 4 FA, as the tree says
    assert (fa_path.parent / f"{fa_mod}.v").is_file() and (fa_path.parent / f"{ha_mod}.v").is_file()


def test_blocked_adder_cells_are_named() -> None:
    assert unavailable_adder_cells("abc", [FA_CELL]) == []
    assert unavailable_adder_cells("fa", [FA_CELL, "sky130_fd_sc_hd__inv_1"]) == [FA_CELL]
    assert unavailable_adder_cells("fa", router_dont_use()) == []  # the router reaches both (flow/pnr/tech.py)


@pytest.mark.slow
@pytest.mark.parametrize("arch,bits,n", [("parallel", 1, 8), ("parallel", 3, 16), ("baseline", 2, 4), ("serial", 2, 4)])
def test_fa_netlist_has_adder_cells_and_matches_the_model(arch: str, bits: int, n: int, need_tools, pdk,
                                                          build_root: Path) -> None:
    """yosys maps adders onto fa_1/ha_1 in every architecture; the gate-level simulation (gatesim stage, through
    verif.sim) of that netlist agrees with the model on every vector."""
    need_tools("yosys", "sta", "iverilog", "vvp")
    from flow.__main__ import main as flow_main
    from flow.metrics import read_metrics

    spec = DesignSpec(arch, bits, bits, n, adder="fa")
    assert flow_main(["power", "--arch", arch, "--bits", str(bits), "--n", str(n), "--adder", "fa",
                      "--root", str(build_root), "--vectors", "80"]) == 0
    synth = spec.build_dir(build_root) / "flow" / "01-synth"
    netlist = (synth / f"bb_{spec.id.replace('-', '_')}.nl.v").read_text()
    cells = re.findall(r"^\s*(sky130_fd_sc_hd__\w+)\s", netlist, re.M)
    assert cells.count(FA_CELL) >= 1, sorted(set(cells))
    assert "maccmap" in (synth / "synth.ys").read_text() and (synth / "adder_map.v").is_file()
    m = read_metrics(spec.build_dir(build_root) / "flow" / "metrics.json")
    assert m["sim__vectors"] == 80 and m["sim__mismatch__count"] == 0


@pytest.mark.slow
def test_router_reaches_the_adder_and_flop_pins(need_tools, pdk, tmp_path: Path) -> None:
    """bench/pin_access.py with the flow's router LEF and settings: every pin of fa_1, ha_1 and dfxtp_1 is reached
    in every row orientation; fa_2, which has no landing, is not (the test can fail)."""
    need_tools("qrouter")
    import importlib.util

    from flow.pnr import tech

    spec = importlib.util.spec_from_file_location("bench_pin_access", REPO / "bench" / "pin_access.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    fails, failed_nets = mod.pin_access(["fa_1", "ha_1", "dfxtp_1", "fa_2"], tmp_path)
    assert fails == {"fa_1": [], "ha_1": [], "dfxtp_1": [], "fa_2": ["CIN@FN", "CIN@FS", "CIN@N", "CIN@S"]}
    assert failed_nets == 4
    # the routes were written too (with a net's pins on one line qrouter routed but wrote none: the DEF is its output)
    nets = (tmp_path / "routed.def").read_text().split("\nNETS ")[1].split("END NETS")[0]
    assert nets.count("- n_") == 4 * (5 + 4 + 3 + 5) and nets.count("+ ROUTED") == nets.count("- n_") - failed_nets
    assert "emit_routes" not in (tmp_path / "qrouter.log").read_text()
    assert {c for c in ("sky130_fd_sc_hd__fa_1", "sky130_fd_sc_hd__ha_1") if c in tech.dont_use_cells()} == set()
    # reachable, but listed: the default W2A2 layout with dfxtp_1 flops was not DRC/LVS clean (qrouter_dont_use.txt)
    assert "sky130_fd_sc_hd__dfxtp_1" in tech.dont_use_cells()
    assert "sky130_fd_sc_hd__fa_2" in tech.dont_use_cells()
