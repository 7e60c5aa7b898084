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

from common.cli import run_main
from common.errors import BitbranchError
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
    energy_per_dot_pj: float  # post-route (post-synthesis x the routed-wire factor)
    energy_per_mac_pj: float
    energy_per_mac_pj_post_synthesis: float
    wire_factor: float
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
    e_synth = sum(ce[k] * fe[k] for k in ENERGY_CLASSES) + leak_pj
    wire = wire_factor(area, cal["coefficients"]["wire"]["k_sqrt_area"])
    return Estimate(spec.id, area, e_synth * wire, e_synth * wire / spec.macs, e_synth / spec.macs, wire, fa, fe, act.cycles_per_dot,
                    f"model.energy with {CALIBRATION_PATH.name} fitted {cal['provenance']['date']} on "
                    f"{len(cal['provenance']['designs'])} flow designs; unit costs {costs.source}")


def wire_factor(area_um2: float, k_sqrt_area: float) -> float:
    """Post-route / post-synthesis energy: routed wires add capacitance growing with the mean net length,
    which grows like the square root of the placed area (all designs are placed at one density)."""
    return 1.0 + k_sqrt_area * float(np.sqrt(max(area_um2, 0.0)))


def estimate(spec: DesignSpec, stage: str = "post-route") -> tuple[float, float]:
    """(area_um2, energy_per_mac_pj) of a design at the tt corner (tt_025C_1v80), 10 ns clock, uniform random
    inputs with in_valid and out_ready always high (the flow's power setup), either post-route (default) or
    post-synthesis (wire-load model); liberty unit costs x per-part toggles, scaled by coefficients fitted to
    the flow (see module doc)."""
    if stage not in ("post-route", "post-synthesis"):
        raise BitbranchError(f"unknown estimate stage {stage!r}: choose post-route or post-synthesis")
    e = estimate_detail(spec)
    return e.area_um2, (e.energy_per_mac_pj if stage == "post-route" else e.energy_per_mac_pj_post_synthesis)


# --- calibration -----------------------------------------------------------------------------------

def flow_designs(root: Path) -> list[tuple[DesignSpec, dict[str, Any]]]:
    """Designs under root whose flow metrics are complete and current (flow__status ok, default 10 ns clock,
    made with the current default flow configuration, so no result of an older cell set slips in, and every
    stage that wrote them still up to date)."""
    from flow.backend import why_not_current
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
                and why_not_current(spec, root, m, current) is None):
            out.append((spec, m))
    return out


