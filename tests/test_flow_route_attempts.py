"""The route stage's attempt order: seeds and buffering at one density, then lower densities; a time-out skips
the rest of its density. Place and route are replaced by fakes, so no tool runs."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from flow.pnr import common
from flow.pnr.common import Attempt, PnrConfig
from flow.pnr.route_stage import TIMED_OUT, RouteStage
from flow.stage import StageError

ATTEMPTS = (Attempt(0.45, 1), Attempt(0.45, 1, True), Attempt(0.45, 2), Attempt(0.35, 1), Attempt(0.28, 1))


@pytest.fixture
def fake(monkeypatch, tmp_path):
    """Fake placement and routing: ``outcome[attempt name]`` is the failed-net count of its first route."""
    outcome: dict[str, int] = {}
    tried: list[str] = []
    monkeypatch.setattr(common, "PNR", PnrConfig(attempts=ATTEMPTS))
    monkeypatch.setattr("flow.pnr.route_stage.PNR", common.PNR)
    place_dir = tmp_path / "05-place"
    place_dir.mkdir()
    (place_dir / "placed.def").write_text("first")
    (place_dir / "qrouter_head.cfg").write_text("head")
    monkeypatch.setattr(RouteStage, "dir", lambda self, ctx: tmp_path / "06-route")
    # the fallback placements go through the placement helper both stages declare as a source
    monkeypatch.setattr("flow.pnr.route_stage.place", lambda stage, ctx, a, work: (a.name, "head", {}))

    def route_once(self, ctx, t, work, legal, head, obs, tag):
        name = Path(work).name
        tried.append(name)
        failed = outcome.get(name, 0)
        return failed, (0 if failed == 0 else 10**9), Path(work) / "r.def", Path(work) / "r.gds", {}

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
