"""Combinational area of the generated parallel PE against the same dot product written behaviorally (#16).

Usage: python bench/comb_area.py [N]   (default N=32; W=A=1..4, pm1 encoding; both adder mappings)
Both are synthesized by one yosys script (the issue's: ``synth -flatten -noabc; abc -fast -liberty; dfflibmap``, with
the flow's ``ADDER=fa`` commands, ``flow.synth.adder_commands``, in place of the synth for that mapping) on the flow's
filtered sky130_fd_sc_hd tt liberty; the combinational area is the total cell area minus the flip-flops
(``stat -liberty`` per cell type). The behavioral description is one combinational module: XNOR planes, popcounts
with ``+``, the shifted sum; the generated PE is its whole RTL (branch units with explicit compressor trees,
shift-add; the behavioral module is first simulated against the reference model). The load-enable muxes of the
generated PE's registers are not in its area: this script's ``dfflibmap`` runs after ``abc`` and leaves them as
unmapped ``$_MUX_`` cells (counted and printed, like in the issue's figures). Goal in #16:
<= 0.7x at every width. Prints one line per width and mapping and the ratios; writes under build/bench-comb/.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common.tools import tool_version  # noqa: E402
from flow.pdk import derived_liberty, find_pdk  # noqa: E402
from flow.synth import ADDER_MAP_FILE, PENDING_FA, adder_commands, adder_map_text, pending_fa_text  # noqa: E402
from model.contract import read_manifest  # noqa: E402
from model.spec import DesignSpec  # noqa: E402
from rtl.generate import generate  # noqa: E402
from rtl.verilog import adder_cell_names  # noqa: E402
from verif.sim import run_plain_icarus  # noqa: E402

OUT = ROOT / "build" / "bench-comb"
GOAL = 0.7
SEQUENTIAL = re.compile(r"sky130_fd_sc_hd__(df|dl|edf|sdf|sdl)")


def behavioral(spec: DesignSpec) -> str:
    """y = sum_{i,j} 2^(i+j) (2 popcount(XNOR(w_i, a_j)) - N), combinational, element-major buses."""
    m, k, n, ow = spec.wbits, spec.abits, spec.n, spec.out_width
    lines = [f"module beh_{spec.id} (input [{n * m - 1}:0] w, input [{n * k - 1}:0] a, output signed [{ow - 1}:0] y);"]
    terms = []
    for i in range(m):
        for j in range(k):
            bits = " + ".join(f"{{{ow - 1}'d0, w[{e * m + i}] ~^ a[{e * k + j}]}}" for e in range(n))
            lines.append(f"  wire signed [{ow - 1}:0] pc_{i}_{j} = {bits};")
            terms.append(f"(((pc_{i}_{j} <<< 1) - {ow}'sd{n}) <<< {i + j})")
    lines += [f"  assign y = {' + '.join(terms)};", "endmodule", ""]
    return "\n".join(lines)


def check_behavioral(spec: DesignSpec, path: Path, vectors: int = 20) -> None:
    """Simulate the behavioral module (Icarus) on seeded random vectors against the reference model, so the area
    compared is that of a correct dot product."""
    import numpy as np

    from model.contract import pack_bus
    from model.encoding import integer_dot

    rng = np.random.default_rng(3)
    b, w_bits = spec.wbits, spec.n * spec.wbits
    vecs = [(rng.integers(0, 1 << b, spec.n), rng.integers(0, 1 << spec.abits, spec.n)) for _ in range(vectors)]
    tb = [f"module tb; reg [{w_bits - 1}:0] w; reg [{spec.n * spec.abits - 1}:0] a; "
          f"wire signed [{spec.out_width - 1}:0] y; beh_{spec.id} dut(.w(w), .a(a), .y(y)); initial begin"]
    tb += [f"w = {w_bits}'h{pack_bus(wv, b):x}; a = {spec.n * spec.abits}'h{pack_bus(av, spec.abits):x}; "
           f"#1 $display(\"%0d\", y);" for wv, av in vecs]
    tb.append("end endmodule")
    tb_v = path.with_name("tb.v")
    tb_v.write_text("\n".join(tb) + "\n")
    got = [int(x) for x in run_plain_icarus([path, tb_v], "tb", path.parent / "sim").split()]
    want = [int(integer_dot(wv, av, b, spec.abits)) for wv, av in vecs]
    if got != want:
        raise SystemExit(f"behavioral {spec.id} is wrong: y={got[:3]}..., the model says {want[:3]}...")


def comb_area(top: str, sources: list[Path], liberty: Path, work: Path, adder: str = "abc",
              names: tuple[str, str] = ("", "")) -> tuple[float, dict[str, int]]:
    """Total cell area minus flip-flop area, from yosys ``stat -liberty`` per cell type, and the cell counts (the
    unmapped ``$_MUX_`` of register enables among them)."""
    work.mkdir(parents=True, exist_ok=True)
    script = work / "synth.ys"
    stat = work / "stat.txt"
    reads = "\n".join(f"read_verilog -sv {p}" for p in sources)
    if adder != "abc":
        (work / ADDER_MAP_FILE).write_text(adder_map_text(*names))
        (work / f"{PENDING_FA}.v").write_text(pending_fa_text())
    script.write_text(f"read_liberty -lib {liberty}\n{reads}\nhierarchy -check -top {top}\n"
                      f"{adder_commands(adder, ADDER_MAP_FILE, top).replace('synth -flatten -top', 'synth -flatten -noabc -top')}"
                      f"abc -fast -liberty {liberty}\n"
                      f"dfflibmap -liberty {liberty}\nopt_clean -purge\ntee -q -o {stat} stat -liberty {liberty}\n")
    subprocess.run(["yosys", "-q", "-s", str(script)], check=True, cwd=work, stdout=subprocess.DEVNULL)
    total = seq = 0.0
    counts = {}
    for line in stat.read_text().splitlines():
        m = re.match(r"\s+(sky130_fd_sc_hd__\w+|\$_\w+_)\s+(\d+)\s*$", line)
        if m:
            counts[m[1]] = int(m[2])
    cell_area = _cell_areas(liberty)
    for cell, count in counts.items():
        if cell.startswith("$"):
            continue
        a = count * cell_area[cell]
        total += a
        seq += a if SEQUENTIAL.match(cell) else 0.0
    return total - seq, counts


def _cell_areas(liberty: Path, _cache: dict = {}) -> dict[str, float]:  # noqa: B006 (per-process memo)
    if liberty not in _cache:
        from flow.liberty import load_library

        lib = load_library(liberty, OUT / "cache")
        _cache[liberty] = {name: c.area for name, c in lib.cells.items()}
    return _cache[liberty]


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 32
    liberty = derived_liberty(find_pdk(), "tt", OUT / "pdk")
    print(f"combinational area, generated parallel PE / behavioral, N={n}, {tool_version('yosys')}, "
          f"{liberty.name} (tt_025C_1v80); goal <= {GOAL}")
    ratios: dict[str, list[float]] = {"abc": [], "fa": []}
    for b in range(1, 5):
        spec = DesignSpec("parallel", b, b, n)
        beh_v = OUT / spec.id / "beh" / "beh.v"
        beh_v.parent.mkdir(parents=True, exist_ok=True)
        beh_v.write_text(behavioral(spec))
        check_behavioral(spec, beh_v)
        for adder in ratios:
            sub = "" if adder == "abc" else f"-{adder}"
            gspec = DesignSpec("parallel", b, b, n, adder=adder)
            gpath = generate(gspec, OUT)
            gman = read_manifest(gpath)
            gen, gcells = comb_area(gman["top"], [gpath.parent / f for f in gman["verilog_files"]],
                                    liberty, OUT / spec.id / f"gen{sub}", adder, adder_cell_names(gspec))
            beh, bcells = comb_area(f"beh_{spec.id}", [beh_v], liberty, OUT / spec.id / f"beh{sub}", adder)
            if beh <= 0:
                raise SystemExit(f"no combinational cells in the behavioral synthesis of {spec.id}: see {OUT / spec.id}")
            ratios[adder].append(gen / beh)
            adders = [f"{c.split('__')[1]} {gcells.get(c, 0)}/{bcells.get(c, 0)}" for c in
                      ("sky130_fd_sc_hd__fa_1", "sky130_fd_sc_hd__ha_1") if gcells.get(c) or bcells.get(c)]
            print(f"  W{b}A{b} ADDER={adder:3}: generated {gen:7.0f} um^2, behavioral {beh:7.0f} um^2, ratio "
                  f"{gen / beh:.2f}  (unmapped enable muxes {gcells.get('$_MUX_', 0)}/{bcells.get('$_MUX_', 0)}"
                  + (f"; {', '.join(adders)}" if adders else "") + ")")
    for adder, rs in ratios.items():
        print(f"ratios ADDER={adder}: " + " / ".join(f"{r:.2f}" for r in rs)
              + f"  ({'goal met' if all(r <= GOAL for r in rs) else 'goal not met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
