"""Static timing stage: OpenSTA 2.0.17 on the synthesized netlist at the tt, ss and ff corners.

Pre-layout assumptions (stated in every metrics file's provenance): ideal clock (no tree, no
uncertainty), the liberty's own wire-load model ``Small`` for net parasitics, inputs driven by
``sky130_fd_sc_hd__inv_2``, outputs loaded by 33.442 fF (OpenLane's default OUTPUT_CAP_LOAD), and
zero input/output delay (the PE's neighbours are assumed to be registers at its boundary).
fmax = 1000 / (clock period - worst setup slack) MHz, at the worst (slowest) corner.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from common import quote
from common.files import atomic_write_text
from flow.metrics import corner_key, fmax_mhz
from flow.pdk import CORNERS
from flow.stage import FlowContext, Stage, StageError, run_tool
from model.contract import read_manifest

DRIVING_CELL = "sky130_fd_sc_hd__inv_2"
OUTPUT_LOAD_PF = 0.033442
WIRE_LOAD_MODEL = "Small"
STA_CORNERS: tuple[str, ...] = ("tt", "ss", "ff")


@dataclass(frozen=True)
class TimingConstraints:
    """The SDC knobs: clock port and period, IO delays, driving cell and output load."""

    clock_port: str = "clk"
    clock_ns: float = 10.0
    io_delay_ns: float = 0.0
    driving_cell: str = DRIVING_CELL
    output_load_pf: float = OUTPUT_LOAD_PF


def sdc_text(c: TimingConstraints) -> str:
    """SDC for the PE: one clock; every other input gets the IO delay and the driving cell."""
    ins = f"[delete_from_list [all_inputs] [get_ports {c.clock_port}]]"
    return (
        f"create_clock -name clk -period {c.clock_ns} [get_ports {c.clock_port}]\n"
        f"set_input_delay {c.io_delay_ns} -clock clk {ins}\n"
        f"set_output_delay {c.io_delay_ns} -clock clk [all_outputs]\n"
        f"set_driving_cell -lib_cell {c.driving_cell} -pin Y {ins}\n"
        f"set_load {c.output_load_pf} [all_outputs]\n"
    )


def relative_to(path: Path, folder: Path) -> Path:
    """``path`` relative to ``folder`` (where OpenSTA runs): OpenSTA 2.0.17's read_liberty takes its whole
    argument list as the file name, so an absolute path with a space in the build root would not be read."""
    return Path(os.path.relpath(Path(path).resolve(), Path(folder).resolve()))


def sta_script(liberty: Path, netlist: Path, top: str, sdc: Path, operating_conditions: str,
               wire_load_model: str | None = WIRE_LOAD_MODEL, extra: str = "") -> str:
    """OpenSTA script: load, constrain, report the worst paths and print machine-readable slacks (paths Tcl-quoted;
    the stages pass them relative to the folder OpenSTA runs in, see ``relative_to``)."""
    wlm = f"set_wire_load_model -name {wire_load_model}\n" if wire_load_model else ""
    return (
        f"read_liberty {quote.tcl(liberty)}\n"
        f"read_verilog {quote.tcl(netlist)}\n"
        f"link_design {top}\n"
        f"set_operating_conditions {operating_conditions}\n"
        f"{wlm}"
        f"read_sdc {quote.tcl(sdc)}\n"
        f"report_checks -path_delay max -digits 4 -fields {{slew cap fanout}}\n"
        f"report_checks -path_delay min -digits 4\n"
        f"report_tns -digits 4\n"
        f'puts "BB_SETUP_WS [sta::worst_slack -max]"\n'
        f'puts "BB_HOLD_WS [sta::worst_slack -min]"\n'
        # the same checks with the delay of the clock's own cells and nets counted (no clock tree is built: a clock
        # gate shows here as its buffer tree's insertion delay against the ungated registers)
        f"set_propagated_clock [all_clocks]\n"
        f'puts "BB_PROP_SETUP_WS [sta::worst_slack -max]"\n'
        f'puts "BB_PROP_HOLD_WS [sta::worst_slack -min]"\n'
        # the propagated hold split by launch point: a path from a register sees both clock latencies, a path from
        # an input port (input delay 0 at the ideal clk edge) sees the capturing register's latency alone
        + "".join(f"set bb_p [find_timing_paths -path_delay min -from {frm} -group_count 1 -sort_by_slack]\n"
                  f'if {{[llength $bb_p]}} {{ puts "BB_PROP_HOLD_{tag}_WS [get_property [lindex $bb_p 0] slack]" }}\n'
                  for tag, frm in (("REG", "[all_registers -clock_pins]"), ("IN", "[all_inputs]")))
        + f"{extra}"
    )


_UNCONSTRAINED = 1e20


def parse_marker(log_text: str, marker: str) -> float | None:
    """The value of the last ``<marker> <value>`` line; None when there is none (no such path) or it is
    unconstrained."""
    m = re.findall(rf"^{marker}\s+(\S+)\s*$", log_text, re.M)
    return None if not m or abs(float(m[-1])) >= _UNCONSTRAINED else float(m[-1])


def parse_slacks(log_text: str, prefix: str = "BB_") -> dict[str, float | None]:
    """Worst setup/hold slack (ns) from the ``<prefix>SETUP_WS`` / ``<prefix>HOLD_WS`` marker lines; None when no
    path is constrained."""
    out: dict[str, float | None] = {}
    for key, marker in (("setup", f"{prefix}SETUP_WS"), ("hold", f"{prefix}HOLD_WS")):
        if not re.search(rf"^{marker}\s+(\S+)\s*$", log_text, re.M):
            raise ValueError(f"no {marker} line in the OpenSTA log")
        out[key] = parse_marker(log_text, marker)
    return out


def parse_propagated(log_text: str) -> dict[str, float | None]:
    """Worst setup/hold slack (ns) with propagated clocks (the BB_PROP_* lines); None when no path is constrained."""
    return parse_slacks(log_text, prefix="BB_PROP_")


HOLD_LAUNCH = {"registers": "REG", "inputs": "IN"}
"""Propagated hold by launch point: ``timing__hold__ws__propagated__from_<key>`` from the ``BB_PROP_HOLD_<tag>_WS``
lines."""


TIMING_METRICS = ("timing__setup__ws", "timing__hold__ws", "timing__fmax__mhz", "timing__setup__critical_path__ns",
                  "timing__setup__ws__propagated", "timing__hold__ws__propagated",
                  *(f"timing__hold__ws__propagated__from_{k}" for k in HOLD_LAUNCH))
"""What ``corner_metrics`` writes (each also per corner): the metric names of both STA stages."""


def propagated_metrics(setups: Mapping[str, float | None], holds: Mapping[str, float | None],
                       holds_from: Mapping[str, Mapping[str, float | None]] | None = None) -> dict[str, Any]:
    """Worst setup and hold slack per corner and overall with propagated clocks (``__propagated`` keys); with
    ``holds_from`` ({launch: {corner: slack}}, launch a key of ``HOLD_LAUNCH``) the hold also split by launch point."""
    values: dict[str, Any] = {}
    series = {"timing__setup__ws__propagated": setups, "timing__hold__ws__propagated": holds,
              **{f"timing__hold__ws__propagated__from_{k}": v for k, v in (holds_from or {}).items()}}
    for key, per_corner in series.items():
        for corner in setups:
            values[corner_key(key, corner)] = per_corner.get(corner)
        values[key] = min((v for v in per_corner.values() if v is not None), default=None)
    return values


GATING_GROUP = "**clock_gating_default**"
"""OpenSTA's path group of clock-gating checks: for a gate that passes the clock while the enable is stable over the
clock's low (or high) phase, a half-period path."""


