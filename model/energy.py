"""Area and energy-per-MAC estimates per design from part counts and toggles (model.energy_activity) x liberty costs.

Unit costs come from sky130_fd_sc_hd tt_025C_1v80 (cell area; internal energy averaged over a pin's
rise/fall tables at a 0.1 ns input slew and its load; switching C V^2 / 2 with C = two input pins of
the next cell + the liberty's 'Small' wire load at fanout 2). A few coefficients per cost class are
fitted against the flow's measured numbers (``python -m model.energy calibrate``) and stored with their
provenance in model/energy_calibration.json; the estimate needs only that file, not the PDK.
"""

from __future__ import annotations

import argparse
import datetime
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from model.cli import BitbranchError, run_main
from model.energy_activity import Activity, activity
from model.spec import ARCHS, DesignSpec

CALIBRATION_PATH = Path(__file__).with_name("energy_calibration.json")
CLOCK_NS = 10.0
SLEW_NS = 0.1
FANOUT = 2
ACTIVITY_VECTORS = 256
ACTIVITY_SEED = 1

# cost class -> liberty cells (area adds up; energy per output toggle averages the output pins)
UNIT_CELLS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "reg": (("dfxtp_1", "mux2_1"), ("dfxtp_1:Q", "mux2_1:X")),   # flop + load-enable mux; a toggle moves both
    "ctrl": (("dfxtp_1", "and2_1"), ("dfxtp_1:Q",)),              # reset flop (reset gating)
    "xnor": (("xnor2_1",), ("xnor2_1:Y",)),
    "fa": (("xor3_1", "maj3_1"), ("xor3_1:X", "maj3_1:X")),
    "ha": (("xor2_1", "and2_1"), ("xor2_1:X", "and2_1:X")),
    "adder": (("xor3_1", "maj3_1"), ("xor3_1:X", "maj3_1:X")),     # one ripple/tree adder bit
    "mux": (("mux2_1",), ("mux2_1:X",)),
    "pp": (("and2_1",), ("and2_1:X",)),
    "mult": (("xor3_1", "maj3_1"), ("xor3_1:X", "maj3_1:X")),  # one multiplier array adder cell
}
GROUPS: dict[str, tuple[str, ...]] = {
    "registers": ("reg", "ctrl"),
    "popcount": ("xnor", "fa", "ha"),
    "adders": ("adder",),
    "mux_pp": ("mux", "pp"),
    "multipliers": ("mult",),
}
"""Cost classes that get their own calibration coefficient (cell kinds of model.energy_activity.Part)."""
ENERGY_CLASSES = ("clock", "registers", "popcount", "adders", "mux_pp", "multipliers")
AREA_CLASSES = ("registers", "popcount", "adders", "mux_pp", "multipliers")
LIB_PREFIX = "sky130_fd_sc_hd__"


@dataclass(frozen=True)
class UnitCosts:
    """Per-unit area (um^2) and energy per output toggle (pJ) of each class; clock energy per flop per cycle."""

    area_um2: dict[str, float]
    toggle_pj: dict[str, float]
    clock_pj_per_flop_cycle: float
    leakage_w_per_um2: float
    source: str


@dataclass(frozen=True)
class Estimate:
    """One design's estimate with its per-class breakdown (before and after calibration coefficients)."""

    spec_id: str
    area_um2: float
    energy_per_dot_pj: float
    energy_per_mac_pj: float
    area_features: dict[str, float]
    energy_features: dict[str, float]
    cycles_per_dot: int
    provenance: str


def unit_costs_from_liberty(lib: Any, source: str) -> UnitCosts:
    """Read the unit costs from a parsed flow.liberty.Library (tt corner)."""
    from flow.power import arc_energy, wire_load_cap_pf

    def cell(name: str):
        c = lib.cells.get(LIB_PREFIX + name)
        if c is None:
            raise BitbranchError(f"liberty {source} lacks {LIB_PREFIX}{name}: use the sky130_fd_sc_hd tt library")
        return c

    in_caps = [p.capacitance for c in lib.cells.values() for p in c.pins.values() if p.direction == "input"]
    typ_cap = float(np.median(in_caps))
    load = FANOUT * typ_cap + wire_load_cap_pf(FANOUT, lib.wire_load)
    v2 = lib.voltage ** 2
    area, tog = {}, {}
    for cls, (cells, outs) in UNIT_CELLS.items():
        area[cls] = sum(cell(c).area for c in cells)
        es = []
        for o in outs:
            cname, pin = o.split(":")
            p = cell(cname).pins[pin]
            internal = 0.5 * (arc_energy(p.power, True, SLEW_NS, load) + arc_energy(p.power, False, SLEW_NS, load))
            es.append(internal + 0.5 * load * v2)
        tog[cls] = float(sum(es)) if cls == "reg" else float(np.mean(es))
    clk = cell("dfxtp_1").pins["CLK"]
    clk_pj = arc_energy(clk.power, True, SLEW_NS, 0.0) + arc_energy(clk.power, False, SLEW_NS, 0.0)
    dff = cell("dfxtp_1")
    unit = 1e-9  # sky130 leakage unit nW
    return UnitCosts(area, tog, float(clk_pj), dff.leakage * unit / dff.area, source)


