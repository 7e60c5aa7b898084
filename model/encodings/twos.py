"""``twos``: the {0,1} bit-plane decomposition of BISMO, Stripes/Loom, Bit Fusion and UNPU.

The weight word is an M-bit two's-complement integer w = -2^(M-1) w_{M-1} + sum_{i<M-1} 2^i w_i
(-2^(M-1) .. 2^(M-1)-1; at M=1 the weights are {-1, 0}), the activation word a K-bit unsigned integer
a = sum_j 2^j a_j (0 .. 2^K-1, the form that follows a ReLU). With bits in {0,1} the product splits into
AND-popcount branches, the most significant weight plane subtracted:

    W.A = sum_{i,j} s_i 2^(i+j) popcount(AND(w_i, a_j)),  s_i = -1 for i = M-1, else +1
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from model.encodings import AND, Corner, Encoding, check_bits, check_words


def w_range(bits: int) -> tuple[int, int]:
    """-2^(M-1) .. 2^(M-1) - 1."""
    half = 1 << (check_bits(bits) - 1)
    return -half, half - 1


def a_range(bits: int) -> tuple[int, int]:
    """0 .. 2^K - 1."""
    return 0, (1 << check_bits(bits)) - 1


def decode_w(u: ArrayLike, bits: int) -> NDArray[np.int64]:
    """Two's complement: words with the top bit set are u - 2^M."""
    u = check_words(u, bits)
    return np.where(u >= (1 << (bits - 1)), u - (1 << bits), u)


def decode_a(u: ArrayLike, bits: int) -> NDArray[np.int64]:
    """Unsigned: the word is the value."""
    return check_words(u, bits)


def _check_values(q: ArrayLike, lo: int, hi: int, what: str) -> NDArray[np.int64]:
    q = np.asarray(q, dtype=np.int64)
    if q.size and (q.min() < lo or q.max() > hi):
        raise ValueError(f"{what} value out of range: must be in {lo}..{hi}")
    return q


def encode_w(q: ArrayLike, bits: int) -> NDArray[np.int64]:
    lo, hi = w_range(bits)
    return _check_values(q, lo, hi, "weight") & ((1 << bits) - 1)


def encode_a(q: ArrayLike, bits: int) -> NDArray[np.int64]:
    lo, hi = a_range(bits)
    return _check_values(q, lo, hi, "activation")


def _levels(rng: tuple[int, int]) -> NDArray[np.int64]:
    return np.arange(rng[0], rng[1] + 1, dtype=np.int64)


def _nearest(t: ArrayLike, lo: int, hi: int) -> NDArray[np.int64]:
    """Nearest integer (ties go up), clipped."""
    return np.clip(np.floor(np.asarray(t, dtype=np.float64) + 0.5), lo, hi).astype(np.int64)


def corners(wbits: int, abits: int) -> tuple[Corner, ...]:
    """All minimum (w = -2^(M-1), a = 0), all maximum (y_max), the most negative product everywhere (y_min),
    -1 x maximum activation, alternating extremes, and alternating bit planes."""
    (wl, wh), (al, ah) = w_range(wbits), a_range(abits)
    bits_w = sum(1 << i for i in range(0, wbits, 2))
    bits_a = sum(1 << i for i in range(0, abits, 2))
    planes_w = int(decode_w(bits_w, wbits))
    planes_a = ah ^ bits_a
    return (
        ("all_min", (wl, wl), (al, al)),
        ("all_max", (wh, wh), (ah, ah)),
        ("y_min", (wl, wl), (ah, ah)),
        ("minus1_times_max", (-1, -1), (ah, ah)),
        ("alternating_extremes", (wh, wl), (ah, ah)),
        ("alternating_signs", (wl, wh), (ah, al)),
        ("alternating_bitplanes", (planes_w, planes_w), (planes_a, planes_a)),
    )


ENCODING = Encoding(
    name="twos",
    label="{0,1} bit-plane",
    description="M-bit two's-complement weights, K-bit unsigned activations; AND-popcount branches, "
                "y = sum s_i 2^(i+j) pc_ij with s = -1 for the top weight plane",
    decode_w=decode_w,
    decode_a=decode_a,
    encode_w=encode_w,
    encode_a=encode_a,
    w_range=w_range,
    a_range=a_range,
    w_word="signed",
    a_word="unsigned",
    w_levels=lambda bits: _levels(w_range(bits)),
    a_levels=lambda bits: _levels(a_range(bits)),
    nearest_w=lambda t, bits: _nearest(t, *w_range(bits)),
    nearest_a=lambda t, bits: _nearest(t, *a_range(bits)),
    gate=AND,
    pc_shift=0,
    plane_sign=lambda i, wbits: -1 if i == wbits - 1 else 1,
    constant=lambda wbits, abits, n: 0,
    corners=corners,
    required_corners=("all_min", "all_max", "y_min"),
    formula="sum_{i,j} s_i 2^(i+j) pc_ij",
    constant_text="0",
)
