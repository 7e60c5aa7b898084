"""Structure and switching activity of each datapath part of a PE, from a stream of input vectors (numpy).

For every part (operand registers, branch gate (XNOR or AND) outputs, popcount adder nodes, shift-add / accumulator bits,
baseline partial products and adder-tree bits, output register) it returns how many cells of each
kind it has (for area) and how many output toggles it makes per dot product (for energy), where
toggles = popcount(XOR of consecutive values) of the part's signals over the stream, in the order the
RTL evaluates them with valid and ready high every cycle (parallel/baseline: one vector per cycle;
serial: one bit-plane pair per cycle). The arithmetic mirrors model.cycle and the RTL generator, including the
spec's encoding (model.encodings: branch gate, plane signs, pc_shift, constant; word decoding for the baseline).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from model.compressor import build_popcount
from model.cycle import Step, baseline_groups, constant_correction, serial_schedule
from model.encodings import word_width
from model.spec import DesignSpec


@dataclass(frozen=True)
class Part:
    """One datapath part: its kind (unit cost class), unit count and output toggles per dot product."""

    name: str
    kind: str  # "reg" (flop with load enable), "flop" (flop on a gated clock, no enable multiplexer), "ctrl" (reset
    # flop), "xnor", "and", "fa", "ha", "adder", "mux", "pp", "mult"
    units: int
    toggles_per_dot: float
    clocked_per_dot: float | None = None
    """Clock edges each flop of the part sees per dot product: None = every cycle; fewer behind a clock gate."""


@dataclass(frozen=True)
class Activity:
    """Every part of one design plus the cycles one dot product occupies."""

    spec_id: str
    vectors: int
    cycles_per_dot: int
    parts: tuple[Part, ...]

    @property
    def flops(self) -> int:
        return sum(p.units for p in self.parts if p.kind in FLOP_KINDS)

    @property
    def flop_clocks_per_dot(self) -> float:
        """Clock edges at flop clock pins per dot product (every flop every cycle, unless its part is gated)."""
        return sum(p.units * (self.cycles_per_dot if p.clocked_per_dot is None else p.clocked_per_dot)
                   for p in self.parts if p.kind in FLOP_KINDS)


FLOP_KINDS = ("reg", "flop", "ctrl")


def _toggles(values: np.ndarray, width: int) -> float:
    """Total bit toggles along axis 0 of integer values (two's complement, ``width`` bits)."""
    if values.shape[0] < 2:
        return 0.0
    mask = np.int64((1 << width) - 1) if width < 63 else np.int64(-1)
    v = values.astype(np.int64) & mask
    return float(np.bitwise_count(v[1:] ^ v[:-1]).sum())


def _bool_toggles(bits: np.ndarray) -> float:
    return float((bits[1:] != bits[:-1]).sum()) if bits.shape[0] >= 2 else 0.0


def random_words(spec: DesignSpec, vectors: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Uniform random unsigned words (vectors, N) for weights and activations, fixed seed."""
    rng = np.random.default_rng([seed, spec.wbits, spec.abits, spec.n])
    return (rng.integers(0, 1 << spec.wbits, size=(vectors, spec.n), dtype=np.int64),
            rng.integers(0, 1 << spec.abits, size=(vectors, spec.n), dtype=np.int64))


def popcount_tree_activity(x: np.ndarray, style: str) -> tuple[np.ndarray, float, float, int, int]:
    """Evaluate the RTL's compressor tree on bits x (T, ..., n); returns (counts, FA toggles, HA toggles, #FA, #HA)."""
    n = x.shape[-1]
    tree = build_popcount(n, style)
    val: dict[str, np.ndarray] = {f"x[{i}]": x[..., i].astype(np.uint8) for i in range(n)}
    fa_t = ha_t = 0.0
    for c in tree.cells:
        total = sum(val[i] for i in c.inputs)
        s = total & 1
        val[c.sum] = s
        t = _bool_toggles(s)
        if c.carry is not None:
            val[c.carry] = (total >> 1).astype(np.uint8)
            t += _bool_toggles(val[c.carry])
        if c.kind == "fa":
            fa_t += t
        else:
            ha_t += t
    count = sum(val[o].astype(np.int64) << b for b, o in enumerate(tree.outputs))
    return np.asarray(count), fa_t, ha_t, tree.full_adders, tree.half_adders


def adder_tree_activity(leaves: list[tuple[np.ndarray, int]], signed: bool) -> tuple[np.ndarray, int, float]:
    """Balanced 2-input adder tree as rtl.verilog.adder_tree pairs it: (root values, adder bits, toggles)."""
    nodes = list(leaves)
    bits = 0
    tog = 0.0
    while len(nodes) > 1:
        nxt = []
        for k in range(0, len(nodes) - 1, 2):
            (va, ma), (vb, mb) = nodes[k], nodes[k + 1]
            mx = ma + mb
            width = mx.bit_length() + (1 if signed else 0)
            v = va + vb
            bits += width
            tog += _toggles(v, width)
            nxt.append((v, mx))
        if len(nodes) % 2:
            nxt.append(nodes[-1])
        nodes = nxt
    return nodes[0][0], bits, tog


def _planes(words: np.ndarray, bits: int) -> list[np.ndarray]:
    return [((words >> i) & 1).astype(np.uint8) for i in range(bits)]


def _gate(spec: DesignSpec, w: np.ndarray, a: np.ndarray) -> np.ndarray:
    """The encoding's branch gate on 0/1 arrays."""
    return (spec.enc.gate.numpy(w, a) & 1).astype(np.uint8)


def parallel_activity(spec: DesignSpec, w: np.ndarray, a: np.ndarray) -> Activity:
    m, k, n, ow = spec.wbits, spec.abits, spec.n, spec.out_width
    enc = spec.enc
    T = w.shape[0]
    wp, ap = _planes(w, m), _planes(a, k)
    x = np.stack([_gate(spec, wp[i], ap[j]) for i in range(m) for j in range(k)], axis=1)  # (T, B, n)
    pcs, fa_t, ha_t, nfa, nha = popcount_tree_activity(x, spec.popcount)
    pw = build_popcount(n, spec.popcount).width
    signs, sh = enc.signs(m), enc.pc_shift
    leaves = [(pcs[:, i * k + j] << (i + j + sh), n << (i + j + sh)) for i in range(m) for j in range(k) if signs[i] > 0]
    negative = [(pcs[:, i * k + j] << (i + j + sh), n << (i + j + sh)) for i in range(m) for j in range(k) if signs[i] < 0]
    root, add_bits, add_t = adder_tree_activity(leaves, signed=False) if leaves else (np.zeros(T, dtype=np.int64), 0, 0.0)
    if negative:  # the subtracted planes' tree (twos: the top weight plane)
        neg, neg_bits, neg_t = adder_tree_activity(negative, signed=False)
        root, add_bits, add_t = root - neg, add_bits + neg_bits, add_t + neg_t
    y = root - constant_correction(spec)
    d = T - 1
    parts = (
        Part("ctrl", "ctrl", 4, 0.0),
        Part("s1_operands", "reg", spec.w_width + spec.a_width, sum(_bool_toggles(p) for p in wp + ap) / d),
        Part(enc.gate.name, enc.gate.cell_kind, m * k * n, _bool_toggles(x) / d),
        Part("popcount_fa", "fa", m * k * nfa, fa_t / d),
        Part("popcount_ha", "ha", m * k * nha, ha_t / d),
        Part("s2_popcounts", "reg", m * k * pw, _toggles(pcs, pw) / d),
        Part("shift_add", "adder", add_bits + ow, (add_t + _toggles(y, ow)) / d),
        Part("y", "reg", ow, _toggles(y, ow) / d),
    )
    return Activity(spec.id, T, 1, parts)


@dataclass(frozen=True)
class StepWalk:
    """One branch unit walked over bit-plane pairs, step by step (rows: vector-major, then step): the selected
    planes, the branch gate's outputs, the popcount tree's activity, and the Horner accumulator after each step."""

    wsel: np.ndarray  # (T*S, n) weight plane at each step
    asel: np.ndarray  # (T*S, n) activation plane at each step
    x: np.ndarray  # (T*S, n) branch gate outputs
    fa_toggles: float
    ha_toggles: float
    full_adders: int
    half_adders: int
    acc: np.ndarray  # (T, S) accumulator after each step
    pcs: np.ndarray  # (T, S) the popcount at each step


def step_walk(spec: DesignSpec, wp: list[np.ndarray], ap: list[np.ndarray], sched: list[Step],
              weight: list[int]) -> StepWalk:
    """The ``StepWalk`` of the (i, j, double first, shift) steps ``sched`` over the planes ``wp``/``ap``; step s adds
    ``weight[i]`` x its popcount x 2^shift to the accumulator (doubled first when the step says so)."""
    T, n = wp[0].shape[0], spec.n
    S = len(sched)
    wsel = np.stack([wp[st[0]] for st in sched], axis=1).reshape(T * S, n)  # cycle order: vector, step
    asel = np.stack([ap[st[1]] for st in sched], axis=1).reshape(T * S, n)
    x = _gate(spec, wsel, asel)
    pcs, fa_t, ha_t, nfa, nha = popcount_tree_activity(x, spec.popcount)
    pcs = pcs.reshape(T, S)
    acc = np.zeros((T, S), dtype=np.int64)
    run = np.zeros(T, dtype=np.int64)
    for s, (i, _, dbl, sh) in enumerate(sched):
        run = (run * (2 if dbl else 1) if s else 0) + weight[i] * (pcs[:, s] << sh)
        acc[:, s] = run
    return StepWalk(wsel, asel, x, fa_t, ha_t, nfa, nha, acc, pcs)


def shifter_muxes(n: int, max_shift: int) -> int:
    """2:1 multiplexers of a logarithmic shifter of an n-element popcount by 0..max_shift (0 when nothing shifts)."""
    pw = n.bit_length()
    return sum(pw + (1 << b) for b in range(max_shift.bit_length()))


def serial_activity(spec: DesignSpec, w: np.ndarray, a: np.ndarray, gated: bool = False) -> Activity:
    """The serial PE's parts; ``gated``: operands, accumulator and y on gated clocks (kind ``flop``, no enable
    multiplexer), the operands and y clocked once per dot (valid and ready high), the accumulator every step."""
    m, k, n, ow = spec.wbits, spec.abits, spec.n, spec.out_width
    enc = spec.enc
    T = w.shape[0]
    sched = serial_schedule(m, k)
    S = len(sched)
    aw = ow - enc.pc_shift
    wp, ap = _planes(w, m), _planes(a, k)
    walk = step_walk(spec, wp, ap, sched, list(enc.signs(m)))
    wsel, asel, x, acc = walk.wsel, walk.asel, walk.x, walk.acc
    fa_t, ha_t, nfa, nha = walk.fa_toggles, walk.ha_toggles, walk.full_adders, walk.half_adders
    y = (acc[:, -1] << enc.pc_shift) - constant_correction(spec)
    max_sh = max(st[3] for st in sched)
    sh_pc = walk.pcs << np.array([st[3] for st in sched])  # the shifter's output per step
    cw = max(1, (S - 1).bit_length())
    c = T * S - 1
    d = T - 1
    mux_bits = n * (m - 1) + n * (k - 1)
    reg, once = ("flop", 1.0) if gated else ("reg", None)
    parts = (
        Part("ctrl", "ctrl", 3 + cw, (2 * S) / S),
        Part("s1_operands", reg, spec.w_width + spec.a_width, sum(_bool_toggles(p) for p in wp + ap) / d, once),
        Part("plane_mux", "mux", mux_bits, (_bool_toggles(wsel) * (m > 1) + _bool_toggles(asel) * (k > 1)) / c * S),
        Part(enc.gate.name, enc.gate.cell_kind, n, _bool_toggles(x) / c * S),
        Part("popcount_fa", "fa", nfa, fa_t / c * S),
        Part("popcount_ha", "ha", nha, ha_t / c * S),
        Part("pc_shifter", "mux", shifter_muxes(n, max_sh), _toggles(sh_pc.reshape(-1), aw) / c * S if max_sh else 0.0),
        # loaded at every step but the last (whose sum goes to y only): S - 1 clock edges per dot when gated
        Part("accumulator", reg, aw if S > 1 else 0,
             _toggles(acc[:, :-1].reshape(-1), aw) / (T * (S - 1) - 1) * (S - 1) if S > 1 else 0.0,
             float(S - 1) if gated and S > 1 else None),
        Part("acc_adder", "adder", 2 * aw + ow, (2 * _toggles(acc.reshape(-1), aw) / c * S) + _toggles(y, ow) / d),
        Part("y", reg, ow, _toggles(y, ow) / d, once),
    )
    return Activity(spec.id, T, S, parts)


def multiplier_cells(m: int, k: int) -> tuple[int, int]:
    """(AND partial products, adder cells) of one baseline multiplier: m*k each.

    The odd codes' products are 4uv - 2u(2^K-1) - 2v(2^M-1) + const for the unsigned words u, v, so the only
    non-linear part is an M x K unsigned array; yosys (alumacc/maccmap) also merges products and sums into
    carry-save arrays. Fitted against 8 synthesized baseline designs (W1A1..W3A3, N 7..64), m*k cells gave
    a leave-one-out area error of at most 13%, against 21% for (m+1)(k+1) and 26% for the full pb-bit array.
    """
    return m * k, m * k


def baseline_activity(spec: DesignSpec, w: np.ndarray, a: np.ndarray) -> Activity:
    m, k, n, ow = spec.wbits, spec.abits, spec.n, spec.out_width
    enc = spec.enc
    T = w.shape[0]
    qw = enc.decode_w(w, m)
    qa = enc.decode_a(a, k)
    prod = qw * qa
    plo, phi = enc.y_range(m, k, 1)
    pmax = max(-plo, phi)
    pb = pmax.bit_length() + 1
    wq, aq = word_width(enc.w_word, m), word_width(enc.a_word, k)
    # partial products of a wq x aq two's complement multiplier: bit b of qw AND bit c of qa
    wb = ((qw[..., None] >> np.arange(wq)) & 1).astype(np.uint8)
    ab = ((qa[..., None] >> np.arange(aq)) & 1).astype(np.uint8)
    pp = wb[..., :, None] & ab[..., None, :]
    parts_vals, group_bits, group_t = [], 0, 0.0
    part_widths = []
    for g in baseline_groups(spec):
        root, bits, t = adder_tree_activity([(prod[:, e], pmax) for e in g], signed=True)
        parts_vals.append(root)
        group_bits += bits
        group_t += t
        part_widths.append((len(g) * pmax).bit_length() + 1 if len(g) > 1 else pb)
    leaves = [(v, len(g) * pmax) for v, g in zip(parts_vals, baseline_groups(spec))]
    y, fin_bits, fin_t = adder_tree_activity(leaves, signed=True)
    d = T - 1
    s2_t = sum(_toggles(v, wdt) for v, wdt in zip(parts_vals, part_widths))
    pp_cells, adder_cells = multiplier_cells(m, k)
    parts = (
        Part("ctrl", "ctrl", 4, 0.0),
        Part("s1_operands", "reg", spec.w_width + spec.a_width,
             sum(_bool_toggles(p) for p in _planes(w, m) + _planes(a, k)) / d),
        Part("partial_products", "pp", n * pp_cells, _bool_toggles(pp) / d * pp_cells / (wq * aq)),
        Part("multiplier_adders", "mult", n * adder_cells, (_toggles(prod, pb) * adder_cells / pb) / d),
        Part("group_adder_trees", "adder", group_bits, group_t / d),
        Part("s2_partial_sums", "reg", sum(part_widths), s2_t / d),
        Part("final_adder_tree", "adder", fin_bits, fin_t / d),
        Part("y", "reg", ow, _toggles(y, ow) / d),
    )
    return Activity(spec.id, T, 1, parts)


ArchActivity = Callable[[DesignSpec, np.ndarray, np.ndarray], Activity]
"""One architecture's parts and toggles for (T, N) weight and activation words (e.g. :func:`parallel_activity`)."""


def activity_for(spec: DesignSpec, arch_activity: ArchActivity, vectors: int = 256, seed: int = 1,
                 words: tuple[np.ndarray, np.ndarray] | None = None) -> Activity:
    """Per-part structure and toggles for random inputs (or the given (w, a) word arrays, shape (T, N)), as the
    architecture's activity function (its descriptor's ``activity``, ``rtl.archs``) counts them."""
    w, a = words if words is not None else random_words(spec, vectors, seed)
    if w.shape[0] < 2:
        raise ValueError("activity needs at least 2 vectors (toggles are between consecutive values)")
    return arch_activity(spec, np.asarray(w, dtype=np.int64), np.asarray(a, dtype=np.int64))