def synthesis_energy(root: Path, spec: DesignSpec, m: dict[str, Any]) -> float | None:
    """Post-synthesis energy per dot (pJ) of a current design: its metrics when it was not routed, else what its
    power stage recorded for the synthesized netlist the layout was made from."""
    if "route__wirelength" not in m:
        return float(m["power__energy_per_dot__pj"])
    from flow.backend import front_end_metrics

    front = front_end_metrics(spec, root, m)
    v = (front or {}).get("power__energy_per_dot__pj")
    return float(v) if isinstance(v, (int, float)) else None


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
    if len(designs) < 4:
        raise BitbranchError(f"only {len(designs)} flow design(s) with flow__status ok under {root}: "
                             "run `python -m flow power --arch A --bits B --n 32` for a few designs first")
    # step 1, post-synthesis: area and energy coefficients on every current design (a routed design's
    # post-synthesis energy is what its 04-power stage recorded, on the same synthesized netlist)
    # step 2, post-route: one wire factor 1 + k sqrt(area), fitted on the routed designs' post-route/pre-route ratio
    synth_e = {s.id: synthesis_energy(root, s, m) for s, m in designs}
    designs = [(s, m) for s, m in designs if synth_e[s.id] is not None]
    routed = [(s, m) for s, m in designs if "route__wirelength" in m]
    feats = {spec.id: features(activity(spec, ACTIVITY_VECTORS, ACTIVITY_SEED), costs) for spec, _ in designs}
    xa = np.array([[feats[s.id][0][k] for k in AREA_CLASSES] for s, _ in designs])
    xe = np.array([[feats[s.id][1][k] for k in ENERGY_CLASSES] for s, _ in designs])
    ya = np.array([m["design__instance__area"] for _, m in designs])
    ye = np.array([synth_e[s.id] for s, _ in designs])
    ca, ce = _fit(xa, ya), _fit(xe, ye)
    loo_c = {s.id: (_fit(np.delete(xa, i, 0), np.delete(ya, i)), _fit(np.delete(xe, i, 0), np.delete(ye, i)))
             for i, (s, _) in enumerate(designs)}
    ratio = {s.id: m["power__energy_per_dot__pj"] / synth_e[s.id] for s, m in routed}
    sq = {s.id: float(np.sqrt(m["design__instance__area"])) for s, m in designs}

    def k_fit(ids: Sequence[str]) -> float:
        """Least squares of ratio - 1 = k sqrt(area) through the origin."""
        num = sum(sq[i] * (ratio[i] - 1) for i in ids)
        den = sum(sq[i] ** 2 for i in ids)
        return num / den if den else 0.0

    k_all = k_fit(list(ratio)) if len(ratio) >= 2 else 0.0
    rows = []
    for i, (spec, m) in enumerate(designs):
        la, le = loo_c[spec.id]
        a_loo, e_loo = float(xa[i] @ la), float(xe[i] @ le)
        ua = float(xa[i].sum())
        row = {
            "spec_id": spec.id, "energy_target": spec.id in ratio,
            "flow_area_um2": float(ya[i]), "fit_area_um2": float(xa[i] @ ca), "loo_area_um2": a_loo,
            "uncalibrated_area_um2": ua, "loo_area_error": a_loo / ya[i] - 1,
            "fit_area_error": float(xa[i] @ ca / ya[i] - 1), "uncalibrated_area_error": ua / ya[i] - 1,
            "flow_energy_per_mac_pj_post_synthesis": float(ye[i] / spec.macs),
            "loo_energy_per_mac_pj_post_synthesis": e_loo / spec.macs,
            "loo_energy_error_post_synthesis": e_loo / ye[i] - 1,
        }
        if spec.id in ratio:  # the whole chain left out: coefficients, area and wire factor without this design
            k_loo = k_fit([j for j in ratio if j != spec.id]) if len(ratio) > 2 else k_all
            e_flow = float(m["power__energy_per_dot__pj"])
            e_pred = e_loo * wire_factor(a_loo, k_loo)
            e_fit = float(xe[i] @ ce) * wire_factor(float(xa[i] @ ca), k_all)
            row.update({
                "flow_energy_per_mac_pj": e_flow / spec.macs, "fit_energy_per_mac_pj": e_fit / spec.macs,
                "loo_energy_per_mac_pj": e_pred / spec.macs, "loo_energy_error": e_pred / e_flow - 1,
                "fit_energy_error": e_fit / e_flow - 1, "flow_wire_factor": ratio[spec.id],
            })
        rows.append(row)
    e_rows = [r for r in rows if "loo_energy_error" in r]
    if not e_rows:
        raise BitbranchError(f"no routed design under {root}: run `make gds` (or `make ppa`) for a few designs first")
    stage = "post-route (qrouter wires, lumped C), via post-synthesis x wire factor"
    energy_designs = routed
    first = designs[0][1].get("provenance", {})
    cal = {
        "unit_costs": {"area_um2": costs.area_um2, "toggle_pj": costs.toggle_pj,
                       "clock_pj_per_flop_cycle": costs.clock_pj_per_flop_cycle,
                       "leakage_w_per_um2": costs.leakage_w_per_um2, "source": costs.source},
        "coefficients": {"area": dict(zip(AREA_CLASSES, map(float, ca))),
                         "energy": dict(zip(ENERGY_CLASSES, map(float, ce))),
                         "wire": {"k_sqrt_area": k_all, "form": "post-route energy = post-synthesis x (1 + k sqrt(area um^2))"}},
        "errors": rows,
        "summary": {
            "designs": len(rows),
            "energy_designs": len(e_rows),
            "loo_area_max_abs_error": max(abs(r["loo_area_error"]) for r in rows),
            "loo_energy_max_abs_error": max(abs(r["loo_energy_error"]) for r in e_rows),
            "loo_area_mean_abs_error": float(np.mean([abs(r["loo_area_error"]) for r in rows])),
            "loo_energy_mean_abs_error": float(np.mean([abs(r["loo_energy_error"]) for r in e_rows])),
            "loo_energy_post_synthesis_max_abs_error": max(abs(r["loo_energy_error_post_synthesis"]) for r in rows),
        },
        "provenance": {
            "date": datetime.date.today().isoformat(),
            "designs": [s.id for s, _ in designs],
            "energy_designs": [s.id for s, _ in energy_designs],
            "targets": f"flow metrics.json: design__instance__area (yosys 0.23 + abc) of every design; "
                       f"power__energy_per_dot__pj (self-computed from gate-level toggles, tt), {stage}",
            "flow_provenance_example": {k: first.get(k) for k in ("synth", "gatesim", "power") if k in first},
            "liberty": str(liberty),
            "corner": "tt_025C_1v80",
            "clock_ns": CLOCK_NS,
            "model_activity": f"uniform random words, {ACTIVITY_VECTORS} vectors, seed {ACTIVITY_SEED}, valid/ready always high",
            "fit": "non-negative least squares on relative error, all designs; wire factor: least squares of "
                   "(post-route / post-synthesis energy - 1) against sqrt(area) on the routed designs; errors: "
                   "leave-one-out (coefficients, area and wire factor refitted without the design)",
        },
    }
    from common.files import atomic_write_json

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
                em = e.energy_per_mac_pj if "route__wirelength" in m else e.energy_per_mac_pj_post_synthesis
                lines.append(f"{spec.id:<24} {e.area_um2:>10.0f} {em:>9.3f} {fa:>10.0f} {fe:>10.3f} "
                             f"{e.area_um2 / fa - 1:>+7.1%} {em / fe - 1:>+7.1%}")
            else:
                lines.append(f"{spec.id:<24} {e.area_um2:>10.0f} {e.energy_per_mac_pj:>9.3f} {'-':>10} {'-':>10} {'':>7} {'':>7}")
    s = cal["summary"]
    lines.append(f"calibration (leave-one-out): area max |err| {s['loo_area_max_abs_error']:.1%} on {s['designs']} designs, "
                 f"energy max |err| {s['loo_energy_max_abs_error']:.1%} on {s.get('energy_designs', s['designs'])}; errors above use coefficients fitted on all "
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
            e = f"  post-route {r['loo_energy_error']:+.1%}" if "loo_energy_error" in r else ""
            print(f"{r['spec_id']:<24} leave-one-out: area {r['loo_area_error']:+.1%}  energy post-synthesis "
                  f"{r['loo_energy_error_post_synthesis']:+.1%}{e}")
        print(json.dumps(cal["coefficients"]), json.dumps(cal["summary"]))
        return 0
    print("\n".join(table(bits_max, n, root)))
    return 0


if __name__ == "__main__":
    run_main(main)
