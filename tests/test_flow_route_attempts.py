"""The route stage's attempt order: seeds and buffering at one density, then lower densities; a time-out skips
the rest of its density. Place and route are replaced by fakes, so no tool runs."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from flow.pnr import common
from flow.pnr.common import Attempt, PnrConfig
from flow.pnr.route_stage import TIMED_OUT, Check, RouteStage, unchecked
from flow.stage import StageError

ATTEMPTS = (Attempt(0.45, 1), Attempt(0.45, 1, True), Attempt(0.45, 2), Attempt(0.35, 1), Attempt(0.28, 1))


@pytest.fixture
def fake(monkeypatch, tmp_path):
    """Fake placement and routing: ``outcome[attempt name]`` is the failed-net count of its first route.
    One attempt at a time (``BITBRANCH_ROUTE_JOBS=1``), so ``tried`` is the order they ran in."""
    outcome: dict[str, int] = {}
    tried: list[str] = []
    monkeypatch.setenv("BITBRANCH_ROUTE_JOBS", "1")
    monkeypatch.setattr(common, "PNR", PnrConfig(attempts=ATTEMPTS))
    monkeypatch.setattr("flow.pnr.route_stage.PNR", common.PNR)
    place_dir = tmp_path / "05-place"
    place_dir.mkdir()
    (place_dir / "placed.def").write_text("first")
    (place_dir / "qrouter_head.cfg").write_text("head")
    monkeypatch.setattr(RouteStage, "dir", lambda self, ctx: tmp_path / "06-route")
    # the fallback placements go through the placement helper both stages declare as a source
    monkeypatch.setattr("flow.pnr.route_stage.place", lambda stage, ctx, a, work: (a.name, "head", {}))

    def route_once(self, ctx, t, work, legal, head, obs, tag, late=False):
        name = Path(work).name
        tried.append(name)
        failed = outcome.get(name, 0)
        return failed, Path(work) / "r.def", (Check(0, Path(work) / "r.gds", Path(work) / "drc_r0.drc.txt") if failed == 0
                                              else unchecked(Path(work), tag))

    monkeypatch.setattr(RouteStage, "route_once", route_once)
    return outcome, tried


def fake_ctx(tmp_path):
    """Only the artifacts the attempt loop reads (the first placement); the fakes need nothing else."""
    files = {"placed_def": tmp_path / "05-place" / "placed.def", "qrouter_head": tmp_path / "05-place" / "qrouter_head.cfg"}
    return SimpleNamespace(path=lambda name: files[name])


@pytest.fixture
def first_route(tmp_path):
    return lambda: RouteStage().first_route(fake_ctx(tmp_path), None)


def test_first_attempt_that_routes_ends_the_search(fake, first_route):
    outcome, tried = fake
    outcome.update({"d45-seed1": 3})
    first_route()
    assert tried == ["d45-seed1", "d45-seed1-buf"], tried


def test_open_nets_try_every_attempt_at_the_density_then_the_next_density(fake, first_route):
    outcome, tried = fake
    outcome.update({"d45-seed1": 3, "d45-seed1-buf": 5, "d45-seed2": 2})
    first_route()
    assert tried == ["d45-seed1", "d45-seed1-buf", "d45-seed2", "d35-seed1"], tried


def test_a_time_out_skips_the_rest_of_its_density(fake, first_route):
    outcome, tried = fake
    outcome.update({"d45-seed1": TIMED_OUT, "d35-seed1": TIMED_OUT})
    first_route()
    assert tried == ["d45-seed1", "d35-seed1", "d28-seed1"], tried


def test_no_attempt_routes_names_every_attempt_in_the_error(fake, monkeypatch, tmp_path):
    outcome, tried = fake
    outcome.update({a.name: (TIMED_OUT if a.density == 0.45 else 7) for a in ATTEMPTS})
    monkeypatch.setattr("flow.pnr.route_stage.pnr_tech", lambda ctx: None)
    with pytest.raises(StageError) as e:
        RouteStage().run(fake_ctx(tmp_path))
    msg = str(e.value)
    assert "d45-seed1: qrouter timed out" in msg and "d35-seed1: failed nets 7" in msg and "d28-seed1: failed nets 7" in msg, msg


# --- side by side: the winner is the first clean attempt in recipe order, whatever finishes first -------------

from flow.pnr import attempts as AT  # noqa: E402
from flow.pnr.attempts import Outcome, decide  # noqa: E402

DENS = [a.density for a in ATTEMPTS]  # 0.45 x3, 0.35, 0.28


def test_decide_waits_for_earlier_attempts_before_naming_a_winner():
    d = decide(DENS, {1: Outcome(0)})  # attempt 1 is clean but attempt 0 is still out
    assert d.winner is None and d.pending == (0,)
    assert decide(DENS, {0: Outcome(3), 1: Outcome(0)}).winner == 1
    assert decide(DENS, {0: Outcome(0), 1: Outcome(0)}).winner == 0


def test_decide_a_time_out_invalidates_a_later_clean_attempt_at_its_density():
    d = decide(DENS, {0: Outcome(TIMED_OUT, timed_out=True), 1: Outcome(0)})
    assert d.winner is None and d.pending == (3, 4) and d.considered == (0,)  # 1 and 2 skipped, as one by one
    assert decide(DENS, {0: Outcome(TIMED_OUT, timed_out=True), 1: Outcome(0), 3: Outcome(0)}).winner == 3


def test_decide_no_winner_when_every_attempt_fails():
    out = {i: Outcome(2) for i in range(len(DENS))}
    d = decide(DENS, out)
    assert d.winner is None and d.pending == () and d.considered == tuple(range(len(DENS)))


def test_decide_an_error_counts_only_when_the_rule_reaches_it():
    from common.errors import BitbranchError

    err = Outcome(-1, error=BitbranchError("graywolf wrote no placement"))
    assert decide(DENS, {0: Outcome(0), 1: err}).winner == 0  # never reached
    assert decide(DENS, {0: Outcome(1), 1: err}).error == 1


def _timed_runner(tmp_path, fails, delay):
    """run(i): sleeps delay[i] s, records that it ran, returns the failed-net count fails[i]."""
    import time

    def run(i):
        time.sleep(delay.get(i, 0.0))
        (tmp_path / f"ran{i}").write_text("")
        return {"i": i, "failed": fails.get(i, 0)}

    return run


@pytest.mark.parametrize("jobs", [1, 2, 3])
def test_side_by_side_gives_the_one_by_one_winner(tmp_path, jobs):
    # attempt 0 fails slowly, attempt 1 (clean) is slow, attempt 2 (clean) is fast: 1 must still win
    fails, delay = {0: 4, 1: 0, 2: 0}, {0: 0.6, 1: 0.9, 2: 0.0}
    d, results = AT.run_in_order(DENS, _timed_runner(tmp_path, fails, delay),
                                 lambda r: Outcome(r["failed"]), jobs, log=lambda m: None)
    assert d.winner == 1 and d.considered == (0, 1) and sorted(results) == [0, 1]


def test_side_by_side_stops_attempts_that_can_no_longer_win(tmp_path):
    # attempt 0 is clean at once; attempt 1 would take 30 s: it is stopped, not waited for
    import time

    t0 = time.monotonic()
    d, _ = AT.run_in_order(DENS, _timed_runner(tmp_path, {0: 0, 1: 0}, {0: 0.2, 1: 30.0}),
                           lambda r: Outcome(r["failed"]), 2, log=lambda m: None)
    assert d.winner == 0 and time.monotonic() - t0 < 10 and not (tmp_path / "ran1").exists()


def test_side_by_side_hands_back_a_needed_attempts_error(tmp_path):
    from flow.stage import StageError

    def run(i):
        if i == 1:
            raise StageError("route", tmp_path / "place.log", ["no rows"], "graywolf/qflow wrote no placement")
        return {"failed": 3}

    with pytest.raises(StageError) as e:
        AT.run_in_order(DENS, run, lambda r: Outcome(r["failed"]), 2, log=lambda m: None)
    assert e.value.stage == "route" and "wrote no placement" in str(e.value) and e.value.last_lines == ("no rows",)


def test_route_stage_runs_attempts_in_processes_and_keeps_recipe_order(fake, monkeypatch, tmp_path):
    outcome, _tried = fake
    monkeypatch.setenv("BITBRANCH_ROUTE_JOBS", "2")
    outcome.update({"d45-seed1": 3, "d45-seed1-buf": 0, "d45-seed2": 0})
    rounds, placements, winner = RouteStage().first_route(fake_ctx(tmp_path), None)
    assert winner == ATTEMPTS[1]
    assert [Attempt(*r["attempt"]).name for r in rounds] == ["d45-seed1", "d45-seed1-buf"]
    assert [r["failed_nets"] for r in rounds] == [3, 0] and len(placements) == 2


LATE = Attempt(0.45, 1, keepout="late")
LATE_OPEN = Attempt(0.45, 1, keepout="late", open_cells=True)


def test_late_attempt_names_and_placement():
    assert LATE.name == "d45-seed1-late" and LATE.placement == ATTEMPTS[0] and LATE.placement_name == "d45-seed1"
    assert LATE.as_list() == [0.45, 1, False, "late"] and Attempt(*LATE.as_list()) == LATE
    assert ATTEMPTS[0].as_list() == [0.45, 1, False]  # a full attempt's list (and so the config) as before
    with pytest.raises(ValueError, match="keepout 'early'"):
        Attempt(0.28, 1, keepout="early")
    assert LATE_OPEN.name == "d45-seed1-late-open" and LATE_OPEN.placement == ATTEMPTS[0]
    assert LATE_OPEN.as_list() == [0.45, 1, False, "late", True] and Attempt(*LATE_OPEN.as_list()) == LATE_OPEN
    with pytest.raises(ValueError, match="open_cells needs the late keep-out"):
        Attempt(0.28, 1, open_cells=True)


def test_the_recipe_opens_cells_only_in_its_last_attempt():
    """Opened cells are the last resort: the first late attempt ends at a route with failed nets and the full
    keep-out attempts decide (baseline pm1 W2A2: d28-seed1 clean in one qrouter run)."""
    attempts = common.PNR.attempts
    assert attempts[0].late and not attempts[0].open_cells
    assert attempts[-1].open_cells and attempts[-1].placement == attempts[0].placement
    assert not any(a.open_cells for a in attempts[:-1])


def test_decide_a_dirty_attempt_is_not_clean_and_skips_no_density():
    assert decide(DENS, {0: Outcome(0, dirty=True), 1: Outcome(0)}).winner == 1
    d = decide(DENS, {0: Outcome(0, dirty=True)})
    assert d.winner is None and d.pending == (1, 2, 3, 4)


@pytest.fixture
def late(fake, monkeypatch):
    """The recipe with a late attempt first; ``late_result[0]`` is its rounds' (failed nets, shorts, DRC boxes)."""
    outcome, tried = fake
    monkeypatch.setattr(common, "PNR", PnrConfig(attempts=(LATE, *ATTEMPTS)))
    monkeypatch.setattr("flow.pnr.route_stage.PNR", common.PNR)
    late_result: list[list[tuple[int, int, int]]] = [[(0, 0, 0)]]

    def late_rounds(self, ctx, t, a, work, legal, head):
        assert legal == "first"  # the late attempt routes the place stage's placement, as the first full one
        tried.append(a.name)
        return [{"attempt": a.as_list(), "round": k, "failed_nets": f, "shorts": [("met1", (0, 0, 1, 1))] * sh,
                 "drc": n, "def": str(Path(work) / f"r{k}.def")} for k, (f, sh, n) in enumerate(late_result[0])]

    monkeypatch.setattr(RouteStage, "late_rounds", late_rounds)
    return outcome, tried, late_result


