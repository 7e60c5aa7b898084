"""``make gds``: synthesized netlist -> placed, routed, checked Sky130 layout with post-route metrics.

Two back ends behind ``run_gds``: ``local`` (graywolf via qflow -> qrouter -> klayout GDS -> magic DRC and
extraction -> netgen LVS -> OpenSTA with routed wire caps) and ``openlane`` (config.json for OpenLane 2, run
natively or dockerized when possible, metrics read back). Stages live under ``build/<id>/flow/<nn>-<stage>/``.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

from flow import metrics as M
from flow import openlane
from flow.pdk import find_pdk
from flow.pnr import defedit, gds, lvs, magic, repair, route, spef, tech
from flow.stage import FlowConfig, FlowContext, Stage, StageError, execute, run_stages, run_tool, tool_version
from flow.gatesim import GateSimStage
from flow.power import PowerStage
from flow.sta import StaStage
from flow.synth import SynthStage
from model.cli import BitbranchError
from model.contract import manifest_files, read_manifest
from model.spec import DesignSpec


@dataclass(frozen=True)
class PnrConfig:
    """Layout knobs (all hashed into the stages' up-to-date checks)."""

    density: float = 0.45  # qflow initial_density: target cell-area / core-area utilisation
    # (graywolf seed, fanout buffering) placements tried in order until routing leaves no failed net; buffering
    # (qflow blifFanout, max fanout 20) is only a fallback, as it changes the netlist the front end measured
    attempts: tuple[tuple[int, bool], ...] = ((1, False), (1, True), (2, False), (2, True), (3, True))
    repair_rounds: int = 4  # DRC feedback re-routes after the first route
    tap_um: float = 7.0  # max distance from a row point to a well tap


PNR = PnrConfig()
FANOUT_TOOL = "/usr/lib/qflow/bin/blifFanout"


@functools.lru_cache(maxsize=None)
def debian_version(package: str) -> str:
    """Installed Debian package version (graywolf has no version option that works without a display)."""
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return out.stdout.strip() or "unknown"


def attempt_name(seed: int, buffered: bool) -> str:
    return f"seed{seed}" + ("-buf" if buffered else "")


def top_of(ctx: FlowContext) -> str:
    return read_manifest(ctx.rtl_dir / "manifest.json")["top"]


def pnr_tech(ctx: FlowContext) -> tech.PnrTech:
    return tech.prepare(ctx.pdk, ctx.root, SynthStage().liberty(ctx).resolve())


def backend_sources() -> list[Path]:
    """This back end's own code and data: a change to them makes the P&R stages stale."""
    here = Path(__file__).resolve().parent
    return sorted((here / "pnr").glob("*.py")) + [here / "pnr" / "qrouter_dont_use.txt", here / "backend.py"]


def tech_inputs(ctx: FlowContext) -> list[Path]:
    t = pnr_tech(ctx)
    q = t.qflow_dir / tech.QFLOW_TECH
    return [t.magic_tech, t.router_lef, t.klayout_map, t.lvs_spice, t.netgen_setup,
            q / f"{tech.QFLOW_TECH}.par", q / f"{tech.QFLOW_TECH}.sh", *backend_sources()]


def design_area(def_text: str, lef_sizes: Mapping[str, float]) -> dict[str, float]:
    """Die area from DIEAREA, core area = row count x widest row (um^2)."""
    d = defedit.die(def_text)
    rows: dict[int, list[float]] = {}
    body = re.search(r"COMPONENTS \d+ ;(.*?)END COMPONENTS", def_text, re.S).group(1)
    for name, master, x, y in re.findall(r"^- (\S+) (\S+) \+ (?:PLACED|FIXED) \( (-?\d+) (-?\d+) \)", body, re.M):
        lo, hi = rows.get(int(y), [1e18, -1e18])
        rows[int(y)] = [min(lo, int(x) / d.units), max(hi, int(x) / d.units + lef_sizes.get(master, 0.0))]
    width = max(hi - lo for lo, hi in rows.values())
    return {"design__die__area": round(d.um(d.x2 - d.x1) * d.um(d.y2 - d.y1), 4),
            "design__core__area": round(len(rows) * width * defedit.ROW_UM, 4)}


def lef_sizes(lef_text: str) -> dict[str, float]:
    return {m.group(1): float(m.group(2)) for m in re.finditer(r"^MACRO (\S+)\n.*?SIZE\s+([\d.]+)\s+BY", lef_text, re.M | re.S)}


class PlaceStage(Stage):
    """qflow placement (graywolf) of the netlist at the configured density, then DEF legalisation."""

    name = "place"
    index = 10
    tools = ("yosys", "qflow")
    metric_names = ("place__tap__worst_distance__um", "place__taps__count")

    def placed_def(self, ctx: FlowContext) -> Path:
        return self.dir(ctx) / "placed.def"

    def inputs(self, ctx: FlowContext) -> Sequence[Path]:
        return [SynthStage().netlist(ctx), SynthStage().liberty(ctx), *tech_inputs(ctx)]

    def outputs(self, ctx: FlowContext) -> Sequence[Path]:
        return [self.placed_def(ctx), self.dir(ctx) / "qrouter_head.cfg", self.dir(ctx) / "rail_obs.tcl"]

    def config(self, ctx: FlowContext) -> Mapping[str, Any]:
        return {"density": PNR.density, "attempts": [list(a) for a in PNR.attempts], "tap_um": PNR.tap_um,
                "qflow_tech": tech.QFLOW_TECH, "fanout_buffering": "qflow blifFanout -l 200 -c 20, buf_2 (fallback)",
                "graywolf_debian_version": debian_version("graywolf")}

    def place(self, ctx: FlowContext, seed: int, buffered: bool, work: Path) -> tuple[str, str, dict[str, Any]]:
        """One placement with ``seed`` (fanout-buffered or not) in ``work``; returns (legal DEF, qrouter cfg, info)."""
        t = pnr_tech(ctx)
        top = top_of(ctx)
        for sub in ("source", "synthesis", "layout", "log"):
            (work / sub).mkdir(parents=True, exist_ok=True)
        for f in manifest_files(read_manifest(ctx.rtl_dir / "manifest.json"), ctx.rtl_dir):
            (work / "source" / f.name).write_text(f.read_text())
        lib = SynthStage().liberty(ctx).resolve()
        blif = (work / "synthesis" / f"{top}.blif").resolve()
        run_tool(self.name, "yosys", ["yosys", "-q", "-p",
                 f"read_liberty -lib {lib}; read_verilog {SynthStage().netlist(ctx).resolve()}; hierarchy -top {top}; "
                 f"write_blif -gates -impltf -buf sky130_fd_sc_hd__buf_2 A X {blif}"], work, ctx.config.timeout_s,
                 log_name="blif")
        if buffered:
            self.buffer_fanout(ctx, blif, lib, work)
        (work / "project_vars.sh").write_text(f"#!/usr/bin/tcsh -f\nset initial_density = {PNR.density}\n")
        par = (t.qflow_dir / tech.QFLOW_TECH / f"{tech.QFLOW_TECH}.par").read_text()
        (work / "layout" / f"{top}.par").write_text(re.sub(r"(?m)^\*random\.seed.*$", f"*random.seed          : {seed}", par))
        env = {**os.environ, "QFLOW_TECH_DIR": str(t.qflow_dir)}
        log = run_tool(self.name, "qflow", ["qflow", "-T", tech.QFLOW_TECH, "place", top], work, ctx.config.timeout_s,
                       cwd=work, env=env, log_name=f"qflow-place-seed{seed}")
        unrouted = work / "layout" / f"{top}_unroute.def"
        if not unrouted.is_file():
            raise StageError(self.name, work / "log" / "place.log", (work / "log" / "place.log").read_text(errors="replace").splitlines()[-8:] if (work / "log" / "place.log").is_file() else [], f"graywolf/qflow wrote no placement (see also {log})")
        legal, info = defedit.legalise(unrouted.read_text(), PNR.tap_um)
        return legal, (work / "layout" / f"{top}.cfg").read_text(), {**info, "seed": seed, "fanout_buffered": buffered}

    def buffer_fanout(self, ctx: FlowContext, blif: Path, lib: Path, work: Path) -> None:
        """qflow's blifFanout until nothing changes: buffers high-fanout nets (e.g. enables, clock) and resizes
        drivers, as qflow's own synthesis would; the front end's yosys netlist has no fanout repair."""
        tool = FANOUT_TOOL if Path(FANOUT_TOOL).is_file() else "blifFanout"
        for k in range(8):
            src = blif.with_name(f"fanout_in{k}.blif")
            blif.replace(src)
            log = run_tool(self.name, "blifFanout", [tool, "-l", "200", "-c", "20", "-s", "nullstring", "-p", str(lib),
                           "-b", "sky130_fd_sc_hd__buf_2", "-i", "A", "-o", "X", str(src), str(blif)],
                           work, ctx.config.timeout_s, log_name=f"blifFanout{k}")
            m = re.search(r"Number of gates changed: (\d+)", log.read_text(errors="replace"))
            if not blif.is_file():
                raise StageError(self.name, log, log.read_text(errors="replace").splitlines()[-6:], "blifFanout wrote no BLIF")
            if not m or int(m.group(1)) == 0:
                return

    def run(self, ctx: FlowContext) -> dict[str, Any]:
        d = self.dir(ctx)
        seed, buffered = PNR.attempts[0]
        legal, cfg, info = self.place(ctx, seed, buffered, d / attempt_name(seed, buffered))
        M.atomic_write_text(self.placed_def(ctx), legal)
        M.atomic_write_text(d / "qrouter_head.cfg", cfg)
        M.atomic_write_text(d / "rail_obs.tcl", defedit.rail_obstructions(legal))
        M.atomic_write_json(d / "place.json", info)
        return {"place__tap__worst_distance__um": info["worst_tap_um"], "place__taps__count": info["taps"]}


def run_magic(stage: str, ctx: FlowContext, t: tech.PnrTech, gds_path: Path, top: str, prefix: Path, extract: bool) -> int:
    """Magic DRC (and optionally extraction) of gds_path; returns the DRC box count."""
    script = prefix.with_suffix(".tcl")
    M.atomic_write_text(script, magic.script(t.magic_tech, gds_path.resolve(), top, prefix.resolve(), extract))
    log = run_tool(stage, "magic", ["magic", "-dnull", "-noconsole", str(script.resolve())], prefix.parent,
                   ctx.config.timeout_s, cwd=prefix.parent, log_name=prefix.name + ".magic")
    text = log.read_text(errors="replace")
    try:
        magic.drc_count(text)  # magic got to the end of its check
    except ValueError:
        raise StageError(stage, log, text.splitlines()[-8:], "magic reported no DRC count") from None
    n = len(magic.read_drc(prefix.with_name(prefix.name + ".drc.txt")))  # unique error boxes
    if extract and "EXTRACT_DONE" not in text:
        raise StageError(stage, log, text.splitlines()[-8:], "magic extraction did not finish")
    return n


class RouteStage(Stage):
    """qrouter with a DRC feedback loop: route -> GDS -> repair -> magic DRC; spacing boxes become obstructions.

    Keeps the best round (failed nets first, then DRC boxes). When the first round leaves failed nets, the
    design is re-placed with the next (seed, fanout buffering) attempt.
    """

    name = "route"
    index = 11
    tools = ("qrouter", "magic", "qflow")
    metric_names = ("route__wirelength", "magic__drc_error__count", "design__die__area", "design__core__area",
                    "route__failed_nets", "design__core__utilisation")

    def routed_def(self, ctx: FlowContext) -> Path:
        return self.dir(ctx) / "routed.def"

    def gds(self, ctx: FlowContext) -> Path:
        return self.dir(ctx) / f"{top_of(ctx)}.gds"

    def inputs(self, ctx: FlowContext) -> Sequence[Path]:
        return [*PlaceStage().outputs(ctx), *tech_inputs(ctx)]

    def outputs(self, ctx: FlowContext) -> Sequence[Path]:
        return [self.routed_def(ctx), self.gds(ctx), self.dir(ctx) / "drc.txt"]

    def config(self, ctx: FlowContext) -> Mapping[str, Any]:
        return {"router_settings": list(route.ROUTER_SETTINGS), "repair_rounds": PNR.repair_rounds,
                "attempts": [list(a) for a in PNR.attempts], "density": PNR.density, "graywolf_debian_version": debian_version("graywolf"),
                "drc": "magic drc(full), euclidean, on the repaired GDS; count = unique error boxes"}

    def route_once(self, ctx: FlowContext, t: tech.PnrTech, work: Path, legal: str, head: str, obs: list[str], tag: str
                   ) -> tuple[int, int, Path, Path, dict[str, int]]:
        """One route + GDS + repair + DRC round in ``work``; returns (failed nets, drc boxes, def, gds, repairs)."""
        top = top_of(ctx)
        work.mkdir(parents=True, exist_ok=True)
        (work / "unrouted.def").write_text(legal)
        (work / "rail_obs.tcl").write_text(defedit.rail_obstructions(legal))
        (work / f"fix_obs_{tag}.tcl").write_text("\n".join(obs) + "\n")
        routed = work / f"routed_{tag}.def"
        cfg = route.script(head, "unrouted.def", routed.name, ["rail_obs.tcl", f"fix_obs_{tag}.tcl"])
        (work / f"route_{tag}.cfg").write_text(cfg)
        log = work / f"qrouter_{tag}.log"
        try:
            run_tool(self.name, "qrouter", ["qrouter", "-nog", "-s", f"route_{tag}.cfg"], work, ctx.config.timeout_s,
                     cwd=work, log_name=f"qrouter_{tag}")
        except StageError as e:
            if "not found" in str(e) or "timed out" in str(e):
                raise
        failed = route.parse_log(log.read_text(errors="replace")).failed_nets
        if failed > 0 or not routed.is_file():  # an open net loses to any complete route: skip GDS and DRC
            return max(failed, 1), 10**9, routed, work / "none.gds", {}
        raw = work / f"raw_{tag}.gds"
        gds.def_to_gds(t, routed, raw, top)
        fixed = work / f"{top}_{tag}.gds"
        reps = repair.repair(raw, fixed)
        n = run_magic(self.name, ctx, t, fixed, top, work / f"drc_{tag}", False)
        return failed, n, routed, fixed, reps

    def run(self, ctx: FlowContext) -> dict[str, Any]:
        d = self.dir(ctx)
        t = pnr_tech(ctx)
        place = PlaceStage()
        legal = place.placed_def(ctx).read_text()
        head = (place.dir(ctx) / "qrouter_head.cfg").read_text()
        rounds: list[dict[str, Any]] = []
        for i, (seed, buffered) in enumerate(PNR.attempts):
            name = attempt_name(seed, buffered)
            if i > 0:
                legal, head, _info = place.place(ctx, seed, buffered, d / f"place-{name}")
            failed, n, rdef, rgds, reps = self.route_once(ctx, t, d / name, legal, head, [], "r0")
            rounds.append({"seed": seed, "buffered": buffered, "round": 0, "failed_nets": failed, "drc": n, "def": str(rdef),
                           "gds": str(rgds), "repairs": reps, "drc_file": str(d / name / "drc_r0.drc.txt")})
            print(f"[route] {name} round 0: failed nets {failed}" + (f", magic DRC boxes {n}" if failed == 0 else " (not checked)"))
            if failed == 0:
                break
        best = min(rounds, key=lambda r: (r["failed_nets"], r["drc"]))
        if best["failed_nets"] > 0:
            M.atomic_write_json(d / "rounds.json", rounds)
            raise StageError(self.name, Path(best["def"]).parent / "qrouter_r0.log", [],
                             f"qrouter left {best['failed_nets']} failed nets in every attempt {list(PNR.attempts)}")
        work = Path(best["def"]).parent
        stall = 0
        for k in range(1, PNR.repair_rounds + 1):
            if best["drc"] == 0 or stall >= 2:
                break
            # build on the best round so far: its obstructions plus its remaining spacing boxes, grown a little
            # more after each round that did not improve; after a failed net, leave met1 (pin access) alone
            skip_met1 = rounds[-1]["failed_nets"] > 0
            obs = list(best.get("obs", [])) + route.drc_obstructions(
                magic.read_drc(Path(best["drc_file"])), grow_um=0.02 * (1 + stall), skip_met1=skip_met1)
            failed, n, rdef, rgds, reps = self.route_once(ctx, t, work, legal, head, obs, f"r{k}")
            r = {"seed": best["seed"], "buffered": best["buffered"], "round": k, "failed_nets": failed, "drc": n, "def": str(rdef), "gds": str(rgds),
                 "repairs": reps, "obs": obs, "drc_file": str(work / f"drc_r{k}.drc.txt")}
            rounds.append(r)
            print(f"[route] {attempt_name(best['seed'], best['buffered'])} round {k}: failed nets {failed}" + (f", magic DRC boxes {n}" if failed == 0 else " (not checked)"))
            if (failed, n) < (best["failed_nets"], best["drc"]):
                best, stall = r, 0
            else:
                stall += 1
        routed_text = Path(best["def"]).read_text()
        M.atomic_write_text(self.routed_def(ctx), routed_text)
        self.gds(ctx).write_bytes(Path(best["gds"]).read_bytes())
        drc_src = Path(best["drc_file"])
        M.atomic_write_text(d / "drc.txt", "".join(f"{w}\t{' '.join(f'{v:.3f}' for v in b)}\n" for w, b in magic.read_drc(drc_src)))
        M.atomic_write_json(d / "rounds.json", [{k: v for k, v in r.items() if k != "obs"} for r in rounds])
        M.atomic_write_json(d / "drc_summary.json", magic.summarise(magic.read_drc(d / "drc.txt")))
        area = design_area(routed_text, lef_sizes(ctx.pdk.lef.read_text()))
        inst_area = M.read_metrics(ctx.metrics_path).get("design__instance__area")
        return {"route__wirelength": route.def_wirelength_um(routed_text), "magic__drc_error__count": best["drc"],
                "route__failed_nets": best["failed_nets"], **area,
                "design__core__utilisation": (inst_area / area["design__core__area"]) if inst_area else None}


class LvsStage(Stage):
    """magic extraction of the final GDS, netgen LVS against the routed netlist built from the cell SPICE."""

    name = "lvs"
    index = 12
    tools = ("magic", "netgen-lvs")
    metric_names = ("design__lvs_error__count",)

    def inputs(self, ctx: FlowContext) -> Sequence[Path]:
        return [RouteStage().gds(ctx), RouteStage().routed_def(ctx), *tech_inputs(ctx)]

    def outputs(self, ctx: FlowContext) -> Sequence[Path]:
        return [self.dir(ctx) / "lvs.rpt", self.dir(ctx) / "lvs.json"]

    def run(self, ctx: FlowContext) -> dict[str, Any]:
        d = self.dir(ctx)
        d.mkdir(parents=True, exist_ok=True)
        t = pnr_tech(ctx)
        top = top_of(ctx)
        run_magic(self.name, ctx, t, RouteStage().gds(ctx), top, d / "extract", True)
        src, unconnected = lvs.source_spice(RouteStage().routed_def(ctx).read_text(), t.lvs_spice, top)
        M.atomic_write_text(d / "source.spice", src)
        log = run_tool(self.name, "netgen-lvs", ["netgen-lvs", "-batch", "lvs", f"extract.spice {top}", f"source.spice {top}",
                       str(t.netgen_setup), "lvs.rpt"], d, ctx.config.timeout_s, cwd=d)
        res = lvs.parse_result(log.read_text(errors="replace"), (d / "lvs.rpt").read_text(errors="replace") if (d / "lvs.rpt").is_file() else "")
        M.atomic_write_json(d / "lvs.json", {"match": res.match, "errors": res.errors, "summary": res.summary,
                                            "source_unconnected_pins": unconnected})
        print(f"[lvs] {res.summary}")
        return {"design__lvs_error__count": res.errors}


class RenderStage(Stage):
    """Headless PNG of the final GDS (klayout LayoutView with the PDK's layer properties)."""

    name = "render"
    index = 17
    tools = ()
    metric_names = ()

    def inputs(self, ctx: FlowContext) -> Sequence[Path]:
        return [RouteStage().gds(ctx)]

    def outputs(self, ctx: FlowContext) -> Sequence[Path]:
        return [ctx.flow_dir / f"{top_of(ctx)}.png"]

    def run(self, ctx: FlowContext) -> dict[str, Any]:
        from flow.pnr import render

        render.render(RouteStage().gds(ctx), self.outputs(ctx)[0], ctx.pdk.klayout_lyp)
        return {}


LOCAL_STAGES: tuple[type[Stage], ...] = (PlaceStage, RouteStage, LvsStage, RenderStage)


def local_context(spec: DesignSpec, clock_ns: float, root: Path) -> FlowContext:
    cfg = FlowConfig(clock_ns=clock_ns, flow="local", extra_dont_use=tech.dont_use_cells())
    return FlowContext(spec, Path(root), find_pdk(), cfg)


def _post_route_stages() -> list[Stage]:
    from flow.pnr.post import post_route_stages  # late import: flow.pnr.post imports RouteStage from here

    return post_route_stages()


def run_local(spec: DesignSpec, clock_ns: float, root: Path) -> dict[str, Any]:
    ctx = local_context(spec, clock_ns, root)
    # the front end's pre-route stages run on the same netlist first, so metrics.json holds one consistent set;
    # the post-route stages then overwrite timing__* and power__* with the routed values (see provenance)
    pre: list[Stage] = [SynthStage(), StaStage(), GateSimStage(), PowerStage()]
    stages: list[Stage] = [*pre, *(s() for s in LOCAL_STAGES[:3]), *_post_route_stages(), LOCAL_STAGES[3]()]
    run_stages(stages, ctx)
    m = M.read_metrics(ctx.metrics_path)
    lvs_json = LvsStage().dir(ctx) / "lvs.json"
    print(f"GDS: {RouteStage().gds(ctx)}  DRC boxes: {m.get('magic__drc_error__count')}  "
          f"LVS errors: {m.get('design__lvs_error__count')}  metrics: {ctx.metrics_path}")
    return m


class OpenLaneStage(Stage):
    """Write the OpenLane 2 config for the design; run it when a runner exists and read its metrics."""

    name = "openlane"
    index = 20
    tools = ()
    metric_names = openlane.OPENLANE_METRIC_PREFIXES

    def config_path(self, ctx: FlowContext) -> Path:
        return self.dir(ctx) / "config.json"

    def inputs(self, ctx: FlowContext) -> Sequence[Path]:
        return [ctx.rtl_dir / "manifest.json", *manifest_files(read_manifest(ctx.rtl_dir / "manifest.json"), ctx.rtl_dir)]

    def outputs(self, ctx: FlowContext) -> Sequence[Path]:
        return [self.config_path(ctx), openlane.latest_run_metrics(self.dir(ctx))]

    def config(self, ctx: FlowContext) -> Mapping[str, Any]:
        return {"clock_ns": ctx.config.clock_ns, "core_util_pct": 50}

    def prepare(self, ctx: FlowContext) -> None:
        from flow.synth import ensure_rtl

        ensure_rtl(ctx.spec, ctx.root)

    def write(self, ctx: FlowContext) -> Path:
        m = read_manifest(ctx.rtl_dir / "manifest.json")
        srcs = list(manifest_files(m, ctx.rtl_dir))
        cfg = openlane.OpenLaneConfig(m["top"], tuple(p.name for p in srcs), m.get("clock_port", "clk"), ctx.config.clock_ns)
        path = openlane.write_config(cfg, srcs, self.dir(ctx))
        print(f"OpenLane config: {path}")
        return path

    def run(self, ctx: FlowContext) -> dict[str, Any]:
        path = self.write(ctx)
        runner = openlane.find_runner()
        mpath = openlane.run(runner, path, ctx.pdk.root, self.dir(ctx) / "openlane.log")
        return openlane.read_metrics(mpath)


def run_openlane(spec: DesignSpec, clock_ns: float, root: Path) -> dict[str, Any]:
    ctx = FlowContext(spec, Path(root), find_pdk(), FlowConfig(clock_ns=clock_ns, flow="openlane"))
    stage = OpenLaneStage()
    stage.prepare(ctx)
    runner = openlane.find_runner()
    if runner.kind == "none":
        path = stage.write(ctx)  # useful output on its own; the metrics file is left as it was
        raise BitbranchError(f"{runner.reason} (config written: {path})")
    run_stages([stage], ctx)
    return M.read_metrics(ctx.metrics_path)


def run_gds(spec: DesignSpec, clock_ns: float, flow: str, root: Path) -> dict:
    """Entry point of ``python -m flow gds``: the local chain or OpenLane; returns the metrics dict."""
    if flow == "local":
        return run_local(spec, clock_ns, root)
    if flow == "openlane":
        return run_openlane(spec, clock_ns, root)
    raise BitbranchError(f"unknown flow {flow!r}: choose local or openlane (FLOW=...)")
