"""Activity-based power: toggles from the gate-level VCD x liberty energies, beside OpenSTA's own estimate.

``compute_power`` is a pure function of (netlist connectivity, per-net rise/fall counts, liberty data,
wire capacitances) so the back end can redo it with routed wire caps. Model (stated in provenance):
- switching: each 0<->1 transition of a net costs C V^2 / 2, C = sink pin caps + wire cap (+ output port
  load); nets driven by cells count in ``switching``; so does the clock port's net (its flops' clock pins and
  wire are the design's load, and a design whose clock is gated already pays for its cell-driven clock nets, so
  leaving the ungated designs' clock net out would favour them; kept apart too as ``switching_clock_port``);
  nets driven by the other top-level inputs (data, control) are reported apart (``switching_input_ports``), as
  OpenSTA does not charge them to the design either (OpenSTA charges no port-driven net, the clock's included);
- internal: each transition of a cell pin costs that pin's liberty internal energy (rise or fall table,
  averaged over its internal_power groups, i.e. over related pins and ``when`` states), looked up at an
  assumed input slew and, for outputs, at the pin's load capacitance;
- leakage: the sum of ``cell_leakage_power``;
- wire cap before routing: the liberty's wire-load model (``Small``): capacitance x length(fanout).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Sequence

from common import quote
from common.files import atomic_write_json, atomic_write_text
from flow.liberty import Library, PowerArc, Table, load_library
from flow.netlist import Netlist, parse_netlist
from flow.pdk import CORNERS
from flow.sta import OUTPUT_LOAD_PF, TimingConstraints, relative_to, sdc_text
from flow.stage import FlowContext, Stage, StageError, run_tool
from model.contract import read_manifest

DEFAULT_SLEW_NS = 0.1
POWER_CORNER = "tt"
CHARGED = ("internal energy of every cell pin, switching of every cell-driven net and of the clock port's net "
           "(power__switching__total__clock_port), leakage; data and control input ports apart "
           "(power__switching__input_ports)")


@dataclass(frozen=True)
class PowerResult:
    """Average power (W) over the activity window, and the per-category energies (J) behind it."""

    internal_w: float
    switching_w: float
    leakage_w: float
    switching_input_ports_w: float
    window_ns: float
    nets: int
    nets_without_activity: int
    switching_clock_port_w: float = 0.0  # the clock port's net, included in ``switching_w``

    @property
    def total_w(self) -> float:
        """Design total in OpenSTA's convention: internal + cell-driven switching + leakage."""
        return self.internal_w + self.switching_w + self.leakage_w


def wire_load_cap_pf(fanout: int, wire_load: Mapping[str, Any]) -> float:
    """Wire-load-model capacitance (pF) of a net with ``fanout`` sinks (extrapolated by the slope)."""
    if fanout <= 0 or not wire_load:
        return 0.0
    table = sorted((int(f), float(length)) for f, length in wire_load["fanout_length"])
    lengths = dict(table)
    if fanout in lengths:
        length = lengths[fanout]
    elif fanout > table[-1][0]:
        length = table[-1][1] + wire_load["slope"] * (fanout - table[-1][0])
    else:  # between table points: interpolate
        lo = max(f for f, _ in table if f < fanout)
        hi = min(f for f, _ in table if f > fanout)
        length = lengths[lo] + (lengths[hi] - lengths[lo]) * (fanout - lo) / (hi - lo)
    return wire_load["capacitance"] * length


@dataclass(frozen=True)
class NetInfo:
    """Connectivity of one net: its driver (instance, pin) or input port, and its sinks."""

    driver: tuple[str, str] | None
    driven_by_port: bool
    sinks: tuple[tuple[str, str], ...]
    output_port: bool