def test_a_clean_late_attempt_wins_and_nothing_else_runs(late, tmp_path):
    outcome, tried, late_result = late
    late_result[0] = [(0, 0, 91), (0, 0, 0)]  # the route, then its pad edits
    rounds, _placements, winner = RouteStage().first_route(fake_ctx(tmp_path), None)
    assert tried == ["d45-seed1-late"] and winner == LATE
    assert RouteStage.choose(rounds, winner)["round"] == 1


def test_a_dirty_late_attempt_hands_over_to_the_full_keepout(late, tmp_path):
    outcome, tried, late_result = late
    late_result[0] = [(0, 0, 78), (0, 0, 4), (1, 0, 10**9)]  # edits left 4 boxes, the re-route a failed net
    outcome.update({"d45-seed1": 3})
    rounds, _placements, winner = RouteStage().first_route(fake_ctx(tmp_path), None)
    assert tried == ["d45-seed1-late", "d45-seed1", "d45-seed1-buf"] and winner == ATTEMPTS[1]
    assert Attempt(*RouteStage.choose(rounds, winner)["attempt"]) == ATTEMPTS[1]


def test_with_no_clean_attempt_the_best_complete_late_round_is_kept(late, tmp_path):
    outcome, tried, late_result = late
    late_result[0] = [(0, 2, 300), (0, 0, 82), (0, 1, 5)]  # fewer boxes but a short: ranks behind the 82 boxes
    outcome.update({a.name: 7 for a in ATTEMPTS})
    rounds, _placements, winner = RouteStage().first_route(fake_ctx(tmp_path), None)
    assert winner is None and tried == ["d45-seed1-late", *(a.name for a in ATTEMPTS)]
    best = RouteStage.choose(rounds, winner)
    assert Attempt(*best["attempt"]) == LATE and best["round"] == 1