def group_setup_slacks(log_text: str) -> dict[str, float]:
    """Worst setup slack per path group from ``report_checks -path_delay max`` (one path per group)."""
    out: dict[str, float] = {}
    for block in log_text.split("Startpoint:")[1:]:
        g = re.search(r"^Path Group:\s*(\S+)\s*$", block, re.M)
        t = re.search(r"^Path Type:\s*(\S+)\s*$", block, re.M)
        sl = re.search(r"^\s*(-?[\d.]+(?:e[-+]?\d+)?)\s+slack\s+\((?:MET|VIOLATED)\)", block, re.M)
        if g and t and sl and t.group(1) == "max":
            out[g.group(1)] = min(float(sl.group(1)), out.get(g.group(1), float("inf")))
    return out


def min_period_ns(clock_ns: float, worst_setup_ns: float, groups: Mapping[str, float]) -> float:
    """The shortest clock period that meets setup: register paths need ``period - slack``; a clock-gating check is
    a half-period path and needs ``period - 2 x slack``. Without per-group slacks, the worst slack as a register
    path."""
    reg = [v for g, v in groups.items() if g != GATING_GROUP]
    gating_worst = GATING_GROUP in groups and (not reg or groups[GATING_GROUP] < min(reg))
    # the worst slack (full precision) is a register path's unless a gating check is worse (the report has 4 digits)
    limits = [clock_ns - (min(reg) if gating_worst and reg else worst_setup_ns)]
    if GATING_GROUP in groups:
        limits.append(clock_ns - 2 * groups[GATING_GROUP])
    return max(limits)


@dataclass(frozen=True)
class CornerTiming:
    """What one corner's OpenSTA log says: worst setup/hold slack with ideal and with propagated clocks (None: no
    constrained path), and the worst setup slack per path group."""

    setup: float | None
    hold: float | None
    setup_propagated: float | None
    hold_propagated: float | None
    groups: dict[str, float]
    hold_propagated_from: dict[str, float | None] = field(default_factory=dict)  # HOLD_LAUNCH key -> slack


def parse_corner(log_text: str) -> CornerTiming:
    """The ``CornerTiming`` of one ``sta_script`` log; ValueError when a marker line is missing."""
    ideal, prop = parse_slacks(log_text), parse_propagated(log_text)
    return CornerTiming(ideal["setup"], ideal["hold"], prop["setup"], prop["hold"], group_setup_slacks(log_text),
                        {k: parse_marker(log_text, f"BB_PROP_HOLD_{tag}_WS") for k, tag in HOLD_LAUNCH.items()})


