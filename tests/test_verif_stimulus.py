"""The bench's stimulus, driver and checks, without a simulator (pure Python, fast)."""

from __future__ import annotations

import pytest

from model.contract import expected_y
from model.spec import DesignSpec
from verif.checks import COVERAGE_GOALS, check_trace
from verif.driver import first_difference, replay
from verif.pipe_model import PipeModel
from verif.stimulus import StimulusConfig, corner_vectors, make_stimulus

SPEC = DesignSpec("parallel", 2, 3, 7)


def test_stimulus_is_a_deterministic_function_of_the_seed():
    a = make_stimulus(SPEC, StimulusConfig(seed=3, n_random=40), latency=2, ii=1)
    b = make_stimulus(SPEC, StimulusConfig(seed=3, n_random=40), latency=2, ii=1)
    c = make_stimulus(SPEC, StimulusConfig(seed=4, n_random=40), latency=2, ii=1)
    assert a == b
    assert a.vectors != c.vectors and a.ready != c.ready


def test_plan_has_reset_clean_phase_midstream_reset_and_traffic():
    s = make_stimulus(SPEC, StimulusConfig(n_random=40, reset_cycles=3, midreset_cycles=2), latency=2, ii=1)
    assert s.rst[:3] == (True,) * 3 and not s.rst[3]
    assert all(s.offer[s.clean_start:s.clean_end]) and all(s.ready[s.clean_start:s.clean_end])
    assert s.rst[s.midreset_at:s.midreset_at + 2] == (True, True) and s.midreset_at > s.clean_end
    traffic = s.ready[s.clean_end:s.midreset_at]
    assert 0 < sum(traffic) < len(traffic)  # real back-pressure, not all-ready
    assert all(len(w) == SPEC.n and len(a) == SPEC.n for w, a in s.vectors)


@pytest.mark.parametrize("wbits,abits", [(1, 1), (2, 3), (4, 1), (3, 3)])
def test_corner_vectors_hit_the_extremes(wbits, abits):
    spec = DesignSpec("parallel", wbits, abits, 7)
    ys = {name: expected_y(spec, w, a) for name, (w, a) in corner_vectors(spec)}
    assert ys["all_minus1"] == spec.n and ys["all_plus1"] == spec.n and ys["plus1_times_minus1"] == -spec.n
    assert ys["y_max"] == spec.y_max and ys["y_max_neg_neg"] == spec.y_max
    assert ys["y_min"] == -spec.y_max and ys["y_min_neg_pos"] == -spec.y_max


def _run(bug=None, latency=2, ii=1, claimed_latency=None, spec=SPEC):
    stim = make_stimulus(spec, StimulusConfig(n_random=60), latency=latency, ii=ii)
    trace = replay(stim, PipeModel(spec, latency, ii, bug), latency)
    lat = latency if claimed_latency is None else claimed_latency
    return check_trace(spec, stim, trace.columns, lat, ii, tag=f"spec {spec.id} [model]"), trace


@pytest.mark.parametrize("latency,ii", [(0, 1), (2, 1), (3, 4)])
def test_correct_model_passes_with_full_coverage(latency, ii):
    rep, _ = _run(latency=latency, ii=ii)
    assert rep.passed, rep.failures
    assert all(rep.coverage[k] > 0 for k in COVERAGE_GOALS)
    assert set(rep.clean_latencies) == {latency} and set(rep.clean_intervals) == {ii}
    assert rep.flushed > 0 and rep.delivered + rep.flushed == rep.accepted


def test_wrong_y_is_reported_with_vector_expected_actual_and_spec():
    rep, _ = _run(bug="wrong_y_max")
    assert not rep.passed
    msg = next(f for f in rep.failures if "MISMATCH" in f)
    assert SPEC.id in msg and f"expected y={SPEC.y_max}" in msg and f"actual y={SPEC.y_max - 1}" in msg
    assert "w=[" in msg and "a=[" in msg


def test_y_changing_under_backpressure_is_caught():
    rep, _ = _run(bug="unstable")
    assert any("changed under back-pressure" in f for f in rep.failures)


def test_stale_output_after_reset_is_caught():
    rep, _ = _run(bug="stale")
    assert any("unexpected output" in f for f in rep.failures)


def test_latency_and_ii_are_checked_against_the_claim():
    rep, _ = _run(latency=2, claimed_latency=1)
    assert any("latency [2] cycles measured" in f and "manifest says 1" in f for f in rep.failures)
    stim = make_stimulus(SPEC, StimulusConfig(n_random=60), latency=2, ii=2)
    trace = replay(stim, PipeModel(SPEC, 2, 2), 2)
    rep = check_trace(SPEC, stim, trace.columns, 2, 1, tag="t")
    assert any("initiation interval [2]" in f for f in rep.failures)


def test_replay_is_deterministic_and_traces_compare_cycle_by_cycle():
    _, t1 = _run()
    _, t2 = _run()
    assert first_difference(t1.columns, t2.columns) is None
    _, t3 = _run(bug="wrong_y_max")
    assert "y differs" in first_difference(t1.columns, t3.columns)