def test_a_late_time_out_skips_no_density(late, tmp_path):
    outcome, tried, late_result = late
    late_result[0] = [(TIMED_OUT, 0, 10**9)]
    rounds, _placements, winner = RouteStage().first_route(fake_ctx(tmp_path), None)
    assert tried == ["d45-seed1-late", "d45-seed1"] and winner == ATTEMPTS[0]


def test_route_jobs_knob(monkeypatch):
    from common.errors import BitbranchError
    from flow.pnr.common import route_jobs

    assert route_jobs({"BITBRANCH_ROUTE_JOBS": "3"}) == 3
    assert route_jobs({}) >= 1
    with pytest.raises(BitbranchError, match="positive integer"):
        route_jobs({"BITBRANCH_ROUTE_JOBS": "0"})


def test_failed_net_names_come_from_qrouters_final_list():
    from flow.pnr import route

    log = "...\nFinal: Failed net routes: 2\nList of failed nets follows:\n s2_valid\n _0739_\n\n*** Writing DEF\n"
    r = route.parse_log(log)
    assert r.failed_nets == 2 and r.failed_names == ("s2_valid", "_0739_")
    assert "s2_valid, _0739_" in RouteStage.describe(2, 10**9, r.failed_names)
    # one line per failed route: parallel_twos_w3a3_n32's d28-seed2 listed _1401_ twice among its 4
    twice = route.parse_log("Final: Failed net routes: 4\nList of failed nets follows:\n _0644_\n _1401_\n _1402_\n _1401_\n")
    assert twice.failed_nets == 4 and twice.failed_names == ("_0644_", "_1401_", "_1402_")


