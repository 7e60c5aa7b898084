"""Cycle-accurate Python models of the generated PEs: same registers, handshake and reset as the RTL.

A model steps one clock at a time: :meth:`comb` gives the settled (in_ready, out_valid, y) that
the coming rising edge sees, :meth:`edge` applies that edge (``rst_n`` low = synchronous reset).
Every register the RTL has is mirrored, including the data registers that are *not* reset and
load during reset cycles too; unknown values (before the first reset) are ``None`` like an X.
The structure comes from the manifest's ``pipeline`` (lockstep stages / iterative step schedule),
which the construction functions below check against what the model implements. Which model and which
stage transforms an architecture uses is its descriptor's choice (``rtl.archs``: ``arch.cycle_model(spec,
manifest)``); this module keeps no table from architecture names to models. The models satisfy ``verif.driver.CycleModel``
(``reset_edge``, ``comb``, ``edge``), so ``verif.driver.replay`` drives them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

from common.errors import BitbranchError
from model.contract import check_manifest, read_manifest, to_signed, unpack_bus
from model.spec import DesignSpec

Bit = int | None
"""0, 1 or None (unknown, an X before the first reset)."""


class PortInputs(Protocol):
    """What the bench drives in one cycle (``verif.driver.CycleInputs`` has these fields)."""

    rst_n: int
    in_valid: int
    w: int
    a: int
    out_ready: int


@dataclass(frozen=True)
class Inputs:
    """A plain set of port inputs for one cycle (for callers without verif)."""

    rst_n: int = 1
    in_valid: int = 0
    w: int = 0
    a: int = 0
    out_ready: int = 1


def _and(*bits: Bit) -> Bit:
    """Three-valued AND (0 dominates X)."""
    if any(b == 0 for b in bits):
        return 0
    return None if any(b is None for b in bits) else 1


def _or(*bits: Bit) -> Bit:
    """Three-valued OR (1 dominates X)."""
    if any(b == 1 for b in bits):
        return 1
    return None if any(b is None for b in bits) else 0


def _not(b: Bit) -> Bit:
    return None if b is None else 1 - b


def _load(cond: Bit, old: Any, new: Callable[[], Any]) -> Any:
    """A register with enable: new value when cond is 1, old when 0, unknown when cond is X (unless equal)."""
    if cond == 1:
        return new()
    if cond == 0:
        return old
    value = new()
    return old if value == old else None


def _next_out_valid(fin: Bit, out_valid: Bit, out_ready: Any) -> Bit:
    """The output-valid flop of a PE that finishes a dot product over several steps (serial, scalable): set by the
    finishing step, cleared when the consumer takes the output, unknown when whether it finished is."""
    if fin == 1:
        return 1
    if fin == 0 and out_ready:
        return 0
    return None if fin is None else out_valid


# --- datapath arithmetic, exactly as the RTL computes it ---------------------------------------

def plane(bus: int, bits: int, index: int, n: int) -> int:
    """Bit plane ``index`` of an element-major bus: bit e of the result is bit ``index`` of element e."""
    out = 0
    for e in range(n):
        out |= ((bus >> (e * bits + index)) & 1) << e
    return out


def branch_pc(w_bus: int, a_bus: int, spec: DesignSpec, i: int, j: int) -> int:
    """popcount(gate(weight plane i, activation plane j)) over the N elements; the gate is the encoding's
    (XNOR for pm1, AND for twos)."""
    n = spec.n
    x = spec.enc.gate.numpy(plane(w_bus, spec.wbits, i, n), plane(a_bus, spec.abits, j, n)) & ((1 << n) - 1)
    return x.bit_count()


def constant_correction(spec: DesignSpec) -> int:
    """The constant the encoded PEs subtract after the shift-add: N (2^W-1)(2^A-1) for pm1 (= spec.y_max), 0 for twos."""
    return spec.enc.constant(spec.wbits, spec.abits, spec.n)


def parallel_y(spec: DesignSpec, pcs: Sequence[int]) -> int:
    """Shift-add of the branch popcounts mod 2^out_width, read as signed: sum s_i pc_ij << (i+j+pc_shift) - const."""
    enc = spec.enc
    signs = enc.signs(spec.wbits)
    total = sum(signs[i] * (pcs[i * spec.abits + j] << (i + j + enc.pc_shift))
                for i in range(spec.wbits) for j in range(spec.abits))
    return to_signed(total - constant_correction(spec), spec.out_width)


def decode_code(u: int, bits: int) -> int:
    """Signed odd code q = 2u - (2^bits - 1) of an unsigned word (the pm1 baseline's decoder)."""
    return 2 * u - ((1 << bits) - 1)


def split_groups(n: int, count: int) -> list[range]:
    """Split elements 0..n-1 into ``count`` contiguous groups whose sizes differ by at most one (larger first)."""
    base, extra = divmod(n, count)
    out, start = [], 0
    for g in range(count):
        size = base + (1 if g < extra else 0)
        out.append(range(start, start + size))
        start += size
    return out


def baseline_groups(spec: DesignSpec) -> list[range]:
    """Element groups of the baseline's s2 partial sums: min(WBITS*ABITS, N) groups (the generator uses this too)."""
    return split_groups(spec.n, min(spec.wbits * spec.abits, spec.n))


def baseline_parts(spec: DesignSpec, w_bus: int, a_bus: int) -> tuple[int, ...]:
    """Partial sums of q_w q_a over each group, the words decoded as the encoding reads them (tight widths in the
    RTL, so exact integers)."""
    enc = spec.enc
    prods = (enc.decode_w(unpack_bus(w_bus, spec.wbits, spec.n), spec.wbits)
             * enc.decode_a(unpack_bus(a_bus, spec.abits, spec.n), spec.abits)).tolist()
    return tuple(sum(prods[e] for e in g) for g in baseline_groups(spec))


Step = tuple[int, int, bool, int]
"""One step of an iterative PE: (weight plane i, activation plane j, double the accumulator first, shift): the step
adds s_i 2^shift pc(i, j)."""


def diagonal_schedule(wbits: int, abits: int) -> list[Step]:
    """The diagonals s = i+j high to low, i ascending within one; a new diagonal doubles the accumulator, no step
    shifts (the run-time-precision PE walks this order with counters)."""
    steps: list[Step] = []
    for s in range(wbits + abits - 2, -1, -1):
        first = True
        for i in range(wbits):
            j = s - i
            if 0 <= j < abits:
                steps.append((i, j, first and bool(steps), 0))
                first = False
    return steps


def serial_schedule(wbits: int, abits: int) -> list[Step]:
    """The serial PE's steps: the outer planes (the weights', or the activations' when there are more of them) high
    to low, the inner planes in a snake (high to low, then low to high, ...); the accumulator doubles only when a step
    needs it, and a step of an ascending run adds its popcount shifted. So the inner select changes once per step
    within a plane and never between two, and the outer one once per plane: at W2A2 4 select changes per dot against
    the diagonal order's 6, at W4A4 16 against 30. The cost is a shifter of the popcount over the inner width (none
    when that width is 1). Doubling as late as possible (rather than at each new outer plane, with every inner step
    shifted) leaves fewer steps shifted: post-synthesis W2A2 0.764 -> 0.757 pJ per MAC, W4A4 3.288 -> 3.204, W3A3
    1.761 -> 1.790.

    The serial generator emits this schedule as its step table, so the RTL and the model share one copy."""
    outer_w = wbits >= abits
    no, ni = (wbits, abits) if outer_w else (abits, wbits)
    order = []
    for t, o in enumerate(range(no - 1, -1, -1)):
        for x in (range(ni - 1, -1, -1) if t % 2 == 0 else range(ni)):
            order.append((o, x) if outer_w else (x, o))
    # the accumulator holds sum pc 2^(i+j-base); it doubles (base - 1) only when a step's weight i+j is below the
    # base, so a descending run is plain Horner and only the ascending runs shift (adjacent steps differ by one in
    # i+j, and the step (0, 0) brings the base to 0)
    steps: list[Step] = []
    base = order[0][0] + order[0][1]
    for i, j in order:
        dbl = bool(steps) and i + j < base
        base -= dbl
        steps.append((i, j, dbl, i + j - base))
    return steps


# --- the models ---------------------------------------------------------------------------------

class LockstepModel:
    """``parallel`` and ``baseline``: R register stages moving together when advance = !out_valid | out_ready.

    Stage k's data register loads ``transforms[k](previous stage data)`` when advance and the previous
    valid bit are high (stage 0 loads (w, a) when in_valid & live), whatever rst_n is; valid bits,
    live and out_valid reset to 0. The last transform produces y.
    """

    def __init__(self, spec: DesignSpec, transforms: Sequence[Callable[[Any], Any]]) -> None:
        self.spec = spec
        self.transforms = tuple(transforms)
        self.live: Bit = None
        self.valids: list[Bit] = [None] * len(self.transforms)  # s1..s(R-1), then out_valid
        self.data: list[Any] = [None] * len(self.transforms)   # s1 operands, ..., y
        self.data_loads = 0

    @property
    def out_valid(self) -> Bit:
        return self.valids[-1]

    def comb(self, inp: PortInputs) -> tuple[Bit, Bit, int | None]:
        """Settled (in_ready, out_valid, y) for this cycle's inputs."""
        advance = _or(_not(self.out_valid), inp.out_ready)
        return _and(self.live, advance), self.out_valid, self.data[-1]

    def edge(self, inp: PortInputs, in_ready: Bit = None) -> None:
        """One rising edge with these inputs (reset when inp.rst_n == 0)."""
        advance = _or(_not(self.out_valid), inp.out_ready)
        srcs: list[tuple[Bit, Any]] = [(_and(inp.in_valid, self.live), (inp.w, inp.a))]
        srcs += [(self.valids[k], self.data[k]) for k in range(len(self.valids) - 1)]
        new_data = []
        for k, ((v, d), f) in enumerate(zip(srcs, self.transforms)):
            cond = _and(advance, v)
            new_data.append(_load(cond, self.data[k], lambda f=f, d=d: None if d is None else f(d)))
        self.data = new_data
        if inp.rst_n == 0:
            self.live = 0
            self.valids = [0] * len(self.valids)
        else:
            self.live = 1
            chain = [srcs[0][0]] + self.valids[:-1]  # s1_valid <= in_valid & live (pre-edge live)
            self.valids = [_load(advance, old, lambda b=b: b) for old, b in zip(self.valids, chain)]

    def reset_edge(self) -> None:
        """A rising edge with rst_n low and the driver's reset inputs (in_valid 0, out_ready 0)."""
        self.edge(Inputs(rst_n=0, in_valid=0, w=0, a=0, out_ready=0))


class SerialModel:
    """``serial``: operand register, step counter over the bit-plane schedule, Horner accumulator, y register.

    ``gated``: the clock-gated form, whose enables depend on registers only: the last step completes only when
    out_valid is already 0 (out_free = !out_valid), and the operands load at every edge where in_ready is 1.
    """

    def __init__(self, spec: DesignSpec, schedule: Sequence[Step], gated: bool = False) -> None:
        self.spec = spec
        self.gated = gated
        self.schedule = tuple(schedule)
        self.nsteps = len(self.schedule)
        self.shift = spec.enc.pc_shift
        self.signs = spec.enc.signs(spec.wbits)
        self.acc_width = spec.out_width - self.shift
        self.live: Bit = None
        self.busy: Bit = None
        self.step: int | None = None
        self.out_valid: Bit = None
        self.s1: tuple[int, int] | None = None
        self.acc: int | None = None
        self.y: int | None = None

    def _control(self, inp: PortInputs) -> tuple[Bit, Bit, Bit, Bit]:
        """(last, out_free, step_en, in_ready) from the current state."""
        last = None if self.step is None else int(self.step == self.nsteps - 1)
        out_free = _not(self.out_valid) if self.gated else _or(_not(self.out_valid), inp.out_ready)
        step_en = _and(self.busy, _or(_not(last), out_free))
        in_ready = _and(self.live, _or(_not(self.busy), _and(last, out_free)))
        return last, out_free, step_en, in_ready

    def comb(self, inp: PortInputs) -> tuple[Bit, Bit, int | None]:
        return self._control(inp)[3], self.out_valid, self.y

    def acc_next(self) -> int | None:
        """(step==0 ? 0 : dbl ? 2 acc : acc) + s_i 2^shift pc(i, j), modulo 2^(out_width - pc_shift)."""
        if self.s1 is None or self.step is None:
            return None
        i, j, dbl, sh = self.schedule[self.step] if self.step < self.nsteps else (0, 0, False, 0)
        pc = branch_pc(self.s1[0], self.s1[1], self.spec, i, j)
        mask = (1 << self.acc_width) - 1
        if self.nsteps == 1 or self.step == 0:
            base = 0
        elif self.acc is None:
            return None
        else:
            base = (self.acc << 1) & mask if dbl else self.acc
        return (base + self.signs[i] * (pc << sh)) & mask

    def edge(self, inp: PortInputs, in_ready: Bit = None) -> None:
        last, _, step_en, ready = self._control(inp)
        accept = _and(inp.in_valid, ready)
        acc_next = self.acc_next()
        y_next = None if acc_next is None else to_signed((acc_next << self.shift) - constant_correction(self.spec),
                                                         self.spec.out_width)
        fin = _and(step_en, last)
        new_y = _load(fin, self.y, lambda: y_next)
        # the last step's sum goes to y only: the accumulator is not loaded then (the next input starts from 0)
        new_acc = _load(_and(step_en, _not(last)), self.acc, lambda: acc_next) if self.nsteps > 1 else None
        new_s1 = _load(ready if self.gated else accept, self.s1, lambda: (inp.w, inp.a))
        if inp.rst_n == 0:
            self.live, self.busy, self.step, self.out_valid = 0, 0, 0, 0
        else:
            self.live = 1
            if accept == 1:
                self.busy, self.step = 1, 0
            elif accept == 0 and step_en == 1:
                self.busy = _not(last)
                self.step = 0 if last else self.step + 1  # type: ignore[operator]
            elif accept is None or step_en is None:
                self.busy, self.step = None, None
            self.out_valid = _next_out_valid(fin, self.out_valid, inp.out_ready)
        self.s1, self.acc, self.y = new_s1, new_acc, new_y

    def reset_edge(self) -> None:
        self.edge(Inputs(rst_n=0, in_valid=0, w=0, a=0, out_ready=0))


# --- construction from spec + manifest (library functions; rtl.archs picks them per architecture) -------

CycleModel = LockstepModel | SerialModel
Transform = Callable[[Any], Any]


def parallel_transforms(spec: DesignSpec) -> list[Transform]:
    """``parallel``'s stages: s1 = (w, a), s2 = the W*A branch popcounts, out = their shift-add."""
    pairs = [(i, j) for i in range(spec.wbits) for j in range(spec.abits)]
    return [
        lambda wa: wa,
        lambda wa: tuple(branch_pc(wa[0], wa[1], spec, i, j) for i, j in pairs),
        lambda pcs: parallel_y(spec, pcs),
    ]


def baseline_transforms(spec: DesignSpec) -> list[Transform]:
    """``baseline``'s stages: s1 = (w, a), s2 = the partial sums of q_w q_a per element group, out = their sum."""
    return [
        lambda wa: wa,
        lambda wa: baseline_parts(spec, wa[0], wa[1]),
        lambda parts: to_signed(sum(parts), spec.out_width),
    ]


def manifest_dict(manifest: dict[str, Any] | Path | str) -> dict[str, Any]:
    """A manifest given as a dict or as the path of manifest.json."""
    return manifest if isinstance(manifest, dict) else read_manifest(manifest)


def manifest_schedule(manifest: dict[str, Any]) -> list[Step]:
    """The iterative pipeline's step schedule as (i, j, dbl, shift) tuples (shift 0 when the manifest has none)."""
    return [(s["i"], s["j"], bool(s["dbl"]), int(s.get("shift", 0)))
            for s in (manifest.get("pipeline") or {}).get("step_schedule", [])]


def _pipeline_problems(spec: DesignSpec, manifest: dict[str, Any], style: str) -> list[str]:
    check_manifest(spec, manifest)
    pipe = manifest.get("pipeline") or {}
    problems = []
    if manifest.get("reset", "sync") != "sync":
        problems.append(f"reset={manifest.get('reset')!r} (model implements sync)")
    if pipe.get("style") != style:
        problems.append(f"pipeline style {pipe.get('style')!r} (model implements {style!r})")
    return problems


def _raise(spec: DesignSpec, problems: list[str]) -> None:
    if problems:
        raise BitbranchError(f"cycle model does not match the RTL manifest of {spec.id}: {'; '.join(problems)}; "
                             "update the architecture's cycle model (model/cycle.py) with the RTL change")


def check_lockstep_pipeline(spec: DesignSpec, manifest: dict[str, Any], stages: int = 3) -> None:
    """Raise BitbranchError unless the manifest describes a lockstep pipeline of ``stages`` register stages
    s1, ..., out (latency stages - 1, II 1), the structure :class:`LockstepModel` implements."""
    problems = _pipeline_problems(spec, manifest, "lockstep")
    if not problems:
        expected = [f"s{k}" for k in range(1, stages)] + ["out"]
        names = [s.get("name") for s in (manifest.get("pipeline") or {}).get("stages", [])]
        if names != expected or manifest["latency_cycles"] != stages - 1 or manifest["initiation_interval"] != 1:
            problems.append(f"stages {names}, latency {manifest['latency_cycles']}, II {manifest['initiation_interval']} "
                            f"(model implements {', '.join(expected)}; latency {stages - 1}; II 1)")
    _raise(spec, problems)


def check_iterative_pipeline(spec: DesignSpec, manifest: dict[str, Any],
                             schedule: Sequence[Step]) -> None:
    """Raise BitbranchError unless the manifest describes an iterative pipeline stepping through ``schedule``."""
    problems = _pipeline_problems(spec, manifest, "iterative")
    if not problems:
        sched = manifest_schedule(manifest)
        if sched != list(schedule):
            problems.append("step_schedule differs from the schedule the model implements (model.cycle.serial_schedule: "
                            "regenerate the RTL)")
        if manifest["latency_cycles"] != len(sched) or manifest["initiation_interval"] != len(sched):
            problems.append(f"latency/II {manifest['latency_cycles']}/{manifest['initiation_interval']} != steps {len(sched)}")
    _raise(spec, problems)


def lockstep_model(spec: DesignSpec, transforms: Sequence[Transform],
                   manifest: dict[str, Any] | Path | str | None = None) -> LockstepModel:
    """A fresh lockstep model; when a manifest (dict or path) is given its pipeline is checked first."""
    if manifest is not None:
        check_lockstep_pipeline(spec, manifest_dict(manifest), stages=len(transforms))
    return LockstepModel(spec, transforms)


def serial_model(spec: DesignSpec, manifest: dict[str, Any] | Path | str | None = None,
                 gated: bool = False) -> SerialModel:
    """A fresh ``serial`` model over :func:`serial_schedule` (``gated``: see :class:`SerialModel`); with a manifest,
    checked (its pipeline must list ``clock_gates`` exactly when ``gated``) and built from its schedule."""
    schedule = serial_schedule(spec.wbits, spec.abits)
    if manifest is not None:
        m = manifest_dict(manifest)
        check_iterative_pipeline(spec, m, schedule)
        has_gates = "clock_gates" in (m.get("pipeline") or {})
        if has_gates != gated:
            _raise(spec, [f"the RTL {'has' if has_gates else 'has no'} clock gates, the model "
                          f"{'is' if gated else 'is not'} the gated form"])
        schedule = manifest_schedule(m)
    return SerialModel(spec, schedule, gated)
