"""The encoding registry: one :class:`Encoding` descriptor per way of splitting a low-bit product into binary branches.

An encoding says how an M-bit weight word and a K-bit activation word are read as integers (``decode_w``,
``decode_a`` and their inverses, the value ranges, the level sets the QNN quantizer rounds to) and how the dot
product splits into M*K branches, each a bit gate and a popcount over N elements::

    y = sum_{i,j} plane_sign(i) 2^(i+j+pc_shift) popcount(gate(w_i, a_j)) - constant

- ``pm1`` (the default): odd codes q = 2u - (2^M - 1), bits read as {-1,+1}; gate XNOR, pc_shift 1,
  every plane +1, constant N(2^M-1)(2^K-1).
- ``twos``: the {0,1} bit-plane form of BISMO, Stripes/Loom, Bit Fusion, UNPU: M-bit two's-complement weights,
  K-bit unsigned activations; gate AND, pc_shift 0, the top weight plane -1, constant 0.

The rtl generators, the cycle model, the area/energy model, the benches and the QNN read what they need from the
descriptor (gate, pc_shift, plane signs, constant, decode, ranges, corners), never the encoding's name. Adding an
encoding is one module here (``model/encodings/<name>.py`` defining ``ENCODING``) plus one line in :data:`REGISTRY`;
``tests/test_encoding_registry.py`` fails if a part is missing or the parts disagree.
Pure numpy; the model layer, so every layer above can use it.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np
from numpy.typing import ArrayLike, NDArray

from common.errors import BitbranchError
from common.registry import RegistryError as RegistryError  # re-exported: the registry's error
from common.registry import check_all, lookup
from model.encoding import pack_planes, valid_mask

ENCODING_FORM = r"[a-z][a-z0-9]*"
DEFAULT = "pm1"
"""The default encoding: it never appears in a design id, so the ids of the {-1,+1} designs are unchanged."""

@dataclass(frozen=True)
class Gate:
    """The bit gate of a branch unit: numpy on 0/1 (or packed) integer arrays, a Verilog expression, a wire name
    and the cell kind the area/energy model costs it as (model.energy.UNIT_CELLS)."""

    name: str
    numpy: Callable[[Any, Any], Any]
    verilog: str  # format string over {w} and {a}
    wire: str
    cell_kind: str


XNOR = Gate("xnor", lambda w, a: ~(w ^ a), "~({w} ^ {a})", "agree", "xnor")
AND = Gate("and", lambda w, a: w & a, "{w} & {a}", "both", "and")


WORD_KINDS: tuple[str, ...] = ("odd", "signed", "unsigned")
"""How a word reads as an integer, for hardware that decodes words (the conventional baseline): ``odd`` q = 2u - (2^B-1),
``signed`` two's complement, ``unsigned`` u itself. :func:`problems` checks each descriptor's decode against its kind."""


def word_kind_value(kind: str, u: NDArray[np.int64], bits: int) -> NDArray[np.int64]:
    """The value of words u of ``bits`` bits read as ``kind`` (the reference the decode functions are checked on)."""
    if kind == "odd":
        return 2 * u - ((1 << bits) - 1)
    if kind == "signed":
        return np.where(u >= (1 << (bits - 1)), u - (1 << bits), u)
    return u


def word_width(kind: str, bits: int) -> int:
    """Bits of the signed value a ``bits``-bit word of ``kind`` decodes to: odd and unsigned need one more bit."""
    return bits if kind == "signed" else bits + 1


Values = Callable[[ArrayLike, int], NDArray[np.int64]]
"""(words or values, bits) -> values or words (int64 arrays), range-checked."""
Corner = tuple[str, tuple[int, int], tuple[int, int]]
"""(name, (weight value of even elements, of odd elements), (activation value of even, of odd elements))."""


@dataclass(frozen=True)
class Encoding:
    """Everything the project needs of one encoding; every field must be filled (see :func:`check`)."""

    name: str
    """The ``encoding`` of a spec (lower-case letters and digits); a non-default one appears in design ids."""
    label: str
    """Short name for tables and plots, e.g. '{-1,+1} encoded'."""
    description: str
    """One line: how the words are read and how the product splits."""
    decode_w: Values
    """Weight words (0..2^M-1) -> integer values."""
    decode_a: Values
    """Activation words -> integer values."""
    encode_w: Values
    """Weight values -> words (inverse of decode_w)."""
    encode_a: Values
    """Activation values -> words."""
    w_range: Callable[[int], tuple[int, int]]
    """bits -> (smallest, largest) weight value."""
    a_range: Callable[[int], tuple[int, int]]
    """bits -> (smallest, largest) activation value."""
    w_word: str
    """How a weight word reads as an integer, one of :data:`WORD_KINDS` (the baseline's decoder)."""
    a_word: str
    """How an activation word reads, one of :data:`WORD_KINDS`."""
    w_levels: Callable[[int], NDArray[np.int64]]
    """bits -> every weight value in increasing order (the QNN quantizer's level set)."""
    a_levels: Callable[[int], NDArray[np.int64]]
    """bits -> every activation value in increasing order."""
    nearest_w: Callable[[ArrayLike, int], NDArray[np.int64]]
    """(x / alpha, bits) -> the nearest weight level, clipped to the range (the quantizer's rounding)."""
    nearest_a: Callable[[ArrayLike, int], NDArray[np.int64]]
    """(x / alpha, bits) -> the nearest activation level, clipped."""
    gate: Gate
    """The branch unit's bit gate (XNOR, AND)."""
    pc_shift: int
    """Each popcount enters the shift-add times 2^(i+j+pc_shift)."""
    plane_sign: Callable[[int, int], int]
    """(weight plane i, WBITS) -> +1 or -1: the sign of that plane's branches in the shift-add."""
    constant: Callable[[int, int, int], int]
    """(WBITS, ABITS, N) -> the constant subtracted after the shift-add."""
    corners: Callable[[int, int], tuple[Corner, ...]]
    """(WBITS, ABITS) -> named corner inputs of the benches, as values (first the required ones)."""
    required_corners: tuple[str, ...]
    """Corner names a full regression run must have accepted (coverage goals ``corner_<name>``)."""
    formula: str
    """The dot product in branch form, one line (RTL comments, README), e.g. 'sum_{i,j} 2^(i+j) (2 pc_ij - N)'."""
    constant_text: str
    """The constant in symbols, e.g. 'N (2^W-1)(2^A-1)' ('0' when there is none)."""

    # --- derived arithmetic (generic over the parts above) -----------------------------------------
    def y_range(self, wbits: int, abits: int, n: int) -> tuple[int, int]:
        """(smallest, largest) y = sum_e w_e a_e over N elements (a product's extremes sit at corners of the ranges)."""
        (wl, wh), (al, ah) = self.w_range(wbits), self.a_range(abits)
        prods = [wl * al, wl * ah, wh * al, wh * ah]
        return n * min(prods), n * max(prods)

    def signs(self, wbits: int) -> list[int]:
        return [self.plane_sign(i, wbits) for i in range(wbits)]

    def combine(self, pc: NDArray[np.int64], wbits: int, abits: int, n: int) -> NDArray[np.int64]:
        """sum_{i,j} s_i 2^(i+j+pc_shift) pc_ij - constant: branch popcounts (M, K, ...) -> the dot product."""
        shift = (np.arange(wbits)[:, None] + np.arange(abits)[None, :] + self.pc_shift).astype(np.int64)
        scale = np.asarray(self.signs(wbits), dtype=np.int64)[:, None] * (np.int64(1) << shift)
        scale = scale.reshape((wbits, abits) + (1,) * (pc.ndim - 2))
        return (pc * scale).sum(axis=(0, 1)) - self.constant(wbits, abits, n)

    def branch_popcounts(self, wp: NDArray[np.uint64], ap: NDArray[np.uint64], n: int) -> NDArray[np.int64]:
        """popcount(gate(w_i, a_j)) for every branch (i, j) of packed planes: shape (M, K, *broadcast batch)."""
        m, k = wp.shape[0], ap.shape[0]
        w = wp.reshape((m, 1) + wp.shape[1:])
        a = ap.reshape((1, k) + ap.shape[1:])
        x = self.gate.numpy(w, a) & valid_mask(n)
        return np.bitwise_count(x).astype(np.int64).sum(axis=-1)

    def branch_dot(self, w_u: ArrayLike, a_u: ArrayLike, wbits: int, abits: int) -> NDArray[np.int64]:
        """Dot product over the last axis through the M*K branches; equals :meth:`integer_dot` exactly."""
        w_u, a_u = np.asarray(w_u), np.asarray(a_u)
        if w_u.shape[-1] != a_u.shape[-1]:
            raise ValueError(f"vector lengths differ: {w_u.shape[-1]} vs {a_u.shape[-1]}")
        n = w_u.shape[-1]
        if n < 1:
            raise ValueError("N must be at least 1")
        self.decode_w(w_u, wbits), self.decode_a(a_u, abits)  # range checks
        pc = self.branch_popcounts(pack_planes(w_u, wbits), pack_planes(a_u, abits), n)
        return self.combine(pc, wbits, abits, n)

    def branch_matmul(self, a_u: ArrayLike, w_u: ArrayLike, abits: int, wbits: int) -> NDArray[np.int64]:
        """Layer product: activations (B, N) x weights (O, N) -> (B, O), through the branch form."""
        a_u, w_u = np.asarray(a_u), np.asarray(w_u)
        return self.branch_dot(w_u[None, :, :], a_u[:, None, :], wbits, abits)

    def integer_dot(self, w_u: ArrayLike, a_u: ArrayLike, wbits: int, abits: int) -> NDArray[np.int64]:
        """The plain integer reference: decode both, multiply, sum over the last axis."""
        return (self.decode_w(w_u, wbits) * self.decode_a(a_u, abits)).sum(axis=-1)

    def integer_matmul(self, a_u: ArrayLike, w_u: ArrayLike, abits: int, wbits: int) -> NDArray[np.int64]:
        """Plain integer layer product (B, N) x (O, N) -> (B, O)."""
        return self.decode_a(a_u, abits) @ self.decode_w(w_u, wbits).T


# --- words and packed bit planes (shared by every encoding; the packing is model.encoding's) ----------------

def check_bits(bits: int) -> int:
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not 1 <= bits <= 32:
        raise ValueError(f"bits must be an integer in 1..32, got {bits!r}")
    return int(bits)


def check_words(u: ArrayLike, bits: int) -> NDArray[np.int64]:
    """u as int64, refusing anything outside 0..2^bits-1."""
    bits = check_bits(bits)
    u = np.asarray(u, dtype=np.int64)
    if u.size and (u.min() < 0 or u.max() >= (1 << bits)):
        raise ValueError(f"word out of range for {bits} bits: must be in 0..{(1 << bits) - 1}")
    return u


# --- the registry -------------------------------------------------------------------------------------

PARTS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Encoding))
CALLABLE_PARTS: tuple[str, ...] = ("decode_w", "decode_a", "encode_w", "encode_a", "w_range", "a_range", "w_levels",
                                   "a_levels", "nearest_w", "nearest_a", "plane_sign", "constant", "corners")


