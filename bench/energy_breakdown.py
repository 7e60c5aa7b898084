"""Where a routed design's energy per dot product goes, by cell class (#16: why the serial PE costs more).

usage:
  .venv/bin/python bench/energy_breakdown.py [--root R] design ...   (default root build; design = a build folder
      name such as serial_w2a2_n32)

Runs nothing: reads each design's routed netlist, routed wire caps and routed gate-level VCD (stages
routed-netlist and gatesim-routed of `make gds`) and splits the power-routed stage's energy (the same arithmetic,
`flow.power`: switching C V^2/2 per transition, liberty internal energy per pin transition, tt corner) by where it is
spent: flip-flop clock pins, flip-flop data/output pins, clock buffers, multiplexers, the other cells; switching by
the kind of net (clock nets: the clock port's and every net that reaches a flop clock pin; flop outputs; mux
outputs; the rest). Prints pJ per dot product (one output y) and the share of the total; the total equals the
power-routed stage's `power__energy_per_dot__pj` less leakage.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flow.liberty import load_library  # noqa: E402
from flow.netlist import parse_netlist  # noqa: E402
from flow.pdk import CORNERS  # noqa: E402
from flow.power import DEFAULT_SLEW_NS, POWER_CORNER, connectivity, internal_energies  # noqa: E402
from flow.sta import OUTPUT_LOAD_PF  # noqa: E402


def cell_class(cell: str) -> str:
    """flop, clkbuf, mux or other, from the library cell name."""
    base = cell.removeprefix("sky130_fd_sc_hd__").lower()
    if base.startswith(("df", "edf", "sdf")):
        return "flop"
    if base.startswith("clkbuf"):
        return "clkbuf"
    if base.startswith("mux"):
        return "mux"
    return "other"


def breakdown(design_dir: Path, lib_path: Path, cache: Path) -> tuple[dict[str, float], int]:
    """{category: pJ per dot} of one routed design, and its number of outputs in the activity window."""
    from flow.vcd import count_toggles

    f = design_dir / "flow"
    manifest = json.loads((design_dir / "rtl" / "manifest.json").read_text())
    lib = load_library(lib_path, cache)
    nl = parse_netlist((f / "09-routed-netlist" / "routed.v").read_text())
    caps = {nl.canon(k): v for k, v in json.loads((f / "09-routed-netlist" / "wire_caps.json").read_text()).items()}
    tg = count_toggles(f / "10-gatesim-routed" / "activity.vcd", "dut")
    outputs = int(json.loads((f / "10-gatesim-routed" / "sim.json").read_text())["outputs"])
    toggles: dict[str, tuple[int, int]] = {}
    for name, rf in tg.counts.items():
        c = nl.canon(name)
        if c not in toggles or sum(rf) > sum(toggles[c]):
            toggles[c] = rf
    cells = {i.name: i.cell for i in nl.instances}
    clock = nl.canon(manifest.get("clock_port", "clk"))
    v2 = lib.voltage ** 2
    out: dict[str, float] = defaultdict(float)
    load: dict[str, float] = {}
    for name, info in connectivity(nl, lib).items():
        cap = sum(lib.cells[cells[i]].pins[p].capacitance for i, p in info.sinks) + caps.get(name, 0.0)
        cap += OUTPUT_LOAD_PF if info.output_port else 0.0
        load[name] = cap
        if name not in toggles or (info.driver is None and name != clock):
            continue  # data and control input ports are not the design's (as in flow.power)
        e = 0.5 * cap * v2 * sum(toggles[name])
        drives_clock = name == clock or any(cell_class(cells[i]) == "flop" and p == "CLK" for i, p in info.sinks)
        kind = "clock nets" if drives_clock else f"{cell_class(cells[info.driver[0]])} outputs"
        out[f"switching: {kind}"] += e
    lib_cells = {i.name: lib.cells[i.cell] for i in nl.instances}
    for inst, pin, e in internal_energies(nl, lib_cells, toggles, load, DEFAULT_SLEW_NS):
        cls = cell_class(inst.cell)
        key = "flop clock pins" if cls == "flop" and pin == "CLK" else ("flop data/output pins" if cls == "flop" else cls)
        out[f"internal: {key}"] += e
    return {k: v / outputs for k, v in out.items()}, outputs


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv else 2
    root = Path("build")
    if "--root" in argv:
        k = argv.index("--root")
        root = Path(argv[k + 1])
        argv = argv[:k] + argv[k + 2:]
    libs = sorted((root / "pdk" / "lib").glob(f"*{CORNERS[POWER_CORNER]}*.lib"))
    if not libs:
        print(f"energy_breakdown: no {CORNERS[POWER_CORNER]} liberty under {root / 'pdk' / 'lib'} (run `make gds` first)",
              file=sys.stderr)
        return 2
    for design in argv:
        d = root / design
        if not (d / "flow" / "10-gatesim-routed" / "activity.vcd").is_file():
            print(f"energy_breakdown: {d} has no routed gate-level VCD (run `make gds` for it first)", file=sys.stderr)
            return 2
        parts, outputs = breakdown(d, libs[-1], root / "pdk" / "cache")
        total = sum(parts.values())
        macs = int(json.loads((d / "rtl" / "manifest.json").read_text())["n"])  # MACs per output y
        print(f"{design}: {total:.2f} pJ per dot ({total / macs:.3f} pJ per MAC, {outputs} outputs; leakage not included)")
        for k, v in sorted(parts.items(), key=lambda kv: -kv[1]):
            print(f"  {k:<34} {v:7.2f} pJ  {100 * v / total:5.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
