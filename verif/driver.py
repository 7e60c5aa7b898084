"""The bench's driver as a pure state machine, and the per-cycle trace it records.

The cocotb bench and a Python cycle model use the same :class:`Driver`: ask it for the inputs
of cycle c, show it the DUT's sampled outputs, repeat until :attr:`Driver.finished`. So a model
fed the same :class:`~verif.stimulus.Stimulus` sees exactly the RTL's input stream, and the two
traces can be compared cycle by cycle.

Driver rule: during reset in_valid is 0 and out_ready is 0. Otherwise, once an input is
offered it is held (AXI style) until accepted; a new one is offered when the plan's ``offer``
bit is set and vectors remain. ``w``/``a`` always carry the next unsent vector (zeros at the end, or
the last vector held with ``hold_last``: the gate-level activity run, whose input toggles count for power).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from model.contract import pack_bus
from verif.stimulus import Stimulus

TRACE_COLUMNS: tuple[str, ...] = (
    "cycle", "rst_n", "in_valid", "in_ready", "in_id", "accepted", "out_valid", "out_ready", "y", "flag",
)
"""Trace columns; in_id/accepted are -1 when none; in_ready/out_valid/y are None when X or not sampled; flag is
the run-time-precision PE's ``prec_err`` beside y (None for PEs without it)."""


@dataclass(frozen=True)
class CycleInputs:
    """What the bench drives during one cycle (before its rising edge)."""

    rst_n: int
    in_valid: int
    w: int
    a: int
    out_ready: int
    in_id: int
    wprec: int = 0
    aprec: int = 0
    """Run-time widths of the offered input (a run-time-precision PE's ``wprec``/``aprec``: the stimulus's
    ``precs``, or its own widths when it has none)."""


@dataclass
class Trace:
    """Column-wise record of every cycle of a run (JSON friendly, cheap to append)."""

    columns: dict[str, list[Any]] = field(default_factory=lambda: {k: [] for k in TRACE_COLUMNS})

    def append(self, **row: Any) -> None:
        for k in TRACE_COLUMNS:
            self.columns[k].append(row[k])

    def __len__(self) -> int:
        return len(self.columns["cycle"])


class Driver:
    """Turns a stimulus plan plus the DUT's responses into per-cycle inputs (see module doc)."""

    def __init__(self, stim: Stimulus, tail_cycles: int, hold_last: bool = False) -> None:
        self.stim = stim
        self.tail_cycles = tail_cycles
        self.next_id = 0
        self.holding = False
        self.outstanding = 0
        self.idle_after_done = 0
        self.trace = Trace()
        self._buses = [(pack_bus(w, stim.wbits), pack_bus(a, stim.abits)) for w, a in stim.vectors]
        self._idle_bus = self._buses[-1] if hold_last and self._buses else (0, 0)
        self._precs = list(stim.precs)
        self._idle_prec = self._precs[-1] if self._precs else (0, 0)

    def inputs(self, c: int) -> CycleInputs:
        s = self.stim
        more = self.next_id < len(s.vectors)
        w, a = self._buses[self.next_id] if more else self._idle_bus
        mk = (self._precs[self.next_id] if more else self._idle_prec) if self._precs else (s.wbits, s.abits)
        if s.rst[c]:
            self.holding = False
            return CycleInputs(0, 0, w, a, 0, -1, *mk)
        valid = more and (self.holding or s.offer[c])
        self.holding = valid
        return CycleInputs(1, int(valid), w, a, int(s.ready[c]), self.next_id if valid else -1, *mk)

    def observe(self, c: int, inp: CycleInputs, in_ready: int | None, out_valid: int | None, y: int | None,
                flag: int | None = None) -> None:
        """Record cycle c's sampled outputs (pre-edge; ``flag``: a run-time-precision PE's prec_err) and advance
        the handshakes."""
        accepted = inp.in_id if (inp.rst_n and inp.in_valid and in_ready == 1) else -1
        if not inp.rst_n:
            self.outstanding = 0
        else:
            if accepted >= 0:
                self.next_id += 1
                self.holding = False
                self.outstanding += 1
            if out_valid == 1 and inp.out_ready:
                self.outstanding -= 1
        if self.next_id >= len(self.stim.vectors) and self.outstanding <= 0:
            self.idle_after_done += 1
        self.trace.append(
            cycle=c, rst_n=inp.rst_n, in_valid=inp.in_valid, in_ready=in_ready, in_id=inp.in_id,
            accepted=accepted, out_valid=out_valid, out_ready=inp.out_ready,
            y=y if (out_valid == 1 and inp.rst_n) else None,
            flag=flag if (out_valid == 1 and inp.rst_n) else None,
        )

    @property
    def finished(self) -> bool:
        """All vectors sent, all outputs out, and a few idle cycles watched for spurious outputs."""
        return self.idle_after_done > self.tail_cycles


class CycleModel(Protocol):
    """What :func:`replay` needs from a Python model of a PE (e.g. model/cycle.py)."""

    def reset_edge(self) -> None:
        """A rising edge with rst_n low."""

    def comb(self, inp: CycleInputs) -> tuple[int, int, int | None]:
        """Settled (in_ready, out_valid, y) before the next edge, for this cycle's inputs."""

    def edge(self, inp: CycleInputs, in_ready: int) -> None:
        """A rising edge with rst_n high."""


def replay(stim: Stimulus, model: CycleModel, latency: int) -> Trace:
    """Drive a Python model with exactly the bench's input stream; returns a trace comparable to the RTL's."""
    driver = Driver(stim, tail_cycles=latency + 3)
    for c in range(stim.n_cycles):
        inp = driver.inputs(c)
        if not inp.rst_n:
            driver.observe(c, inp, None, None, None)
            model.reset_edge()
        else:
            in_ready, out_valid, y = model.comb(inp)
            flag = model.out_flag() if hasattr(model, "out_flag") else None  # run-time-precision PEs: prec_err
            driver.observe(c, inp, in_ready, out_valid, y if out_valid == 1 else None, flag)
            model.edge(inp, in_ready)
        if driver.finished:
            break
    return driver.trace


def first_difference(a: dict[str, list[Any]], b: dict[str, list[Any]]) -> str | None:
    """None when two traces agree on every cycle and column, else a line naming the first difference."""
    for k in range(max(len(a["cycle"]), len(b["cycle"]))):
        for col in TRACE_COLUMNS:
            va = a[col][k] if k < len(a[col]) else "<missing>"
            vb = b[col][k] if k < len(b[col]) else "<missing>"
            if va != vb:
                return f"cycle {k}: {col} differs: {va!r} vs {vb!r}"
    return None