class EncodingError(BitbranchError, ValueError):
    """An unknown encoding name (one line naming the registered ones)."""


from model.encodings import pm1, twos  # noqa: E402  (the modules build their ENCODING from the classes above)

REGISTRY: dict[str, Encoding] = {
    "pm1": pm1.ENCODING,
    "twos": twos.ENCODING,
}
"""Every encoding, in report order: one line each."""


def problems(key: str, enc: Any) -> list[str]:
    """What is wrong with the descriptor filed under ``key`` (empty when it is complete)."""
    if not isinstance(enc, Encoding):
        return [f"registry entry {key!r} is a {type(enc).__name__}, not a model.encodings.Encoding"]
    out = []
    if enc.name != key:
        out.append(f"registry key {key!r} differs from its descriptor's name {enc.name!r}")
    if not isinstance(enc.name, str) or not re.fullmatch(ENCODING_FORM, enc.name):
        out.append(f"name {enc.name!r} is not a lower-case name (a letter, then letters or digits)")
    for f in ("label", "description", "formula", "constant_text"):
        v = getattr(enc, f)
        if not isinstance(v, str) or not v.strip() or "\n" in v:
            out.append(f"{f} must be one non-empty line")
    out += [f"{part} is not callable (got {getattr(enc, part)!r})" for part in CALLABLE_PARTS
            if not callable(getattr(enc, part))]
    for f in ("w_word", "a_word"):
        if getattr(enc, f) not in WORD_KINDS:
            out.append(f"{f} must be one of {', '.join(WORD_KINDS)}, got {getattr(enc, f)!r}")
    if not out:
        for bits in range(1, 5):
            u = np.arange(1 << bits, dtype=np.int64)
            for f, dec, rng, enc_ in (("w", enc.decode_w, enc.w_range, enc.encode_w), ("a", enc.decode_a, enc.a_range, enc.encode_a)):
                v = np.asarray(dec(u, bits))
                if not np.array_equal(v, word_kind_value(getattr(enc, f"{f}_word"), u, bits)):
                    out.append(f"decode_{f} disagrees with {f}_word={getattr(enc, f'{f}_word')!r} at {bits} bits")
                elif (int(v.min()), int(v.max())) != tuple(rng(bits)):
                    out.append(f"{f}_range({bits}) = {rng(bits)} is not the decoded words' range")
                elif not np.array_equal(np.asarray(enc_(v, bits)), u):
                    out.append(f"encode_{f} is not the inverse of decode_{f} at {bits} bits")
    if not isinstance(enc.gate, Gate):
        out.append(f"gate must be a model.encodings.Gate, got {enc.gate!r}")
    if isinstance(enc.pc_shift, bool) or not isinstance(enc.pc_shift, int) or enc.pc_shift < 0:
        out.append(f"pc_shift must be a non-negative integer, got {enc.pc_shift!r}")
    if not isinstance(enc.required_corners, tuple) or not enc.required_corners:
        out.append("required_corners must be a non-empty tuple of corner names")
    return [f"encoding {key!r}: {p}" for p in out]


