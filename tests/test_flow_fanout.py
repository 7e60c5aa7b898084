"""The fanout-buffered placement's netlist: qflow's blifFanout adds buffers and changes no other cell (#17: its
resizing had brought in ``a21boi_2``, whose layout netgen cannot match to its CDL)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

from flow.pnr.place import buffer_fanout

LIB = "sky130_fd_sc_hd__"


def blif(sinks: int) -> str:
    """One a21boi_1 driving ``sinks`` nand2_1 gates (a load enable as in parallel_w3a3_n32's net _1338_)."""
    ins = " ".join(f"d[{i}]" for i in range(sinks))
    outs = " ".join(f"q[{i}]" for i in range(sinks))
    gates = [f".gate {LIB}a21boi_1 A1=a A2=b B1_N=c Y=en"]
    gates += [f".gate {LIB}nand2_1 A=d[{i}] B=en Y=q[{i}]" for i in range(sinks)]
    return "\n".join([".model t", f".inputs a b c {ins}", f".outputs {outs}", *gates, ".end", ""])


def cells(text: str) -> Counter:
    return Counter(re.findall(r"^\.gate (\S+)", text, re.M))


def test_fanout_buffering_adds_buffers_and_resizes_nothing(tmp_path: Path, need_tools, tt_liberty) -> None:
    need_tools("blifFanout")
    net = tmp_path / "t.blif"
    net.write_text(blif(60))
    buffer_fanout("place", SimpleNamespace(config=SimpleNamespace(timeout_s=60)), net, tt_liberty, tmp_path)
    before, after = cells(blif(60)), cells(net.read_text())
    added = after - before
    assert before - after == Counter(), f"cells removed or resized: {dict(before - after)}"
    assert set(added) == {f"{LIB}buf_2"} and added[f"{LIB}buf_2"] >= 3, f"added: {dict(added)}"
    fanout = Counter(p for p in re.findall(r"=(\S+)", net.read_text()))
    assert fanout["en"] <= 21, f"the enable still drives {fanout['en'] - 1} pins"
