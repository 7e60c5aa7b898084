"""Post-route checks and numbers: routed-netlist simulation, OpenSTA with routed wire caps, routed power.

The routed netlist is read back from the routed DEF (what LVS compared with the layout), so simulating it
checks the layout's logic against the reference model; wire caps come from the routed DEF geometry.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Mapping

from common import quote
from common.files import atomic_write_json, atomic_write_text
from flow.gatesim import GateSimStage
from flow.liberty import load_library
from flow.netlist import parse_netlist
from flow.pdk import CORNERS
from flow.pnr import defedit, spef
from flow.power import CHARGED
from flow.sta import (
    STA_CORNERS,
    TIMING_METRICS,
    CornerTiming,
    TimingConstraints,
    corner_metrics,
    parse_corner,
    relative_to,
    sdc_text,
    sta_script,
)
from flow.stage import FlowContext, Stage, StageError, run_tool
from model.contract import read_manifest

POWER_CORNER = "tt"



class RoutedNetlistStage(Stage):
    """Routed netlist (Verilog, from the routed DEF) and its wire caps (JSON, pF) and lumped-C SPEF."""

    name = "routed-netlist"
    metric_names = ("route__wire_cap__total_pf", "design__instance__area", "design__instance__count",
                    "design__instance__area__physical")
    consumes = ("rtl_manifest", "routed_def", "netlist", "pdk_techlef", "pdk_lef")
    produces = {"routed_netlist": "routed.v", "wire_caps": "wire_caps.json", "routed_spef": "routed.spef"}

    def config(self, ctx: FlowContext) -> Mapping[str, Any]:
        return {"wire_cap_model": spef.__doc__.split("\n")[2].strip() if spef.__doc__ else "",
                "source": "routed DEF segments x tech LEF CPERSQDIST/EDGECAPACITANCE; lumped C, no R, no coupling"}

    def run(self, ctx: FlowContext) -> dict[str, Any]:
        top = read_manifest(ctx.path("rtl_manifest"))["top"]
        routed = ctx.path("routed_def").read_text()
        ports = parse_netlist(ctx.path("netlist").read_text()).ports
        caps = spef.net_wire_caps(routed, spef.layer_caps(ctx.path("pdk_techlef").read_text()))
        lef = ctx.path("pdk_lef").read_text()
        atomic_write_text(ctx.path("routed_netlist"), spef.routed_verilog(top, routed, lef, ports))
        atomic_write_json(ctx.path("wire_caps"), caps)
        atomic_write_text(ctx.path("routed_spef"), spef.spef_text(top, routed, caps))
        return {"route__wire_cap__total_pf": sum(caps.values()), **routed_cell_area(routed, lef)}


PHYSICAL_ONLY = re.compile(r"__(fill|decap|tapvpwrvgnd|fakediode|diode)_")


def routed_cell_area(def_text: str, lef_text: str) -> dict[str, float]:
    """Logic cell area and count of the routed layout (fanout buffers of a fallback placement included), and the
    area of the physical-only cells (fill, decap, well taps) apart; replaces the synthesized netlist's figures."""
    size = {name: w * h for name, (w, h) in defedit.lef_macro_sizes(lef_text).items()}
    body = def_text.split("\nCOMPONENTS", 1)[1].split("END COMPONENTS", 1)[0]
    logic = physical = 0.0
    count = 0
    for master in re.findall(r"^- \S+ (\S+) ", body, re.M):
        if master not in size:
            raise StageError("routed-netlist", None, [], f"cell {master} of the routed DEF is not in the LEF")
        if PHYSICAL_ONLY.search(master):
            physical += size[master]
        else:
            logic += size[master]
            count += 1
    return {"design__instance__area": round(logic, 4), "design__instance__count": count,
            "design__instance__area__physical": round(physical, 4)}


class RoutedGateSimStage(GateSimStage):
    """The front end's gate-level simulation, run on the routed netlist instead of the synthesized one."""

    name = "gatesim-routed"
    metric_names = ("sim__routed__vectors", "sim__routed__mismatch__count", "sim__routed__window__ns")
    netlist_artifact = "routed_netlist"
    consumes = ("rtl_manifest", "routed_netlist", "pdk_verilog_models")
    produces = {"routed_vcd": "activity.vcd", "routed_sim_json": "sim.json"}
    label = "routed netlist"

    def metrics(self, vectors: int, cycles: int, window_ns: float) -> dict[str, Any]:
        return {"sim__routed__vectors": vectors, "sim__routed__mismatch__count": 0, "sim__routed__window__ns": window_ns}


