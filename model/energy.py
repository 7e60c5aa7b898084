"""Area and energy-per-MAC estimates per design from part counts and toggles (model.energy_activity) x liberty costs.

Unit costs come from sky130_fd_sc_hd tt_025C_1v80 (cell area; internal energy averaged over a pin's
rise/fall tables at a 0.1 ns input slew and its load; switching C V^2 / 2 with C = two input pins of
the next cell + the liberty's 'Small' wire load at fanout 2). A few coefficients per cost class are
fitted against the flow's measured numbers (``python -m reports.calibrate calibrate``) and stored with their
provenance in model/energy_calibration.json; the estimate needs only that file, not the PDK.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from common.errors import BitbranchError
from model.energy_activity import Activity, ArchActivity, activity_for
from model.spec import DesignSpec

CALIBRATION_PATH = Path(__file__).with_name("energy_calibration.json")
CLOCK_NS = 10.0
SLEW_NS = 0.1
FANOUT = 2
ACTIVITY_VECTORS = 256
ACTIVITY_SEED = 1

# cost class -> liberty cells (area adds up; energy per output toggle averages the output pins)
UNIT_CELLS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "reg": (("dfxtp_1", "mux2_1"), ("dfxtp_1:Q", "mux2_1:X")),   # flop + load-enable mux; a toggle moves both
    "flop": (("dfxtp_1",), ("dfxtp_1:Q",)),                      # flop on a gated clock: no enable mux
    "ctrl": (("dfxtp_1", "and2_1"), ("dfxtp_1:Q",)),              # reset flop (reset gating)
    "xnor": (("xnor2_1",), ("xnor2_1:Y",)),
    "and": (("and2_1",), ("and2_1:X",)),   # the twos encoding's branch gate
    "fa": (("xor3_1", "maj3_1"), ("xor3_1:X", "maj3_1:X")),
    "ha": (("xor2_1", "and2_1"), ("xor2_1:X", "and2_1:X")),
    "adder": (("xor3_1", "maj3_1"), ("xor3_1:X", "maj3_1:X")),     # one ripple/tree adder bit
    "mux": (("mux2_1",), ("mux2_1:X",)),
    "pp": (("and2_1",), ("and2_1:X",)),
    "mult": (("xor3_1", "maj3_1"), ("xor3_1:X", "maj3_1:X")),  # one multiplier array adder cell
}
GROUPS: dict[str, tuple[str, ...]] = {
    "registers": ("reg", "flop", "ctrl"),
    "popcount": ("xnor", "and", "fa", "ha"),
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


def features(act: Activity, costs: UnitCosts) -> tuple[dict[str, float], dict[str, float]]:
    """(area features um^2, energy-per-dot features pJ) by class: uncalibrated liberty-based sums."""
    area = {g: sum(p.units * costs.area_um2[p.kind] for p in act.parts if p.kind in kinds) for g, kinds in GROUPS.items()}
    energy = {"clock": act.flop_clocks_per_dot * costs.clock_pj_per_flop_cycle}
    energy.update({g: sum(p.toggles_per_dot * costs.toggle_pj[p.kind] for p in act.parts if p.kind in kinds)
                   for g, kinds in GROUPS.items()})
    return area, energy


def load_calibration(path: Path = CALIBRATION_PATH) -> dict[str, Any]:
    """The committed calibration (unit costs + fitted coefficients + provenance)."""
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise BitbranchError(f"no energy calibration at {path}: run `python -m reports.calibrate calibrate`") from None


def costs_from_calibration(cal: dict[str, Any]) -> UnitCosts:
    """The calibration's unit costs; a file fitted before the ``flop`` class existed gets it derived exactly from
    its own liberty numbers (area of reg = dfxtp_1 + mux2_1, so dfxtp_1 = reg - mux; ctrl toggles dfxtp_1:Q only)."""
    u = cal["unit_costs"]
    area, tog = dict(u["area_um2"]), dict(u["toggle_pj"])
    area.setdefault("flop", area["reg"] - area["mux"])
    tog.setdefault("flop", tog["ctrl"])
    return UnitCosts(area, tog, u["clock_pj_per_flop_cycle"], u["leakage_w_per_um2"], u["source"])


def estimate_activity(spec: DesignSpec, arch_activity: ArchActivity) -> Activity:
    """The activity the estimate uses: random inputs (seed 1, 256 vectors) through the architecture's function."""
    return activity_for(spec, arch_activity, ACTIVITY_VECTORS, ACTIVITY_SEED)


def estimate_detail(spec: DesignSpec, arch_activity: ArchActivity, cal: dict[str, Any] | None = None) -> Estimate:
    """Estimate with breakdown: random inputs (seed 1, 256 vectors), valid/ready high, 10 ns clock, tt.

    ``arch_activity`` is the architecture's activity function (``rtl.archs.get(spec.arch).activity``;
    ``reports.estimates`` resolves it for callers above rtl)."""
    cal = cal if cal is not None else load_calibration()
    costs = costs_from_calibration(cal)
    act = estimate_activity(spec, arch_activity)
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


def estimate(spec: DesignSpec, arch_activity: ArchActivity, stage: str = "post-route") -> tuple[float, float]:
    """(area_um2, energy_per_mac_pj) of a design at the tt corner (tt_025C_1v80), 10 ns clock, uniform random
    inputs with in_valid and out_ready always high (the flow's power setup), either post-route (default) or
    post-synthesis (wire-load model); liberty unit costs x per-part toggles, scaled by coefficients fitted to
    the flow (see module doc)."""
    if stage not in ("post-route", "post-synthesis"):
        raise BitbranchError(f"unknown estimate stage {stage!r}: choose post-route or post-synthesis")
    e = estimate_detail(spec, arch_activity)
    return e.area_um2, (e.energy_per_mac_pj if stage == "post-route" else e.energy_per_mac_pj_post_synthesis)
