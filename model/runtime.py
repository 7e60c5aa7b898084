"""Run-time precision: the arithmetic, timing, cycle model and activity of a PE whose widths are inputs.

A run-time-precision PE is generated for maximum widths (the spec's WBITS = M, ABITS = K) and takes, with each
input, the widths m (``wprec``) and k (``aprec``) it is to be read at. Element e's word still occupies
``w[e*M +: M]``; only its low m bits count (the bits above are ignored), read as an m-bit word of the spec's
encoding, so the PE computes ``spec.enc.integer_dot(w mod 2^m, a mod 2^k, m, k)``. A width outside 1..M
(1..K) is accepted like any input, answered after one step with y = 0 and the flag ``prec_err`` = 1: every
accepted input still yields exactly one output, in order. Nothing here names an architecture; the
``scalable`` descriptor (``rtl.archs.scalable``) picks these functions.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from common.errors import BitbranchError
from model.contract import to_signed, unpack_bus
from model.cycle import (
    Bit,
    Inputs,
    PortInputs,
    Step,
    _and,
    _load,
    _next_out_valid,
    _not,
    _or,
    _pipeline_problems,
    _raise,
    diagonal_schedule,
    manifest_dict,
    plane,
)
from model.encodings import Encoding
from model.energy_activity import Activity, Part, _bool_toggles, _planes, _toggles, step_walk
from model.spec import DesignSpec

WIDTH_PORTS: tuple[str, str] = ("wprec", "aprec")
"""The run-time width inputs (sampled with w and a when an input is accepted)."""
FLAG_PORT = "prec_err"
"""The output flag: 1 with y = 0 when the input's widths were outside the generated range (held with y)."""


def port_bits(max_bits: int) -> int:
    """Width of a run-time width port for a maximum of ``max_bits``: enough for the maximum itself."""
    return max(1, int(max_bits).bit_length())


def in_range(spec: DesignSpec, m: int, k: int) -> bool:
    """True when the run-time widths (m, k) are inside the generated range 1..WBITS x 1..ABITS."""
    return 1 <= m <= spec.wbits and 1 <= k <= spec.abits


def steps(spec: DesignSpec, m: int, k: int) -> int:
    """Cycles one input takes (its initiation interval, from its first offer to its accept): m*k, 1 when out of
    range."""
    return m * k if in_range(spec, m, k) else 1


def widths(spec: DesignSpec) -> list[tuple[int, int]]:
    """Every in-range run-time width pair (m, k), smallest first."""
    return [(m, k) for m in range(1, spec.wbits + 1) for k in range(1, spec.abits + 1)]


def masked(words: Any, bits: int) -> np.ndarray:
    """The low ``bits`` bits of every word (what a run-time width of ``bits`` reads)."""
    return np.asarray(words, dtype=np.int64) & ((1 << bits) - 1)


def expected(spec: DesignSpec, w_u: Any, a_u: Any, m: int, k: int) -> tuple[int, int]:
    """(y, prec_err) of one input at run-time widths (m, k): the dot product of the low bits read as m- and
    k-bit words of the encoding, or (0, 1) when (m, k) is outside the generated range."""
    if not in_range(spec, m, k):
        return 0, 1
    return int(spec.enc.integer_dot(masked(w_u, m), masked(a_u, k), m, k)), 0


def embed(enc: Encoding, words: np.ndarray, side: str, bits: int, to_bits: int) -> np.ndarray:
    """``bits``-bit words re-encoded as ``to_bits``-bit words of the same values (``side`` 'w' or 'a'): how a
    fixed-width PE of ``to_bits`` receives low-precision data (pm1: the same odd code, twos: sign- or
    zero-extended)."""
    decode, encode = (enc.decode_w, enc.encode_w) if side == "w" else (enc.decode_a, enc.encode_a)
    return np.asarray(encode(decode(np.asarray(words, dtype=np.int64), bits), to_bits), dtype=np.int64)


def view(spec: DesignSpec, m: int, k: int) -> DesignSpec:
    """The fixed-width spec whose arithmetic a run at (m, k) performs (same arch, N, encoding, knobs)."""
    return replace(spec, wbits=m, abits=k)


# --- the cycle model ------------------------------------------------------------------------------------