class PostRouteStaStage(Stage):
    """OpenSTA per corner on the routed netlist with the routed lumped-C SPEF (replaces the wire-load model)."""

    name = "sta-routed"
    tools = ("sta",)
    metric_names = TIMING_METRICS
    consumes = ("rtl_manifest", "routed_netlist", "routed_spef", *(f"liberty_{c}" for c in STA_CORNERS))
    produces = {"routed_sta_logs": tuple(f"sta-{c}.log" for c in STA_CORNERS)}

    def liberties(self, ctx: FlowContext) -> dict[str, Path]:
        return {c: ctx.path(f"liberty_{c}") for c in STA_CORNERS}

    def config(self, ctx: FlowContext) -> Mapping[str, Any]:
        m = read_manifest(ctx.path("rtl_manifest"))
        c = TimingConstraints(clock_port=m.get("clock_port", "clk"), clock_ns=ctx.config.clock_ns)
        return {"constraints": sdc_text(c), "parasitics": "post-route: lumped wire C per net from the routed DEF (SPEF), "
                "no wire R, ideal clock; __propagated metrics: the clock's cells and nets counted (no clock tree)", "corners": {k: CORNERS[k] for k in STA_CORNERS}}

    def run(self, ctx: FlowContext) -> dict[str, Any]:
        d = self.dir(ctx)
        m = read_manifest(ctx.path("rtl_manifest"))
        sdc = d / "constraints.sdc"
        atomic_write_text(sdc, sdc_text(TimingConstraints(clock_port=m.get("clock_port", "clk"), clock_ns=ctx.config.clock_ns)))
        values: dict[str, Any] = {}
        corners: dict[str, CornerTiming] = {}
        for corner, lib in self.liberties(ctx).items():
            text = sta_script(relative_to(lib, d), relative_to(ctx.path("routed_netlist"), d), m["top"],
                              relative_to(sdc, d), CORNERS[corner], wire_load_model=None)
            text = text.replace("read_sdc", f"read_spef {quote.tcl(relative_to(ctx.path('routed_spef'), d))}\nread_sdc", 1)
            script = d / f"sta-{corner}.tcl"
            atomic_write_text(script, text)
            # in the stage folder with the script's bare name: OpenSTA sources its argument unquoted
            log = run_tool(self.name, "sta", ["sta", "-no_init", "-exit", script.name], d, ctx.config.timeout_s,
                           cwd=d, log_name=f"sta-{corner}")
            body = log.read_text()
            if "Error" in body and "read_spef" in body:
                raise StageError(self.name, log, body.splitlines()[-6:], "OpenSTA could not read the routed SPEF")
            try:
                corners[corner] = parse_corner(body)
            except ValueError as e:
                raise StageError(self.name, log, body.splitlines()[-6:], str(e)) from None
        if any(t.setup is None for t in corners.values()):
            raise StageError(self.name, d / "sta-tt.log", [], "no constrained setup path after routing")
        return {**values, **corner_metrics(corners, ctx.config.clock_ns)}


class PostRoutePowerStage(Stage):
    """The front end's activity-based power, recomputed on the routed netlist with routed wire caps (tt)."""

    name = "power-routed"
    tools = ()
    metric_names = ("power__internal__total", "power__switching__total", "power__leakage__total", "power__total",
                    "power__switching__input_ports", "power__switching__total__clock_port", "power__energy_per_dot__pj",
                    "power__energy_per_mac__pj", "power__wire_cap_share")
    consumes = ("rtl_manifest", "routed_netlist", "wire_caps", "routed_vcd", "routed_sim_json", f"liberty_{POWER_CORNER}")
    produces = {"routed_power_json": "power.json"}

    def config(self, ctx: FlowContext) -> Mapping[str, Any]:
        return {"corner": CORNERS[POWER_CORNER], "model": "flow.power.compute_power", "charged": CHARGED,
                "wire_cap": "routed: per-net lumped C from the routed DEF (flow/pnr/spef.py)",
                "activity": f"VCD of the routed-netlist gate-level sim ({ctx.config.vectors} vectors, seed {ctx.config.seed})"}

    def run(self, ctx: FlowContext) -> dict[str, Any]:
        from flow.power import compute_power
        from flow.vcd import count_toggles

        lib_path = ctx.path(f"liberty_{POWER_CORNER}")
        lib = load_library(lib_path, ctx.pdk_build_dir / "cache")
        nl = parse_netlist(ctx.path("routed_netlist").read_text())
        caps_def = json.loads(ctx.path("wire_caps").read_text())
        caps = {nl.canon(k): v for k, v in caps_def.items()}
        tg = count_toggles(ctx.path("routed_vcd"), "dut")
        window_ns = (tg.end_time - tg.start_time) * tg.timescale_s * 1e9
        clock_port = read_manifest(ctx.path("rtl_manifest")).get("clock_port", "clk")
        res = compute_power(nl, tg.counts, window_ns, lib, wire_cap_pf=caps, clock_port=clock_port)
        no_wire = compute_power(nl, tg.counts, window_ns, lib, wire_cap_pf={}, clock_port=clock_port)
        if res.nets_without_activity > 0.02 * res.nets:
            raise StageError(self.name, ctx.path("routed_vcd"), [],
                             f"{res.nets_without_activity} of {res.nets} routed nets have no activity in the VCD")
        outputs = int(json.loads(ctx.path("routed_sim_json").read_text())["outputs"])
        e_dot = res.total_w * window_ns * 1e-9 / outputs * 1e12
        values = {"power__internal__total": res.internal_w, "power__switching__total": res.switching_w,
                  "power__leakage__total": res.leakage_w, "power__total": res.total_w,
                  "power__switching__input_ports": res.switching_input_ports_w,
                  "power__switching__total__clock_port": res.switching_clock_port_w,
                  "power__energy_per_dot__pj": e_dot, "power__energy_per_mac__pj": e_dot / ctx.spec.macs,
                  "power__wire_cap_share": 1 - no_wire.total_w / res.total_w if res.total_w else None}
        atomic_write_json(ctx.path("routed_power_json"), {**values, "window_ns": window_ns, "outputs": outputs,
                                                           "nets": res.nets, "liberty": str(lib_path)})
        return values