def corner_metrics(corners: Mapping[str, CornerTiming], clock_ns: float) -> dict[str, Any]:
    """Every timing metric of a set of corners (``timing_metrics`` and ``propagated_metrics``); the corners' ideal
    setup slacks must all be constrained."""
    setups = {c: t.setup for c, t in corners.items()}
    return {**timing_metrics(setups, {c: t.hold for c, t in corners.items()}, clock_ns,  # type: ignore[arg-type]
                             {c: t.groups for c, t in corners.items()}),
            **propagated_metrics({c: t.setup_propagated for c, t in corners.items()},
                                 {c: t.hold_propagated for c, t in corners.items()},
                                 {k: {c: t.hold_propagated_from.get(k) for c, t in corners.items()} for k in HOLD_LAUNCH})}


def timing_metrics(setups: Mapping[str, float], holds: Mapping[str, float | None], clock_ns: float,
                   groups: Mapping[str, Mapping[str, float]] | None = None) -> dict[str, Any]:
    """OpenLane-named timing metrics from per-corner worst slacks: per corner and worst, critical path, fmax (from
    the per-corner path-group slacks ``groups`` when given: clock-gating checks counted as half-period paths)."""
    values: dict[str, Any] = {}
    fmax: dict[str, float] = {}
    for corner in setups:
        values[corner_key("timing__setup__ws", corner)] = setups[corner]
        values[corner_key("timing__hold__ws", corner)] = holds.get(corner)
        period = min_period_ns(clock_ns, setups[corner], (groups or {}).get(corner, {}))
        fmax[corner] = fmax_mhz(clock_ns, clock_ns - period)
        values[corner_key("timing__fmax__mhz", corner)] = fmax[corner]
    ws = min(setups.values())
    values["timing__setup__ws"] = ws
    values["timing__hold__ws"] = min((v for v in holds.values() if v is not None), default=None)
    values["timing__setup__critical_path__ns"] = clock_ns - ws
    values["timing__fmax__mhz"] = min(fmax.values())
    return values


class StaStage(Stage):
    """OpenSTA at tt/ss/ff: worst setup and hold slack per corner, fmax from the worst setup slack."""

    name = "sta"
    tools = ("sta",)
    metric_names = ("clock__period", *TIMING_METRICS)
    consumes = ("rtl_manifest", "netlist", *(f"liberty_{c}" for c in STA_CORNERS))
    produces = {"sta_logs": tuple(f"sta-{c}.log" for c in STA_CORNERS)}

    def constraints(self, ctx: FlowContext) -> TimingConstraints:
        m = read_manifest(ctx.path("rtl_manifest"))
        return TimingConstraints(clock_port=m.get("clock_port", "clk"), clock_ns=ctx.config.clock_ns)

    def liberties(self, ctx: FlowContext) -> dict[str, Path]:
        return {c: ctx.path(f"liberty_{c}") for c in STA_CORNERS}

    def config(self, ctx: FlowContext) -> Mapping[str, Any]:
        c = self.constraints(ctx)
        return {"clock_ns": c.clock_ns, "clock_port": c.clock_port, "io_delay_ns": c.io_delay_ns,
                "driving_cell": c.driving_cell, "output_load_pf": c.output_load_pf,
                "parasitics": f"pre-layout: liberty wire-load model '{WIRE_LOAD_MODEL}', ideal clock; "
                "__propagated metrics: the clock's cells and nets counted (no clock tree)",
                "corners": {k: CORNERS[k] for k in STA_CORNERS}}

    def run(self, ctx: FlowContext) -> dict[str, Any]:
        d = self.dir(ctx)
        top = read_manifest(ctx.path("rtl_manifest"))["top"]
        sdc = d / "constraints.sdc"
        atomic_write_text(sdc, sdc_text(self.constraints(ctx)))
        values: dict[str, Any] = {"clock__period": ctx.config.clock_ns}
        corners: dict[str, CornerTiming] = {}
        for corner, lib in self.liberties(ctx).items():
            script = d / f"sta-{corner}.tcl"
            atomic_write_text(script, sta_script(relative_to(lib, d), relative_to(ctx.path("netlist"), d), top,
                                                 relative_to(sdc, d), CORNERS[corner]))
            # run in the stage folder with the script's bare name: OpenSTA sources its argument unquoted
            log = run_tool(self.name, "sta", ["sta", "-no_init", "-exit", script.name], d,
                           ctx.config.timeout_s, cwd=d, log_name=f"sta-{corner}")
            text = log.read_text()
            try:
                corners[corner] = parse_corner(text)
            except ValueError as e:
                raise StageError(self.name, log, text.splitlines()[-8:], str(e)) from None
        if any(t.setup is None for t in corners.values()):
            raise StageError(self.name, d / "sta-tt.log", [], "found no constrained setup path: is the clock port right?")
        return {**values, **corner_metrics(corners, ctx.config.clock_ns)}
