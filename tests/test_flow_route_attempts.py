"""The route stage's attempt order: seeds and buffering at one density, then lower densities; a time-out skips
the rest of its density. Place and route are replaced by fakes, so no tool runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from flow.pnr import common
from flow.pnr.common import Attempt, PnrConfig
from flow.pnr.place_stage import PlaceStage
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
    place_dir = tmp_path / "10-place"
    place_dir.mkdir()
    (place_dir / "placed.def").write_text("first")
    (place_dir / "qrouter_head.cfg").write_text("head")
    monkeypatch.setattr(PlaceStage, "dir", lambda self, ctx: place_dir)
    monkeypatch.setattr(RouteStage, "dir", lambda self, ctx: tmp_path / "11-route")
    monkeypatch.setattr(PlaceStage, "place", lambda self, ctx, a, work: (a.name, "head", {}))

    def route_once(self, ctx, t, work, legal, head, obs, tag):
        name = Path(work).name
        tried.append(name)
        failed = outcome.get(name, 0)
        return failed, (0 if failed == 0 else 10**9), Path(work) / "r.def", Path(work) / "r.gds", {}

    monkeypatch.setattr(RouteStage, "route_once", route_once)
    return outcome, tried


def first_route():
    RouteStage().first_route(None, None)  # the fakes need no context


def test_first_attempt_that_routes_ends_the_search(fake):
    outcome, tried = fake
    outcome.update({"d45-seed1": 3})
    first_route()
    assert tried == ["d45-seed1", "d45-seed1-buf"], tried


def test_open_nets_try_every_attempt_at_the_density_then_the_next_density(fake):
    outcome, tried = fake
    outcome.update({"d45-seed1": 3, "d45-seed1-buf": 5, "d45-seed2": 2})
    first_route()
    assert tried == ["d45-seed1", "d45-seed1-buf", "d45-seed2", "d35-seed1"], tried


def test_a_time_out_skips_the_rest_of_its_density(fake):
    outcome, tried = fake
    outcome.update({"d45-seed1": TIMED_OUT, "d35-seed1": TIMED_OUT})
    first_route()
    assert tried == ["d45-seed1", "d35-seed1", "d28-seed1"], tried


def test_no_attempt_routes_names_every_attempt_in_the_error(fake, monkeypatch):
    outcome, tried = fake
    outcome.update({a.name: (TIMED_OUT if a.density == 0.45 else 7) for a in ATTEMPTS})
    monkeypatch.setattr("flow.pnr.route_stage.pnr_tech", lambda ctx: None)
    with pytest.raises(StageError) as e:
        RouteStage().run(None)
    msg = str(e.value)
    assert "d45-seed1: qrouter timed out" in msg and "d35-seed1: failed nets 7" in msg and "d28-seed1: failed nets 7" in msg, msg
