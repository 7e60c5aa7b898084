"""Stage route: qrouter with a DRC feedback loop, re-placing at lower density when the router gives up."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from common.files import atomic_write_json, atomic_write_text
from common.tools import debian_version
from flow.pnr import attempts, defedit, gds, halo, magic, netcheck, padfix, repair, route, tech
from flow.pnr.common import PNR, Attempt, PnrConfig, attempts_config, pnr_tech, recipe_name, route_jobs, top_of
from flow.pnr.magic import run_magic
from flow.pnr.place import PLACE_CONSUMES, place
from flow.stage import FlowContext, Stage, StageError, run_tool, tool_cpu_s

Short = tuple[str, netcheck.Box]  # (layer, box in um) of one different-net short
HALO_LEF = "router_halo.lef"  # a late attempt's router LEF, in its work directory
TIMED_OUT = 10**6  # failed-net count of a route that timed out before finishing (worse than any finished route)
SNAP_ROUNDS = 2  # via-snap edits of the best route after the feedback re-routes (each: GDS, repair, DRC; no qrouter)


@dataclass(frozen=True)
class Check:
    """What the checks of one routed DEF found: magic DRC boxes (``drc``, listed in ``drc_file``, counted with the
    deck's ``style`` variant: ``magic.STYLES``), the repaired GDS, the repairs, the different-net shorts."""

    drc: int
    gds: Path
    drc_file: Path
    repairs: dict[str, int] = field(default_factory=dict)
    shorts: list[Short] = field(default_factory=list)
    style: str = "full"

    def record(self) -> dict[str, Any]:
        """The round record's fields (``drc_style`` only where the count is not the full deck's)."""
        return {"drc": self.drc, "gds": str(self.gds), "repairs": self.repairs, "drc_file": str(self.drc_file),
                "shorts": self.shorts, **({"drc_style": self.style} if self.style != "full" else {})}


def unchecked(work: Path, tag: str) -> Check:
    """A route with failed nets (or timed out): no GDS, DRC or short check; it ranks below any complete route."""
    return Check(10**9, work / "none.gds", work / f"drc_{tag}.drc.txt")


def design_area(def_text: str, sizes: Mapping[str, tuple[float, float]]) -> dict[str, float]:
    """Die area from DIEAREA, core area = row count x widest row (um^2)."""
    d = defedit.die(def_text)
    rows: dict[int, list[float]] = {}
    body = re.search(r"COMPONENTS \d+ ;(.*?)END COMPONENTS", def_text, re.S).group(1)
    for name, master, x, y in re.findall(r"^- (\S+) (\S+) \+ (?:PLACED|FIXED) \( (-?\d+) (-?\d+) \)", body, re.M):
        lo, hi = rows.get(int(y), [1e18, -1e18])
        rows[int(y)] = [min(lo, int(x) / d.units), max(hi, int(x) / d.units + sizes.get(master, (0.0, 0.0))[0])]
    width = max(hi - lo for lo, hi in rows.values())
    return {"design__die__area": round(d.um(d.x2 - d.x1) * d.um(d.y2 - d.y1), 4),
            "design__core__area": round(len(rows) * width * defedit.ROW_UM, 4)}


def drc_boxes(drc_file: Path) -> list[tuple[str, tuple[float, float, float, float]]]:
    """The magic boxes of a checked round (none when magic wrote no file: a clean layout)."""
    return magic.read_drc(drc_file) if drc_file.is_file() else []


def feedback_round(k: int, clean: bool, stall: int, last_failed: bool, retried: bool,
                   cfg: PnrConfig = PNR) -> tuple[bool, bool]:
    """Whether to run DRC feedback re-route ``k`` (1, 2, ...), and whether the pin-access retry is now used.

    Up to ``cfg.repair_rounds`` re-routes while the best round is not clean and fewer than ``cfg.repair_patience``
    in a row failed to improve it; past that, one more (``cfg.pin_access_retry``, once) when the last re-route left
    failed nets: its obstructions cut nets off their pins, and the retry obstructs no met1 box, only the grid points
    of the M1M2 vias at them (``route.via_site_obstructions``). On baseline W2A2
    the first re-route left 3 failed nets; the retry gave magic 30 / KLayout 4 / LVS 0 against 118 / 32 / 1.
    """
    if clean:
        return False, retried
    if k <= cfg.repair_rounds and stall < cfg.repair_patience:
        return True, retried
    if cfg.pin_access_retry and last_failed and not retried:
        return True, True
    return False, retried


def routed_before(obs: Sequence[str], rounds: Sequence[Mapping[str, Any]], attempt: Sequence[Any]) -> int | None:
    """The round of placement ``attempt`` already routed with exactly the obstructions ``obs`` (round 0: none), or None.

    qrouter is deterministic: the same placement, script and obstructions give the same route (the saved parallel
    W2A2 N=32 placement re-routed alone gave a byte-identical DEF), so such a feedback re-route could only repeat
    that round. It happens when a round leaves only boxes that make no obstruction (no spacing box, no short).
    """
    for r in rounds:
        if list(r["attempt"]) == list(attempt) and list(r.get("obs", [])) == list(obs):
            return int(r["round"])
    return None


class RouteStage(Stage):
    """qrouter with a DRC feedback loop: route -> GDS -> repair -> magic DRC; spacing boxes become obstructions.

    Keeps the best round (failed nets first, then DRC boxes). When the first round leaves failed nets, the
    design is re-placed with the next attempt (seed, fanout buffering, lower density) by ``flow.pnr.place.place``,
    so the stage consumes what a placement reads; a qrouter time-out skips the remaining attempts at that density.
    A late keep-out attempt (``Attempt.keepout == "late"``) has its own rounds instead (``late_rounds``: pad edits
    and point-obstruction re-routes) and wins only when they end clean.
    The core utilisation divides the synthesized cell area (``synth_cells``) by the routed core area.
    """

    name = "route"
    tools = ("qrouter", "magic", "qflow", "yosys")
    metric_names = ("route__wirelength", "magic__drc_error__count", "design__die__area", "design__core__area",
                    "route__failed_nets", "design__core__utilisation", "place__density__target", "route__attempts__count",
                    "route__attempt__winner", "route__recipe", "route__short__count",
                    "route__via_snap__count", "route__keepout", "route__pad_edit__count")
    consumes = (*PLACE_CONSUMES, "placed_def", "qrouter_head", "synth_cells", "pdk_lef", "pdk_techlef", "pdk_gds")
    produces = {"routed_def": "routed.def", "gds": "{top}.gds", "drc_report": "drc.txt"}

    def routed_def(self, ctx: FlowContext) -> Path:
        return ctx.path("routed_def")

    def gds(self, ctx: FlowContext) -> Path:
        return ctx.path("gds")

    def config(self, ctx: FlowContext) -> Mapping[str, Any]:
        return {"router_settings": list(route.ROUTER_SETTINGS), "cleanup_rounds": route.CLEANUP_ROUNDS,
                "repair_rounds": PNR.repair_rounds,
                "repair_patience": PNR.repair_patience, "pin_access_retry": PNR.pin_access_retry,
                "attempts": attempts_config(PNR.attempts), "route_cpu_s": PNR.route_cpu_s,
                "graywolf_debian_version": debian_version("graywolf"),
                "via_snap": {"rounds": SNAP_ROUNDS, "max_um": route.SNAP_MAX_UM, "reach_um": route.SNAP_REACH_UM},
                "late_keepout": {"feedback": PNR.late_feedback, "halo_grid": [halo.GRID_X, halo.GRID_Y, halo.PITCH_X,
                                                                              halo.PITCH_Y],
                                 "pad_edit_reach_um": padfix.REACH_UM,
                                 "obstructions": "never on a pin's last free grid point (halo.spare_access)",
                                 "failed_nets": "end the attempt; in an open_cells attempt (the recipe's last), "
                                                "re-routed with their cells' plain macros (halo.open_cells)",
                                 "win": "only when its rounds end with 0 failed nets, 0 shorts, 0 magic boxes"},
                "drc": "magic drc(full), euclidean, on the repaired GDS; count = unique error boxes; a late "
                       "attempt's routes and edits counted with drc(fast) first, drc(full) when that finds none or "
                       "when the stage reports the round",
                "rank": "failed nets, then different-net shorts in the routed DEF (netcheck), then magic DRC boxes; "
                        "shorts and spacing boxes become obstructions of the feedback re-route"}

    def route_once(self, ctx: FlowContext, t: tech.PnrTech, work: Path, legal: str, head: str, obs: list[str], tag: str,
                   late: bool = False, opened: Sequence[str] = ()) -> tuple[int, Path, Check]:
        """One route + GDS + repair + DRC round in ``work``; returns (failed nets, routed DEF, its ``Check``). Only a
        complete route is checked: one with failed nets has no GDS and no shorts looked for (``unchecked``).
        ``late``: the keep-out from stage 3 on, with the halo router LEF (``flow/pnr/halo.py``) that ``late_rounds``
        wrote into ``work``, checked with the triage deck first (``check(triage=True)``); ``opened``: cells routed
        without their halo points (``halo.open_cells``: qrouter reads their macros' plain copies and writes the
        routed DEF with them, named back here before the checks).

        A route that times out returns TIMED_OUT failed nets (it is never checked or kept).
        """
        work.mkdir(parents=True, exist_ok=True)
        (work / "unrouted.def").write_text(legal)
        (work / "rail_obs.tcl").write_text(defedit.rail_obstructions(legal))
        (work / "track_obs.tcl").write_text(route.offtrack_obstructions(legal))
        (work / f"fix_obs_{tag}.tcl").write_text("\n".join(obs) + "\n")
        routed = work / f"routed_{tag}.def"
        sources = ["rail_obs.tcl", "track_obs.tcl", f"fix_obs_{tag}.tcl"]
        lef = [HALO_LEF] if late else []
        unrouted, out = "unrouted.def", routed
        if opened:
            text, macros = halo.open_cells(legal, opened)
            unrouted, out, lef = f"unrouted_{tag}.def", work / f"routed_{tag}{halo.OPEN}.def", [f"router_halo_{tag}.lef"]
            (work / unrouted).write_text(text)
            (work / lef[0]).write_text(halo.open_lef((work / HALO_LEF).read_text(), t.router_lef.read_text(), macros))
        cfg = route.script(head, unrouted, out.name, sources, keepout_late=late, router_lef=lef[0] if lef else None)
        (work / f"route_{tag}.cfg").write_text(cfg)
        log = work / f"qrouter_{tag}.log"
        try:
            # it reads its script and the files the script names; the GDS, repair and DRC files that later steps
            # leave in ``work`` are not its inputs, so a change there reuses its finished run (flow/resume.py)
            run_tool(self.name, "qrouter", ["qrouter", "-nog", "-s", f"route_{tag}.cfg"], work, 2 * PNR.route_cpu_s,
                     cwd=work, log_name=f"qrouter_{tag}", cpu_limit_s=PNR.route_cpu_s,
                     reads=[f"route_{tag}.cfg", unrouted, *sources, *lef],
                     writes=[out.name, out.with_suffix(".rc").name])
        except StageError as e:
            # qrouter exits 0 with failed nets too: any other failure (missing, crashed, killed by a signal) is this
            # attempt's error, never a time-out (which would skip the rest of its density) nor a failed route
            if e.timed_out:
                return TIMED_OUT, routed, unchecked(work, tag)
            raise
        failed = route.parse_log(log.read_text(errors="replace")).failed_nets
        if opened and out.is_file():
            atomic_write_text(routed, halo.close_cells(out.read_text()))
        if failed > 0 or not routed.is_file():  # an open net loses to any complete route: skip GDS and DRC
            return max(failed, 1), routed, unchecked(work, tag)
        return failed, routed, self.check(ctx, t, work, routed, tag, triage=late)

    def check(self, ctx: FlowContext, t: tech.PnrTech, work: Path, routed: Path, tag: str, triage: bool = False
              ) -> Check:
        """GDS of a complete routed DEF, repaired, then magic DRC, and the different-net shorts of the DEF
        (``flow/pnr/netcheck.py``, with qrouter's patches as the repaired GDS has them: the repair's own
        ``repair.patched_metal``, built once). ``triage``: the deck's fast variant first (``drc_<tag>_fast``), the
        full one (``drc_<tag>``) only when that finds no box: the late rounds' intermediate routes have hundreds of
        boxes that only steer the pad edits, and only a full count can call a layout clean."""
        top = top_of(ctx)
        raw = work / f"raw_{tag}.gds"
        gds.def_to_gds(t, routed, raw, top)
        fixed = work / f"{top}_{tag}.gds"
        text = routed.read_text()
        patched = repair.patched_metal(text)
        reps = repair.repair(raw, fixed, routed, patched=patched)
        shorts = netcheck.shorts(text, patched[1])
        if triage:
            n = run_magic(self.name, ctx, t, fixed, top, work / f"drc_{tag}_fast", style="fast")
            if n:
                return Check(n, fixed, work / f"drc_{tag}_fast.drc.txt", reps, shorts, "fast")
        n = run_magic(self.name, ctx, t, fixed, top, work / f"drc_{tag}")
        return Check(n, fixed, work / f"drc_{tag}.drc.txt", reps, shorts)

    def full_count(self, ctx: FlowContext, t: tech.PnrTech, r: dict[str, Any]) -> None:
        """A round counted by the triage deck gets the full deck's count (in place): what the stage reports."""
        if r.get("drc_style", "full") == "full":
            return
        drc_file = Path(r["drc_file"])
        prefix = drc_file.with_name(drc_file.name.removesuffix("_fast.drc.txt"))
        n = run_magic(self.name, ctx, t, Path(r["gds"]), top_of(ctx), prefix)
        r.update({"drc": n, "drc_file": str(prefix.with_name(prefix.name + ".drc.txt"))})
        del r["drc_style"]

    def snap_rounds(self, ctx: FlowContext, t: tech.PnrTech, best: dict[str, Any], rounds: list[dict[str, Any]],
                    k: int) -> dict[str, Any]:
        """Up to ``SNAP_ROUNDS`` edits of the best complete route that is not clean: its off-grid vias next to its
        DRC boxes go back onto the grid (``route.snap_offset_vias``, no re-route), then GDS, repair and DRC again;
        a round is kept as the best only when it ranks better. Returns the best round."""
        attempt = Attempt(*best["attempt"])
        for j in range(SNAP_ROUNDS):
            if best["failed_nets"] != 0 or self.rank(best) == (0, 0, 0):
                break
            boxes = drc_boxes(Path(best["drc_file"]))
            text, moved = route.snap_offset_vias(Path(best["def"]).read_text(), boxes)
            if not moved:
                print(f"[route] {attempt.name}: no off-grid via beside a DRC box, nothing to snap", flush=True)
                break
            tag = f"s{j}"
            work = Path(best["def"]).parent
            rdef = work / f"routed_{tag}.def"
            atomic_write_text(rdef, text)
            c = self.check(ctx, t, work, rdef, tag)
            r = {"attempt": best["attempt"], "round": k + j, "failed_nets": 0, "def": str(rdef), **c.record(),
                 "snapped_vias": best.get("snapped_vias", 0) + len(moved), "snapped_from_round": best["round"]}
            rounds.append(r)
            where = ", ".join(f"{v} ({x:.3f}, {y:.3f})" for v, x, y in moved[:4]) + (" ..." if len(moved) > 4 else "")
            print(f"[route] {attempt.name} round {k + j} (round {best['round']} with {len(moved)} off-grid vias snapped: "
                  f"{where}): {self.describe(0, c.drc, (), len(c.shorts))}", flush=True)
            if self.rank(r) < self.rank(best):
                best = r
            else:
                break
        return best

    @staticmethod
    def describe(failed: int, n: int, names: Sequence[str] = (), shorts: int = 0, style: str = "full") -> str:
        if failed == TIMED_OUT:
            return f"qrouter timed out (over {PNR.route_cpu_s:g} s CPU or {2 * PNR.route_cpu_s:g} s wall)"
        if failed == 0:
            return f"failed nets 0, shorts {shorts}, magic DRC boxes {n}" + (f" (drc({style}))" if style != "full" else "")
        shown = ", ".join(names[:8]) + (f", ... {len(names) - 8} more" if len(names) > 8 else "")
        return f"failed nets {failed}" + (f" ({shown})" if names else "") + " (not checked)"

    def placement(self, ctx: FlowContext, a: Attempt) -> tuple[str, str]:
        """(legal DEF, qrouter head) of attempt ``a``'s placement: the place stage's when it is the first attempt's,
        else ``flow.pnr.place.place`` in ``place-<placement name>`` (attempts that differ only in the keep-out share
        it; graywolf is deterministic, and its runs there are reused)."""
        if a.placement == PNR.attempts[0].placement:
            return ctx.path("placed_def").read_text(), ctx.path("qrouter_head").read_text()
        legal, head, _info = place(self.name, ctx, a.placement, self.dir(ctx) / f"place-{a.placement_name}")
        return legal, head

    def attempt_rounds(self, ctx: FlowContext, t: tech.PnrTech, i: int) -> dict[str, Any]:
        """Attempt ``i`` of the recipe: its placement, then route round 0, or for a late keep-out its own rounds
        (``late_rounds``); returns {"rounds": [...], "legal": ..., "head": ...}."""
        a = PNR.attempts[i]
        legal, head = self.placement(ctx, a)
        work = self.dir(ctx) / a.name
        if a.late:
            return {"rounds": self.late_rounds(ctx, t, a, work, legal, head), "legal": legal, "head": head}
        return {"rounds": [self.routed_round(ctx, t, a, work, legal, head, [], "r0", 0)], "legal": legal, "head": head}

    def routed_round(self, ctx: FlowContext, t: tech.PnrTech, a: Attempt, work: Path, legal: str, head: str,
                     obs: list[str], tag: str, number: int, opened: Sequence[str] = ()) -> dict[str, Any]:
        """Route ``tag`` of attempt ``a`` (``route_once``; a late attempt's with its keep-out and ``opened`` cells) as
        round ``number``'s record, printed: failed nets and their names from qrouter's log, DRC boxes, shorts,
        qrouter's stage times; a late attempt's records count its point obstructions and opened cells too."""
        failed, rdef, c = self.route_once(ctx, t, work, legal, head, obs, tag, late=a.late,
                                          **({"opened": opened} if opened else {}))
        log = work / f"qrouter_{tag}.log"
        names = (route.parse_log(log.read_text(errors="replace")).failed_names
                 if failed not in (0, TIMED_OUT) and log.is_file() else ())
        times = self.stage_times(log)
        what = [f"{len(obs)} point obstructions"] if obs and a.late else []
        what += [f"{len(opened)} cells without halo"] if opened else []
        print(f"[route] {a.name} round {number}" + (f" ({', '.join(what)})" if what else "")
              + f": {self.describe(failed, c.drc, names, len(c.shorts), c.style)}; {self.describe_times(times)}",
              flush=True)
        return {"attempt": a.as_list(), "round": number, "failed_nets": failed, "def": str(rdef), **c.record(),
                "failed_names": list(names), "qrouter": times,
                **({"point_obstructions": len(obs)} if a.late else {}),
                **({"opened_cells": list(opened)} if opened else {})}

    def late_rounds(self, ctx: FlowContext, t: tech.PnrTech, a: Attempt, work: Path, legal: str, head: str
                    ) -> list[dict[str, Any]]:
        """A late keep-out attempt: route (``route_once(late=True)``), then while the layout is not clean the pad
        edits of ``flow.pnr.padfix`` at its magic boxes (checked again: GDS, repair, DRC, shorts), then up to
        ``PNR.late_feedback`` re-routes with point obstructions at the M1M2 vias beside the boxes the edits left
        (``route.via_site_obstructions``, sparing pin taps; where there is none, on the taps beside them,
        ``route.tap_site_obstructions``) and over the route's shorts, the points adding up from re-route to re-route,
        none on a pin's last free grid point (``halo.spare_access``), each edited again; it stops early when an edited
        re-route ranks no better than the best edited round before it. A route that leaves failed nets ends the
        attempt, unless it opens cells (``Attempt.open_cells``): then it is routed again (within the same budget)
        with the cells those nets connect opened (``halo.open_cells``: no halo points there), the cells adding up
        too. Returns every round in order (an edit is a round of its own, ``padfix_of`` naming the round it edited).

        Measured with ``bench/route_keepout.py`` before it came here: parallel W1A1-W2A2 and baseline pm1 W4A4
        routes end with magic 0 after the edits (W2A2 after one re-route), in 10-600 s of qrouter CPU where the full
        keep-out took minutes to hours."""
        halo.check_grid(legal)  # an error of this attempt (halo.OffGrid): the halo would sit off the pins' rows
        work.mkdir(parents=True, exist_ok=True)
        lef = t.router_lef.read_text()
        atomic_write_text(work / HALO_LEF, halo.halo_lef(lef)[0])  # once: every route reads it
        access = halo.access_points(legal, lef)  # a re-route's points never take a pin's last one (qrouter: no taps)
        pin_li1 = halo.net_pin_shapes(legal, lef)  # a tap the pad edits move stays on its pin's li1
        rounds: list[dict[str, Any]] = []
        obs: list[str] = []
        opened: list[str] = []
        best_edit: dict[str, Any] | None = None
        for k in range(PNR.late_feedback + 1):
            tag = f"r{k}"
            r = self.routed_round(ctx, t, a, work, legal, head, obs, tag, len(rounds), opened)
            rounds.append(r)
            if r["failed_nets"]:
                # congestion at the halo points around a failed net's pins: its cells go without them next time
                more = [c for c in halo.net_cells(legal, r["failed_names"]) if c not in opened]
                if not a.open_cells or not more or k == PNR.late_feedback:
                    break
                opened += more
                print(f"[route] {a.name}: re-route with the {len(more)} cells of {', '.join(r['failed_names'][:4])}"
                      f"{' ...' if len(r['failed_names']) > 4 else ''} without their halo points", flush=True)
                continue
            if self.rank(r) == (0, 0, 0):
                break
            text = Path(r["def"]).read_text()
            edited, fx = padfix.fix_pads(text, drc_boxes(Path(r["drc_file"])), pins=pin_li1)
            ptag = f"{tag}p"
            pdef = work / f"routed_{ptag}.def"
            atomic_write_text(pdef, edited)
            pc = self.check(ctx, t, work, pdef, ptag, triage=True)
            e = {"attempt": a.as_list(), "round": len(rounds), "failed_nets": 0, "def": str(pdef), **pc.record(),
                 "padfix": asdict(fx), "padfix_of": r["round"]}
            rounds.append(e)
            print(f"[route] {a.name} round {e['round']} (pad edits of round {r['round']}: {fx.unrotated_stacked} "
                  f"stacked and {fx.unrotated_boxed} boxed taps unrotated, {fx.moved} vias and {fx.taps_moved} taps "
                  f"moved, {fx.taps_kept} taps kept on their pins): "
                  f"{self.describe(0, pc.drc, (), len(pc.shorts), pc.style)}", flush=True)
            if self.rank(e) == (0, 0, 0) or k == PNR.late_feedback:
                break
            if best_edit is not None and self.rank(e) >= self.rank(best_edit):
                print(f"[route] {a.name}: the re-route's edits did not improve on round {best_edit['round']}: no more "
                      f"re-routes", flush=True)
                break
            best_edit = e  # better than the one before (else the loop stopped above)
            left = drc_boxes(Path(e["drc_file"]))
            more, spared = halo.spare_access([o for o in netcheck.obstructions(r["shorts"]) if o not in obs], obs,
                                             access)
            # the M1M2 vias beside the boxes; where none is left, the taps there instead: move the pins' access
            for points in (lambda: route.via_site_obstructions(text, left, spare_taps=True),
                           lambda: route.tap_site_obstructions(text, left)):
                sites, sp = halo.spare_access([o for o in points() if o not in obs], obs + more, access)
                spared = list(dict.fromkeys(spared + sp))
                if sites:
                    break
            if spared:
                print(f"[route] {a.name}: no obstruction on the last free grid point of "
                      f"{', '.join(f'{i}/{p}' for i, p in spared[:4])}{' ...' if len(spared) > 4 else ''}", flush=True)
            more += sites
            if not more:
                print(f"[route] {a.name}: no short, no M1M2 via and no free tap beside the boxes the edits left (or "
                      f"only a pin's last grid point): no re-route", flush=True)
                break
            obs = obs + more
        return rounds

    def outcome(self, result: Mapping[str, Any]) -> attempts.Outcome:
        """An attempt's verdict for ``attempts.decide``: a full keep-out attempt by its round 0's failed nets (a
        time-out skips its density); a late one is clean only when its best round has no failed net, short or DRC
        box, else ``dirty`` when complete (its time-out says nothing of the density: the full keep-out may route)."""
        rounds = result["rounds"]
        if not Attempt(*rounds[0]["attempt"]).late:
            failed = rounds[0]["failed_nets"]
            return attempts.Outcome(failed, timed_out=failed == TIMED_OUT)
        best = min(rounds, key=self.rank)
        return attempts.Outcome(best["failed_nets"], dirty=best["failed_nets"] == 0 and self.rank(best) != (0, 0, 0))

    @staticmethod
    def stage_times(log: Path) -> dict[str, float | None]:
        """Wall seconds of qrouter's stages in one run (``route.stage_summary`` of its ``bb_stage`` lines) and the
        run's CPU seconds (``cpu_s``, None when it did not finish)."""
        text = log.read_text(errors="replace") if log.is_file() else ""
        return {**route.stage_summary(route.stage_times(text)), "cpu_s": tool_cpu_s(text)}

    @staticmethod
    def describe_times(times: Mapping[str, float | None]) -> str:
        cpu = times.get("cpu_s")
        return (f"qrouter stage1 {times['stage1_s']:.0f} s, stage2 {times['stage2_s']:.0f} s "
                f"({times['stage2_calls']:.0f} calls), stage3 {times['stage3_s']:.0f} s wall"
                + (f", {cpu:.0f} s CPU" if cpu is not None else ""))

    @staticmethod
    def rank(r: Mapping[str, Any]) -> tuple[int, int, int]:
        """Rounds compare by failed nets, then shorts (an LVS error neither DRC deck sees), then magic DRC boxes."""
        return r["failed_nets"], len(r.get("shorts", ())), r["drc"]

    @classmethod
    def choose(cls, rounds: Sequence[Mapping[str, Any]], winner: Attempt | None) -> Mapping[str, Any]:
        """The round the stage goes on from: the winner's best (a full keep-out winner has one, its round 0); with
        no clean attempt, the best of all (``rank``): a late attempt's complete round if there is one."""
        return min([r for r in rounds if winner is None or r["attempt"] == winner.as_list()], key=cls.rank)

    def first_route(self, ctx: FlowContext, t: tech.PnrTech
                    ) -> tuple[list[dict[str, Any]], dict[Path, tuple[str, str]], Attempt | None]:
        """The recipe's attempts (round 0, or a late attempt's rounds) until one is clean (``outcome``; a time-out
        skips the rest of its density), up to ``route_jobs()`` side by side; the first clean attempt *in recipe
        order* wins, so the result does not depend on timing (``flow/pnr/attempts.py``). Returns the rounds a
        one-at-a-time loop would have run, in order, their placements, and the winner (None: no attempt clean)."""
        jobs = route_jobs()
        decision, results = attempts.run_in_order(
            [a.density for a in PNR.attempts], lambda i: self.attempt_rounds(ctx, t, i), self.outcome, jobs,
            log=lambda msg: print(f"[route] {msg}", flush=True))
        placements: dict[Path, tuple[str, str]] = {}
        rounds: list[dict[str, Any]] = []
        for i in decision.considered:
            res = results[i]
            placements[Path(res["rounds"][0]["def"]).parent] = (res["legal"], res["head"])
            rounds += [dict(r) for r in res["rounds"]]
        return rounds, placements, (None if decision.winner is None else PNR.attempts[decision.winner])

    def run(self, ctx: FlowContext) -> dict[str, Any]:
        d = self.dir(ctx)
        t = pnr_tech(ctx)
        rounds, placements, winner = self.first_route(ctx, t)
        best = self.choose(rounds, winner)
        if best["failed_nets"] > 0:
            atomic_write_json(d / "rounds.json", rounds)
            tried = ", ".join(f"{Attempt(*r['attempt']).name}: "
                              f"{self.describe(r['failed_nets'], r['drc'], r.get('failed_names', ()))}" for r in rounds)
            raise StageError(self.name, Path(best["def"]).parent / "qrouter_r0.log", [],
                             f"no placement routed without failed nets (recipe {recipe_name()}; {tried})")
        attempt = Attempt(*best["attempt"])
        work = Path(best["def"]).parent
        legal, head = placements[work]
        stall, k, retried = 0, 0, False
        while not attempt.late:  # a late attempt ran its own re-routes (``late_rounds``)
            k += 1
            go, retried = feedback_round(k, self.rank(best) == (0, 0, 0), stall, rounds[-1]["failed_nets"] > 0, retried)
            if not go:
                break
            # build on the best round so far: its obstructions plus its remaining spacing boxes, grown a little
            # more after each round that did not improve; after a failed net, leave met1 (pin access) alone but for
            # the grid points of the M1M2 vias at its met1 boxes
            skip_met1 = rounds[-1]["failed_nets"] > 0
            boxes = drc_boxes(Path(best["drc_file"]))
            obs = list(best.get("obs", [])) + netcheck.obstructions(best.get("shorts", ())) + route.drc_obstructions(
                boxes, grow_um=0.02 * (1 + stall), skip_met1=skip_met1)
            if skip_met1:
                obs += route.via_site_obstructions(Path(best["def"]).read_text(), boxes)
            same = routed_before(obs, rounds, best["attempt"])
            if same is not None:  # the same input as a round already run: it would repeat that round
                print(f"[route] {attempt.name} round {k}: the obstructions of round {same} again; not re-routed "
                      f"(qrouter is deterministic)", flush=True)
                stall += 1
                continue
            failed, rdef, c = self.route_once(ctx, t, work, legal, head, obs, f"r{k}")
            times = self.stage_times(work / f"qrouter_r{k}.log")
            r = {"attempt": best["attempt"], "round": k, "failed_nets": failed, "def": str(rdef), **c.record(),
                 "obs": obs, "qrouter": times}
            rounds.append(r)
            print(f"[route] {attempt.name} round {k}: {self.describe(failed, c.drc, (), len(c.shorts))}; "
                  f"{self.describe_times(times)}", flush=True)
            if self.rank(r) < self.rank(best):
                best, stall = r, 0
            else:
                stall += 1
        if attempt.late:
            k = 1 + max(r["round"] for r in rounds if r["attempt"] == best["attempt"])
        self.full_count(ctx, t, best)  # a dirty late round (no clean attempt) was counted by the triage deck
        best = self.snap_rounds(ctx, t, best, rounds, k)
        routed_text = Path(best["def"]).read_text()
        atomic_write_text(self.routed_def(ctx), routed_text)
        self.gds(ctx).write_bytes(Path(best["gds"]).read_bytes())
        drc_src = Path(best["drc_file"])
        atomic_write_text(d / "drc.txt", "".join(f"{w}\t{' '.join(f'{v:.3f}' for v in b)}\n" for w, b in magic.read_drc(drc_src)))
        atomic_write_json(d / "rounds.json", [{k: v for k, v in r.items() if k != "obs"} for r in rounds])
        atomic_write_json(d / "drc_summary.json", magic.summarise(magic.read_drc(d / "drc.txt")))
        area = design_area(routed_text, defedit.lef_macro_sizes(ctx.pdk.lef.read_text()))
        inst_area = json.loads(ctx.path("synth_cells").read_text()).get("area_um2")
        return {"route__wirelength": route.def_wirelength_um(routed_text), "magic__drc_error__count": best["drc"],
                "route__failed_nets": best["failed_nets"], "route__short__count": len(best.get("shorts", ())), **area,
                "route__via_snap__count": best.get("snapped_vias", 0),
                "design__core__utilisation": (inst_area / area["design__core__area"]) if inst_area else None,
                "place__density__target": attempt.density,
                "route__attempts__count": len({tuple(r["attempt"]) for r in rounds}),
                "route__attempt__winner": attempt.name, "route__recipe": recipe_name(),
                "route__keepout": attempt.keepout,
                "route__pad_edit__count": sum(best.get("padfix", {}).values())}