def check_runtime_pipeline(spec: DesignSpec, manifest: dict[str, Any]) -> None:
    """Raise BitbranchError unless the manifest describes the run-time iterative pipeline this model implements."""
    problems = _pipeline_problems(spec, manifest, "runtime-iterative")
    if not problems:
        rt = manifest.get("runtime_precision") or {}
        ports = rt.get("ports") or {}
        want = {p: port_bits(b) for p, b in zip(WIDTH_PORTS, (spec.wbits, spec.abits))}
        got = {p: (ports.get(p) or {}).get("width") for p in WIDTH_PORTS}
        if got != want or rt.get("flag_port") != FLAG_PORT:
            problems.append(f"run-time ports {got} / flag {rt.get('flag_port')!r} (model implements {want} / {FLAG_PORT!r})")
        if (manifest["latency_cycles"], manifest["initiation_interval"]) != runtime_timing(spec):
            problems.append(f"latency/II {manifest['latency_cycles']}/{manifest['initiation_interval']} at the maximum "
                            f"widths != {runtime_timing(spec)}")
    _raise(spec, problems)


class RuntimeModel:
    """``scalable``: operands read in place from the held input, a diagonal walk (s = i+j from m+k-2 down to 0,
    i ascending) bounded by the run-time widths, one accumulator adding s_i 2^pc_shift pc per step; the input is
    accepted on its last step, which loads y = acc - the encoding's constant at the run-time widths, and the flag."""

    def __init__(self, spec: DesignSpec) -> None:
        self.spec = spec
        self.enc = spec.enc
        self.ow = spec.out_width
        self.live: Bit = None
        self.busy: Bit = None
        self.out_valid: Bit = None
        self.s: int | None = None
        self.i: int | None = None
        self.dbl: Bit = None
        self.acc: int | None = None
        self.y: int | None = None
        self.flag: Bit = None

    def _widths(self, inp: PortInputs) -> tuple[int, int]:
        return int(getattr(inp, "wprec", self.spec.wbits)), int(getattr(inp, "aprec", self.spec.abits))

    def _step(self, inp: PortInputs) -> tuple[Bit, int | None, int | None]:
        """(bad, s, i) of this cycle's step: the first one of an input when not busy, else the walk's registers."""
        m, k = self._widths(inp)
        bad = int(not in_range(self.spec, m, k))
        if self.busy == 0:
            return bad, m + k - 2, m - 1
        if self.busy == 1:
            return bad, self.s, self.i
        return bad, None, None

    def _control(self, inp: PortInputs) -> tuple[Bit, Bit, Bit]:
        """(last, step_en, in_ready) for this cycle's inputs."""
        bad, s, _ = self._step(inp)
        last: Bit = 1 if bad else (None if s is None else int(s == 0))
        out_free = _or(_not(self.out_valid), inp.out_ready)
        step_en = _and(self.live, inp.in_valid, _or(_not(last), out_free))
        return last, step_en, _and(self.live, last, out_free)

    def comb(self, inp: PortInputs) -> tuple[Bit, Bit, int | None]:
        return self._control(inp)[2], self.out_valid, self.y

    def out_flag(self) -> Bit:
        """The settled ``prec_err`` output."""
        return self.flag

    def _acc_next(self, inp: PortInputs) -> int | None:
        bad, s, i = self._step(inp)
        if bad:
            return 0
        if s is None or i is None:
            return None
        m, _ = self._widths(inp)
        n = self.spec.n
        pc = (self.enc.gate.numpy(plane(inp.w, self.spec.wbits, i, n), plane(inp.a, self.spec.abits, s - i, n))
              & ((1 << n) - 1)).bit_count()
        if self.busy == 0:
            base = 0
        elif self.acc is None or self.dbl is None:
            return None
        else:
            base = self.acc << 1 if self.dbl else self.acc
        return (base + self.enc.plane_sign(i, m) * (pc << self.enc.pc_shift)) & ((1 << self.ow) - 1)

    def edge(self, inp: PortInputs, in_ready: Bit = None) -> None:
        last, step_en, _ = self._control(inp)
        bad, s, i = self._step(inp)
        acc_next = self._acc_next(inp)
        fin = _and(step_en, last)
        more = _and(step_en, _not(last))
        m, k = self._widths(inp)
        corr = 0 if bad else self.enc.constant(m, k, self.spec.n)
        new_y = _load(fin, self.y, lambda: None if acc_next is None else (0 if bad else to_signed(acc_next - corr, self.ow)))
        new_flag = _load(fin, self.flag, lambda: bad)
        new_acc = _load(more, self.acc, lambda: acc_next)
        if step_en == 1 and s is not None and i is not None and not bad:
            m, k = self._widths(inp)
            if i == m - 1 or i == s:  # the diagonal's last step: on to the next one
                new_walk: tuple = (s - 1, max(0, s - k), 1)
            else:
                new_walk = (s, i + 1, 0)
            if last:  # the walk's registers are not looked at again before the next input's first step
                new_walk = (None, None, None)
        elif step_en == 0:
            new_walk = (self.s, self.i, self.dbl)
        else:
            new_walk = (None, None, None)
        if inp.rst_n == 0:
            self.live, self.busy, self.out_valid = 0, 0, 0
        else:
            self.live = 1
            if step_en == 1:
                self.busy = _not(last)
            elif step_en is None:
                self.busy = None
            self.out_valid = _next_out_valid(fin, self.out_valid, inp.out_ready)
        self.acc, self.y, self.flag = new_acc, new_y, new_flag
        self.s, self.i, self.dbl = new_walk

    def reset_edge(self) -> None:
        self.edge(Inputs(rst_n=0, in_valid=0, w=0, a=0, out_ready=0))