def features(act: Activity, costs: UnitCosts) -> tuple[dict[str, float], dict[str, float]]:
    """(area features um^2, energy-per-dot features pJ) by class: uncalibrated liberty-based sums."""
    area = {g: sum(p.units * costs.area_um2[p.kind] for p in act.parts if p.kind in kinds) for g, kinds in GROUPS.items()}
    energy = {"clock": act.flops * act.cycles_per_dot * costs.clock_pj_per_flop_cycle}
    energy.update({g: sum(p.toggles_per_dot * costs.toggle_pj[p.kind] for p in act.parts if p.kind in kinds)
                   for g, kinds in GROUPS.items()})
    return area, energy


def load_calibration(path: Path = CALIBRATION_PATH) -> dict[str, Any]:
    """The committed calibration (unit costs + fitted coefficients + provenance)."""
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise BitbranchError(f"no energy calibration at {path}: run `python -m model.energy calibrate`") from None


def costs_from_calibration(cal: dict[str, Any]) -> UnitCosts:
    u = cal["unit_costs"]
    return UnitCosts(u["area_um2"], u["toggle_pj"], u["clock_pj_per_flop_cycle"], u["leakage_w_per_um2"], u["source"])


def estimate_detail(spec: DesignSpec, cal: dict[str, Any] | None = None) -> Estimate:
    """Estimate with breakdown: random inputs (seed 1, 256 vectors), valid/ready high, 10 ns clock, tt."""
    cal = cal if cal is not None else load_calibration()
    costs = costs_from_calibration(cal)
    act = activity(spec, ACTIVITY_VECTORS, ACTIVITY_SEED)
    fa, fe = features(act, costs)
    ca, ce = cal["coefficients"]["area"], cal["coefficients"]["energy"]
    area = sum(ca[k] * fa[k] for k in AREA_CLASSES)
    leak_pj = area * costs.leakage_w_per_um2 * act.cycles_per_dot * CLOCK_NS * 1e-9 * 1e12
    e_dot = sum(ce[k] * fe[k] for k in ENERGY_CLASSES) + leak_pj
    return Estimate(spec.id, area, e_dot, e_dot / spec.macs, fa, fe, act.cycles_per_dot,
                    f"model.energy with {CALIBRATION_PATH.name} fitted {cal['provenance']['date']} on "
                    f"{len(cal['provenance']['designs'])} flow designs; unit costs {costs.source}")


def estimate(spec: DesignSpec) -> tuple[float, float]:
    """(area_um2, energy_per_mac_pj) of a design at the tt corner (tt_025C_1v80), 10 ns clock, uniform random
    inputs with in_valid and out_ready always high (the flow's power setup), pre-layout (wire-load model);
    from liberty unit costs x per-part toggles, scaled by coefficients fitted to the flow (see module doc)."""
    e = estimate_detail(spec)
    return e.area_um2, e.energy_per_mac_pj


# --- calibration -----------------------------------------------------------------------------------

MIN_ROUTED_FOR_FIT = 8
"""Fit on post-route designs only when at least this many exist."""


def flow_designs(root: Path) -> list[tuple[DesignSpec, dict[str, Any]]]:
    """Designs under root whose flow metrics are complete and current (flow__status ok, default 10 ns clock,
    made with the current default flow configuration, so no result of an older cell set slips in)."""
    from flow.stage import FlowConfig, config_summary

    current = config_summary(FlowConfig(clock_ns=CLOCK_NS))
    out = []
    for mp in sorted(Path(root).glob("*/flow/metrics.json")):
        try:
            spec = DesignSpec.from_id(mp.parent.parent.name)
            m = json.loads(mp.read_text())
        except (ValueError, json.JSONDecodeError):
            continue
        if (m.get("flow__status") == "ok" and m.get("clock__period") == CLOCK_NS and "power__energy_per_dot__pj" in m
                and m.get("flow__config") == current):
            out.append((spec, m))
    return out


