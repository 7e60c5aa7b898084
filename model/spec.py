"""The design spec: the one value every stage takes, and the port contract it implies.

Every artifact of a design lives under ``build/<spec.id>/``; the id is stable and
says what the design is (``parallel_w2a2_n32``).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from common.errors import BitbranchError
from model import encodings
from model.encodings import Encoding, EncodingError

ARCH_FORM = r"[a-z][a-z0-9]*"
"""What an arch name looks like (it starts every design id). Which names exist is the architecture registry's
business (``rtl.archs``), checked where a spec enters the program, not here: the model knows no architecture."""

MIN_BITS, MAX_BITS = 1, 16
MIN_N, MAX_N = 1, 65536

POPCOUNT_STYLES: tuple[str, ...] = ("dadda", "wallace")
"""How the popcount compressor tree of the encoded PEs is reduced."""

ADDER_MAPPINGS: tuple[str, ...] = ("abc", "fa")
"""How synthesis implements adders (like OpenLane's SYNTH_ADDER_TYPE): ``abc`` lets ABC map every full adder onto
XOR/majority gates; ``fa`` extracts full and half adders before ABC and maps them onto the library's ``fa``/``ha``
cells. The RTL is the same; every architecture, the baseline included, gets the same mapping."""


class SpecError(BitbranchError, ValueError):
    """An invalid design spec; the message names the bad field and the allowed range."""


def _as_int(name: str, value: Any) -> int:
    """Accept ints and integer strings ("2"), refuse bools, floats and junk with one clear message."""
    if isinstance(value, bool):
        raise SpecError(f"{name} must be an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
        return int(value.strip())
    raise SpecError(f"{name} must be an integer, got {value!r}")


@dataclass(frozen=True)
class DesignSpec:
    """One processing element: arch, weight bits, activation bits, vector length and knobs.

    Knobs with default values do not appear in the id, so ids of plain designs
    stay short and stable when a knob is added later.
    """

    arch: str = "parallel"
    wbits: int = 2
    abits: int = 2
    n: int = 32
    popcount: str = "dadda"
    encoding: str = encodings.DEFAULT
    """How a word is read and how the product splits into branches (``model.encodings``): ``pm1`` (odd {-1,+1}
    codes, the default) or ``twos`` (two's-complement weights, unsigned activations, {0,1} bit planes)."""
    adder: str = "abc"
    """How synthesis maps adders (``ADDER_MAPPINGS``): a flow knob kept in the spec so that the id says it."""

    def __post_init__(self) -> None:
        for name in ("wbits", "abits", "n"):
            object.__setattr__(self, name, _as_int(name, getattr(self, name)))
        if not isinstance(self.arch, str) or not re.fullmatch(ARCH_FORM, self.arch):
            raise SpecError(f"arch must be a lower-case name (a letter, then letters or digits), got {self.arch!r}")
        for name in ("wbits", "abits"):
            v = getattr(self, name)
            if not MIN_BITS <= v <= MAX_BITS:
                raise SpecError(f"{name}={v} is out of range: use {MIN_BITS}..{MAX_BITS}")
        if not MIN_N <= self.n <= MAX_N:
            raise SpecError(f"n={self.n} is out of range: use {MIN_N}..{MAX_N} (vector length)")
        if self.popcount not in POPCOUNT_STYLES:
            raise SpecError(
                f"unknown popcount style {self.popcount!r}: choose one of {', '.join(POPCOUNT_STYLES)}"
            )
        if self.adder not in ADDER_MAPPINGS:
            raise SpecError(f"unknown adder mapping {self.adder!r}: choose one of {', '.join(ADDER_MAPPINGS)}")
        try:
            encodings.get(self.encoding)
        except EncodingError as e:
            raise SpecError(str(e)) from None

    @property
    def id(self) -> str:
        """Stable name of the design, used as its build folder and in every report row: a non-default encoding
        follows the arch (``parallel_twos_w2a2_n32``), other non-default knobs are ``_knob-value`` suffixes."""
        enc = "" if self.encoding == encodings.DEFAULT else f"_{self.encoding}"
        base = f"{self.arch}{enc}_w{self.wbits}a{self.abits}_n{self.n}"
        extra = [
            f"{f.name}-{getattr(self, f.name)}"
            for f in dataclasses.fields(self)
            if f.name not in ("arch", "wbits", "abits", "n", "encoding") and getattr(self, f.name) != f.default
        ]
        return "_".join([base, *extra])

    # --- the port contract -------------------------------------------------
    @property
    def w_width(self) -> int:
        """Width of the packed weight bus ``w``: N elements of WBITS bits, element-major."""
        return self.n * self.wbits

    @property
    def a_width(self) -> int:
        """Width of the packed activation bus ``a``: N elements of ABITS bits, element-major."""
        return self.n * self.abits

    @property
    def enc(self) -> Encoding:
        """The encoding's descriptor (model.encodings)."""
        return encodings.get(self.encoding)

    @property
    def y_max(self) -> int:
        """Largest y of the encoding: N (2^WBITS - 1)(2^ABITS - 1) for pm1 (= largest |y|), N (2^(WBITS-1) - 1)
        (2^ABITS - 1) for twos."""
        return self.enc.y_range(self.wbits, self.abits, self.n)[1]

    @property
    def y_min(self) -> int:
        """Smallest y of the encoding: -y_max for pm1, -N 2^(WBITS-1) (2^ABITS - 1) for twos."""
        return self.enc.y_range(self.wbits, self.abits, self.n)[0]

    @property
    def out_width(self) -> int:
        """Minimal two's-complement width holding every y in [y_min, y_max], at least 2 bits: twos W1A1 N=1
        (y in {-1, 0}) would otherwise get a 1-bit y, narrower than the product it is computed from."""
        return max(2, max(self.y_max.bit_length(), max(-self.y_min - 1, 0).bit_length()) + 1)

    @property
    def macs(self) -> int:
        """Multiply-accumulate operations in one dot product (one output y)."""
        return self.n

    def build_dir(self, root: Path | str = "build") -> Path:
        """Folder holding every artifact of this design."""
        return Path(root) / self.id

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_mapping(cls, m: Mapping[str, Any]) -> "DesignSpec":
        """Build from a dict (a manifest, a CLI namespace); unknown keys are an error, not ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(m) - names)
        if unknown:
            raise SpecError(f"unknown spec field(s) {', '.join(unknown)}: known are {', '.join(sorted(names))}")
        return cls(**dict(m))

    @classmethod
    def from_id(cls, spec_id: str) -> "DesignSpec":
        """Parse an id such as ``serial_w3a1_n7`` (plus ``_knob-value`` suffixes) back to a spec."""
        m = re.fullmatch(f"({ARCH_FORM})(?:_({encodings.ENCODING_FORM}))?" + r"_w(\d+)a(\d+)_n(\d+)((?:_[a-z]+-[a-z0-9]+)*)",
                         spec_id)
        if not m:
            raise SpecError(f"not a design id: {spec_id!r} (expected e.g. parallel_w2a2_n32 or parallel_twos_w2a2_n32)")
        kw: dict[str, Any] = dict(arch=m[1], wbits=int(m[3]), abits=int(m[4]), n=int(m[5]))
        if m[2] is not None:
            if m[2] == encodings.DEFAULT:
                raise SpecError(f"not a design id: {spec_id!r} (the default encoding {m[2]!r} is left out of ids)")
            kw["encoding"] = m[2]
        for part in filter(None, m[6].split("_")):
            key, value = part.split("-", 1)
            kw[key] = value
        return cls.from_mapping(kw)


def spec_from_vars(
    arch: str | None = None,
    bits: Any = None,
    wbits: Any = None,
    abits: Any = None,
    n: Any = None,
    **knobs: Any,
) -> DesignSpec:
    """Resolve the Makefile variables: BITS sets both widths, WBITS/ABITS override it, blanks mean default."""

    def given(v: Any) -> bool:
        return v is not None and not (isinstance(v, str) and v.strip() == "")

    # check each Make variable under its own name, so BITS=0 is reported as BITS, not wbits
    for name, value, lo, hi in (("BITS", bits, MIN_BITS, MAX_BITS), ("WBITS", wbits, MIN_BITS, MAX_BITS),
                                ("ABITS", abits, MIN_BITS, MAX_BITS), ("N", n, MIN_N, MAX_N)):
        if given(value):
            v = _as_int(name, value)
            if not lo <= v <= hi:
                raise SpecError(f"{name}={v} is out of range: use {lo}..{hi}")
    d = DesignSpec()
    w = wbits if given(wbits) else (bits if given(bits) else d.wbits)
    a = abits if given(abits) else (bits if given(bits) else d.abits)
    kw: dict[str, Any] = dict(
        arch=arch if given(arch) else d.arch,
        wbits=w,
        abits=a,
        n=n if given(n) else d.n,
    )
    kw.update({k: v for k, v in knobs.items() if given(v)})
    return DesignSpec.from_mapping(kw)