def connectivity(nl: Netlist, lib: Library) -> dict[str, NetInfo]:
    """Drivers and sinks of every net (canonical names); constants are not nets."""
    drivers: dict[str, tuple[str, str]] = {}
    sinks: dict[str, list[tuple[str, str]]] = {}
    for inst in nl.instances:
        cell = lib.cells.get(inst.cell)
        if cell is None:
            raise ValueError(f"cell {inst.cell} of {inst.name} is not in the liberty")
        for pin, net in inst.pins.items():
            if net.startswith(("1'b", "1'h")) or net.startswith("{"):
                continue
            p = cell.pins.get(pin)
            if p is None:
                raise ValueError(f"pin {pin} of {inst.cell} is not in the liberty")
            if p.direction == "output":
                drivers[net] = (inst.name, pin)
            else:
                sinks.setdefault(net, []).append((inst.name, pin))
    port_dir = {nl.canon(b): d for b, d in nl.ports.items()}
    nets = set(drivers) | set(sinks) | set(port_dir)
    return {
        n: NetInfo(drivers.get(n), port_dir.get(n) == "input", tuple(sorted(sinks.get(n, []))), port_dir.get(n) == "output")
        for n in sorted(nets)
    }


def arc_energy(arcs: Sequence[PowerArc], rise: bool, slew_ns: float, load_pf: float) -> float:
    """Mean energy (pJ) of one rise or fall over a pin's internal_power groups that have that table."""
    vals = []
    for a in arcs:
        t: Table | None = a.rise if rise else a.fall
        if t is not None:
            vals.append(t.lookup(slew_ns, load_pf))
    return sum(vals) / len(vals) if vals else 0.0


def internal_energies(nl: Netlist, cells: Mapping[str, Any], toggles: Mapping[str, tuple[int, int]],
                      load: Mapping[str, float], slew_ns: float) -> Iterator[tuple[Any, str, float]]:
    """(instance, pin, pJ) for every cell pin with internal-power tables and a toggling net: each rise and fall of the
    pin's net costs that table's energy (outputs looked up at the net's load). ``cells``: liberty cell per instance
    name; ``toggles``: (rises, falls) per canonical net; ``load``: pF per canonical net."""
    for inst in nl.instances:
        cell = cells[inst.name]
        for pin, net in inst.pins.items():
            p = cell.pins.get(pin)
            if p is None or not p.power or net not in toggles:
                continue
            rises, falls = toggles[net]
            pin_load = load.get(net, 0.0) if p.direction == "output" else 0.0
            yield inst, pin, (rises * arc_energy(p.power, True, slew_ns, pin_load)
                              + falls * arc_energy(p.power, False, slew_ns, pin_load))


def compute_power(
    nl: Netlist,
    toggles: Mapping[str, tuple[int, int]],
    window_ns: float,
    lib: Library,
    wire_cap_pf: Mapping[str, float] | None = None,
    output_load_pf: float = OUTPUT_LOAD_PF,
    slew_ns: float = DEFAULT_SLEW_NS,
    clock_port: str | None = None,
) -> PowerResult:
    """Average power over ``window_ns`` given each net's (rises, falls); wire caps default to the wire-load model.

    ``toggles`` is keyed by net bit names (any alias of a net); ``wire_cap_pf`` (pF per canonical net)
    replaces the wire-load model, e.g. with routed parasitics. The net of input port ``clock_port`` is charged
    to the design's switching (see the module docstring); None charges no port-driven net.
    """
    if window_ns <= 0:
        raise ValueError(f"activity window {window_ns} ns must be positive")
    nets = connectivity(nl, lib)
    tg: dict[str, tuple[int, int]] = {}
    for name, rf in toggles.items():
        c = nl.canon(name)
        if c not in tg or sum(rf) > sum(tg[c]):
            tg[c] = (int(rf[0]), int(rf[1]))
    cells = {i.name: lib.cells[i.cell] for i in nl.instances}
    v2 = lib.voltage ** 2
    load: dict[str, float] = {}
    e_switch = e_switch_ports = e_clock = 0.0
    clock_net = nl.canon(clock_port) if clock_port else None
    missing = 0
    for name, info in nets.items():
        pin_cap = sum(cells[i].pins[p].capacitance for i, p in info.sinks)
        fanout = len(info.sinks) + (1 if info.output_port else 0)
        wire = wire_cap_pf.get(name, 0.0) if wire_cap_pf is not None else wire_load_cap_pf(fanout, lib.wire_load)
        cap = pin_cap + wire + (output_load_pf if info.output_port else 0.0)
        load[name] = cap
        if name not in tg:
            missing += 1
            continue
        rises, falls = tg[name]
        e = 0.5 * cap * v2 * (rises + falls)  # pF * V^2 = pJ
        if info.driver is not None:
            e_switch += e
        elif info.driven_by_port and name == clock_net:
            e_switch += e
            e_clock += e
        elif info.driven_by_port:
            e_switch_ports += e
    e_internal = sum(e for _, _, e in internal_energies(nl, cells, tg, load, slew_ns))
    unit = _leakage_unit_w(lib.units.get("leakage_power_unit", "1nW"))
    leak_w = sum(c.leakage for c in cells.values()) * unit
    t_s = window_ns * 1e-9
    return PowerResult(
        internal_w=e_internal * 1e-12 / t_s,
        switching_w=e_switch * 1e-12 / t_s,
        leakage_w=leak_w,
        switching_input_ports_w=e_switch_ports * 1e-12 / t_s,
        window_ns=window_ns,
        nets=len(nets),
        nets_without_activity=missing,
        switching_clock_port_w=e_clock * 1e-12 / t_s,
    )