def check(registry: Mapping[str, Any] | None = None) -> None:
    """Raise RegistryError naming every missing or malformed part of every registered encoding."""
    reg = REGISTRY if registry is None else registry
    missing_default = [] if DEFAULT in reg else [f"the default encoding {DEFAULT!r} is not registered"]
    check_all(reg, "encoding", problems, missing_default)


def names() -> tuple[str, ...]:
    """The registered encoding names, in registry order."""
    return tuple(REGISTRY)


@functools.lru_cache(maxsize=64)
def _problems_of(key: str, enc: Encoding) -> tuple[str, ...]:
    return tuple(problems(key, enc))


def checked_problems(key: str, enc: Any) -> list[str]:
    """:func:`problems`, remembered per (key, descriptor): the check decodes and encodes words at 1..4 bits, and
    ``get`` runs on every ``spec.enc`` (hundreds of times per energy estimate; the design-space sweep's model-only
    points were half check). A frozen descriptor's check cannot change; an unhashable one is checked every time."""
    try:
        return list(_problems_of(key, enc))
    except TypeError:
        return problems(key, enc)


def get(name: str) -> Encoding:
    """The descriptor of a registered encoding; EncodingError naming the registered ones for any other name."""
    return lookup(REGISTRY, name, "encoding", "encoding", checked_problems, EncodingError)
