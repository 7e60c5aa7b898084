"""Scoreboard, protocol checks and functional coverage over one recorded trace (pure Python).

Works on any trace produced through :class:`verif.driver.Driver`, from the RTL, a gate-level
netlist or a Python cycle model. Latency follows the manifest's definition (rtl.design.LATENCY_DEFINITION):
an input accepted at rising edge t whose out_valid is first seen right after edge t + L has latency L.
In the trace's cycle numbering (cycle c ends with edge c) that is: accepted in cycle c, first valid in
cycle c + L + 1; so a pipeline of R register stages from input to y has latency R - 1.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any

from model.contract import expected_y
from model.spec import DesignSpec
from verif.stimulus import Stimulus

MAX_LISTED_FAILURES = 20
LATENCY_OFFSET = 1
"""Cycles between 'accepted in cycle c' and 'first valid in cycle c + L + 1' not counted in L (see module doc)."""

PROTOCOL_GOALS: tuple[str, ...] = (
    "accepted",
    "output_backpressure",
    "input_stall",
    "valid_gap",
    "y_max_hit",
    "y_min_hit",
    "reset_mid_stream",
    "reset_flushed_outputs",
)


def coverage_goals(spec: DesignSpec) -> tuple[str, ...]:
    """Coverage bins a full regression run must hit at least once (a hole fails the run): the protocol bins, both
    y extremes of the encoding's range, and its required corners (pm1: all -1, all +1, alternating signs)."""
    return PROTOCOL_GOALS + tuple(f"corner_{name}" for name in spec.enc.required_corners)


COVERAGE_GOALS: tuple[str, ...] = coverage_goals(DesignSpec())
"""The goals of the default encoding (pm1)."""


@dataclass
class CheckReport:
    """Outcome of checking one trace: failures (empty = pass), coverage counters, measurements."""

    failures: list[str] = field(default_factory=list)
    n_failures: int = 0
    coverage: dict[str, int] = field(default_factory=dict)
    latencies: list[int] = field(default_factory=list)
    clean_latencies: list[int] = field(default_factory=list)
    clean_intervals: list[int] = field(default_factory=list)
    accepted: int = 0
    delivered: int = 0
    flushed: int = 0

    @property
    def passed(self) -> bool:
        return self.n_failures == 0

    def fail(self, msg: str) -> None:
        self.n_failures += 1
        if len(self.failures) < MAX_LISTED_FAILURES:
            self.failures.append(msg)

    def to_dict(self) -> dict[str, Any]:
        def span(xs: list[int]) -> list[int] | None:
            return [min(xs), max(xs)] if xs else None

        return {
            "passed": self.passed,
            "n_failures": self.n_failures,
            "failures": self.failures,
            "coverage": self.coverage,
            "accepted": self.accepted,
            "delivered": self.delivered,
            "flushed_by_reset": self.flushed,
            "latency_min_max": span(self.latencies),
            "clean_latency_min_max": span(self.clean_latencies),
            "clean_interval_min_max": span(self.clean_intervals),
        }


def _claim(values: set[int]) -> str:
    """The manifest's claim(s) in a message: one number, or the sorted list when run-time widths give several."""
    return str(next(iter(values))) if len(values) == 1 else str(sorted(values))


def expectations(spec: DesignSpec, stim: Stimulus, latency: int, ii: int):
    """(y per vector, prec_err per vector or None, latency of vector i, interval from vector i's accept to the
    next one's at full rate): the spec's own widths, or the stimulus's run-time widths (``stim.precs``, read
    against maxima ``stim.wbits``/``stim.abits``: ``model.runtime``)."""
    if not stim.precs:
        return [expected_y(spec, w, a) for w, a in stim.vectors], None, (lambda i: latency), (lambda i: ii)
    from model import runtime

    big = replace(spec, wbits=stim.wbits, abits=stim.abits)
    pairs = [runtime.expected(big, w, a, m, k) for (w, a), (m, k) in zip(stim.vectors, stim.precs)]
    steps = runtime.per_vector(big, stim.precs)
    # the operands are read in place, so the interval after accepting vector i is the next vector's own steps
    return ([y for y, _ in pairs], [f for _, f in pairs], (lambda i: runtime.LATENCY),
            (lambda i: steps[min(i + 1, len(steps) - 1)]))


