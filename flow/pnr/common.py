"""What the place-and-route stages share: the layout knobs (placement attempts), the design's top, the derived tech.

Each stage's fingerprint covers the modules its own module imports, transitively (``flow/sources.py``), so editing
one helper makes only the stages that use it stale, not the whole back end. The derived tech files are the ``pnr_tech`` artifact of
the ``pnr-tech`` stage (``tech_stage.py``); ``pnr_tech(ctx)`` only names them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from common.errors import BitbranchError
from flow.pnr import tech
from flow.stage import FlowContext

PNR_DIR = Path(__file__).resolve().parent


KEEPOUTS = ("full", "late")
"""When qrouter applies the met1 route-to-via keep-out: from the start (``full``), or from stage 3 with the halo
router LEF, pad edits and point-obstruction re-routes after it (``late``, ``RouteStage.late_rounds``)."""


@dataclass(frozen=True)
class Attempt:
    """One placement and route to try: qflow initial density (cell area / core area), graywolf seed, fanout
    buffering, the router's met1 keep-out (``KEEPOUTS``) and, for a late keep-out, whether a route that leaves
    failed nets is routed again with those nets' cells opened (``open_cells``: no halo points there)."""

    density: float
    seed: int
    buffered: bool = False
    keepout: str = "full"
    open_cells: bool = False

    def __post_init__(self) -> None:
        if self.keepout not in KEEPOUTS:
            raise ValueError(f"keepout {self.keepout!r} is not one of {', '.join(KEEPOUTS)}")
        if self.open_cells and not self.late:
            raise ValueError("open_cells needs the late keep-out (the halo points it opens are the late attempt's)")

    @property
    def placement_name(self) -> str:
        """The placement's name: attempts that differ only in the keep-out share one placement."""
        return f"d{round(self.density * 100):02d}-seed{self.seed}" + ("-buf" if self.buffered else "")

    @property
    def name(self) -> str:
        return self.placement_name + ("-late" if self.late else "") + ("-open" if self.open_cells else "")

    @property
    def late(self) -> bool:
        return self.keepout == "late"

    @property
    def placement(self) -> "Attempt":
        """The attempt with the full keep-out: what places it (``flow.pnr.place.place``, the place stage)."""
        return Attempt(self.density, self.seed, self.buffered)

    def as_list(self) -> list:
        """[density, seed, buffered] and, for a late keep-out, the keep-out, then ``True`` when it opens cells (so a
        full attempt's list, and a late one's without opened cells, is as before)."""
        return ([self.density, self.seed, self.buffered] + ([self.keepout] if self.late else [])
                + ([True] if self.open_cells else []))


@dataclass(frozen=True)
class PnrConfig:
    """Layout knobs (all hashed into the stages' up-to-date checks).

    Attempts are tried in order until one is clean: a full keep-out attempt when qrouter leaves no failed net (its
    DRC feedback re-routes follow), a late keep-out attempt when its own rounds end without failed net, short or
    magic box. A qrouter time-out of a full keep-out attempt means the density is too high for the router: the
    other attempts at that density are skipped. Fanout buffering (qflow blifFanout, max fanout 20, buffers only) is
    only a fallback, as it changes the netlist the front end measured.
    """

    # 0.28 first for every design, so the sweep compares designs at one density (at 0.35, parallel W4A4 had
    # routed 426 of 4102 nets after 20 min; at 0.45 BITS=4 designs did not route within 15 min); lower densities
    # are fallbacks
    # at each density another seed comes before the fanout-buffered netlist, which is not the one the front end
    # measured (serial_w2a2_n32 after 37734df: one failed net at d28-seed1, so the buffered placement won and its 13
    # buffers cost more energy than the new step order saved)
    # the late keep-out first: it always completes and takes seconds to minutes of qrouter CPU where the full
    # keep-out took minutes to hours (W1A1 8-12 s against minutes; baseline W4A4 never routed in 6 attempts), and it
    # wins only when clean, so a design it leaves dirty goes on as before
    # the late attempt with opened cells last: the one design it made clean (baseline pm1 W2A2, 1ce37ee) d28-seed1
    # routes clean with the same numbers in one qrouter run, where the opened re-route and its edits took three
    # (baseline W2A2's route stage 738 s in the idle demo at 33232b3; 255 s with d28-seed1 beside the late r0); it
    # stays for a design nothing else routes
    attempts: tuple[Attempt, ...] = (
        Attempt(0.28, 1, keepout="late"),
        Attempt(0.28, 1), Attempt(0.28, 2), Attempt(0.28, 1, True),
        Attempt(0.22, 1), Attempt(0.22, 1, True), Attempt(0.18, 1),
        Attempt(0.28, 1, keepout="late", open_cells=True))
    route_cpu_s: float = 2400.0  # CPU time of one qrouter run (load-independent; the wall-clock cap is 2x that)
    repair_rounds: int = 1  # DRC feedback re-routes after the first route (each one is a full qrouter run: the
    # first removes most boxes, e.g. 129 -> 56 on serial W3A3; more rounds doubled BITS=3 route times)
    repair_patience: int = 1  # stop after this many re-routes in a row that did not improve on the best
    pin_access_retry: bool = True  # one more re-route, met1 left unobstructed, when the last one left failed nets
    late_feedback: int = 3  # a late keep-out attempt's re-routes with point obstructions after its pad edits (up
    # to; it stops when one does not improve): one left baseline pm1 W4A4 at 15 boxes (39 before it) and baseline
    # twos W2A2 at 19 (30), where the full keep-out takes hours or another placement; in an ``open_cells`` attempt
    # a route with failed nets spends one of them on a re-route with those nets' cells opened (no halo points)
    tap_um: float = 7.0  # max distance from a row point to a well tap


PNR = PnrConfig()

ROUTE_JOBS_ENV = "BITBRANCH_ROUTE_JOBS"


def route_jobs(env: dict[str, str] | None = None) -> int:
    """How many placement attempts the route stage runs side by side: ``$BITBRANCH_ROUTE_JOBS`` (``make gds
    ROUTE_JOBS=n``), else the cores this process may use. Not a layout knob: the winner is the first clean attempt
    in recipe order whatever this is (``flow/pnr/attempts.py``), so it is not hashed."""
    env = os.environ if env is None else env
    text = (env.get(ROUTE_JOBS_ENV) or "").strip()
    if text:
        try:
            n = int(text)
        except ValueError:
            n = 0
        if n < 1:
            raise BitbranchError(f"{ROUTE_JOBS_ENV}={text!r} must be a positive integer (ROUTE_JOBS=2)")
        return n
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def top_of(ctx: FlowContext) -> str:
    return ctx.top


def pnr_tech(ctx: FlowContext) -> tech.PnrTech:
    """The derived tech files (artifact ``pnr_tech``, made by the pnr-tech stage): paths only, nothing written."""
    return tech.PnrTech(tech.tech_dir(ctx.root), ctx.pdk)


def recipe_name(attempts: Sequence[Attempt] | None = None) -> str:
    """The placement recipe in one string, the attempts in the order they are tried: ``d28-seed1,d28-seed2,...``."""
    return ",".join(a.name for a in (PNR.attempts if attempts is None else attempts))


def attempts_config(attempts: Sequence[Attempt]) -> list[list]:
    return [a.as_list() for a in attempts]
