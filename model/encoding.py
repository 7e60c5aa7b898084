"""{-1,+1} encoding of odd integer codes and the branch-decomposed dot product.

An M-bit code is an odd integer q = sum_i 2^i b_i with b_i in {-1,+1}; it is stored as
the unsigned word u (bit i = 1 for b_i = +1), so q = 2u - (2^M - 1). A dot product of
M-bit weights and K-bit activations splits into M*K XNOR-popcount branches:

    W.A = sum_{i,j} 2^(i+j) (2 popcount(XNOR(w_i, a_j)) - N)

Everything here is vectorised numpy; loops run over bit planes (at most 16), never over elements.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

WORD = 64  # bits per packed word


def _check_bits(bits: int) -> int:
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not 1 <= bits <= 32:
        raise ValueError(f"bits must be an integer in 1..32, got {bits!r}")
    return int(bits)


def code_range(bits: int) -> tuple[int, int]:
    """Smallest and largest code of a ``bits``-bit encoding: -(2^M - 1) and 2^M - 1."""
    m = (1 << _check_bits(bits)) - 1
    return -m, m


def codes(bits: int) -> NDArray[np.int64]:
    """All 2^M codes in increasing order: -(2^M-1), ..., -1, 1, ..., 2^M-1."""
    lo, hi = code_range(bits)
    return np.arange(lo, hi + 1, 2, dtype=np.int64)


def code_from_word(u: ArrayLike, bits: int) -> NDArray[np.int64]:
    """q = 2u - (2^M - 1); u must be an unsigned M-bit word."""
    bits = _check_bits(bits)
    u = np.asarray(u, dtype=np.int64)
    if u.size and (u.min() < 0 or u.max() >= (1 << bits)):
        raise ValueError(f"word out of range for {bits} bits: must be in 0..{(1 << bits) - 1}")
    return 2 * u - ((1 << bits) - 1)


def word_from_code(q: ArrayLike, bits: int) -> NDArray[np.int64]:
    """Inverse of :func:`code_from_word`; q must be odd and within the code range."""
    bits = _check_bits(bits)
    q = np.asarray(q, dtype=np.int64)
    lo, hi = code_range(bits)
    if q.size and (np.any(q % 2 == 0) or q.min() < lo or q.max() > hi):
        raise ValueError(f"code must be odd and in {lo}..{hi} for {bits} bits")
    return (q + ((1 << bits) - 1)) // 2


def planes_from_word(u: ArrayLike, bits: int) -> NDArray[np.int8]:
    """{-1,+1} bit planes b_i of words u; shape (bits, *u.shape), plane i has weight 2^i."""
    bits = _check_bits(bits)
    u = np.asarray(u, dtype=np.int64)
    shifts = np.arange(bits, dtype=np.int64).reshape((bits,) + (1,) * u.ndim)
    return (2 * ((u[None] >> shifts) & 1) - 1).astype(np.int8)


def word_from_planes(b: ArrayLike) -> NDArray[np.int64]:
    """Words u from {-1,+1} planes (axis 0 = plane index, +1 -> bit 1)."""
    b = np.asarray(b)
    if b.size and not np.all(np.abs(b) == 1):
        raise ValueError("bit planes must hold only -1 and +1")
    bits = b.shape[0]
    weights = (np.int64(1) << np.arange(bits, dtype=np.int64)).reshape((bits,) + (1,) * (b.ndim - 1))
    return ((b > 0).astype(np.int64) * weights).sum(axis=0)


def code_from_planes(b: ArrayLike) -> NDArray[np.int64]:
    """q = sum_i 2^i b_i."""
    b = np.asarray(b, dtype=np.int64)
    bits = b.shape[0]
    weights = (np.int64(1) << np.arange(bits, dtype=np.int64)).reshape((bits,) + (1,) * (b.ndim - 1))
    return (b * weights).sum(axis=0)


def pack_planes(u: ArrayLike, bits: int) -> NDArray[np.uint64]:
    """Pack the bit planes of words u (shape (..., N)) into uint64 words: shape (bits, ..., ceil(N/64)).

    Bit e % 64 of word e // 64 of plane i is bit i of element e; padding bits are 0.
    """
    bits = _check_bits(bits)
    u = np.asarray(u, dtype=np.uint64)
    n = u.shape[-1]
    nwords = max(1, -(-n // WORD))
    pad = nwords * WORD - n
    if pad:
        u = np.concatenate([u, np.zeros(u.shape[:-1] + (pad,), dtype=np.uint64)], axis=-1)
    u = u.reshape(u.shape[:-1] + (nwords, WORD))
    shifts = np.arange(bits, dtype=np.uint64).reshape((bits,) + (1,) * u.ndim)
    plane_bits = (u[None] >> shifts) & np.uint64(1)  # (bits, ..., nwords, 64)
    pos = np.arange(WORD, dtype=np.uint64)
    return np.bitwise_or.reduce(plane_bits << pos, axis=-1)


def valid_mask(n: int) -> NDArray[np.uint64]:
    """Per-word mask of the N real element positions (excludes padding)."""
    nwords = max(1, -(-n // WORD))
    mask = np.full(nwords, np.uint64(0xFFFFFFFFFFFFFFFF), dtype=np.uint64)
    rem = n % WORD
    if rem:
        mask[-1] = np.uint64((1 << rem) - 1)
    return mask


def branch_popcounts(wp: NDArray[np.uint64], ap: NDArray[np.uint64], n: int) -> NDArray[np.int64]:
    """popcount(XNOR(w_i, a_j)) for every branch (i, j): shape (M, K, *broadcast batch)."""
    m, k = wp.shape[0], ap.shape[0]
    w = wp.reshape((m, 1) + wp.shape[1:])
    a = ap.reshape((1, k) + ap.shape[1:])
    x = ~(w ^ a) & valid_mask(n)
    return np.bitwise_count(x).astype(np.int64).sum(axis=-1)


def combine_branches(pc: NDArray[np.int64], n: int) -> NDArray[np.int64]:
    """sum_{i,j} 2^(i+j) (2 pc_ij - N): turn branch popcounts into the dot product."""
    m, k = pc.shape[:2]
    shift = (np.arange(m)[:, None] + np.arange(k)[None, :]).astype(np.int64)
    scale = (np.int64(1) << shift).reshape((m, k) + (1,) * (pc.ndim - 2))
    return ((2 * pc - n) * scale).sum(axis=(0, 1))


def branch_dot(w_u: ArrayLike, a_u: ArrayLike, wbits: int, abits: int) -> NDArray[np.int64]:
    """Dot product of encoded vectors over the last axis via M*K XNOR-popcount branches.

    ``w_u`` (..., N) holds WBITS-bit words, ``a_u`` (..., N) ABITS-bit words; leading axes
    broadcast. Equals ``(code_from_word(w_u) * code_from_word(a_u)).sum(-1)`` exactly.
    """
    w_u = np.asarray(w_u)
    a_u = np.asarray(a_u)
    if w_u.shape[-1] != a_u.shape[-1]:
        raise ValueError(f"vector lengths differ: {w_u.shape[-1]} vs {a_u.shape[-1]}")
    n = w_u.shape[-1]
    if n < 1:
        raise ValueError("N must be at least 1")
    code_from_word(w_u, wbits), code_from_word(a_u, abits)  # range checks
    pc = branch_popcounts(pack_planes(w_u, wbits), pack_planes(a_u, abits), n)
    return combine_branches(pc, n)


def branch_matmul(a_u: ArrayLike, w_u: ArrayLike, abits: int, wbits: int) -> NDArray[np.int64]:
    """Layer product: activations (B, N) x weights (O, N) -> (B, O), through the branch decomposition."""
    a_u = np.asarray(a_u)
    w_u = np.asarray(w_u)
    return branch_dot(w_u[None, :, :], a_u[:, None, :], wbits, abits)


def integer_dot(w_u: ArrayLike, a_u: ArrayLike, wbits: int, abits: int) -> NDArray[np.int64]:
    """The plain integer reference: decode both to codes, multiply, sum."""
    return (code_from_word(w_u, wbits) * code_from_word(a_u, abits)).sum(axis=-1)
