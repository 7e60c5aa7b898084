"""Deterministic stimulus for the PE bench: vectors plus a per-cycle plan of reset, valid gaps and ready.

Pure (no cocotb): a cycle-accurate Python model replays the very same stream by feeding the
same :class:`Stimulus` through :class:`verif.driver.Driver`.

Cycle plan, in order: initial reset; a *clean* phase (input offered and output ready every
cycle) that measures latency and initiation interval; random traffic with valid gaps and
out_ready back-pressure, interrupted by a reset mid-stream (preceded by a back-pressure burst
so outputs are in flight when it hits); a drain phase (offer and ready every cycle).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.spec import DesignSpec

Vector = tuple[tuple[int, ...], tuple[int, ...]]
"""One input: (weight words, activation words), N unsigned words each."""


@dataclass(frozen=True)
class StimulusConfig:
    """Knobs of one bench run; the seed fixes every random choice."""

    seed: int = 1
    n_random: int = 200
    p_valid: float = 0.7
    p_ready: float = 0.6
    reset_cycles: int = 3
    midreset_cycles: int = 2

    def __post_init__(self) -> None:
        for name in ("p_valid", "p_ready"):
            p = getattr(self, name)
            if not 0.0 < p <= 1.0:
                raise ValueError(f"{name}={p} must be in (0, 1]")
        if self.n_random < 0 or self.reset_cycles < 1 or self.midreset_cycles < 1:
            raise ValueError("n_random must be >= 0 and reset lengths >= 1")


@dataclass(frozen=True)
class Stimulus:
    """Vectors (id = index) and the cycle plan; True in ``rst`` means rst_n is driven low."""

    spec_id: str
    wbits: int
    abits: int
    n: int
    seed: int
    vectors: tuple[Vector, ...]
    labels: tuple[str, ...]
    rst: tuple[bool, ...]
    offer: tuple[bool, ...]
    ready: tuple[bool, ...]
    clean_start: int
    clean_end: int
    n_clean: int
    midreset_at: int
    precs: tuple[tuple[int, int], ...] = ()
    """Run-time widths (wprec, aprec) per vector for a run-time-precision PE (``model.runtime``); empty: the
    spec's own widths and no width ports."""

    @property
    def n_cycles(self) -> int:
        return len(self.rst)


def _alternate(n: int, u0: int, u1: int) -> tuple[int, ...]:
    return tuple(u0 if e % 2 == 0 else u1 for e in range(n))


def corner_vectors(spec: DesignSpec) -> list[tuple[str, Vector]]:
    """The encoding's named corner inputs (``model.encodings``: its ``corners``, values for even and odd elements)
    as words: for pm1 every element -1, every element +1, alternating signs, y = +y_max and y = -y_max, ...;
    for twos all minimum, all maximum (y_max), y_min, ... A value outside a width's range (e.g. -1 at WBITS=1
    of pm1 is fine, +1 at WBITS=1 of twos is not) is never asked for: the corners are built from the ranges."""
    enc = spec.enc

    def words(values: tuple[int, int], encode, bits: int) -> tuple[int, ...]:
        u0, u1 = (int(encode(v, bits)) for v in values)
        return _alternate(spec.n, u0, u1)

    return [(name, (words(wv, enc.encode_w, spec.wbits), words(av, enc.encode_a, spec.abits)))
            for name, wv, av in enc.corners(spec.wbits, spec.abits)]


def random_vectors(spec: DesignSpec, count: int, rng: np.random.Generator) -> list[Vector]:
    """Uniform random words for ``count`` inputs."""
    w = rng.integers(0, 1 << spec.wbits, size=(count, spec.n))
    a = rng.integers(0, 1 << spec.abits, size=(count, spec.n))
    return [(tuple(int(x) for x in w[k]), tuple(int(x) for x in a[k])) for k in range(count)]


