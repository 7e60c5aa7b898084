"""Network-level cost of one PE design: energy and latency per inference of the digits MLP, and Pareto fronts.

The MLP (``qnn``: 64 -> hidden -> 10) runs on one PE of vector length N: each layer's output unit is a dot product
over its fan-in, tiled onto the PE in ceil(fan_in / N) dot products (the last tile zero-padded: it costs a full dot
product, since the PE's energy per dot product is measured with random inputs on all N lanes). The PE leaves the
tiles' partial sums to an accumulator beside it: per output, ceil(fan_in / N) - 1 additions into a register as wide
as the PE's y plus ceil(log2 tiles) bits. Each addition is costed bit by bit with the model's calibrated unit costs
(``model/energy_calibration.json``): one adder cell and one register bit per partial-sum bit, each toggling its
output on half the additions (random partial sums), plus the register bit's clock energy for the cycle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence, TypeVar

from model.energy import costs_from_calibration, load_calibration
from model.spec import DesignSpec

INPUTS, OUTPUTS = 64, 10
"""The digits MLP's input pixels and classes (qnn.data: 8x8 images, 10 digits)."""
TOGGLE_RATE = 0.5
"""Output toggles per partial-sum bit per addition (random operands)."""

T = TypeVar("T")


@dataclass(frozen=True)
class AccumulatorCost:
    """Energy of one partial-sum bit per addition (pJ), from the calibrated unit costs."""

    pj_per_bit: float
    source: str

    @staticmethod
    def from_calibration(cal: Mapping[str, Any] | None = None) -> "AccumulatorCost":
        cal = dict(cal) if cal is not None else load_calibration()
        costs = costs_from_calibration(cal)
        ce = cal["coefficients"]["energy"]
        per_bit = (TOGGLE_RATE * (costs.toggle_pj["adder"] * ce["adders"] + costs.toggle_pj["reg"] * ce["registers"])
                   + costs.clock_pj_per_flop_cycle * ce["clock"])
        return AccumulatorCost(per_bit, f"adder + register bit x calibrated unit costs ({cal['provenance']['date']}), "
                                        f"{TOGGLE_RATE:g} toggles per bit per addition, one clocked flop per bit")


@dataclass(frozen=True)
class Inference:
    """One inference of the MLP on one PE: dot products, accumulator additions, energy (nJ) and latency (us)."""

    dots: int
    additions: int
    energy_nj: float
    accumulate_nj: float
    latency_us: float
    cycles: int


def layers(hidden: int) -> tuple[tuple[int, int], ...]:
    """(fan-in, outputs) of each layer of the digits MLP with ``hidden`` units."""
    return ((INPUTS, hidden), (hidden, OUTPUTS))


def inference(spec: DesignSpec, energy_per_dot_pj: float, period_ns: float, latency_cycles: int, ii: int,
              hidden: int, acc: AccumulatorCost) -> Inference:
    """Energy and latency of one inference: every layer's tiles through the PE one after the other (a new dot
    product every ``ii`` cycles, the pipeline's ``latency_cycles`` once per layer, since layer 2 waits for layer 1's
    activations), plus the partial-sum additions beside it (pipelined with the PE: they add energy, not cycles)."""
    dots = adds = cycles = 0
    acc_pj = 0.0
    for fan_in, outs in layers(hidden):
        tiles = math.ceil(fan_in / spec.n)
        dots += outs * tiles
        n_add = outs * (tiles - 1)
        adds += n_add
        acc_pj += n_add * (spec.out_width + math.ceil(math.log2(tiles))) * acc.pj_per_bit
        cycles += outs * tiles * ii + latency_cycles
    energy_pj = dots * energy_per_dot_pj + acc_pj
    return Inference(dots, adds, energy_pj * 1e-3, acc_pj * 1e-3, cycles * period_ns * 1e-3, cycles)


def pareto(items: Sequence[T], objectives: Callable[[T], tuple[float, ...]]) -> list[T]:
    """The items no other item dominates (every objective minimised: no worse in all, better in one), in input
    order; items whose objectives include None are left out."""
    vals = [(it, objectives(it)) for it in items]
    vals = [(it, v) for it, v in vals if all(x is not None and math.isfinite(x) for x in v)]
    front = []
    for it, v in vals:
        dominated = any(all(o <= x for o, x in zip(w, v)) and any(o < x for o, x in zip(w, v)) for _, w in vals)
        if not dominated:
            front.append(it)
    return front


def knee(front: Sequence[T], x: Callable[[T], float], y: Callable[[T], float], log_x: bool = True) -> T | None:
    """The knee of a two-objective front (x minimised, y maximised): the point farthest from the straight line
    joining the front's two ends, with both axes scaled to 0..1 (x on a log scale by default); None for fewer
    than three points, where no point stands out."""
    if len(front) < 3:
        return None
    pts = sorted(front, key=x)
    xs = [math.log10(x(p)) if log_x else x(p) for p in pts]
    ys = [y(p) for p in pts]
    sx = (max(xs) - min(xs)) or 1.0
    sy = (max(ys) - min(ys)) or 1.0
    u = [((a - xs[0]) / sx, (b - ys[0]) / sy) for a, b in zip(xs, ys)]
    ex, ey = u[-1]
    norm = math.hypot(ex, ey) or 1.0
    dist = [abs(ey * a - ex * b) / norm for a, b in u]
    best = max(range(1, len(pts) - 1), key=lambda i: dist[i])
    return pts[best]