def _leakage_unit_w(unit: str) -> float:
    m = re.fullmatch(r"\s*([\d.]+)\s*([munpf]?)W\s*", unit)
    if not m:
        raise ValueError(f"unknown leakage_power_unit {unit!r}")
    return float(m[1]) * {"": 1.0, "m": 1e-3, "u": 1e-6, "n": 1e-9, "p": 1e-12, "f": 1e-15}[m[2]]


def parse_report_power(text: str) -> dict[str, float]:
    """OpenSTA ``report_power`` Total row: internal, switching, leakage, total (W)."""
    m = re.findall(r"^Total\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)", text, re.M)
    if not m:
        raise ValueError("no Total row in OpenSTA report_power output")
    i, s, lk, t = (float(x) for x in m[-1])
    return {"internal": i, "switching": s, "leakage": lk, "total": t}


def input_activity(toggles: Mapping[str, tuple[int, int]], input_bits: Sequence[str], cycles: int) -> float:
    """Mean transitions per clock cycle of the data inputs (OpenSTA's activity unit)."""
    if not input_bits or cycles <= 0:
        return 0.0
    return sum(sum(toggles.get(b, (0, 0))) for b in input_bits) / (len(input_bits) * cycles)


class PowerStage(Stage):
    """Self-computed power from the gate-level VCD (tt), OpenSTA's propagated estimate beside it."""

    name = "power"
    tools = ("sta",)
    consumes = ("rtl_manifest", "netlist", "vcd", "sim_json", f"liberty_{POWER_CORNER}")
    produces = {"power_json": "power.json", "opensta_power_log": "opensta-power.log"}
    metric_names = (
        "power__internal__total", "power__switching__total", "power__leakage__total", "power__total",
        "power__switching__input_ports", "power__switching__total__clock_port", "power__opensta__internal__total", "power__opensta__switching__total",
        "power__opensta__leakage__total", "power__opensta__total", "power__opensta__input_activity",
        "power__energy_per_dot__pj", "power__energy_per_mac__pj", "power__opensta__energy_per_dot__pj",
        "power__self_vs_opensta__ratio",
    )

    def config(self, ctx: FlowContext) -> Mapping[str, Any]:
        c = ctx.config
        return {
            "corner": CORNERS[POWER_CORNER], "clock_ns": c.clock_ns, "slew_ns": DEFAULT_SLEW_NS,
            "output_load_pf": OUTPUT_LOAD_PF, "wire_cap": "liberty wire-load model 'Small' (pre-layout)",
            "charged": CHARGED,
            "activity_source": (f"gate-level VCD (iverilog, zero-delay logic, 100 ps clk->Q) of {c.vectors} random vectors, seed {c.seed}, "
                                f"in_valid duty {c.in_valid_duty}, out_ready duty {c.out_ready_duty}, window reset release to last output"
                                + (f", run-time widths {c.run_bits}" if c.run_bits else "")),
            "opensta_activity": ("set_power_activity -input = mean measured transitions per cycle of the w/a bits, "
                                 "-input_ports <control port> = its measured rate; clock from create_clock; "
                                 "OpenSTA propagates these densities through the logic itself"),
        }

    def run(self, ctx: FlowContext) -> dict[str, Any]:
        import json

        from flow.vcd import count_toggles

        d = self.dir(ctx)
        spec = ctx.spec
        netlist_path = ctx.path("netlist")
        lib_path = ctx.path(f"liberty_{POWER_CORNER}")
        lib = load_library(lib_path, ctx.pdk_build_dir / "cache")
        nl = parse_netlist(netlist_path.read_text())
        tg = count_toggles(ctx.path("vcd"), "dut")
        window_ns = (tg.end_time - tg.start_time) * tg.timescale_s * 1e9
        sim = json.loads(ctx.path("sim_json").read_text())
        m = read_manifest(ctx.path("rtl_manifest"))
        res = compute_power(nl, tg.counts, window_ns, lib, clock_port=m.get("clock_port", "clk"))
        if res.nets_without_activity > 0.02 * res.nets:
            raise StageError(self.name, ctx.path("vcd"), [],
                             f"{res.nets_without_activity} of {res.nets} nets have no activity in the VCD (name mismatch?)")
        cycles = window_ns / ctx.config.clock_ns
        data_bits = [b for b, dirn in nl.ports.items() if dirn == "input" and b.split("[")[0] in ("w", "a")]
        act = input_activity(tg.counts, data_bits, round(cycles))
        # OpenSTA's estimate with that input activity, propagated through the netlist
        sdc = d / "constraints.sdc"
        atomic_write_text(sdc, sdc_text(TimingConstraints(clock_port=m.get("clock_port", "clk"), clock_ns=ctx.config.clock_ns)))
        control = sorted(b for b, dirn in nl.ports.items()
                         if dirn == "input" and b.split("[")[0] not in ("w", "a", m.get("clock_port", "clk")))
        control_act = "".join(
            f"set_power_activity -input_ports {{{b}}} -activity {input_activity(tg.counts, [b], round(cycles)):.6f} -duty 0.5\n"
            for b in control)
        script = d / "opensta-power.tcl"
        lib_q, nl_q, sdc_q = (quote.tcl(relative_to(p, d)) for p in (lib_path, netlist_path, sdc))  # see relative_to
        atomic_write_text(script, (
            f"read_liberty {lib_q}\nread_verilog {nl_q}\nlink_design {m['top']}\n"
            f"set_operating_conditions {CORNERS[POWER_CORNER]}\nset_wire_load_model -name Small\nread_sdc {sdc_q}\n"
            f"set_power_activity -input -activity {act:.6f} -duty 0.5\n{control_act}report_power -digits 6\n"))
        log = run_tool(self.name, "sta", ["sta", "-no_init", "-exit", script.name], d,
                       ctx.config.timeout_s, cwd=d, log_name="opensta-power")
        try:
            sta_p = parse_report_power(log.read_text())
        except ValueError as e:
            raise StageError(self.name, log, log.read_text().splitlines()[-6:], str(e)) from None
        outputs = int(sim["outputs"])
        e_dot = res.total_w * window_ns * 1e-9 / outputs * 1e12
        e_dot_sta = sta_p["total"] * window_ns * 1e-9 / outputs * 1e12
        values = {
            "power__internal__total": res.internal_w,
            "power__switching__total": res.switching_w,
            "power__leakage__total": res.leakage_w,
            "power__total": res.total_w,
            "power__switching__input_ports": res.switching_input_ports_w,
            "power__switching__total__clock_port": res.switching_clock_port_w,
            "power__opensta__internal__total": sta_p["internal"],
            "power__opensta__switching__total": sta_p["switching"],
            "power__opensta__leakage__total": sta_p["leakage"],
            "power__opensta__total": sta_p["total"],
            "power__opensta__input_activity": act,
            "power__energy_per_dot__pj": e_dot,
            "power__energy_per_mac__pj": e_dot / spec.macs,
            "power__opensta__energy_per_dot__pj": e_dot_sta,
            "power__self_vs_opensta__ratio": res.total_w / sta_p["total"] if sta_p["total"] else None,
        }
        atomic_write_json(d / "power.json", {**values, "window_ns": window_ns, "outputs": outputs,
                                             "nets": res.nets, "nets_without_activity": res.nets_without_activity,
                                             "liberty": str(lib_path), "config": dict(self.config(ctx))})
        return values