def test_speculative_attempts_run_at_a_lower_priority(tmp_path):
    import os
    import time

    base = os.getpriority(os.PRIO_PROCESS, 0)

    def run(i):
        time.sleep(1.5 if i == 0 else 0.3)  # attempt 1 finishes while attempt 0 still decides
        return {"failed": 3 if i == 0 else 0, "nice": os.getpriority(os.PRIO_PROCESS, 0)}

    d, results = AT.run_in_order(DENS, run, lambda r: Outcome(r["failed"]), 2, log=lambda m: None)
    assert d.winner == 1
    assert results[0]["nice"] == base and results[1]["nice"] == min(19, base + AT.SPECULATIVE_NICE)


def test_a_speculative_attempt_gets_its_priority_back_when_it_decides(tmp_path):
    import os
    import time

    if os.geteuid() != 0:
        pytest.skip("raising a priority back needs root")
    base = os.getpriority(os.PRIO_PROCESS, 0)

    def run(i):
        time.sleep(0.0 if i == 0 else 1.5)  # attempt 0 fails at once; attempt 1 then decides
        return {"failed": 3 if i == 0 else 0, "nice": os.getpriority(os.PRIO_PROCESS, 0)}

    d, results = AT.run_in_order(DENS, run, lambda r: Outcome(r["failed"]), 2, log=lambda m: None)
    assert d.winner == 1 and results[1]["nice"] == base


def test_a_tool_started_while_speculative_gets_its_priority_back_when_its_attempt_decides(tmp_path):
    """Each tool runs in a session (scheduler group) of its own, started at its attempt's niceness
    (``flow/toolguard.py``); the qrouter run of a speculative attempt that comes to decide is raised with it."""
    import os
    import subprocess
    import time
    from pathlib import Path

    from flow.stage import guarded_argv

    if os.geteuid() != 0:
        pytest.skip("raising a priority back needs root")
    if not Path("/proc/self/autogroup").is_file():
        pytest.skip("no autogroup scheduling on this kernel")
    base = os.getpriority(os.PRIO_PROCESS, 0)
    started = tmp_path / "started"  # attempt 1's tool writes its group here, then waits (3 s at most) to be raised
    tool = ["sh", "-c", f"cat /proc/self/autogroup > {started}; i=0; while [ $i -lt 30 ]; do "
            f"grep -q 'nice {base}$' /proc/self/autogroup && break; sleep 0.1; i=$((i+1)); done; cat /proc/self/autogroup"]

    def run(i):
        if i == 0:  # fails once attempt 1's tool runs: attempt 1, speculative until then, decides
            for _ in range(300):
                if started.is_file() and started.read_text():
                    break
                time.sleep(0.05)
            return {"failed": 3, "group": ""}
        out = subprocess.run(guarded_argv(tool), start_new_session=True, capture_output=True, text=True).stdout
        return {"failed": 0, "group": out}

    d, results = AT.run_in_order(DENS, run, lambda r: Outcome(r["failed"]), 2, log=lambda m: None)
    assert d.winner == 1
    assert started.read_text().split()[-1] == str(min(19, base + AT.SPECULATIVE_NICE))  # started speculative
    assert results[1]["group"].split()[-1] == str(base), results[1]["group"]  # raised with its attempt


