"""A two-layer encoded MLP for 8x8 digits: numpy training with the STE, integer inference.

Network: x (64) -> encoded layer 1 (64 -> H) -> batch norm -> clip -> K-bit activations
-> encoded layer 2 (H -> 10) -> batch norm -> logits. Both layers have M-bit weights and K-bit
activations, so both are M x K encoded dot products; the *input pixels are quantized too*
(put on the K-bit activation levels, like every other activation), hence layer 1 is a
fully encoded layer with fan-in 64, the one run on the RTL. Batch norm folds into a per-unit
scale and shift applied to the integer dot products at inference.

The encoding (``model.encodings``) decides the level sets: ``pm1`` (default) puts weights on the odd
levels and activations on the odd levels of [-1, 1] after a hard-tanh (pixels x in [-1, 1]); ``twos`` puts
weights on the two's-complement integers -2^(M-1)..2^(M-1)-1 and activations on the unsigned levels of
[0, 1] after a clipped ReLU (pixels mapped to [0, 1]). The activation interval is the encoding's activation
range divided by its largest value. The float baseline of each encoding is the same network with no
quantizer (the clip kept: hard-tanh for pm1, ReLU clipped at 1 for twos).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from numpy.typing import NDArray

from common.errors import BitbranchError
from model import encodings
from model.encodings import Encoding
from model.quant import fit_alpha, to_weight_levels
from qnn.data import DigitsSplit

BN_EPS = 1e-5
BN_MOMENTUM = 0.1
CLASSES = 10
MAX_QNN_BITS = 8

Array = NDArray[np.float64]
Matmul = Callable[[NDArray[np.int64], NDArray[np.int64], int, int, str], NDArray[np.int64]]
"""(activation words, weight words, abits, wbits, encoding) -> layer products."""


@dataclass(frozen=True)
class TrainConfig:
    """One training run: bit widths (None, None = float baseline), width, schedule and seed."""

    wbits: int | None = 2
    abits: int | None = 2
    hidden: int = 64
    epochs: int = 40
    batch: int = 32
    lr: float = 0.01
    seed: int = 0
    encoding: str = encodings.DEFAULT

    def __post_init__(self) -> None:
        try:
            encodings.get(self.encoding)
        except encodings.EncodingError as e:
            raise BitbranchError(str(e)) from None
        if (self.wbits is None) != (self.abits is None):
            raise BitbranchError("give both wbits and abits, or neither (float baseline)")
        for name in ("wbits", "abits"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= MAX_QNN_BITS):
                raise BitbranchError(f"{name}={v!r} is out of range: use an integer 1..{MAX_QNN_BITS}")
        for name in ("hidden", "epochs", "batch"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise BitbranchError(f"{name}={v!r} must be a positive integer")
        if not self.lr > 0:
            raise BitbranchError(f"lr={self.lr!r} must be positive")

    @property
    def quantized(self) -> bool:
        return self.wbits is not None

    @property
    def enc(self) -> Encoding:
        return encodings.get(self.encoding)

    @property
    def label(self) -> str:
        """'float' or 'W2/A2' (the encoding is a column of its own)."""
        return f"W{self.wbits}/A{self.abits}" if self.quantized else "float"


@dataclass(frozen=True)
class BatchNorm:
    """Learned affine and running statistics of one batch-norm layer."""

    gamma: Array
    beta: Array
    mean: Array
    var: Array

    def fold(self) -> tuple[Array, Array]:
        """(s, t) with bn(z) = s*z + t at inference."""
        s = self.gamma / np.sqrt(self.var + BN_EPS)
        return s, self.beta - self.mean * s


@dataclass(frozen=True)
class TrainedMlp:
    """Latent float weights and batch norms after training, with the config that made them."""

    config: TrainConfig
    w1: Array  # (H, 64)
    bn1: BatchNorm
    w2: Array  # (10, H)
    bn2: BatchNorm


@dataclass(frozen=True)
class QuantizedMlp:
    """The deployed network: weight words, scales, and folded batch norm per output unit."""

    wbits: int
    abits: int
    encoding: str
    w1_u: NDArray[np.int64]  # (H, 64) unsigned WBITS-bit words
    w2_u: NDArray[np.int64]  # (10, H)
    alpha_w1: float
    alpha_w2: float
    scale1: Array  # hidden pre-activation = scale1 * dot1 + shift1
    shift1: Array
    scale2: Array  # logits = scale2 * dot2 + shift2
    shift2: Array

    @property
    def enc(self) -> Encoding:
        return encodings.get(self.encoding)

    @property
    def alpha_a(self) -> float:
        """Activation step: the K-bit levels span [-1, 1] (pm1, odd levels) or [0, 1] (twos, unsigned)."""
        return 1.0 / ((1 << self.abits) - 1)


@dataclass(frozen=True)
class Inference:
    """Every integer stage of one quantized forward pass, kept so hardware runs can be compared."""

    a0_u: NDArray[np.int64]  # (B, 64) input words
    dot1: NDArray[np.int64]  # (B, H) layer-1 integer dot products
    a1_u: NDArray[np.int64]  # (B, H) hidden activation words
    dot2: NDArray[np.int64]  # (B, 10)
    logits: Array
    pred: NDArray[np.int64]


# --- quantizers used in training ------------------------------------------------------------

def act_interval(enc: Encoding) -> tuple[float, float]:
    """The activations' real interval: the encoding's activation range over its largest value ([-1, 1] for pm1,
    [0, 1] for twos); the same at every width."""
    lo, hi = enc.a_range(1)
    return lo / hi, 1.0


def _weights_forward(w: Array, bits: int | None, enc: Encoding) -> tuple[Array, float]:
    """Effective weights alpha*q (STE: the gradient passes to the latent weights unchanged)."""
    if bits is None:
        return w, 1.0
    alpha = fit_alpha(w, bits, enc=enc)
    return alpha * to_weight_levels(w, alpha, bits, enc).astype(np.float64), alpha


def act_levels(h: Array, bits: int, enc: Encoding) -> NDArray[np.int64]:
    """Activation levels of h: nearest of the encoding's K-bit levels times 1/(2^K-1), clipped (the clip is the
    hard-tanh of pm1, the clipped ReLU of twos)."""
    return enc.nearest_a(np.asarray(h, dtype=np.float64) / (1.0 / ((1 << bits) - 1)), bits)


def _act_forward(h: Array, bits: int | None, enc: Encoding) -> tuple[Array, Array]:
    """Clip to the activation interval, then K-bit levels; returns value and the STE mask (h inside the interval:
    |h| <= 1 for pm1, 0 <= h <= 1 for twos)."""
    lo, hi = act_interval(enc)
    if bits is None:
        return np.clip(h, lo, hi), ((h >= lo) & (h <= hi)).astype(np.float64)
    alpha = 1.0 / ((1 << bits) - 1)
    limit = alpha * ((1 << bits) - 1)  # the top level, computed as model.quant.ste_mask does
    mask = ((h >= lo * limit) & (h <= limit)).astype(np.float64)
    return alpha * act_levels(h, bits, enc).astype(np.float64), mask


def matmul(a: Array, b: Array) -> Array:
    """a @ b with a fixed summation order (k ascending, one rounding per multiply and per add).

    numpy's ``@`` calls the BLAS, whose kernel (chosen per CPU: OpenBLAS's Haswell, SkylakeX, ...) and blocking
    decide the order of the additions, so the same training gave other weights on another machine. Elementwise
    ufuncs round each element exactly (IEEE), whatever the vector width, so this loop gives the same bits on
    every x86-64 machine; it costs about 2x in training time at these sizes.
    """
    out = np.zeros((a.shape[0], b.shape[1]))
    for k in range(a.shape[1]):
        out += a[:, k, None] * b[None, k, :]
    return out


def input_values(x: Array, enc: Encoding) -> Array:
    """Pixels in [-1, 1] mapped onto the activation interval: unchanged for pm1, (x + 1) / 2 in [0, 1] for twos."""
    lo, hi = act_interval(enc)
    return x if (lo, hi) == (-1.0, 1.0) else lo + (np.asarray(x) + 1.0) / 2.0 * (hi - lo)


def _input_forward(x: Array, bits: int | None, enc: Encoding) -> Array:
    """Input pixels on the activation interval and its K-bit levels, or as they are for the float net."""
    x = input_values(x, enc)
    return x if bits is None else (1.0 / ((1 << bits) - 1)) * act_levels(x, bits, enc).astype(np.float64)


def _bn_train(z: Array, gamma: Array, beta: Array) -> tuple[Array, tuple[Array, Array, Array, Array]]:
    mu = z.mean(axis=0)
    var = z.var(axis=0)
    inv = 1.0 / np.sqrt(var + BN_EPS)
    zh = (z - mu) * inv
    return gamma * zh + beta, (zh, inv, mu, var)


def _bn_backward(dout: Array, gamma: Array, zh: Array, inv: Array) -> tuple[Array, Array, Array]:
    b = dout.shape[0]
    dzh = dout * gamma
    dz = inv / b * (b * dzh - dzh.sum(axis=0) - zh * (dzh * zh).sum(axis=0))
    return dz, (dout * zh).sum(axis=0), dout.sum(axis=0)


def _softmax_ce(logits: Array, y: NDArray[np.int64]) -> tuple[float, Array]:
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    n = logits.shape[0]
    loss = float(-np.log(p[np.arange(n), y] + 1e-12).mean())
    p[np.arange(n), y] -= 1.0
    return loss, p / n


# --- training ----------------------------------------------------------------------------------

def train(split: DigitsSplit, cfg: TrainConfig) -> TrainedMlp:
    """Mini-batch Adam with a linearly decaying rate; quantized nets train through the STE."""
    rng = np.random.default_rng(cfg.seed)
    enc = cfg.enc
    n_in = split.x_train.shape[1]
    h = cfg.hidden
    params = {
        "w1": rng.uniform(-1, 1, (h, n_in)) * np.sqrt(6.0 / (n_in + h)),
        "w2": rng.uniform(-1, 1, (CLASSES, h)) * np.sqrt(6.0 / (h + CLASSES)),
        "g1": np.ones(h), "b1": np.zeros(h), "g2": np.ones(CLASSES), "b2": np.zeros(CLASSES),
    }
    run = {"m1": np.zeros(h), "v1": np.ones(h), "m2": np.zeros(CLASSES), "v2": np.ones(CLASSES)}
    adam_m = {k: np.zeros_like(v) for k, v in params.items()}
    adam_v = {k: np.zeros_like(v) for k, v in params.items()}
    b1_, b2_, eps = 0.9, 0.999, 1e-8
    n = split.x_train.shape[0]
    steps_per_epoch = -(-n // cfg.batch)
    total = cfg.epochs * steps_per_epoch
    step = 0
    for _epoch in range(cfg.epochs):
        order = rng.permutation(n)
        for s in range(steps_per_epoch):
            idx = order[s * cfg.batch:(s + 1) * cfg.batch]
            if idx.size < 2:
                continue
            x, y = split.x_train[idx], split.y_train[idx]
            a0 = _input_forward(x, cfg.abits, enc)
            w1e, _ = _weights_forward(params["w1"], cfg.wbits, enc)
            z1 = matmul(a0, w1e.T)
            h1, (zh1, inv1, mu1, var1) = _bn_train(z1, params["g1"], params["b1"])
            a1, mask1 = _act_forward(h1, cfg.abits, enc)
            w2e, _ = _weights_forward(params["w2"], cfg.wbits, enc)
            z2 = matmul(a1, w2e.T)
            logits, (zh2, inv2, mu2, var2) = _bn_train(z2, params["g2"], params["b2"])
            _, dlogits = _softmax_ce(logits, y)
            dz2, dg2, db2 = _bn_backward(dlogits, params["g2"], zh2, inv2)
            grads = {"w2": matmul(dz2.T, a1), "g2": dg2, "b2": db2}
            dh1 = matmul(dz2, w2e) * mask1
            dz1, grads["g1"], grads["b1"] = _bn_backward(dh1, params["g1"], zh1, inv1)
            grads["w1"] = matmul(dz1.T, a0)
            run["m1"] = (1 - BN_MOMENTUM) * run["m1"] + BN_MOMENTUM * mu1
            run["v1"] = (1 - BN_MOMENTUM) * run["v1"] + BN_MOMENTUM * var1
            run["m2"] = (1 - BN_MOMENTUM) * run["m2"] + BN_MOMENTUM * mu2
            run["v2"] = (1 - BN_MOMENTUM) * run["v2"] + BN_MOMENTUM * var2
            step += 1
            lr = cfg.lr * (1.0 - (step - 1) / total)
            for k, g in grads.items():
                adam_m[k] = b1_ * adam_m[k] + (1 - b1_) * g
                adam_v[k] = b2_ * adam_v[k] + (1 - b2_) * g * g
                mh = adam_m[k] / (1 - b1_**step)
                vh = adam_v[k] / (1 - b2_**step)
                params[k] = params[k] - lr * mh / (np.sqrt(vh) + eps)
            if cfg.quantized:  # BinaryConnect-style: keep latent weights bounded
                params["w1"] = np.clip(params["w1"], -1.0, 1.0)
                params["w2"] = np.clip(params["w2"], -1.0, 1.0)
    return TrainedMlp(
        config=cfg,
        w1=params["w1"],
        bn1=BatchNorm(params["g1"], params["b1"], run["m1"], run["v1"]),
        w2=params["w2"],
        bn2=BatchNorm(params["g2"], params["b2"], run["m2"], run["v2"]),
    )


def float_logits(net: TrainedMlp, x: Array) -> Array:
    """Eval-mode forward in floating point (fake-quantized for a quantized config)."""
    cfg = net.config
    enc = cfg.enc
    s1, t1 = net.bn1.fold()
    s2, t2 = net.bn2.fold()
    a0 = _input_forward(x, cfg.abits, enc)
    w1e, _ = _weights_forward(net.w1, cfg.wbits, enc)
    a1, _ = _act_forward(s1 * matmul(a0, w1e.T) + t1, cfg.abits, enc)
    w2e, _ = _weights_forward(net.w2, cfg.wbits, enc)
    return s2 * matmul(a1, w2e.T) + t2


# --- deployment: integer inference through the branch decomposition -----------------------------

def quantize_net(net: TrainedMlp) -> QuantizedMlp:
    """Weights to words with per-tensor scales; batch norm and scales folded per output unit."""
    cfg = net.config
    if not cfg.quantized:
        raise BitbranchError("the float baseline has no encoded form: train with wbits/abits set")
    w, a = int(cfg.wbits), int(cfg.abits)
    enc = cfg.enc
    alpha_a = 1.0 / ((1 << a) - 1)
    alpha_w1 = fit_alpha(net.w1, w, enc=enc)
    alpha_w2 = fit_alpha(net.w2, w, enc=enc)
    s1, t1 = net.bn1.fold()
    s2, t2 = net.bn2.fold()
    return QuantizedMlp(
        wbits=w,
        abits=a,
        encoding=cfg.encoding,
        w1_u=enc.encode_w(to_weight_levels(net.w1, alpha_w1, w, enc), w),
        w2_u=enc.encode_w(to_weight_levels(net.w2, alpha_w2, w, enc), w),
        alpha_w1=alpha_w1,
        alpha_w2=alpha_w2,
        scale1=s1 * alpha_w1 * alpha_a,
        shift1=t1,
        scale2=s2 * alpha_w2 * alpha_a,
        shift2=t2,
    )


def integer_matmul(a_u: NDArray[np.int64], w_u: NDArray[np.int64], abits: int, wbits: int,
                   encoding: str = encodings.DEFAULT) -> NDArray[np.int64]:
    """Plain integer reference of a layer: decode both operands as the encoding reads them and multiply,
    (B,N)x(O,N)->(B,O)."""
    return encodings.get(encoding).integer_matmul(a_u, w_u, abits, wbits)


def branch_matmul(a_u: NDArray[np.int64], w_u: NDArray[np.int64], abits: int, wbits: int,
                  encoding: str = encodings.DEFAULT) -> NDArray[np.int64]:
    """The layer through the encoding's branch form (model.encodings: XNOR branches for pm1, AND for twos)."""
    return encodings.get(encoding).branch_matmul(a_u, w_u, abits, wbits)


