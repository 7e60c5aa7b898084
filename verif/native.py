"""Native Verilator regression: bulk random vectors checked in C++ at native speed (``make verify FAST=1``).

The cocotb bench stays the primary, protocol-level check; this one is for volume. Vectors and expected
outputs come from the reference model (the spec's encoding's ``integer_dot``, ``model.encodings``) through the same stimulus source
as the bench (its corner vectors first, then uniform random words), are written to a binary file, and a
C++ harness (``verif/native_tb.cpp``) drives the Verilated PE with valid/ready and compares every ``y``.
Everything lives under ``build/<id>/verif/native/``; the model is rebuilt only when its sources change.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from common.cli import parse_int, run_main
from common.errors import BitbranchError
from common.files import atomic_write_bytes, atomic_write_text
from model.contract import check_manifest, manifest_files, read_manifest
from model.spec import DesignSpec
from rtl.cli import add_spec_arguments, spec_from_args
from verif.sim import SimTarget, run_native, verilate_native
from verif.stimulus import corner_vectors

TEMPLATE = Path(__file__).with_name("native_tb.cpp")
SUMMARY = re.compile(r"native: (\d+) passed, (\d+) failed, (\d+) vectors/s, (\d+) cycles")


@dataclass(frozen=True)
class NativeResult:
    """One native run: counts, speed, and where its files are."""

    spec_id: str
    passed: int
    failed: int
    vectors_per_s: float
    cycles: int
    build_seconds: float
    run_dir: Path

    def summary_line(self) -> str:
        verdict = "PASS" if self.failed == 0 else "FAIL"
        return (f"{self.spec_id} [verilator native]: {verdict} {self.passed} passed, {self.failed} failed, "
                f"{self.vectors_per_s:,.0f} vectors/s")


def words_per_bus(width: int) -> int:
    return (width + 31) // 32


def pack_words(u: np.ndarray, bits: int) -> np.ndarray:
    """(V, N) unsigned words -> (V, ceil(N*bits/32)) uint32, element-major as the port contract packs them."""
    v, n = u.shape
    planes = ((u[:, :, None] >> np.arange(bits)) & 1).astype(np.uint8).reshape(v, n * bits)
    pad = words_per_bus(n * bits) * 32 - n * bits
    planes = np.pad(planes, ((0, 0), (0, pad)))
    return np.packbits(planes, axis=1, bitorder="little").view("<u4")


def vector_words(spec: DesignSpec, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The bench's corner vectors, then uniform random words, ``count`` in all (corners first)."""
    corners = [vec for _, vec in corner_vectors(spec)][:count]
    rng = np.random.default_rng(seed)
    extra = count - len(corners)
    w = rng.integers(0, 1 << spec.wbits, size=(extra, spec.n), dtype=np.int64)
    a = rng.integers(0, 1 << spec.abits, size=(extra, spec.n), dtype=np.int64)
    if corners:
        w = np.concatenate([np.array([c[0] for c in corners], dtype=np.int64), w])
        a = np.concatenate([np.array([c[1] for c in corners], dtype=np.int64), a])
    return w, a


def vectors_file(spec: DesignSpec, count: int, seed: int) -> bytes:
    """Records of packed w, packed a (uint32 words) and the expected y (int64), little endian."""
    w, a = vector_words(spec, count, seed)
    y = np.asarray(spec.enc.integer_dot(w, a, spec.wbits, spec.abits), dtype="<i8").reshape(-1, 1)
    rec = np.concatenate([pack_words(w, spec.wbits), pack_words(a, spec.abits), y.view("<u4")], axis=1)
    return np.ascontiguousarray(rec, dtype="<u4").tobytes()


def _setter(port: str, width: int) -> str:
    """C++ that loads port ``port`` of ``width`` bits from 32-bit words ``p`` (Verilator's port types)."""
    if width <= 32:
        return f"t->{port} = p[0];"
    if width <= 64:
        return f"t->{port} = (uint64_t)p[0] | ((uint64_t)p[1] << 32);"
    return f"for (int i = 0; i < {words_per_bus(width)}; i++) t->{port}[i] = p[i];"


