"""Popcount as a compressor tree of explicit full and half adders (Dadda or Wallace).

The tree is built as plain data (cells + output bits) so it can be counted, checked in
Python and emitted as Verilog; every FA removes one bit, so #FA >= N - floor(log2 N) - 1.
"dadda": Dadda's height schedule (2, 3, 4, 6, 9, ...), FA-first (a HA only when two bits are left,
since on a single popcount column the classic HA-at-excess-1 rule wastes HAs); "wallace": greedy
3:2 on every triple and 2:2 on a leftover pair per layer. Both end in a ripple of explicit FA/HA cells.
"""

from __future__ import annotations

from dataclasses import dataclass

STYLES: tuple[str, ...] = ("dadda", "wallace")


@dataclass(frozen=True)
class Cell:
    """One adder cell: kind "fa" (3 inputs) or "ha" (2 inputs); outputs sum (weight w) and carry (w+1)."""

    kind: str
    inputs: tuple[str, ...]
    sum: str
    carry: str | None  # None when the carry would land above the output width (provably zero)

    @property
    def carry_dropped(self) -> bool:
        return self.carry is None
    weight: int
    stage: int


@dataclass(frozen=True)
class CompressorTree:
    """A popcount of ``n_inputs`` bits named x[0..n-1]: cells in evaluation order and the output bits."""

    n_inputs: int
    style: str
    width: int
    cells: tuple[Cell, ...]
    outputs: tuple[str, ...]  # output bit b (LSB first), a signal name
    reduction_stages: int

    @property
    def full_adders(self) -> int:
        return sum(1 for c in self.cells if c.kind == "fa")

    @property
    def half_adders(self) -> int:
        return sum(1 for c in self.cells if c.kind == "ha")


def popcount_width(n: int) -> int:
    """Bits of a popcount of n inputs: floor(log2 n) + 1."""
    return max(1, n.bit_length())


def fa_lower_bound(n: int) -> int:
    """Minimal full adders of any FA/HA popcount of n bits: N - floor(log2 N) - 1."""
    return n - (n.bit_length() - 1) - 1


def _dadda_targets(max_height: int) -> list[int]:
    """Dadda's height sequence 2, 3, 4, 6, 9, ... below max_height, largest first."""
    d = [2]
    while (d[-1] * 3) // 2 < max_height:
        d.append((d[-1] * 3) // 2)
    return list(reversed(d))


class _Builder:
    """Accumulates cells with deterministic names; a helper object local to one build call."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.cells: list[Cell] = []

    def add(self, kind: str, ins: list[str], weight: int, stage: int) -> tuple[str, str | None]:
        idx = len(self.cells)
        s = f"{kind}{idx}_s"
        c = f"{kind}{idx}_c" if weight + 1 < self.width else None
        self.cells.append(Cell(kind, tuple(ins), s, c, weight, stage))
        return s, c


def build_popcount(n: int, style: str = "dadda") -> CompressorTree:
    """Reduce one column of n bits to a binary count, then a ripple of explicit FA/HA cells."""
    if n < 1:
        raise ValueError(f"popcount needs n >= 1, got {n}")
    if style not in STYLES:
        raise ValueError(f"unknown popcount style {style!r}: choose one of {', '.join(STYLES)}")
    width = popcount_width(n)
    b = _Builder(width)
    cols: list[list[str]] = [[f"x[{i}]" for i in range(n)]] + [[] for _ in range(width - 1)]
    stage = 0
    if style == "dadda":
        for target in _dadda_targets(max(len(c) for c in cols)):
            if max(len(c) for c in cols) <= target:
                continue
            stage += 1
            new: list[list[str]] = [[] for _ in range(width)]
            for w in range(width):
                cur = list(cols[w])
                excess = len(cur) + len(new[w]) - target
                while excess > 0 and len(cur) >= 2:
                    if len(cur) >= 3:  # prefer a FA even at excess 1: HAs remove no bits
                        ins, cur = cur[:3], cur[3:]
                        s, c = b.add("fa", ins, w, stage)
                        excess -= 2
                    else:
                        ins, cur = cur[:2], cur[2:]
                        s, c = b.add("ha", ins, w, stage)
                        excess -= 1
                    new[w].append(s)
                    if c is not None:
                        new[w + 1].append(c)
                new[w] = cur + new[w]
            cols = new
    else:  # wallace: greedy 3:2 on every triple, 2:2 on a leftover pair, until every column <= 2
        while max(len(c) for c in cols) > 2:
            stage += 1
            new = [[] for _ in range(width)]
            for w in range(width):
                cur = list(cols[w])
                while len(cur) >= 3:
                    ins, cur = cur[:3], cur[3:]
                    s, c = b.add("fa", ins, w, stage)
                    new[w].append(s)
                    if c is not None:
                        new[w + 1].append(c)
                if len(cur) == 2:
                    s, c = b.add("ha", cur, w, stage)
                    new[w].append(s)
                    if c is not None:
                        new[w + 1].append(c)
                    cur = []
                new[w] = cur + new[w]
            cols = new
    # final carry-propagate adder: a ripple of explicit HA/FA cells over columns of height <= 2
    stage += 1
    outputs: list[str] = []
    carry: list[str] = []
    for w in range(width):
        bits = cols[w] + carry
        carry = []
        if len(bits) == 0:
            raise AssertionError(f"popcount({n}) column {w} is empty")  # cannot happen: top bit reachable
        if len(bits) == 1:
            outputs.append(bits[0])
            continue
        kind = "fa" if len(bits) == 3 else "ha"
        if len(bits) > 3:
            raise AssertionError(f"popcount({n}) column {w} has {len(bits)} bits after reduction")
        s, c = b.add(kind, bits, w, stage)
        outputs.append(s)
        if c is not None:
            carry = [c]
    return CompressorTree(n, style, width, tuple(b.cells), tuple(outputs), stage)


def evaluate(tree: CompressorTree, x: list[int]) -> int:
    """Simulate the tree on one input vector (bits 0/1); used by tests and the benchmark."""
    val: dict[str, int] = {f"x[{i}]": int(v) & 1 for i, v in enumerate(x)}
    for c in tree.cells:
        ins = [val[i] for i in c.inputs]
        total = sum(ins)
        val[c.sum] = total & 1
        if c.carry is not None:
            val[c.carry] = total >> 1
    return sum(val[o] << i for i, o in enumerate(tree.outputs))


def popcount_stats(tree: CompressorTree) -> dict[str, float | int | str]:
    """The numbers the manifest and benchmark report about a popcount tree."""
    bound = fa_lower_bound(tree.n_inputs)
    return {
        "n_inputs": tree.n_inputs,
        "style": tree.style,
        "output_bits": tree.width,
        "full_adders": tree.full_adders,
        "half_adders": tree.half_adders,
        "bound": bound,
        "fa_over_bound": round(tree.full_adders / bound, 6) if bound else (1.0 if tree.full_adders == 0 else None),
        "cells_with_dropped_carry": sum(1 for c in tree.cells if c.carry_dropped),
        "reduction_stages": tree.reduction_stages,
    }
