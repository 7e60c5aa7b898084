"""The encoding registry (model.encodings): every registered encoding has every part and its parts agree; the
{0,1} bit-plane (twos) branch form equals plain integer arithmetic for M, K in 1..8 and N in 1..2048; the spec,
ids, corners, coverage goals, cycle model and estimate follow the encoding; ``ENCODING=foo`` is one error line
from every entry point; and a toy encoding defined only in this file runs through spec, RTL, cycle model and
estimate after one ``monkeypatch.setitem(REGISTRY, "uns", UNS)``."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model import encodings
from model.contract import expected_y, pack_bus
from model.encodings import AND, CALLABLE_PARTS, REGISTRY, Encoding, RegistryError
from model.spec import DesignSpec, SpecError
from rtl import archs
from verif.checks import coverage_goals
from verif.driver import replay
from verif.stimulus import StimulusConfig, corner_vectors, make_stimulus

REPO = Path(__file__).resolve().parents[1]
TWOS = encodings.get("twos")


# --- the registry ----------------------------------------------------------------------------------------

def test_the_registered_encodings_are_complete():
    encodings.check()
    assert encodings.names()[0] == encodings.DEFAULT == DesignSpec().encoding == "pm1"
    assert set(encodings.names()) >= {"pm1", "twos"}


@pytest.mark.parametrize("part", CALLABLE_PARTS)
def test_a_descriptor_lacking_a_part_is_caught(part, monkeypatch):
    monkeypatch.setitem(REGISTRY, "twos", dataclasses.replace(TWOS, **{part: None}))
    with pytest.raises(RegistryError, match=f"encoding 'twos': {part} is not callable"):
        encodings.check()
    with pytest.raises(RegistryError):
        DesignSpec(encoding="twos")


@pytest.mark.parametrize("change, match", [
    (dict(name="other"), "differs from its descriptor's name"),
    (dict(gate="and"), "gate must be a model.encodings.Gate"),
    (dict(w_word="odd"), "decode_w disagrees with w_word='odd'"),
    (dict(a_range=lambda bits: (0, 1 << bits)), "a_range"),
    (dict(encode_w=lambda q, bits: np.asarray(q)), "encode_w is not the inverse"),
    (dict(label=""), "label must be one non-empty line"),
    (dict(required_corners=()), "required_corners"),
])
def test_malformed_descriptors_are_caught(change, match, monkeypatch):
    monkeypatch.setitem(REGISTRY, "twos", dataclasses.replace(TWOS, **change))
    with pytest.raises(RegistryError, match=match):
        encodings.check()


def test_an_unknown_encoding_is_a_spec_error_naming_the_registered_ones():
    with pytest.raises(SpecError, match=r"unknown encoding 'foo': choose one of pm1, twos"):
        DesignSpec(encoding="foo")


# --- twos arithmetic -------------------------------------------------------------------------------------

def test_twos_words_and_ranges():
    assert TWOS.w_range(1) == (-1, 0) and TWOS.a_range(1) == (0, 1)  # at M=1 the weights are {-1, 0}
    assert TWOS.w_range(3) == (-4, 3) and TWOS.a_range(3) == (0, 7)
    np.testing.assert_array_equal(TWOS.decode_w(np.arange(8), 3), [0, 1, 2, 3, -4, -3, -2, -1])
    np.testing.assert_array_equal(TWOS.w_levels(2), [-2, -1, 0, 1])
    np.testing.assert_array_equal(TWOS.nearest_a([-3.0, 0.49, 0.5, 2.6, 99.0], 2), [0, 0, 1, 3, 3])
    with pytest.raises(ValueError, match="word out of range"):
        TWOS.decode_w([8], 3)
    with pytest.raises(ValueError, match="value out of range"):
        TWOS.encode_a([-1], 3)


@st.composite
def twos_vectors(draw):
    """(M, K, w words, a words): random, extreme (all min, all max, min x max) or alternating, N in 1..2048."""
    m, k = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    n = draw(st.integers(1, 2048))
    kind = draw(st.sampled_from(["random", "all_min", "all_max", "min_times_max", "alternating"]))
    wmin, wmax, amax = 1 << (m - 1), (1 << (m - 1)) - 1, (1 << k) - 1  # words of -2^(M-1), 2^(M-1)-1, 2^K-1
    if kind == "random":
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        w, a = rng.integers(0, 1 << m, n), rng.integers(0, 1 << k, n)
    elif kind == "all_min":
        w, a = np.full(n, wmin), np.zeros(n, dtype=np.int64)
    elif kind == "all_max":
        w, a = np.full(n, wmax), np.full(n, amax)
    elif kind == "min_times_max":
        w, a = np.full(n, wmin), np.full(n, amax)
    else:
        w, a = np.where(np.arange(n) % 2 == 0, wmin, wmax), np.where(np.arange(n) % 2 == 0, amax, 0)
    return m, k, np.asarray(w, dtype=np.int64), np.asarray(a, dtype=np.int64)


def plain_twos(w: np.ndarray, a: np.ndarray, m: int) -> int:
    """Integer arithmetic written out here: two's-complement weight words times unsigned activation words."""
    half = 1 << (m - 1)
    return int((((w ^ half) - half) * a).sum())


