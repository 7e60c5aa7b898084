"""Popcount compressor trees: exact counts on every input size, FA accounting against the bound."""

from __future__ import annotations

import numpy as np
import pytest

from model.compressor import (
    STYLES,
    build_popcount,
    evaluate,
    fa_lower_bound,
    popcount_stats,
    popcount_width,
)


@pytest.mark.parametrize("style", STYLES)
def test_popcount_is_exact(style: str) -> None:
    rng = np.random.default_rng(7)
    for n in [*range(1, 70), 100, 128, 255]:
        tree = build_popcount(n, style)
        assert tree.width == popcount_width(n) == n.bit_length()
        vectors = [np.ones(n, dtype=int), np.zeros(n, dtype=int), *rng.integers(0, 2, size=(20, n))]
        for x in vectors:
            assert evaluate(tree, list(x)) == int(x.sum()), (n, style)


@pytest.mark.parametrize("style", STYLES)
def test_full_adder_accounting(style: str) -> None:
    """Each FA removes one bit, each dropped (provably zero) carry one more: N - FA - dropped = output bits."""
    for n in range(1, 200):
        tree = build_popcount(n, style)
        stats = popcount_stats(tree)
        dropped = stats["cells_with_dropped_carry"]
        assert n - tree.full_adders - dropped == tree.width
        assert tree.full_adders >= fa_lower_bound(n) - dropped


def test_bound_and_power_of_two_sizes_meet_it() -> None:
    assert [fa_lower_bound(n) for n in (1, 2, 3, 4, 7, 8, 64)] == [0, 0, 1, 1, 4, 4, 57]
    for style in STYLES:
        for n in (8, 16, 32, 64, 128):
            assert popcount_stats(build_popcount(n, style))["fa_over_bound"] == 1.0


def test_dadda_uses_fewer_half_adders_than_wallace_at_64() -> None:
    d, w = build_popcount(64, "dadda"), build_popcount(64, "wallace")
    assert d.half_adders < w.half_adders and d.full_adders == w.full_adders


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        build_popcount(0)
    with pytest.raises(ValueError):
        build_popcount(8, "ripple")
