"""One simulation path: only verif/sim.py builds and runs a simulator; gate-level power stimulus is verif's.

Fast (no simulator): a source scan plus the activity stream's determinism. The activity run itself is
exercised in test_verif_sim.py (RTL) and test_flow_frontend_run.py (gate level, through the flow stage).
"""

from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path

from model.contract import pack_bus
from model.spec import DesignSpec
from verif.driver import Driver
from verif.stimulus import ACTIVITY_PATTERN_CYCLES, activity_stimulus

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("common", "model", "rtl", "verif", "flow", "qnn", "reports", "bench", "scripts")
SIM_PROGRAMS = {"iverilog", "vvp", "verilator", "verilator_bin"}
RUNNER_MODULES = ("cocotb_tools",)
SIM_MODULE = "verif/sim.py"


def _sources() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def _starts_simulator(tree: ast.AST) -> list[str]:
    """Where a module builds or runs a simulator: imports cocotb's runner, calls get_runner, or passes a
    command line whose program is a simulator (a list/tuple literal, or a 'prog args' string) to a call."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in RUNNER_MODULES:
            found.append(f"line {node.lineno}: from {node.module} import ...")
        elif isinstance(node, ast.Import):
            found += [f"line {node.lineno}: import {a.name}" for a in node.names if a.name.split(".")[0] in RUNNER_MODULES]
        elif isinstance(node, ast.Call):
            func = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if func == "get_runner":
                found.append(f"line {node.lineno}: get_runner(...)")
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                first = arg.elts[0] if isinstance(arg, (ast.List, ast.Tuple)) and arg.elts else arg
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    words = first.value.split()
                    is_cmd = first is not arg or len(words) > 1
                    if is_cmd and words and Path(words[0]).name in SIM_PROGRAMS:
                        found.append(f"line {node.lineno}: runs {words[0]}")
    return found


def test_only_verif_sim_starts_a_simulator():
    offenders = {}
    for path in _sources():
        rel = path.relative_to(ROOT).as_posix()
        if rel == SIM_MODULE:
            continue
        hits = _starts_simulator(ast.parse(path.read_text(), filename=rel))
        if hits:
            offenders[rel] = hits
    assert not offenders, f"simulators started outside {SIM_MODULE} (use verif.sim.simulate): {offenders}"


def test_the_scan_sees_the_old_ways():
    """The check would have caught the four harnesses as they were."""
    old = [
        'run_tool(self.name, "iverilog", ["iverilog", "-g2012", "-o", "sim.vvp", "tb.v"], d)',
        'run_tool(self.name, "vvp", ["vvp", "-n", "sim.vvp"], d, cwd=d)',
        "from cocotb_tools.runner import get_runner\nrunner = get_runner(sim)",
        'subprocess.run("verilator --binary top.v", shell=True)',
    ]
    for text in old:
        assert _starts_simulator(ast.parse(text)), text
    assert SIM_MODULE in {p.relative_to(ROOT).as_posix() for p in _sources()}
    assert _starts_simulator(ast.parse((ROOT / SIM_MODULE).read_text()))


def test_gate_level_power_stimulus_comes_from_verif():
    """The flow's gate-level stages hold no stimulus or testbench of their own: verif.activity drives them
    from verif.stimulus.activity_stimulus."""
    for rel in ("flow/gatesim.py", "flow/pnr/post.py"):
        text = (ROOT / rel).read_text()
        for needle in ("default_rng", "numpy", "make_stimulus", "$dumpvars", "module "):
            assert needle not in text, f"{rel} has {needle!r}: stimulus and testbench belong to verif"
    assert "run_activity" in (ROOT / "flow/gatesim.py").read_text()
    bench = (ROOT / "verif/activity.py").read_text()
    assert "activity_stimulus(" in bench and "simulate(" in bench


def _digest(stim) -> str:
    doc = {"w": [list(v[0]) for v in stim.vectors], "a": [list(v[1]) for v in stim.vectors],
           "valid": [int(x) for x in stim.offer[:ACTIVITY_PATTERN_CYCLES]],
           "ready": [int(x) for x in stim.ready[:ACTIVITY_PATTERN_CYCLES]]}
    return hashlib.sha256(json.dumps(doc).encode()).hexdigest()


def test_activity_stimulus_is_deterministic_and_unchanged():
    spec = DesignSpec.from_id("serial_w3a2_n7")
    a = activity_stimulus(spec, 40, 9, 0.7, 0.5, latency=3, ii=2)
    assert a == activity_stimulus(spec, 40, 9, 0.7, 0.5, latency=3, ii=2)
    assert a != activity_stimulus(spec, 40, 10, 0.7, 0.5, latency=3, ii=2)
    # pinned: the stream flow/gatesim.py made before it moved to verif (the reference power numbers rest on it)
    assert _digest(a) == "a79b5a424867046f67465f47f747c324c402702f4784da389949b3d55a0a199b"
    assert a.n_cycles == int((40 * 2 + 3 + 16) / (0.7 * 0.5) * 4) + 200  # the time-out budget
    assert not any(a.rst) and len(a.vectors) == 40
    assert all(a.offer[c] == a.offer[c % ACTIVITY_PATTERN_CYCLES] for c in range(a.n_cycles))
    assert all(0 <= x < 8 for v in a.vectors for x in v[0]) and all(0 <= x < 4 for v in a.vectors for x in v[1])


def test_full_duty_offers_and_accepts_every_cycle():
    spec = DesignSpec.from_id("parallel_w2a2_n8")
    stim = activity_stimulus(spec, 10, 1, 1.0, 1.0, latency=2, ii=1)
    assert all(stim.offer) and all(stim.ready)
    d = Driver(stim, tail_cycles=0, hold_last=True)
    for c in range(12):  # a PE that is always ready: one vector a cycle, then the last one is held
        inp = d.inputs(c)
        assert inp.in_valid == int(c < 10)
        d.observe(c, inp, 1, 0, None)
    w_last, a_last = stim.vectors[-1]
    held = d.inputs(12)
    assert (held.w, held.a) == (pack_bus(w_last, spec.wbits), pack_bus(a_last, spec.abits)) != (0, 0)