def check_trace(
    spec: DesignSpec,
    stim: Stimulus,
    cols: dict[str, list[Any]],
    latency: int,
    ii: int,
    tag: str,
    full_coverage: bool = True,
) -> CheckReport:
    """Check every y against model.contract.expected_y, ordering, one-output-per-input, hold under
    back-pressure, latency and II against the manifest; count coverage. ``tag`` prefixes messages."""
    rep = CheckReport()
    goals = coverage_goals(spec)
    expect, expect_flag, lat_of, ii_of = expectations(spec, stim, latency, ii)
    if expect_flag is not None and any(expect_flag):
        goals += ("prec_err_flagged",)
    cov = {k: 0 for k in goals}
    cov.update(y_zero_hit=0, outputs_checked=0)
    n = len(cols["cycle"])
    pending: deque[int] = deque()
    accept_cycle: dict[int, int] = {}
    first_valid: dict[int, int] = {}
    clean_accepts: list[tuple[int, int]] = []  # (cycle, vector)
    clean_wrong: list[tuple[int, int]] = []  # (vector, latency) measured in the clean phase that differ
    too_fast: list[tuple[int, int]] = []  # (latency, vector) of outputs faster than the manifest says
    seen_reset_done = False

    def vec(i: int) -> str:
        w, a = stim.vectors[i]
        return f"vector #{i} ({stim.labels[i]}) w={list(w)} a={list(a)}"

    for k in range(n):
        c = cols["cycle"][k]
        if not cols["rst_n"][k]:
            if seen_reset_done:
                cov["reset_mid_stream"] += 1 if (k == 0 or cols["rst_n"][k - 1]) else 0
                if pending and (k == 0 or cols["rst_n"][k - 1]):
                    cov["reset_flushed_outputs"] += 1
            rep.flushed += len(pending) if seen_reset_done else 0
            pending.clear()
            continue
        seen_reset_done = True
        in_ready, out_valid, y = cols["in_ready"][k], cols["out_valid"][k], cols["y"][k]
        out_ready = cols["out_ready"][k]
        if in_ready is None:
            rep.fail(f"{tag}: in_ready is X/Z at cycle {c} (after reset)")
        if out_valid is None:
            rep.fail(f"{tag}: out_valid is X/Z at cycle {c} (after reset)")
        acc = cols["accepted"][k]
        if acc >= 0:
            pending.append(acc)
            accept_cycle[acc] = c
            rep.accepted += 1
            cov["accepted"] += 1
            if stim.clean_start <= c < stim.clean_end:
                clean_accepts.append((c, acc))
        if cols["in_valid"][k] and in_ready == 0:
            cov["input_stall"] += 1
        if not cols["in_valid"][k] and rep.accepted < len(stim.vectors):
            cov["valid_gap"] += 1
        if out_valid == 1:
            if y is None:
                rep.fail(f"{tag}: y is X/Z while out_valid at cycle {c}")
            if pending and pending[0] not in first_valid:
                first_valid[pending[0]] = c
            if not out_ready:
                cov["output_backpressure"] += 1
                nxt = k + 1
                if nxt < n and cols["rst_n"][nxt]:
                    if cols["out_valid"][nxt] != 1:
                        rep.fail(f"{tag}: out_valid dropped at cycle {cols['cycle'][nxt]} without out_ready")
                    elif cols["y"][nxt] != y:
                        rep.fail(
                            f"{tag}: y changed under back-pressure at cycle {cols['cycle'][nxt]}: "
                            f"held {y}, became {cols['y'][nxt]}"
                        )
                    elif expect_flag is not None and cols["flag"][nxt] != cols["flag"][k]:
                        rep.fail(f"{tag}: prec_err changed under back-pressure at cycle {cols['cycle'][nxt]}")
            else:
                if not pending:
                    rep.fail(f"{tag}: unexpected output y={y} at cycle {c}: no accepted input is pending "
                             "(stale output after reset, or more than one output per input)")
                    continue
                i = pending.popleft()
                rep.delivered += 1
                cov["outputs_checked"] += 1
                if y is not None:
                    want = expect[i]
                    if y != want:
                        hint = ""
                        if any(expect[j] == y for j in pending):
                            hint = " (out of order?)"
                        rep.fail(
                            f"{tag}: MISMATCH {vec(i)} at cycle {c}: expected y={want}, actual y={y}{hint}"
                        )
                    cov["y_max_hit"] += y == spec.y_max
                    cov["y_min_hit"] += y == spec.y_min
                    cov["y_zero_hit"] += y == 0
                if expect_flag is not None:
                    flag = cols["flag"][k]
                    if flag != expect_flag[i]:
                        w_p, a_p = stim.precs[i]
                        rep.fail(f"{tag}: {vec(i)} at widths wprec={w_p} aprec={a_p}, cycle {c}: expected "
                                 f"prec_err={expect_flag[i]}, actual {flag}")
                    elif flag == 1 and "prec_err_flagged" in cov:
                        cov["prec_err_flagged"] += 1
                lat = first_valid.get(i, c) - accept_cycle[i] - LATENCY_OFFSET
                rep.latencies.append(lat)
                if lat < lat_of(i):
                    too_fast.append((lat, i))
                if stim.clean_start <= accept_cycle[i] and first_valid.get(i, c) < stim.clean_end:
                    rep.clean_latencies.append(lat)
                    if lat != lat_of(i):
                        clean_wrong.append((i, lat))
    if pending:
        rep.fail(f"{tag}: {len(pending)} accepted input(s) never produced an output, first {vec(pending[0])}")
    unsent = len(stim.vectors) - sum(1 for x in cols["accepted"] if x >= 0)
    if unsent > 0:
        rep.fail(f"{tag}: {unsent} vector(s) never accepted within {n} cycles (in_ready stuck low?)")

    for i, name in enumerate(stim.labels):
        key = f"corner_{name}"
        if key in cov:
            cov[key] += sum(1 for x in cols["accepted"] if x == i)
    rep.coverage = cov

    # latency and initiation interval against the manifest (per input for run-time widths: model.runtime.steps)
    rep.clean_intervals = [b - a for (a, _), (b, _) in zip(clean_accepts, clean_accepts[1:])]
    wrong_ii = [(i, b - a) for (a, i), (b, _) in zip(clean_accepts, clean_accepts[1:]) if b - a != ii_of(i)]
    if not rep.clean_latencies:
        rep.fail(f"{tag}: no output completed in the clean phase: latency not measured")
    elif clean_wrong:
        rep.fail(f"{tag}: latency {sorted(set(rep.clean_latencies))} cycles measured at full rate, "
                 f"manifest says {_claim({lat_of(i) for i, _ in clean_wrong})}")
    if too_fast:
        lat, i = min(too_fast)
        rep.fail(f"{tag}: an output came after {lat} cycles, faster than the manifest latency {lat_of(i)}")
    if not rep.clean_intervals:
        rep.fail(f"{tag}: fewer than two inputs accepted at full rate: initiation interval not measured")
    elif wrong_ii:
        rep.fail(f"{tag}: initiation interval {sorted(set(rep.clean_intervals))} measured at full rate, "
                 f"manifest says {_claim({ii_of(i) for i, _ in wrong_ii})}")
    if full_coverage:
        holes = [k for k in goals if cov[k] == 0]
        if holes:
            rep.fail(f"{tag}: coverage holes: {', '.join(holes)}")
    return rep
