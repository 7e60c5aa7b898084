"""Property tests: encode/decode round trips and the branch dot product against integer arithmetic."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.encoding import (
    branch_dot,
    branch_matmul,
    code_from_planes,
    code_from_word,
    code_range,
    codes,
    integer_dot,
    pack_planes,
    planes_from_word,
    word_from_code,
    word_from_planes,
)

bits_st = st.integers(1, 8)


@st.composite
def words(draw, bits=None, n_max=2048):
    """(bits, words) with words a random, extreme or alternating vector of N in 1..n_max."""
    m = draw(bits_st) if bits is None else bits
    n = draw(st.integers(1, n_max))
    kind = draw(st.sampled_from(["random", "all_minus", "all_plus", "alternating"]))
    top = (1 << m) - 1
    if kind == "all_minus":
        u = np.zeros(n, dtype=np.int64)
    elif kind == "all_plus":
        u = np.full(n, top, dtype=np.int64)
    elif kind == "alternating":
        u = np.where(np.arange(n) % 2 == 0, 0, top).astype(np.int64)
    else:
        seed = draw(st.integers(0, 2**32 - 1))
        u = np.random.default_rng(seed).integers(0, top + 1, n, dtype=np.int64)
    return m, u


@given(words())
def test_word_code_round_trip(mu):
    m, u = mu
    q = code_from_word(u, m)
    assert np.all(q % 2 != 0), "codes must be odd"
    lo, hi = code_range(m)
    assert q.min() >= lo and q.max() <= hi
    np.testing.assert_array_equal(word_from_code(q, m), u)


@given(words())
def test_planes_round_trip_and_value(mu):
    m, u = mu
    b = planes_from_word(u, m)
    assert b.shape == (m, u.size) and set(np.unique(b)) <= {-1, 1}
    np.testing.assert_array_equal(word_from_planes(b), u)
    np.testing.assert_array_equal(code_from_planes(b), code_from_word(u, m))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_branch_dot_equals_integer_dot(data):
    m, w = data.draw(words())
    k = data.draw(bits_st)
    n = w.size
    kind = data.draw(st.sampled_from(["random", "all_minus", "all_plus", "alternating"]))
    top = (1 << k) - 1
    a = {
        "random": np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))).integers(0, top + 1, n),
        "all_minus": np.zeros(n, dtype=np.int64),
        "all_plus": np.full(n, top),
        "alternating": np.where(np.arange(n) % 2 == 0, top, 0),
    }[kind]
    assert branch_dot(w, a, m, k) == integer_dot(w, a, m, k)


@pytest.mark.parametrize("m", range(1, 9))
@pytest.mark.parametrize("k", range(1, 9))
def test_extremes_hit_y_max(m, k):
    n = 2048
    ymax = n * ((1 << m) - 1) * ((1 << k) - 1)
    plus_w, plus_a = np.full(n, (1 << m) - 1), np.full(n, (1 << k) - 1)
    zeros = np.zeros(n, dtype=np.int64)
    assert branch_dot(plus_w, plus_a, m, k) == ymax
    assert branch_dot(zeros, zeros, m, k) == ymax
    assert branch_dot(plus_w, zeros, m, k) == -ymax


def test_codes_listing():
    np.testing.assert_array_equal(codes(2), [-3, -1, 1, 3])
    np.testing.assert_array_equal(code_from_word([0, 1, 2, 3], 2), [-3, -1, 1, 3])


def test_pack_planes_layout():
    u = np.array([1, 0, 3] + [0] * 62 + [2])  # N = 66 -> two words
    p = pack_planes(u, 2)
    assert p.shape == (2, 2) and p.dtype == np.uint64
    assert int(p[0, 0]) == 0b101 and int(p[1, 0]) == 0b100
    assert int(p[0, 1]) == 0 and int(p[1, 1]) == 0b10


def test_branch_matmul_matches_codes():
    rng = np.random.default_rng(1)
    a, w = rng.integers(0, 8, (5, 100)), rng.integers(0, 4, (7, 100))
    expect = code_from_word(a, 3) @ code_from_word(w, 2).T
    np.testing.assert_array_equal(branch_matmul(a, w, 3, 2), expect)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: code_from_word([4], 2), "out of range"),
        (lambda: word_from_code([2], 2), "odd"),
        (lambda: branch_dot([1, 2], [1], 2, 2), "lengths differ"),
        (lambda: branch_dot(np.zeros(0, int), np.zeros(0, int), 2, 2), "at least 1"),
        (lambda: code_from_word([1], 0), "bits"),
        (lambda: word_from_planes([[0, 1]]), "-1 and \\+1"),
    ],
)
def test_bad_input_is_one_clear_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()