@settings(max_examples=300, deadline=None)
@given(twos_vectors())
def test_twos_branch_form_equals_integer_arithmetic(mkwa):
    """y = sum_{i,j} s_i 2^(i+j) popcount(AND(w_i, a_j)), s_i = -1 for the top weight plane, against plain integers."""
    m, k, w, a = mkwa
    want = plain_twos(w, a, m)
    assert int(TWOS.branch_dot(w, a, m, k)) == want == int(TWOS.integer_dot(w, a, m, k))
    # the formula spelled out with Python integers, plane by plane
    total = 0
    for i in range(m):
        for j in range(k):
            pc = int((((w >> i) & 1) & ((a >> j) & 1)).sum())
            total += (-1 if i == m - 1 else 1) * (pc << (i + j))
    assert total == want


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 8), st.integers(1, 8), st.integers(1, 200), st.integers(0, 2**32 - 1))
def test_both_encodings_branch_matmul_is_exact(m, k, n, seed):
    rng = np.random.default_rng(seed)
    w, a = rng.integers(0, 1 << m, (3, n)), rng.integers(0, 1 << k, (4, n))
    for name in encodings.names():
        enc = encodings.get(name)
        np.testing.assert_array_equal(enc.branch_matmul(a, w, k, m), enc.integer_matmul(a, w, k, m))


# --- the spec, the bench and the models follow the encoding -----------------------------------------------

def test_twos_spec_id_range_and_width():
    s = DesignSpec("parallel", 2, 2, 32, encoding="twos")
    assert s.id == "parallel_twos_w2a2_n32" and DesignSpec.from_id(s.id) == s
    assert (s.y_min, s.y_max) == (-32 * 2 * 3, 32 * 1 * 3) and s.out_width == 9  # -192 needs 8 bits + sign
    assert DesignSpec.from_id("serial_twos_w3a1_n7_popcount-wallace").encoding == "twos"
    assert DesignSpec("baseline", 1, 3, 5, encoding="twos").y_max == 0  # weights {-1, 0}
    with pytest.raises(SpecError, match="not a design id"):
        DesignSpec.from_id("parallel_pm1_w2a2_n32")  # the default is never spelled out


@pytest.mark.parametrize("w,a,n", [(1, 1, 1), (1, 4, 7), (3, 2, 9), (16, 16, 65536), (8, 1, 3)])
def test_twos_out_width_is_minimal(w, a, n):
    s = DesignSpec("serial", w, a, n, encoding="twos")
    ow = s.out_width
    assert -(1 << (ow - 1)) <= s.y_min and s.y_max <= (1 << (ow - 1)) - 1
    if ow > 2:  # the contract's floor is 2 bits (twos W1A1 N1: y in {-1, 0})
        assert s.y_min < -(1 << (ow - 2)) or s.y_max > (1 << (ow - 2)) - 1, "one bit fewer would not do"
    else:
        assert ow == 2


@pytest.mark.parametrize("wbits,abits", [(1, 1), (1, 3), (2, 2), (3, 2), (4, 1), (8, 8)])
def test_twos_corners_hit_both_extremes(wbits, abits):
    spec = DesignSpec("parallel", wbits, abits, 5, encoding="twos")
    ys = {name: expected_y(spec, w, a) for name, (w, a) in corner_vectors(spec)}
    assert ys["all_max"] == spec.y_max and ys["y_min"] == spec.y_min
    assert min(ys.values()) == spec.y_min and max(ys.values()) == spec.y_max
    assert coverage_goals(spec)[-3:] == ("corner_all_min", "corner_all_max", "corner_y_min")


@pytest.mark.parametrize("arch", ["parallel", "serial", "baseline"])
@pytest.mark.parametrize("w,a,n", [(3, 2, 7), (1, 1, 1), (1, 4, 3), (4, 1, 2)])
def test_twos_cycle_models_pass_the_bench_checks(arch, w, a, n):
    from verif.checks import check_trace

    spec = DesignSpec(arch, w, a, n, encoding="twos")
    lat, ii = archs.timing(spec)
    stim = make_stimulus(spec, StimulusConfig(seed=3, n_random=40), lat, ii)
    rep = check_trace(spec, stim, replay(stim, archs.cycle_model(spec), lat).columns, lat, ii, spec.id)
    assert rep.passed, rep.failures


@pytest.mark.parametrize("arch", ["parallel", "serial", "baseline"])
def test_twos_rtl_states_its_encoding(arch):
    from rtl.generate import design_for, manifest_for

    spec = DesignSpec(arch, 3, 2, 7, encoding="twos")
    design = design_for(spec)
    manifest = manifest_for(spec, design)
    assert manifest["encoding"] == "twos" and manifest["top"] == f"bb_{arch}_twos_w3a2_n7"
    text = "\n".join(m.text for m in design.modules)
    assert '"encoding": "twos"' in text
    if arch != "baseline":
        assert "wp & ap" in text and "~(wp ^ ap)" not in text  # AND branch units, no XNOR
    pm1 = "\n".join(m.text for m in design_for(DesignSpec(arch, 3, 2, 7)).modules)
    assert "encoding" not in pm1  # the default stays out of the RTL, as out of the id