def _fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Non-negative least squares on relative error (rows scaled by 1/target)."""
    from scipy.optimize import nnls

    coef, _ = nnls(x / y[:, None], np.ones_like(y))
    return coef


def calibrate(root: Path, liberty: Path, out: Path = CALIBRATION_PATH) -> dict[str, Any]:
    """Fit area and energy coefficients on every complete flow design; leave-one-out errors per design."""
    from flow.liberty import load_library

    lib = load_library(liberty, Path(root) / "pdk" / "cache")
    costs = unit_costs_from_liberty(lib, f"{Path(liberty).name} (slew {SLEW_NS} ns, fanout {FANOUT} + wire-load 'Small')")
    designs = flow_designs(root)
    # post-route numbers where there are enough of them (they include routed wire capacitance and come
    # from the current cell set); post-synthesis otherwise
    routed = [(s, m) for s, m in designs if "route__wirelength" in m]
    if len(routed) >= MIN_ROUTED_FOR_FIT:
        designs, stage = routed, "post-route (qrouter wires, lumped C)"
    else:
        stage = "post-synthesis (wire-load 'Small')"
    if len(designs) < 4:
        raise BitbranchError(f"only {len(designs)} flow design(s) with flow__status ok under {root}: "
                             "run `python -m flow power --arch A --bits B --n 32` for a few designs first")
    feats = []
    for spec, _ in designs:
        fa, fe = features(activity(spec, ACTIVITY_VECTORS, ACTIVITY_SEED), costs)
        feats.append((fa, fe))
    xa = np.array([[fa[k] for k in AREA_CLASSES] for fa, _ in feats])
    xe = np.array([[fe[k] for k in ENERGY_CLASSES] for _, fe in feats])
    ya = np.array([m["design__instance__area"] for _, m in designs])
    ye = np.array([m["power__energy_per_dot__pj"] for _, m in designs])
    ca, ce = _fit(xa, ya), _fit(xe, ye)
    rows = []
    for i, (spec, m) in enumerate(designs):
        keep = np.arange(len(designs)) != i
        la, le = _fit(xa[keep], ya[keep]), _fit(xe[keep], ye[keep])
        rows.append({
            "spec_id": spec.id,
            "flow_area_um2": float(ya[i]), "flow_energy_per_mac_pj": float(ye[i] / spec.macs),
            "fit_area_um2": float(xa[i] @ ca), "fit_energy_per_mac_pj": float(xe[i] @ ce / spec.macs),
            "loo_area_um2": float(xa[i] @ la), "loo_energy_per_mac_pj": float(xe[i] @ le / spec.macs),
            "uncalibrated_area_um2": float(xa[i].sum()), "uncalibrated_energy_per_mac_pj": float(xe[i].sum() / spec.macs),
            "loo_area_error": float(xa[i] @ la / ya[i] - 1), "loo_energy_error": float(xe[i] @ le / ye[i] - 1),
            "fit_area_error": float(xa[i] @ ca / ya[i] - 1), "fit_energy_error": float(xe[i] @ ce / ye[i] - 1),
            "uncalibrated_area_error": float(xa[i].sum() / ya[i] - 1),
            "uncalibrated_energy_error": float(xe[i].sum() / ye[i] - 1),
        })
    first = designs[0][1].get("provenance", {})
    cal = {
        "unit_costs": {"area_um2": costs.area_um2, "toggle_pj": costs.toggle_pj,
                       "clock_pj_per_flop_cycle": costs.clock_pj_per_flop_cycle,
                       "leakage_w_per_um2": costs.leakage_w_per_um2, "source": costs.source},
        "coefficients": {"area": dict(zip(AREA_CLASSES, map(float, ca))),
                         "energy": dict(zip(ENERGY_CLASSES, map(float, ce)))},
        "errors": rows,
        "summary": {
            "designs": len(rows),
            "loo_area_max_abs_error": max(abs(r["loo_area_error"]) for r in rows),
            "loo_energy_max_abs_error": max(abs(r["loo_energy_error"]) for r in rows),
            "loo_area_mean_abs_error": float(np.mean([abs(r["loo_area_error"]) for r in rows])),
            "loo_energy_mean_abs_error": float(np.mean([abs(r["loo_energy_error"]) for r in rows])),
        },
        "provenance": {
            "date": datetime.date.today().isoformat(),
            "designs": [s.id for s, _ in designs],
            "targets": f"flow metrics.json, {stage}: design__instance__area (yosys 0.23 + abc) and "
                       "power__energy_per_dot__pj (self-computed from gate-level toggles, tt)",
            "flow_provenance_example": {k: first.get(k) for k in ("synth", "gatesim", "power") if k in first},
            "liberty": str(liberty),
            "corner": "tt_025C_1v80",
            "clock_ns": CLOCK_NS,
            "model_activity": f"uniform random words, {ACTIVITY_VECTORS} vectors, seed {ACTIVITY_SEED}, valid/ready always high",
            "fit": "non-negative least squares on relative error, all designs; errors: leave-one-out (refit without the design)",
        },
    }
    from flow.metrics import atomic_write_json

    atomic_write_json(Path(out), cal)
    return cal


# --- CLI -------------------------------------------------------------------------------------------

def table(bits_max: int, n: int, root: Path) -> list[str]:
    cal = load_calibration()
    flow = {s.id: m for s, m in flow_designs(root)}
    lines = [f"{'design':<24} {'area um2':>10} {'E/MAC pJ':>9} {'flow area':>10} {'flow E/MAC':>10} {'err A':>7} {'err E':>7}"]
    for b in range(1, bits_max + 1):
        for arch in ARCHS:
            spec = DesignSpec(arch, b, b, n)
            e = estimate_detail(spec, cal)
            m = flow.get(spec.id)
            if m:
                fa, fe = m["design__instance__area"], m["power__energy_per_mac__pj"]
                lines.append(f"{spec.id:<24} {e.area_um2:>10.0f} {e.energy_per_mac_pj:>9.3f} {fa:>10.0f} {fe:>10.3f} "
                             f"{e.area_um2 / fa - 1:>+7.1%} {e.energy_per_mac_pj / fe - 1:>+7.1%}")
            else:
                lines.append(f"{spec.id:<24} {e.area_um2:>10.0f} {e.energy_per_mac_pj:>9.3f} {'-':>10} {'-':>10} {'':>7} {'':>7}")
    s = cal["summary"]
    lines.append(f"calibration ({s['designs']} flow designs, leave-one-out): area max |err| {s['loo_area_max_abs_error']:.1%}, "
                 f"energy max |err| {s['loo_energy_max_abs_error']:.1%}; errors above use coefficients fitted on all "
                 f"designs (in-sample); tt_025C_1v80, 10 ns, random inputs")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m model.energy", description="area / energy-per-MAC estimates")
    p.add_argument("command", nargs="?", default="table", choices=("table", "calibrate"))
    p.add_argument("--bits-max", default="8")
    p.add_argument("--n", default="32")
    p.add_argument("--root", default="build")
    ns = p.parse_args(argv)
    try:
        bits_max, n = int(ns.bits_max), int(ns.n)
    except ValueError:
        raise BitbranchError(f"--bits-max and --n must be integers, got {ns.bits_max!r} and {ns.n!r}") from None
    if not 1 <= bits_max <= 16:
        raise BitbranchError(f"--bits-max={bits_max} is out of range: use 1..16")
    DesignSpec("parallel", 1, 1, n)  # validates n with a SpecError
    root = Path(ns.root)
    if ns.command == "calibrate":
        from flow.pdk import derived_liberty, find_pdk
        from flow.power import POWER_CORNER

        lib = derived_liberty(find_pdk(), POWER_CORNER, root / "pdk")
        cal = calibrate(root, lib)
        for r in cal["errors"]:
            print(f"{r['spec_id']:<24} LOO area {r['loo_area_error']:+.1%}  LOO energy {r['loo_energy_error']:+.1%}  "
                  f"(in-sample {r['fit_area_error']:+.1%} / {r['fit_energy_error']:+.1%})")
        print(json.dumps(cal["coefficients"]), json.dumps(cal["summary"]))
        return 0
    print("\n".join(table(bits_max, n, root)))
    return 0


if __name__ == "__main__":
    run_main(main)