def test_autogroup_nice_only_for_a_session_leader(tmp_path):
    """The session's scheduler group is re-niced only for a process that leads its own session (an attempt),
    never for one sharing the caller's session."""
    import os

    me = os.getpid()
    (tmp_path / str(me)).mkdir()
    leader = os.getsid(me) == me
    assert AT.autogroup_nice(me, 7, proc=tmp_path) is leader
    if leader:
        assert (tmp_path / str(me) / "autogroup").read_text() == "7\n"
    else:
        assert not (tmp_path / str(me) / "autogroup").exists()
    assert AT.autogroup_nice(me, 7, proc=tmp_path / "missing") is False


def test_speculative_attempt_sessions_get_a_lower_group_priority():
    """Under autogroup scheduling the speculative attempt's session group is niced like the attempt itself."""
    import os
    import time
    from pathlib import Path

    if not Path("/proc/self/autogroup").is_file():
        pytest.skip("no autogroup scheduling on this kernel")
    base = os.getpriority(os.PRIO_PROCESS, 0)

    def run(i):
        time.sleep(1.5 if i == 0 else 0.3)
        return {"failed": 3 if i == 0 else 0, "group": Path("/proc/self/autogroup").read_text()}

    d, results = AT.run_in_order(DENS, run, lambda r: Outcome(r["failed"]), 2, log=lambda m: None)
    assert d.winner == 1
    assert results[1]["group"].split()[-1] == str(min(19, base + AT.SPECULATIVE_NICE))
    assert results[0]["group"].split()[-1] == str(base)


def test_feedback_rounds_with_one_pin_access_retry():
    """Re-routes up to repair_rounds while not clean and improving; then one retry only after failed nets."""
    from flow.pnr.common import PnrConfig
    from flow.pnr.route_stage import feedback_round

    cfg = PnrConfig()  # repair_rounds 1, patience 1, pin-access retry on
    assert feedback_round(1, False, 0, False, False, cfg) == (True, False)
    assert feedback_round(1, True, 0, False, False, cfg) == (False, False)  # clean: nothing to do
    assert feedback_round(2, False, 0, False, False, cfg) == (False, False)  # improved, not clean: budget spent
    assert feedback_round(2, False, 1, True, False, cfg) == (True, True)  # last round cut nets off: one retry
    assert feedback_round(3, False, 1, True, True, cfg) == (False, True)  # only once
    off = PnrConfig(pin_access_retry=False)
    assert feedback_round(2, False, 1, True, False, off) == (False, False)
    more = PnrConfig(repair_rounds=3, repair_patience=2)
    assert [feedback_round(k, False, s, False, False, more)[0] for k, s in ((2, 1), (3, 1), (3, 2), (4, 0))] == \
        [True, True, False, False]


def test_feedback_skips_a_re_route_with_obstructions_already_routed():
    from flow.pnr.route_stage import routed_before

    a, b = [0.28, 1, False], [0.28, 2, False]
    rounds = [{"attempt": a, "round": 0}, {"attempt": a, "round": 1, "obs": ["obstruction 1 1 2 2 met3"]}]
    assert routed_before([], rounds, a) == 0  # no obstruction: round 0's input again
    assert routed_before(["obstruction 1 1 2 2 met3"], rounds, a) == 1
    assert routed_before(["obstruction 1 1 2 3 met3"], rounds, a) is None  # grown boxes: a new input
    assert routed_before([], rounds, b) is None  # another placement


@pytest.mark.parametrize("reason, timed_out", [("qrouter timed out after 2400 s of CPU time", True),
                                               ("qrouter timed out after 4800 s", True),
                                               ("qrouter exited with status -15", False),
                                               ("qrouter not found on PATH", False)])
