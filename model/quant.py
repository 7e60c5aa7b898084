"""Quantizers from real tensors to M-bit {-1,+1} codes with a scale alpha, and their STE.

The levels are the odd integers -(2^M-1), ..., -1, 1, ..., 2^M-1 times alpha (uniform, no
zero level, as in the encoding). Values beyond the outermost level are clipped. Training
code uses the straight-through estimator: the forward pass quantizes, the backward pass
lets the gradient through where the input is inside the clipping range, zero outside.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from model.encoding import code_range, word_from_code
from model.encodings import Encoding


@dataclass(frozen=True)
class Quantized:
    """Codes q (odd integers), their unsigned words u, the scale alpha and the bit width."""

    q: NDArray[np.int64]
    alpha: float
    bits: int

    @property
    def u(self) -> NDArray[np.int64]:
        return word_from_code(self.q, self.bits)

    @property
    def value(self) -> NDArray[np.float64]:
        return self.alpha * self.q.astype(np.float64)


def to_codes(x: ArrayLike, alpha: float, bits: int) -> NDArray[np.int64]:
    """Nearest odd level of x/alpha, clipped to the code range."""
    if not alpha > 0:
        raise ValueError(f"alpha must be positive, got {alpha}")
    lo, hi = code_range(bits)
    t = np.asarray(x, dtype=np.float64) / alpha
    q = 2 * np.floor(t / 2) + 1  # nearest odd integer (ties go up)
    return np.clip(q, lo, hi).astype(np.int64)


def to_weight_levels(x: ArrayLike, alpha: float, bits: int, enc: Encoding | None = None) -> NDArray[np.int64]:
    """Nearest weight level of x/alpha in the encoding's level set (default: the odd codes, :func:`to_codes`)."""
    if enc is None:
        return to_codes(x, alpha, bits)
    if not alpha > 0:
        raise ValueError(f"alpha must be positive, got {alpha}")
    return enc.nearest_w(np.asarray(x, dtype=np.float64) / alpha, bits)


def fit_alpha(x: ArrayLike, bits: int, iters: int = 200, enc: Encoding | None = None) -> float:
    """Scale minimising ||x - alpha q(x/alpha)||^2 by alternating levels and the least-squares alpha, q on the
    encoding's weight levels (default: the odd codes; twos: -2^(M-1) .. 2^(M-1)-1).

    Starts from mean|x| / mean|level| (the XNOR-Net scale at one bit, where it is already optimal)
    and stops at a fixed point: the least-squares alpha of the levels gives the same levels back.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    mean_abs = float(np.mean(np.abs(x))) if x.size else 0.0
    if mean_abs == 0.0:
        return 1.0
    if enc is None:
        levels = np.abs(np.arange(-(2**bits - 1), 2**bits, 2, dtype=np.float64))
    else:
        levels = np.abs(np.asarray(enc.w_levels(bits), dtype=np.float64))
    alpha = mean_abs / float(levels.mean())
    q = to_weight_levels(x, alpha, bits, enc)
    for _ in range(iters):
        qf = q.astype(np.float64)
        # np.sum (pairwise, fixed order) instead of a BLAS dot, whose order depends on the CPU's kernel
        denom = float(np.sum(qf * qf))
        if denom == 0.0:  # every weight on the zero level (twos): keep the scale
            break
        new = float(np.sum(x * qf) / denom)
        if not new > 0:  # a level set without positive levels (twos at M=1: {-1, 0}) can flip the sign: keep alpha
            break
        alpha = new
        nq = to_weight_levels(x, alpha, bits, enc)
        if np.array_equal(nq, q):
            break
        q = nq
    return alpha


def quantize_weights(w: ArrayLike, bits: int, alpha: float | None = None) -> Quantized:
    """Weights to codes with a per-tensor scale fitted to them (or the one given)."""
    a = fit_alpha(w, bits) if alpha is None else float(alpha)
    return Quantized(to_codes(w, a, bits), a, bits)


def quantize_activations(x: ArrayLike, bits: int, clip: float = 1.0) -> Quantized:
    """Activations clipped to [-clip, clip] and put on 2^K uniform odd levels (alpha = clip / (2^K - 1))."""
    if not clip > 0:
        raise ValueError(f"clip must be positive, got {clip}")
    alpha = clip / ((1 << bits) - 1)
    return Quantized(to_codes(x, alpha, bits), alpha, bits)


def ste_mask(x: ArrayLike, alpha: float, bits: int) -> NDArray[np.float64]:
    """Straight-through gradient of the quantizer: 1 inside the clipping range, 0 beyond it."""
    limit = alpha * ((1 << bits) - 1)
    return (np.abs(np.asarray(x, dtype=np.float64)) <= limit).astype(np.float64)


def fake_quant(x: ArrayLike, alpha: float, bits: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Forward value alpha*q and the STE mask, for one training step."""
    return alpha * to_codes(x, alpha, bits).astype(np.float64), ste_mask(x, alpha, bits)