def test_twos_estimates_are_finite_and_use_and_gates():
    from reports.estimates import activity, estimate

    for arch in archs.names():
        area, e = estimate(DesignSpec(arch, 2, 2, 32, encoding="twos"))
        assert area > 0 and e > 0
    kinds = {p.kind for p in activity(DesignSpec("parallel", 2, 2, 32, encoding="twos")).parts}
    assert "and" in kinds and "xnor" not in kinds


# --- one error line from every entry point ----------------------------------------------------------------

@pytest.mark.parametrize("argv", [
    ["-m", "rtl", "--encoding", "foo"],
    ["-m", "rtl", "spec", "--encoding", "foo"],
    ["-m", "verif", "--encoding", "foo"],
    ["-m", "verif", "--encoding", "foo", "--fast", "1"],
    ["-m", "flow", "synth", "--encoding", "foo"],
    ["-m", "reports", "table", "--encodings", "foo"],
    ["-m", "reports.qnn", "--encodings", "foo"],
])
def test_bad_encoding_is_one_error_line(argv, tmp_path):
    run = subprocess.run([sys.executable, *argv, "--root" if "reports.qnn" not in argv else "--out", str(tmp_path)],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert lines == ["error: unknown encoding 'foo': choose one of pm1, twos"], run.stderr


def test_make_encoding_foo_is_one_error_line():
    run = subprocess.run(["make", "-s", "rtl", "ENCODING=foo"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode != 0 and "error: unknown encoding 'foo': choose one of pm1, twos" in run.stderr


# --- a toy encoding, defined here only: both operands unsigned, AND branches, no signs --------------------

def _uns_corners(wbits: int, abits: int):
    wh, ah = (1 << wbits) - 1, (1 << abits) - 1
    return (("zero", (0, 0), (0, 0)), ("top", (wh, wh), (ah, ah)), ("mixed", (wh, 0), (0, ah)))


def _uns_check(q, bits):
    q = np.asarray(q, dtype=np.int64)
    if q.size and (q.min() < 0 or q.max() >= (1 << bits)):
        raise ValueError("out of range")
    return q


UNS = Encoding(
    name="uns", label="unsigned (toy)", description="test only: unsigned weights and activations, AND branches",
    decode_w=_uns_check, decode_a=_uns_check, encode_w=_uns_check, encode_a=_uns_check,
    w_range=lambda b: (0, (1 << b) - 1), a_range=lambda b: (0, (1 << b) - 1), w_word="unsigned", a_word="unsigned",
    w_levels=lambda b: np.arange(1 << b), a_levels=lambda b: np.arange(1 << b),
    nearest_w=lambda t, b: np.clip(np.floor(np.asarray(t) + 0.5), 0, (1 << b) - 1).astype(np.int64),
    nearest_a=lambda t, b: np.clip(np.floor(np.asarray(t) + 0.5), 0, (1 << b) - 1).astype(np.int64),
    gate=AND, pc_shift=0, plane_sign=lambda i, wbits: 1, constant=lambda w, a, n: 0, corners=_uns_corners,
    required_corners=("zero", "top"), formula="sum_{i,j} 2^(i+j) pc_ij", constant_text="0",
)


def test_the_toy_encoding_runs_through_spec_rtl_models_and_estimate(monkeypatch):
    from reports.estimates import estimate
    from rtl.generate import design_for, manifest_for
    from verif.checks import check_trace

    monkeypatch.setitem(REGISTRY, "uns", UNS)
    encodings.check()
    for arch in archs.names():
        spec = DesignSpec(arch, 2, 3, 5, encoding="uns")
        assert spec.id == f"{arch}_uns_w2a3_n5" and spec.y_min == 0 and spec.y_max == 5 * 3 * 7
        manifest_for(spec, design_for(spec))
        lat, ii = archs.timing(spec)
        stim = make_stimulus(spec, StimulusConfig(seed=1, n_random=30), lat, ii)
        rep = check_trace(spec, stim, replay(stim, archs.cycle_model(spec), lat).columns, lat, ii, spec.id)
        assert rep.passed, rep.failures
        assert estimate(spec)[0] > 0
    w, a = [3, 1, 0, 2, 3], [7, 7, 1, 0, 5]
    assert expected_y(DesignSpec(encoding="uns", wbits=2, abits=3, n=5), w, a) == 21 + 7 + 15
    assert pack_bus(w, 2) > 0


def test_without_the_registry_line_the_toy_is_refused():
    with pytest.raises(SpecError, match="unknown encoding 'uns'"):
        DesignSpec(encoding="uns")
