"""Fit the area/energy model (model.energy) to the flow's measured designs, and compare the two.

It reads flow metrics, so it lives above ``flow``: ``python -m reports.calibrate calibrate`` writes
model/energy_calibration.json (unit costs from the tt liberty, fitted coefficients, leave-one-out errors
and provenance); ``python -m reports.calibrate table`` prints estimates beside the flow's numbers.
"""

from __future__ import annotations

import argparse
import datetime
import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from common.cli import parse_int, run_main
from common.errors import BitbranchError
from common.files import atomic_write_json
from common.lock import LockBusy, design_lock
from common.state import load_state
from model.energy import (
    ACTIVITY_SEED,
    ACTIVITY_VECTORS,
    AREA_CLASSES,
    CALIBRATION_PATH,
    CLOCK_NS,
    ENERGY_CLASSES,
    FANOUT,
    LIB_PREFIX,
    SLEW_NS,
    UNIT_CELLS,
    UnitCosts,
    features,
    load_calibration,
    wire_factor,
)
from model.spec import DesignSpec
from reports.estimates import activity, estimate_detail
from rtl import archs


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
            spec = archs.registered(DesignSpec.from_id(mp.parent.parent.name))  # skip folders of unknown archs
        except ValueError:
            continue
        try:  # a design a command is writing is left out, never read half-written
            with design_lock(mp.parent.parent, shared=True, wait=False):
                m = load_state(mp, "metrics file", then="the design is left out of the calibration")
                if (m is not None and m.get("flow__status") == "ok" and m.get("clock__period") == CLOCK_NS
                        and "power__energy_per_dot__pj" in m and why_not_current(spec, root, m, current) is None):
                    out.append((spec, m))
        except LockBusy:
            continue
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
    feats = {spec.id: features(activity(spec), costs) for spec, _ in designs}
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
    atomic_write_json(Path(out), cal)
    return cal


# --- CLI -------------------------------------------------------------------------------------------

def table(bits_max: int, n: int, root: Path) -> list[str]:
    cal = load_calibration()
    flow = {s.id: m for s, m in flow_designs(root)}
    lines = [f"{'design':<24} {'area um2':>10} {'E/MAC pJ':>9} {'flow area':>10} {'flow E/MAC':>10} {'err A':>7} {'err E':>7}"]
    for b in range(1, bits_max + 1):
        for arch in archs.names():
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
    p = argparse.ArgumentParser(prog="python -m reports.calibrate", description="area / energy-per-MAC estimates")
    p.add_argument("command", nargs="?", default="table", choices=("table", "calibrate"))
    p.add_argument("--bits-max", default="8")
    p.add_argument("--n", default="32")
    p.add_argument("--root", default="build")
    ns = p.parse_args(argv)
    bits_max, n = parse_int(ns.bits_max, "--bits-max", 1, 16), parse_int(ns.n, "--n")
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