def harness_text(spec: DesignSpec, top: str, tie: str = "") -> str:
    """The C++ harness for this design (deterministic text); ``tie``: C++ statements run with every input (a
    run-time-precision PE's width ports held at the maximum widths)."""
    if spec.out_width > 64:
        raise BitbranchError(f"{spec.id}: y is {spec.out_width} bits; the native harness reads at most 64")
    fields = {"TOP": top, "W_WORDS": str(words_per_bus(spec.w_width)), "A_WORDS": str(words_per_bus(spec.a_width)),
              "OUT_WIDTH": str(spec.out_width), "SET_W": _setter("w", spec.w_width) + tie,
              "SET_A": _setter("a", spec.a_width)}
    text = TEMPLATE.read_text()
    for k, v in fields.items():
        text = text.replace(f"@{k}@", v)
    return text


def build(spec: DesignSpec, root: Path, manifest_path: Path | None = None, label: str = "native",
          jobs: int = 2) -> tuple[Path, float]:
    """Verilate the design (its generated RTL, or the RTL of ``manifest_path``, e.g. a mutant copy) with the
    harness into build/<id>/verif/<label>/; skipped when sources and harness are unchanged."""
    if manifest_path is None:
        from rtl.generate import generate

        manifest_path = generate(spec, root)
    manifest = read_manifest(manifest_path)
    check_manifest(spec, manifest)
    sources = list(manifest_files(manifest, Path(manifest_path).parent))
    top = manifest["top"]
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", label):
        raise BitbranchError(f"label {label!r} must be a plain name (letters, digits, _)")
    d = spec.build_dir(root) / "verif" / label
    tb = d / "tb.cpp"
    rt = manifest.get("runtime_precision")  # native runs a run-time-precision PE at its maximum widths
    tie = "" if not rt else "".join(f" t->{p} = {d['valid'][1]};" for p, d in rt["ports"].items())
    atomic_write_text(tb, harness_text(spec, top, tie))
    exe = d / "obj" / f"V{top}"
    key = hashlib.sha256(b"".join(p.read_bytes() for p in [*sources, tb])).hexdigest()
    stamp = d / "build.sha256"
    if exe.is_file() and stamp.is_file() and stamp.read_text().strip() == key:
        return exe, 0.0
    t0 = time.perf_counter()
    exe = verilate_native(SimTarget(top, tuple(sources)), tb, d, jobs)
    atomic_write_text(stamp, key + "\n")
    return exe, time.perf_counter() - t0


def run(spec: DesignSpec, count: int = 100_000, seed: int = 1, stalls: bool = False,
        root: Path | str = "build", manifest_path: Path | None = None, label: str = "native") -> NativeResult:
    """Build (if needed) and run ``count`` vectors through the native harness; mismatches are counted, not raised."""
    root = Path(root)
    exe, build_s = build(spec, root, manifest_path, label)
    d = exe.parent.parent
    vec = atomic_write_bytes(d / f"vectors-{count}-{seed}.bin", vectors_file(spec, count, seed))
    out = run_native(exe, [str(vec), "1" if stalls else "0", str(seed)], d / "run.log")
    vec.unlink(missing_ok=True)
    m = SUMMARY.search(out)
    if m is None:
        raise BitbranchError(f"native harness of {spec.id} gave no summary (log: {d / 'run.log'})")
    return NativeResult(spec.id, int(m[1]), int(m[2]), float(m[3]), int(m[4]), build_s, d)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m verif.native", description=__doc__.splitlines()[0])
    add_spec_arguments(p)
    p.add_argument("--vectors", default="100000", help="vectors per design (default 100000)")
    p.add_argument("--seed", default="1")
    p.add_argument("--stalls", default="1", help="1 (default): random in_valid gaps and out_ready back-pressure")
    p.add_argument("--root", default="build")
    ns = p.parse_args(argv)
    spec = spec_from_args(ns)
    res = run(spec, parse_int(ns.vectors, "--vectors", 1, 100_000_000), parse_int(ns.seed, "--seed", 0),
              parse_int(ns.stalls, "--stalls", 0, 1) == 1, Path(ns.root))
    print(res.summary_line())
    print(f"{res.passed} passed, {res.failed} failed")
    return 0 if res.failed == 0 else 1


if __name__ == "__main__":
    run_main(main)
