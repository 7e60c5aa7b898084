"""Stimulus and port helpers for run-time-precision PEs (a manifest with ``runtime_precision``; ``model.runtime``).

Such a PE is verified at every run-time width in one simulation: one *segment* per in-range width pair (m, k), the
full regression stream of the fixed-width view spec (its corners, so y_max and y_min of that width, random
traffic, back-pressure, a mid-stream reset) with the words' unused upper bits filled with random junk the PE must
ignore, then a *mixed* segment at the maximum widths whose random inputs change width from input to input and
include out-of-range widths (0 and above the maximum), which must come back as y = 0 with ``prec_err`` = 1.
Each segment starts with a reset and is checked on its own by ``verif.checks.check_trace`` (per-input latency
and II from ``model.runtime.steps``).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import numpy as np

from model import runtime
from model.spec import DesignSpec
from verif.signals import read_bit
from verif.stimulus import Stimulus, StimulusConfig, make_stimulus

OUT_OF_RANGE_SHARE = 0.2
"""Share of the mixed segment's random inputs whose widths are drawn from the whole port range (so some are
outside the generated range); the others are drawn from the valid range."""


def is_runtime(manifest: Mapping[str, Any]) -> bool:
    """True for a run-time-precision PE's manifest (it has width input ports and a flag output)."""
    return bool(manifest.get("runtime_precision"))


def _junk(words: tuple[int, ...], bits: int, to_bits: int, rng: np.random.Generator) -> tuple[int, ...]:
    """The words with random bits above ``bits`` (up to ``to_bits``): what the PE must ignore at that width."""
    if bits >= to_bits:
        return words
    hi = rng.integers(0, 1 << (to_bits - bits), size=len(words))
    return tuple(int(u) | (int(h) << bits) for u, h in zip(words, hi))


def width_stimulus(spec: DesignSpec, config: StimulusConfig, m: int, k: int) -> tuple[Stimulus, DesignSpec]:
    """(stream, view spec) of one run-time width pair: the fixed-width regression stream of the (m, k) view,
    packed at the maximum widths with junk in the unused upper bits, every input at widths (m, k)."""
    v = runtime.view(spec, m, k)
    base = make_stimulus(v, config, m * k, m * k)
    rng = np.random.default_rng([config.seed, spec.wbits, spec.abits, spec.n, m, k, 7])
    vectors = tuple((_junk(w, m, spec.wbits, rng), _junk(a, k, spec.abits, rng)) for w, a in base.vectors)
    stim = dataclasses.replace(base, spec_id=f"{spec.id}@w{m}a{k}", wbits=spec.wbits, abits=spec.abits,
                               vectors=vectors, precs=((m, k),) * len(vectors))
    return stim, v


def mixed_stimulus(spec: DesignSpec, config: StimulusConfig) -> Stimulus:
    """The maximum-width regression stream whose random inputs get random run-time widths (a share of them out of
    range, see OUT_OF_RANGE_SHARE); the corners stay at the maximum widths, so y_max and y_min are hit."""
    big = spec.wbits * spec.abits
    base = make_stimulus(spec, config, big, big, min_ii=1)  # an out-of-range input takes one cycle
    rng = np.random.default_rng([config.seed, spec.wbits, spec.abits, spec.n, 11])
    pw, pa = runtime.port_bits(spec.wbits), runtime.port_bits(spec.abits)
    precs = []
    for label in base.labels:
        if label != "random":
            precs.append((spec.wbits, spec.abits))
        elif rng.random() < OUT_OF_RANGE_SHARE:
            precs.append((int(rng.integers(0, 1 << pw)), int(rng.integers(0, 1 << pa))))
        else:
            precs.append((int(rng.integers(1, spec.wbits + 1)), int(rng.integers(1, spec.abits + 1))))
    # an out-of-range input is always present (width 0 is out of range for every design)
    if base.labels.count("random") and all(runtime.in_range(spec, *p) for p in precs):
        first = base.labels.index("random", base.n_clean)
        precs[first] = (0, spec.abits)
    return dataclasses.replace(base, spec_id=f"{spec.id}@mixed", precs=tuple(precs))


def segments(spec: DesignSpec, config: StimulusConfig) -> list[tuple[str, Stimulus, DesignSpec]]:
    """Every segment of a run-time-precision PE's regression: (label, stream, spec its checks use)."""
    out = []
    for m, k in runtime.widths(spec):
        stim, v = width_stimulus(spec, config, m, k)
        out.append((f"w{m}a{k}", stim, v))
    out.append(("mixed", mixed_stimulus(spec, config), spec))
    return out


def drive_widths(dut: Any, inp: Any) -> None:
    """Drive a run-time-precision DUT's width ports from a cycle's inputs (``verif.driver.CycleInputs``)."""
    getattr(dut, runtime.WIDTH_PORTS[0]).value = inp.wprec
    getattr(dut, runtime.WIDTH_PORTS[1]).value = inp.aprec


def read_flag(dut: Any) -> int | None:
    """The DUT's ``prec_err`` (None when X/Z)."""
    return read_bit(getattr(dut, runtime.FLAG_PORT))