def runtime_model(spec: DesignSpec, manifest: dict[str, Any] | Path | str | None = None) -> RuntimeModel:
    """A fresh run-time-precision model; with a manifest (dict or path), its pipeline is checked first."""
    if manifest is not None:
        check_runtime_pipeline(spec, manifest_dict(manifest))
    return RuntimeModel(spec)


LATENCY = 0
"""Cycles from the accepting edge to y: the input is accepted on its last step, which loads y (every width)."""


def runtime_timing(spec: DesignSpec) -> tuple[int, int]:
    """(latency, II) at the maximum widths: 0 and WBITS*ABITS (at run time: II = wprec*aprec, 1 out of range)."""
    return LATENCY, spec.wbits * spec.abits


def schedule(m: int, k: int) -> list[Step]:
    """The (i, j, double first, shift 0) steps at run-time widths (m, k): the diagonal order at those widths."""
    return diagonal_schedule(m, k)


@dataclass(frozen=True)
class RunBits:
    """A run at run-time widths (m, k) of a design generated for larger maxima (the flow's RUN_BITS option)."""

    m: int
    k: int

    @property
    def label(self) -> str:
        return f"w{self.m}a{self.k}"


def parse_run_bits(text: str, spec: DesignSpec) -> RunBits | None:
    """``RUN_BITS``: '' (the spec's own widths), 'b' (both) or 'mxk'; each 1..the spec's width (SpecError-like
    BitbranchError otherwise)."""
    t = str(text or "").strip().lower()
    if not t:
        return None
    parts = t.split("x")
    try:
        vals = [int(p) for p in parts]
    except ValueError:
        vals = []
    if len(vals) == 1:
        vals = vals * 2
    if len(vals) != 2 or not in_range(spec, *vals):
        raise BitbranchError(f"RUN_BITS={text!r}: use b or mxk with 1 <= m <= WBITS={spec.wbits} and "
                             f"1 <= k <= ABITS={spec.abits} (e.g. RUN_BITS=2 or RUN_BITS=1x4)")
    return RunBits(*vals)


def words_at(spec: DesignSpec, w: np.ndarray, a: np.ndarray, run: RunBits, native: bool) -> tuple[np.ndarray, np.ndarray]:
    """Random words of a run at ``run`` widths as the PE receives them: ``native`` (a run-time-precision PE) keeps
    the m-/k-bit words in the low bits (upper bits 0); a fixed-width PE gets the same values re-encoded at its
    own widths (``embed``)."""
    w, a = masked(w, run.m), masked(a, run.k)
    if native:
        return w, a
    return embed(spec.enc, w, "w", run.m, spec.wbits), embed(spec.enc, a, "a", run.k, spec.abits)


