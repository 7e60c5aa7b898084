"""``pm1``: the {-1,+1} encoding (the default). An M-bit word u is the odd code q = 2u - (2^M - 1), i.e. its bits
b_i in {-1,+1} with q = sum_i 2^i b_i; weights and activations alike. The product splits into XNOR-popcount branches:

    W.A = sum_{i,j} 2^(i+j) (2 popcount(XNOR(w_i, a_j)) - N) = sum_{i,j} 2^(i+j+1) pc_ij - N (2^M-1)(2^K-1)

The arithmetic itself is model.encoding's (the project's original reference); this module only describes it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from model.encoding import code_from_word, code_range, codes, word_from_code
from model.encodings import XNOR, Corner, Encoding


def nearest(t: ArrayLike, bits: int) -> NDArray[np.int64]:
    """Nearest odd level of t (ties go up), clipped to the code range (model.quant.to_codes's rounding)."""
    lo, hi = code_range(bits)
    t = np.asarray(t, dtype=np.float64)
    q = 2 * np.floor(t / 2) + 1
    return np.clip(q, lo, hi).astype(np.int64)


def constant(wbits: int, abits: int, n: int) -> int:
    """N (2^W-1)(2^A-1): what the -N of each branch adds up to over the shift-add."""
    return n * ((1 << wbits) - 1) * ((1 << abits) - 1)


def corners(wbits: int, abits: int) -> tuple[Corner, ...]:
    """Every element -1, every element +1, +1 x -1, alternating signs, the four extreme products, alternating
    extremes, and alternating bit planes (words 0b..0101 and its complement)."""
    (wl, wh), (al, ah) = code_range(wbits), code_range(abits)
    bits_w = sum(1 << i for i in range(0, wbits, 2))
    bits_a = sum(1 << i for i in range(0, abits, 2))
    planes_w = int(code_from_word(bits_w, wbits))
    planes_a = int(code_from_word(((1 << abits) - 1) ^ bits_a, abits))
    return (
        ("all_minus1", (-1, -1), (-1, -1)),
        ("all_plus1", (1, 1), (1, 1)),
        ("plus1_times_minus1", (1, 1), (-1, -1)),
        ("alternating_pm1", (1, -1), (1, -1)),
        ("y_max", (wh, wh), (ah, ah)),
        ("y_max_neg_neg", (wl, wl), (al, al)),
        ("y_min", (wh, wh), (al, al)),
        ("y_min_neg_pos", (wl, wl), (ah, ah)),
        ("alternating_extremes", (wh, wl), (ah, ah)),
        ("alternating_bitplanes", (planes_w, planes_w), (planes_a, planes_a)),
    )


ENCODING = Encoding(
    name="pm1",
    label="{-1,+1} encoded",
    description="odd codes q = 2u - (2^B - 1) for weights and activations; XNOR-popcount branches, "
                "y = sum 2^(i+j+1) pc_ij - N(2^W-1)(2^A-1)",
    decode_w=code_from_word,
    decode_a=code_from_word,
    encode_w=word_from_code,
    encode_a=word_from_code,
    w_range=code_range,
    a_range=code_range,
    w_word="odd",
    a_word="odd",
    w_levels=codes,
    a_levels=codes,
    nearest_w=nearest,
    nearest_a=nearest,
    gate=XNOR,
    pc_shift=1,
    plane_sign=lambda i, wbits: 1,
    constant=constant,
    corners=corners,
    required_corners=("all_minus1", "all_plus1", "alternating_pm1"),
    formula="sum_{i,j} 2^(i+j) (2 pc_ij - N)",
    constant_text="N (2^W-1)(2^A-1)",
)
