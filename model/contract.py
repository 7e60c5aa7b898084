"""The hardware port contract every generated PE obeys, and its manifest.

Ports: ``clk``; ``rst_n`` (active low); ``in_valid``/``in_ready``; ``w`` (N*WBITS bits) and
``a`` (N*ABITS bits), element-major: bit ``w[e*WBITS + b]`` is bit b of element e's unsigned
word u; ``out_valid``/``out_ready``; ``y`` signed, ``spec.out_width`` bits, y = sum_e w[e] a[e] with the words
read as the spec's encoding says (``model.encodings``: odd {-1,+1} codes for pm1, two's-complement weights and
unsigned activations for twos).
Every accepted input yields exactly one y, in order; y and out_valid hold until out_ready.
The generator, the benches and the cycle model all import the packing from here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
from numpy.typing import ArrayLike

from common.errors import BitbranchError
from common.state import DamagedState, read_state
from model.spec import DesignSpec

PORTS: tuple[str, ...] = ("clk", "rst_n", "in_valid", "in_ready", "w", "a", "out_valid", "out_ready", "y")

MANIFEST_KEYS: tuple[str, ...] = (
    "top",
    "arch",
    "encoding",
    "wbits",
    "abits",
    "n",
    "out_width",
    "latency_cycles",
    "initiation_interval",
    "verilog_files",
)
"""Keys every ``build/<id>/rtl/manifest.json`` must have (more are allowed)."""


class ManifestError(BitbranchError, ValueError):
    """A manifest that is missing, unreadable or disagrees with the contract."""


def pack_bus(words: ArrayLike, bits: int) -> int:
    """Pack N unsigned ``bits``-bit words element-major into one integer bus value."""
    words = [int(x) for x in np.asarray(words).ravel()]
    value = 0
    for e, u in enumerate(words):
        if not 0 <= u < (1 << bits):
            raise ValueError(f"element {e}: word {u} does not fit in {bits} bits")
        value |= u << (e * bits)
    return value


def unpack_bus(value: int, bits: int, n: int) -> np.ndarray:
    """Inverse of :func:`pack_bus`: the N words of a bus value."""
    mask = (1 << bits) - 1
    return np.array([(int(value) >> (e * bits)) & mask for e in range(n)], dtype=np.int64)


def to_signed(value: int, width: int) -> int:
    """Read a ``width``-bit two's complement value (as a simulator's unsigned integer) as signed."""
    value = int(value) & ((1 << width) - 1)
    return value - (1 << width) if value >> (width - 1) else value


def expected_y(spec: DesignSpec, w_u: ArrayLike, a_u: ArrayLike) -> int:
    """The reference output for one input vector pair (the plain integer dot product of the decoded words)."""
    return int(spec.enc.integer_dot(w_u, a_u, spec.wbits, spec.abits))


def read_manifest(path: Path | str) -> dict[str, Any]:
    """Load a manifest and check it has every contract key."""
    path = Path(path)
    try:
        data = read_state(path)
    except DamagedState as e:
        raise ManifestError(f"manifest {path} is damaged ({e.why}); regenerate it with `make rtl`") from None
    if data is None:
        raise ManifestError(f"no manifest at {path}: run `make rtl` for this design first")
    missing = [k for k in MANIFEST_KEYS if k not in data]
    if missing:
        raise ManifestError(f"manifest {path} lacks {', '.join(missing)}; regenerate it with `make rtl`")
    return data


def check_manifest(spec: DesignSpec, manifest: dict[str, Any]) -> None:
    """Raise if a manifest does not describe ``spec`` under the port contract."""
    want = {"arch": spec.arch, "encoding": spec.encoding, "wbits": spec.wbits, "abits": spec.abits, "n": spec.n, "out_width": spec.out_width}
    bad = [f"{k}={manifest.get(k)!r} (want {v!r})" for k, v in want.items() if manifest.get(k) != v]
    if bad:
        raise ManifestError(f"manifest does not match spec {spec.id}: {', '.join(bad)}")


def manifest_files(manifest: dict[str, Any], rtl_dir: Path) -> Sequence[Path]:
    """Absolute paths of the manifest's Verilog files (listed relative to the rtl folder)."""
    return [Path(rtl_dir) / f for f in manifest["verilog_files"]]