def test_only_a_time_out_counts_as_one_a_crashed_or_killed_qrouter_is_an_error(monkeypatch, tmp_path, reason, timed_out):
    """A qrouter killed by a signal leaves no 'Final:' line; read as a time-out it skipped its whole density."""
    monkeypatch.setattr("flow.pnr.route_stage.defedit.rail_obstructions", lambda legal: "")
    monkeypatch.setattr("flow.pnr.route_stage.route.offtrack_obstructions", lambda legal: "")

    def run_tool(stage, tool, argv, work, *a, **k):
        (Path(work) / "qrouter_r0.log").write_text("Nets remaining: 1058\n")
        raise StageError(stage, Path(work) / "qrouter_r0.log", [], reason, timed_out=timed_out)  # as run_tool flags it

    monkeypatch.setattr("flow.pnr.route_stage.run_tool", run_tool)
    call = lambda: RouteStage().route_once(SimpleNamespace(top="t"), None, tmp_path / "w", "DEF", "head", [], "r0")  # noqa: E731
    if timed_out:
        assert call()[0] == TIMED_OUT
    else:
        with pytest.raises(StageError, match=reason):
            call()


@pytest.mark.parametrize("feedback, script, calls, last", [
    # (boxes of r0, r0p, r1, r1p, ...; None: that route leaves a failed net), the re-routes' obstructions (they add
    # up), the last round's drc
    (1, {"r0": 91, "r0p": 0}, [[]], 0),  # the pad edits clean it: no re-route
    (1, {"r0": 78, "r0p": 4, "r1": 50, "r1p": 0}, [[], ["via at box 4"]], 0),
    (1, {"r0": 78, "r0p": 4, "r1": None}, [[], ["via at box 4"]], 10**9),  # the re-route cut a net off: kept as a round
    (1, {"r0": 0}, [[]], 0),  # clean as routed: nothing to edit
    (1, {"r0": 78, "r0p": 30, "r1": 500, "r1p": 19}, [[], ["via at box 30"]], 19),  # one re-route, however many boxes
    (3, {"r0": 78, "r0p": 30, "r1": 500, "r1p": 19, "r2": 400, "r2p": 2, "r3": 300, "r3p": 0},
     [[], ["via at box 30"], ["via at box 30", "via at box 19"], ["via at box 30", "via at box 19", "via at box 2"]], 0),
    (3, {"r0": 78, "r0p": 30, "r1": 500, "r1p": 19, "r2": 400, "r2p": 25},  # no better than 19: stop
     [[], ["via at box 30"], ["via at box 30", "via at box 19"]], 25),
    (3, {"r0": 78, "r0p": 7, "r1": 500, "r1p": 0}, [[], ["tap at box 7"]], 0),  # no via beside the 7: their taps
])
def test_late_rounds_edit_then_re_route_with_point_obstructions(monkeypatch, tmp_path, feedback, script, calls, last):
    seen = late_harness(monkeypatch, tmp_path, feedback, script)
    monkeypatch.setattr("flow.pnr.route_stage.route.via_site_obstructions",
                        lambda text, boxes, spare_taps: [f"via at box {len(boxes)}"] if spare_taps and len(boxes) != 7 else [])
    monkeypatch.setattr("flow.pnr.route_stage.route.tap_site_obstructions", lambda text, boxes: [f"tap at box {len(boxes)}"])
    rounds = RouteStage().late_rounds(None, SimpleNamespace(router_lef=tmp_path / "router.lef"), LATE,
                                      tmp_path / LATE.name, "placed", "head")
    assert (tmp_path / LATE.name / "router_halo.lef").read_text() == "lef halo"  # written once, read by every route
    assert seen == calls
    assert [r["round"] for r in rounds] == list(range(len(script)))
    assert rounds[-1]["drc"] == last
    edits = [r for r in rounds if "padfix" in r]
    assert all(r["padfix"] == {"unrotated_stacked": 1, "unrotated_boxed": 2, "moved": 3, "taps_moved": 4,
                                  "taps_kept": 1} for r in edits)
    assert [r["padfix_of"] for r in edits] == [r["round"] - 1 for r in edits]