def unpack(value: int, bits: int, n: int) -> np.ndarray:
    """The N words of a bus value (model.contract.unpack_bus, re-exported for the run-time benches)."""
    return unpack_bus(value, bits, n)


def per_vector(spec: DesignSpec, precs: Sequence[tuple[int, int]]) -> list[int]:
    """Steps (= the interval to the next accept at full rate) of each input of a run-time stream."""
    return [steps(spec, m, k) for m, k in precs]


# --- the area/energy model's activity -------------------------------------------------------------------


def runtime_activity_at(run: RunBits | None) -> Callable[[DesignSpec, np.ndarray, np.ndarray], Activity]:
    """The run-time-precision PE's parts and toggles when every input comes at widths ``run`` (None: the maximum
    widths): the structure is the generated one (WBITS/ABITS-wide registers and plane multiplexers), the
    activity that of m*k steps over the low bits of the words (upper bits 0, as ``words_at`` delivers them)."""

    def act(spec: DesignSpec, w: np.ndarray, a: np.ndarray) -> Activity:
        big_m, big_k, n, ow = spec.wbits, spec.abits, spec.n, spec.out_width
        m, k = (big_m, big_k) if run is None else (run.m, run.k)
        enc = spec.enc
        w, a = masked(w, m), masked(a, k)
        T = w.shape[0]
        sched = schedule(m, k)
        S = len(sched)
        c = enc.constant(m, k, n)
        wp, ap = _planes(w, big_m), _planes(a, big_k)
        # each step adds s_i 2^pc_shift pc, the plane sign at run-time width m
        walk = step_walk(spec, wp, ap, sched, [enc.plane_sign(i, m) << enc.pc_shift for i in range(m)])
        wsel, asel, x, acc = walk.wsel, walk.asel, walk.x, walk.acc
        fa_t, ha_t, nfa, nha = walk.fa_toggles, walk.ha_toggles, walk.full_adders, walk.half_adders
        y = acc[:, -1] - c
        cw = max(port_bits(big_m), port_bits(big_k)) + 1
        cyc, d = T * S - 1, T - 1
        walk = 3 + 2 * cw  # live busy dbl, s i (the operands are read in place: no operand register)
        mux_bits = n * (big_m - 1) + n * (big_k - 1)
        parts = (
            Part("ctrl", "ctrl", walk, (2 * S + 2) / S),
            Part("plane_mux", "mux", mux_bits, (_bool_toggles(wsel) * (big_m > 1) + _bool_toggles(asel) * (big_k > 1)) / cyc * S),
            Part(enc.gate.name, enc.gate.cell_kind, n, _bool_toggles(x) / cyc * S),
            Part("popcount_fa", "fa", nfa, fa_t / cyc * S),
            Part("popcount_ha", "ha", nha, ha_t / cyc * S),
            Part("accumulator", "reg", ow, _toggles(acc.reshape(-1), ow) / cyc * S),
            Part("acc_adder", "adder", 2 * ow + (ow if c else 0), 2 * _toggles(acc.reshape(-1), ow) / cyc * S
                 + (_toggles(y, ow) / d if c else 0.0)),
            Part("y", "reg", ow + 1, _toggles(y, ow) / d),
        )
        return Activity(spec.id if run is None else f"{spec.id}@{run.label}", T, S, parts)

    return act


def runtime_activity(spec: DesignSpec, w: np.ndarray, a: np.ndarray) -> Activity:
    """Parts and toggles of the run-time-precision PE with every input at the maximum widths."""
    return runtime_activity_at(None)(spec, w, a)


def low_bit_activity(arch_activity: Callable[[DesignSpec, np.ndarray, np.ndarray], Activity],
                     run: RunBits) -> Callable[[DesignSpec, np.ndarray, np.ndarray], Activity]:
    """A fixed-width architecture's activity when its data are ``run``-bit values re-encoded at its own widths
    (the conventional MAC of the maximum width running low-bit data)."""

    def act(spec: DesignSpec, w: np.ndarray, a: np.ndarray) -> Activity:
        return arch_activity(spec, *words_at(spec, w, a, run, native=False))

    return act