def make_stimulus(spec: DesignSpec, config: StimulusConfig, latency: int, ii: int, min_ii: int | None = None
                  ) -> Stimulus:
    """The full deterministic stream for ``spec``; latency and II (from the manifest) only size the phases.
    ``min_ii``: the shortest interval an input can take when it varies from input to input (a run-time-precision
    PE's mixed widths); it sizes the traffic before the mid-stream reset, so the reset still finds vectors left."""
    latency, ii = max(int(latency), 0), max(int(ii), 1)
    min_ii = ii if min_ii is None else min(max(int(min_ii), 1), ii)
    rng = np.random.default_rng([config.seed, spec.wbits, spec.abits, spec.n])
    corners = corner_vectors(spec)
    first_random = random_vectors(spec, 4, rng)
    clean = [(name, v) for name, v in corners] + [("random", v) for v in first_random]
    rest = [("random", v) for v in random_vectors(spec, config.n_random, rng)]
    # corners again under traffic, so extremes are also seen with gaps and back-pressure
    named = clean + rest + [(name, v) for name, v in corners]
    labels = tuple(name for name, _ in named)
    vectors = tuple(v for _, v in named)

    rst: list[bool] = []
    offer: list[bool] = []
    ready: list[bool] = []

    def add(count: int, r: bool, o: "np.ndarray | bool", y: "np.ndarray | bool") -> None:
        rst.extend([r] * count)
        offer.extend(bool(x) for x in np.broadcast_to(o, (count,)))
        ready.extend(bool(x) for x in np.broadcast_to(y, (count,)))

    add(config.reset_cycles, True, False, False)
    clean_start = len(rst)
    add(len(clean) * ii + latency + 4, False, True, True)
    clean_end = len(rst)
    # random traffic; the reset comes while vectors surely remain (at most one is accepted per II cycles)
    half = max(len(rest) // 2, 4) * min_ii
    add(half, False, rng.random(half) < config.p_valid, rng.random(half) < config.p_ready)
    add(latency + 3, False, True, False)  # back-pressure burst: outputs are in flight at the reset
    midreset_at = len(rst)
    add(config.midreset_cycles, True, False, False)
    tail = int((len(rest) - len(rest) // 2 + len(corners)) * ii / (config.p_valid * config.p_ready)) + 8
    add(tail, False, rng.random(tail) < config.p_valid, rng.random(tail) < config.p_ready)
    add(len(vectors) * ii + 2 * latency + 8, False, True, True)  # drain: enough for every vector
    return _stimulus(spec, config.seed, vectors, labels, rst, offer, ready,
                     (clean_start, clean_end, len(clean)), midreset_at)


def throughput_stimulus(spec: DesignSpec, count: int, seed: int, latency: int, ii: int) -> Stimulus:
    """Back-to-back random vectors, valid and ready every cycle: for speed measurements."""
    rng = np.random.default_rng([seed, spec.wbits, spec.abits, spec.n])
    reset = 3
    body = count * max(ii, 1) + max(latency, 0) + 8
    return _stimulus(spec, seed, random_vectors(spec, count, rng), ("random",) * count, (True,) * reset + (False,) * body,
                     (False,) * reset + (True,) * body, (False,) * reset + (True,) * body, (reset, reset + body, count))


ACTIVITY_PATTERN_CYCLES = 1024
"""Length of the activity stream's in_valid / out_ready patterns (they repeat)."""


def activity_stimulus(spec: DesignSpec, vectors: int, seed: int, in_valid_duty: float, out_ready_duty: float,
                      latency: int, ii: int) -> Stimulus:
    """The gate-level activity run's stream (the flow's power numbers rest on it; see verif/activity.py).

    Uniform random words from ``default_rng(seed)``, then one in_valid and one out_ready pattern of
    ``ACTIVITY_PATTERN_CYCLES`` bits (1 with the given probability) repeated over the cycle budget; no
    reset in the plan (the bench resets before it), no clean phase. ``n_cycles`` is the time-out.
    """
    rng = np.random.default_rng(seed)
    vecs = random_vectors(spec, vectors, rng)
    valid = rng.random(ACTIVITY_PATTERN_CYCLES) < in_valid_duty
    ready = rng.random(ACTIVITY_PATTERN_CYCLES) < out_ready_duty
    ii = max(1, int(ii))
    budget = int((vectors * ii + int(latency) + 16) / (in_valid_duty * out_ready_duty) * 4) + 200
    cycles = np.arange(budget) % ACTIVITY_PATTERN_CYCLES
    return _stimulus(spec, seed, vecs, ("random",) * vectors, (False,) * budget,
                     (bool(x) for x in valid[cycles]), (bool(x) for x in ready[cycles]))


def _stimulus(spec: DesignSpec, seed: int, vectors, labels, rst, offer, ready,
              clean: tuple[int, int, int] = (0, 0, 0), midreset_at: int = -1) -> Stimulus:
    """A :class:`Stimulus` of ``spec`` from its parts (any iterables); ``clean`` is (start, end, vectors)."""
    return Stimulus(spec.id, spec.wbits, spec.abits, spec.n, seed, tuple(vectors), tuple(labels), tuple(rst),
                    tuple(offer), tuple(ready), *clean, midreset_at)