@pytest.mark.parametrize("via_points, tap_points, calls", [
    # a pin A with grid points (1, 1) and (1, 1.34); B with (5, 5) only
    (["obstruction 0.990 0.990 1.010 1.010 met1"], [], [[], ["obstruction 0.990 0.990 1.010 1.010 met1"]]),
    (["obstruction 4.990 4.990 5.010 5.010 met1"], [], [[]]),  # B's only point: no re-route
    (["obstruction 4.990 4.990 5.010 5.010 met1"], ["obstruction 0.990 1.330 1.010 1.350 met1"],
     [[], ["obstruction 0.990 1.330 1.010 1.350 met1"]]),  # the via point spared, the taps' point instead
    (["obstruction 0.990 0.990 1.010 1.010 met1", "obstruction 0.990 1.330 1.010 1.350 met1"], [],
     [[], ["obstruction 0.990 0.990 1.010 1.010 met1"]]),  # not both of A's points
])
def test_late_re_routes_never_take_a_pins_last_grid_point(monkeypatch, tmp_path, capsys, via_points, tap_points, calls):
    """qrouter finds 'no taps' for a pin whose every grid point is obstructed and fails its net (parallel W3A3,
    baseline twos W2A2, serial W4A4 and baseline W4A4 keep-out late: a re-route's point on a pin's only point)."""
    seen = late_harness(monkeypatch, tmp_path, 1, {"r0": 78, "r0p": 4, "r1": 50, "r1p": 0})
    monkeypatch.setattr("flow.pnr.route_stage.halo.access_points",
                        lambda legal, lef: {("u1", "A"): frozenset({(1.0, 1.0), (1.0, 1.34)}), ("u2", "B"): frozenset({(5.0, 5.0)})})
    monkeypatch.setattr("flow.pnr.route_stage.route.via_site_obstructions", lambda text, boxes, spare_taps: via_points)
    monkeypatch.setattr("flow.pnr.route_stage.route.tap_site_obstructions", lambda text, boxes: tap_points)
    RouteStage().late_rounds(None, SimpleNamespace(router_lef=tmp_path / "router.lef"), LATE, tmp_path / LATE.name,
                             "placed", "head")
    assert seen == calls
    out = capsys.readouterr().out
    assert ("no obstruction on the last free grid point of u" in out) == (calls[-1] != via_points)
    assert ("no re-route" in out) == (len(calls) == 1)


def late_harness(monkeypatch, tmp_path, feedback: int, script: dict) -> list[list[str]]:
    """``late_rounds`` with the routes, checks and edits scripted (``script``: the boxes of r0, r0p, r1, ...; None: a
    route with a failed net); returns the obstructions each route got, filled in as they run."""
    from flow.pnr import padfix

    monkeypatch.setattr("flow.pnr.route_stage.PNR", PnrConfig(attempts=(LATE,), late_feedback=feedback))
    monkeypatch.setattr("flow.pnr.route_stage.halo.check_grid", lambda legal: None)
    monkeypatch.setattr("flow.pnr.route_stage.magic.read_drc", lambda f: [("Metal1 spacing", (0, 0, 1, 1))] * int(f.read_text()))
    monkeypatch.setattr("flow.pnr.route_stage.padfix.fix_pads",
                        lambda text, boxes, pins: (text + " edited", padfix.PadFixes(1, 2, 3, 4, len(pins["n"]))))
    monkeypatch.setattr("flow.pnr.route_stage.halo.access_points", lambda legal, lef: {})
    # the pad edits get the pins' li1 of the placed DEF (one shape here: one tap kept, as the stub above counts)
    monkeypatch.setattr("flow.pnr.route_stage.halo.net_pin_shapes",
                        lambda legal, lef: {"n": [(0, 0, 1, 1)]} if legal == "placed" else {})
    seen: list[list[str]] = []

    def route_once(self, ctx, t, work, legal, head, obs, tag, late=False):
        assert late and legal == "placed"
        seen.append(list(obs))
        rdef = Path(work) / f"routed_{tag}.def"
        rdef.parent.mkdir(parents=True, exist_ok=True)
        rdef.write_text(tag)
        (Path(work) / f"drc_{tag}.drc.txt").write_text(str(script[tag] or 0))
        if script[tag] is None:
            return 1, rdef, unchecked(Path(work), tag)
        return 0, rdef, Check(script[tag], Path(work) / f"{tag}.gds", Path(work) / f"drc_{tag}.drc.txt")

    def check(self, ctx, t, work, routed, tag, triage=False):
        assert Path(routed).read_text().endswith(" edited") and triage
        (Path(work) / f"drc_{tag}.drc.txt").write_text(str(script[tag]))
        return Check(script[tag], Path(work) / f"{tag}.gds", Path(work) / f"drc_{tag}.drc.txt")

    monkeypatch.setattr(RouteStage, "route_once", route_once)
    monkeypatch.setattr(RouteStage, "check", check)
    monkeypatch.setattr(RouteStage, "stage_times", staticmethod(lambda log: {}))
    monkeypatch.setattr(RouteStage, "describe_times", staticmethod(lambda times: ""))
    monkeypatch.setattr("flow.pnr.route_stage.halo.halo_lef", lambda lef: (lef + " halo", 1))
    (tmp_path / "router.lef").write_text("lef")
    return seen