def input_words(net: QuantizedMlp, x: Array) -> NDArray[np.int64]:
    """Input pixels in [-1, 1] to K-bit activation words (on [0, 1] for twos)."""
    enc = net.enc
    return enc.encode_a(act_levels(input_values(x, enc), net.abits, enc), net.abits)


def hidden_words(net: QuantizedMlp, dot1: NDArray[np.int64]) -> NDArray[np.int64]:
    """Layer-1 integer dots -> folded batch norm -> clip (hard-tanh, or clipped ReLU) -> K-bit words."""
    pre = net.scale1 * dot1.astype(np.float64) + net.shift1
    enc = net.enc
    return enc.encode_a(act_levels(pre, net.abits, enc), net.abits)


def infer(
    net: QuantizedMlp,
    x: Array,
    matmul: Matmul = branch_matmul,
    dot1: NDArray[np.int64] | None = None,
) -> Inference:
    """Quantized forward pass; layer products by ``matmul`` (the encoding's branch form by default), which gets
    the network's encoding.

    ``dot1`` replaces layer 1's products by ones computed elsewhere (the RTL run).
    """
    a0_u = input_words(net, x)
    d1 = (matmul(a0_u, net.w1_u, net.abits, net.wbits, net.encoding) if dot1 is None
          else np.asarray(dot1, dtype=np.int64))
    a1_u = hidden_words(net, d1)
    d2 = matmul(a1_u, net.w2_u, net.abits, net.wbits, net.encoding)
    logits = net.scale2 * d2.astype(np.float64) + net.shift2
    return Inference(a0_u, d1, a1_u, d2, logits, np.argmax(logits, axis=1).astype(np.int64))


def accuracy(pred: NDArray[np.int64], labels: NDArray[np.int64]) -> float:
    return float(np.mean(np.asarray(pred) == np.asarray(labels)))
