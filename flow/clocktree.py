"""Buffer trees for gated clocks: the library's clock buffers between a clock gate and the registers it clocks.

The local flow has no clock-tree synthesis. The port ``clk`` is an ideal source, but a clock gate is a small logic
cell: alone it drives every register of its group (128 flop clock pins at serial W2A2), so its clock arrives late
and slow (5.4 ns at ss) and the registers it clocks miss hold against data launched on ``clk``. A balanced tree of
``sky130_fd_sc_hd__clkbuf_*`` cells, the same depth to every sink, cuts that latency and gives the sinks sharp edges,
as a CTS step would. Only nets that clock a register and are driven by a cell get a tree: a design without clock
gates keeps its netlist byte for byte.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Sequence

from flow.liberty import Library
from flow.netlist import _INST, _PIN, Netlist, bit_name

LEAF_BUFFER = "sky130_fd_sc_hd__clkbuf_4"
ROOT_BUFFER = "sky130_fd_sc_hd__clkbuf_8"
MAX_FANOUT = 16  # sinks (clock pins or buffers) per buffer


@dataclass(frozen=True)
class ClockTree:
    """One gated clock net's tree: its sinks' count, the buffers per level and their cell, root first."""

    net: str
    sinks: int
    levels: tuple[int, ...]
    cells: tuple[str, ...]

    @property
    def buffers(self) -> int:
        return sum(self.levels)


def gated_clock_sinks(nl: Netlist, lib: Library) -> dict[str, list[tuple[str, str]]]:
    """Nets driven by a cell (not a port) that reach a register's clock pin, each with its (instance, pin) sinks in
    netlist order; the sinks are every load of the net, so a gate that also feeds logic is buffered for all."""
    drivers: dict[str, str] = {}
    loads: dict[str, list[tuple[str, str]]] = {}
    clocked: set[str] = set()
    for inst in nl.instances:
        cell = lib.cells.get(inst.cell)
        if cell is None:
            continue
        for pin, net in inst.pins.items():
            p = cell.pins.get(pin)
            if p is None:
                continue
            if p.direction == "output":
                drivers[net] = inst.name
            else:
                loads.setdefault(net, []).append((inst.name, pin))
                if p.is_clock and cell.is_sequential:
                    clocked.add(net)
    return {net: loads[net] for net in loads if net in clocked and net in drivers and net not in nl.ports}


def tree_levels(sinks: int, fanout: int = MAX_FANOUT) -> tuple[int, ...]:
    """Buffers per level, root first, for ``sinks`` loads: each level drives at most ``fanout``, one root."""
    if sinks < 1:
        raise ValueError("a clock tree needs at least one sink")
    levels = [math.ceil(sinks / fanout)]
    while levels[-1] > 1:
        levels.append(math.ceil(levels[-1] / fanout))
    return tuple(reversed(levels))


def _groups(items: Sequence, k: int) -> list[list]:
    """``items`` in ``k`` contiguous groups whose sizes differ by at most one."""
    q, r = divmod(len(items), k)
    out, i = [], 0
    for g in range(k):
        n = q + (1 if g < r else 0)
        out.append(list(items[i:i + n]))
        i += n
    return out


def _safe(net: str) -> str:
    return re.sub(r"\W", "_", net).strip("_") or "net"


def buffer_gated_clocks(text: str, nl: Netlist, lib: Library, fanout: int = MAX_FANOUT,
                        leaf: str = LEAF_BUFFER, root: str = ROOT_BUFFER) -> tuple[str, list[ClockTree]]:
    """The netlist ``text`` (parsed as ``nl``) with a balanced buffer tree on every gated clock net, and the trees.

    The gate keeps driving its net, now only the root buffer; every level below divides the sinks evenly, so every
    sink sits behind the same number of buffers. Names are derived from the net (``_ct_<net>_<level>_<k>_``), so the
    same netlist always gives the same text."""
    for cell in (leaf, root):
        if cell not in lib.cells:
            raise ValueError(f"clock buffer {cell} is not in the liberty {lib.name}")
    nets = gated_clock_sinks(nl, lib)
    if not nets:
        return text, []
    rewire: dict[tuple[str, str], str] = {}  # (instance, pin) -> new net
    wires: list[str] = []
    cells: list[str] = []
    trees = []
    for net, sinks in sorted(nets.items()):
        levels = tree_levels(len(sinks), fanout)
        base = _safe(net)
        parents = [net]  # the nets driving the current level
        level_cells = tuple(root if depth == 0 else leaf for depth in range(len(levels)))
        for depth, (count, cell) in enumerate(zip(levels, level_cells)):
            outs = [f"_ct_{base}_{depth}_{k}_" for k in range(count)]
            # each parent drives an even share of this level's buffers
            for p_net, share in zip(parents, _groups(outs, len(parents))):
                for o in share:
                    cells.append(f"  {cell} {o}buf (\n    .A({p_net}),\n    .X({o})\n  );")
                    wires.append(f"  wire {o};")
            parents = outs
        for p_net, group in zip(parents, _groups(sinks, len(parents))):
            for inst, pin in group:
                rewire[(inst, pin)] = p_net
        trees.append(ClockTree(net, len(sinks), levels, level_cells))

    def edit(m: re.Match) -> str:
        inst = bit_name(m[2])
        pins = [(bit_name(p[1]), p) for p in _PIN.finditer(m[3])]
        body = m[0]
        for name, p in reversed(pins):
            new = rewire.get((inst, name))
            if new is not None:
                off = m.start(3) - m.start(0)  # pin matches are positions in the connection list
                start, end = off + p.start(2), off + p.end(2)
                body = body[:start] + new + body[end:]
        return body

    text = _INST.sub(edit, text)
    cut = next((m.start() for m in _INST.finditer(text) if bit_name(m[1]) in lib.cells), text.rfind("endmodule"))
    text = text[:cut] + "\n".join(wires) + "\n" + text[cut:]
    end = text.rfind("endmodule")
    return text[:end] + "\n".join(cells) + "\n" + text[end:], trees