@pytest.mark.parametrize("script, opened, last", [
    # r0 leaves n1 failed: r1 opens its cells and routes; its edits end clean
    ({"r0": None, "r1": 40, "r1p": 0}, [[], ["u1", "u2"]], 0),
    # the opened re-route leaves n1 failed again: no new cell to open, the attempt ends
    ({"r0": None, "r1": None}, [[], ["u1", "u2"]], 10**9),
    # n1, then n2 (u3): the cells add up
    ({"r0": None, "r1": None, "r2": 7, "r2p": 0}, [[], ["u1", "u2"], ["u1", "u2", "u3"]], 0),
])
def test_late_route_with_failed_nets_opens_their_cells(monkeypatch, tmp_path, capsys, script, opened, last):
    """A late route with failed nets is routed again with the cells of those nets on halo-free macros (baseline pm1
    W2A2: ``qa_19[1]`` failed, congested among six cells' halo points), within the re-route budget."""
    late_harness(monkeypatch, tmp_path, 3, script)
    failing = iter(["n1", "n2"] if "r2" in script else ["n1", "n1"])
    cells = {"n1": ["u1", "u2"], "n2": ["u2", "u3"]}
    monkeypatch.setattr("flow.pnr.route_stage.halo.net_cells", lambda legal, nets: [c for n in nets for c in cells[n]])
    seen: list[list[str]] = []

    def route_once(self, ctx, t, work, legal, head, obs, tag, late=False, opened=()):
        seen.append(list(opened))
        rdef = Path(work) / f"routed_{tag}.def"
        rdef.parent.mkdir(parents=True, exist_ok=True)
        rdef.write_text(tag)
        (Path(work) / f"drc_{tag}.drc.txt").write_text(str(script[tag] or 0))
        if script[tag] is None:
            (Path(work) / f"qrouter_{tag}.log").write_text(
                f"Final: Failed net routes: 1\nList of failed nets follows:\n {next(failing)}\n")
            return 1, rdef, unchecked(Path(work), tag)
        return 0, rdef, Check(script[tag], Path(work) / f"{tag}.gds", Path(work) / f"drc_{tag}.drc.txt")

    monkeypatch.setattr(RouteStage, "route_once", route_once)
    rounds = RouteStage().late_rounds(None, SimpleNamespace(router_lef=tmp_path / "router.lef"), LATE_OPEN,
                                      tmp_path / LATE_OPEN.name, "placed", "head")
    assert seen == opened
    assert [r.get("opened_cells", []) for r in rounds if "padfix" not in r] == opened
    assert min(RouteStage.rank(r) for r in rounds)[2] == last
    assert "re-route with the 2 cells of n1 without their halo points" in capsys.readouterr().out


def test_a_late_attempt_without_open_cells_ends_at_a_route_with_failed_nets(monkeypatch, tmp_path):
    late_harness(monkeypatch, tmp_path, 3, {"r0": None})
    monkeypatch.setattr("flow.pnr.route_stage.halo.net_cells", lambda legal, nets: ["u1"])
    tags: list[str] = []

    def route_once(self, ctx, t, work, legal, head, obs, tag, late=False, opened=()):
        tags.append(tag)
        rdef = Path(work) / f"routed_{tag}.def"
        rdef.parent.mkdir(parents=True, exist_ok=True)
        rdef.write_text(tag)
        (Path(work) / f"qrouter_{tag}.log").write_text("Final: Failed net routes: 1\nList of failed nets follows:\n n1\n")
        return 1, rdef, unchecked(Path(work), tag)

    monkeypatch.setattr(RouteStage, "route_once", route_once)
    rounds = RouteStage().late_rounds(None, SimpleNamespace(router_lef=tmp_path / "router.lef"), LATE,
                                      tmp_path / LATE.name, "placed", "head")
    assert tags == ["r0"] and [r["failed_nets"] for r in rounds] == [1]
