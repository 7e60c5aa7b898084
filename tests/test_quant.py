"""Quantizers: odd uniform levels, clipping, the fitted scale and the straight-through estimator."""

import numpy as np
import pytest

from model.quant import (
    fake_quant,
    fit_alpha,
    quantize_activations,
    quantize_weights,
    ste_mask,
    to_codes,
)


def test_to_codes_nearest_odd_and_clip():
    q = to_codes([-10.0, -2.1, -0.2, 0.0, 0.9, 1.9, 2.1, 10.0], alpha=1.0, bits=2)
    np.testing.assert_array_equal(q, [-3, -3, -1, 1, 1, 1, 3, 3])


def test_one_bit_alpha_is_mean_abs():
    x = np.random.default_rng(0).normal(size=1000)
    assert fit_alpha(x, 1) == pytest.approx(np.mean(np.abs(x)))


@pytest.mark.parametrize("bits", [1, 2, 3, 4])
def test_fitted_alpha_is_least_squares_fixed_point(bits):
    x = np.random.default_rng(bits).normal(size=5000)
    qw = quantize_weights(x, bits)
    q = qw.q.astype(float)
    assert qw.alpha == pytest.approx(x @ q / (q @ q), rel=1e-9)
    err = np.mean((x - qw.value) ** 2)
    for other in (0.9 * qw.alpha, 1.1 * qw.alpha):
        assert err <= np.mean((x - other * to_codes(x, other, bits)) ** 2) + 1e-12


@pytest.mark.parametrize("bits", [1, 2, 3, 4, 8])
def test_more_bits_less_error(bits):
    x = np.random.default_rng(7).normal(size=5000)
    e = lambda b: np.mean((x - quantize_weights(x, b).value) ** 2)  # noqa: E731
    if bits > 1:
        assert e(bits) < e(bits - 1)


def test_activation_levels_and_words():
    qa = quantize_activations(np.linspace(-2, 2, 9), bits=2, clip=1.0)
    assert qa.alpha == pytest.approx(1 / 3)
    np.testing.assert_array_equal(qa.q, [-3, -3, -3, -1, 1, 1, 3, 3, 3])
    np.testing.assert_array_equal(qa.u, [0, 0, 0, 1, 2, 2, 3, 3, 3])


def test_ste_passes_inside_clip_only():
    x = np.array([-2.0, -1.0, 0.0, 0.5, 1.0, 1.01])
    np.testing.assert_array_equal(ste_mask(x, alpha=1 / 3, bits=2), [0, 1, 1, 1, 1, 0])
    v, g = fake_quant(x, 1 / 3, 2)
    np.testing.assert_allclose(v, np.array([-3, -3, 1, 1, 3, 3]) / 3)
    np.testing.assert_array_equal(g, [0, 1, 1, 1, 1, 0])


@pytest.mark.parametrize("alpha", [0.0, -1.0])
def test_bad_alpha(alpha):
    with pytest.raises(ValueError, match="alpha"):
        to_codes([1.0], alpha, 2)
