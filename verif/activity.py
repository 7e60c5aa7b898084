"""cocotb test: the gate-level activity run behind the flow's power numbers (netlist + cell models, zero-delay logic).

A small Verilog harness (:func:`harness_text`, top ``bb_gatesim_tb``) holds the clock and the input
registers, instantiates the netlist as ``dut`` and, at reset release, starts a VCD of the DUT's
top-level nets. This test drives the port contract's handshake from
:func:`verif.stimulus.activity_stimulus` through :class:`verif.driver.Driver`: inputs change at the
falling edge, the handshakes are sampled a quarter period later, every y is checked in order against
``model.contract.expected_y``, and the run stops at the falling edge after the last output. That
window (reset release to the end) is the activity source of the flow's power stages.
Run it with :func:`run_activity` (through :func:`verif.sim.simulate`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Sequence

import cocotb
import numpy as np
from cocotb.simtime import get_sim_time
from cocotb.triggers import FallingEdge, RisingEdge, Timer

from common.files import atomic_write_text
from model.contract import expected_y
from model.runtime import FLAG_PORT, WIDTH_PORTS, parse_run_bits, port_bits, words_at
from model.spec import DesignSpec
from verif.checks import expectations
from verif.driver import Driver
from verif.runtime import drive_widths
from verif.signals import read_bit, read_signed
from verif.sim import SimRun, SimTarget, load_config, simulate, write_result
from verif.stimulus import Stimulus, Vector, activity_stimulus


def at_run_bits(spec: DesignSpec, stim: Stimulus, run_bits: str, runtime: bool) -> Stimulus:
    """The activity stream at run-time widths ``run_bits`` ('mxk', '' = the spec's): a run-time-precision PE
    (``runtime``) gets every input with those widths on its width ports (m-/k-bit words in the low bits, upper
    bits 0); a fixed-width PE gets the same m-/k-bit values re-encoded in its own widths (``model.runtime.words_at``)."""
    rb = parse_run_bits(run_bits, spec) if run_bits else None
    if rb is None:
        return dataclasses.replace(stim, precs=((spec.wbits, spec.abits),) * len(stim.vectors)) if runtime else stim
    vecs = []
    for w, a in stim.vectors:
        ww, aa = words_at(spec, np.asarray(w), np.asarray(a), rb, native=runtime)
        vecs.append((tuple(int(x) for x in ww), tuple(int(x) for x in aa)))
    return dataclasses.replace(stim, vectors=tuple(vecs), precs=((rb.m, rb.k),) * len(vecs) if runtime else ())

RESET_CYCLES = 3
HARNESS_TOP = "bb_gatesim_tb"
VCD_NAME = "activity.vcd"
MAX_LISTED = 50
GATE_DEFINES = (("FUNCTIONAL", "1"), ("UNIT_DELAY", "#0.1"))
"""The cell models' functional view: combinational cells in zero delay, flops and latches with a 100 ps clk->Q
(``UNIT_DELAY``, the models' own hook). With zero delay everywhere, a flop behind a gated clock (a gate and a
buffer tree: several delta cycles) could sample data that flops on the ungated clock had already changed in the
same timestep, depending on the simulator's event order: the routed netlist of serial_w4a4_n32 (LVS-clean, the same
cells and nets as its synthesized netlist, which passed) gave 50 wrong results of 200, none with the clk->Q delay.
Toggle counts (``flow/vcd.py``: values at the end of each timestep) and so the energies are unchanged by it."""


def compare_outputs(spec: DesignSpec, vectors: Sequence[Vector], ys: Sequence[int | None],
                    stim: Stimulus | None = None) -> list[str]:
    """Mismatches between the simulated y values (None: X/Z bits) and the reference model, in order (a stimulus
    with run-time widths: ``model.runtime.expected``)."""
    bad = []
    if len(ys) != len(vectors):
        bad.append(f"got {len(ys)} outputs for {len(vectors)} inputs")
    wants = expectations(spec, stim, 0, 1)[0] if stim is not None and stim.precs else None
    for k, got in enumerate(ys[: len(vectors)]):
        want = wants[k] if wants is not None else expected_y(spec, *vectors[k])
        if got != want:
            bad.append(f"vector {k}: y={'X' if got is None else got} expected {want}")
    return bad


@cocotb.test()
async def activity_stream(dut) -> None:
    """Every vector through the gate-level DUT; y in order equals the model; no time-out."""
    cfg = load_config()
    spec = DesignSpec.from_mapping(cfg["spec"])
    stim = activity_stimulus(spec, cfg["vectors"], cfg["seed"], cfg["in_valid_duty"], cfg["out_ready_duty"],
                             cfg["latency"], cfg["ii"])
    rt = bool(cfg.get("runtime"))
    stim = at_run_bits(spec, stim, cfg.get("run_bits") or "", rt)
    driver = Driver(stim, tail_cycles=0, hold_last=True)
    fall = FallingEdge(dut.clk)
    quarter = Timer(cfg["clock_ns"] / 4, unit="ns", round_mode="round")
    for _ in range(RESET_CYCLES):  # the harness holds rst_n, in_valid, out_ready, w and a at 0
        await RisingEdge(dut.clk)
    await fall
    dut.rst_n.value = 1  # the harness starts the VCD here
    ys: list[int | None] = []
    cycles, timeout = 0, False
    while len(ys) < len(stim.vectors):
        if cycles > 0:
            await fall
        if cycles >= stim.n_cycles:
            timeout = True
            break
        inp = driver.inputs(cycles)
        dut.in_valid.value = inp.in_valid
        dut.w.value = inp.w
        dut.a.value = inp.a
        dut.out_ready.value = inp.out_ready
        if rt:
            drive_widths(dut, inp)
        await quarter
        out_valid = read_bit(dut.out_valid)
        y = read_signed(dut.y, spec.out_width) if out_valid == 1 else None
        driver.observe(cycles, inp, read_bit(dut.in_ready), out_valid, y)
        if out_valid == 1 and inp.out_ready:
            ys.append(y)
        cycles += 1
    if not timeout:
        await fall
    bad = compare_outputs(spec, stim.vectors, ys, stim)
    write_result(cfg, {"vectors": len(stim.vectors), "cycles": cycles, "outputs": len(ys), "timeout": timeout,
                       "end_time_ns": float(get_sim_time("ns")), "mismatches": bad[:MAX_LISTED],
                       "mismatch_count": len(bad)})
    assert not timeout, f"spec {spec.id}: time-out after {cycles} cycles, {len(ys)} of {len(stim.vectors)} outputs"
    assert not bad, f"spec {spec.id}: {len(bad)} mismatch(es); first: {bad[0]}"


# --- running it (from the flow's gate-level stages; not part of the cocotb test) ------------------------


def harness_text(spec: DesignSpec, top: str, clock_ns: float, runtime: bool = False) -> str:
    """Verilog harness: clock, input registers (all 0 until the bench drives them), the DUT, the VCD; ``runtime``:
    the run-time-precision PE's width inputs as registers too, its flag left open."""
    ww, aw, ow = spec.w_width, spec.a_width, spec.out_width
    pw, pa = port_bits(spec.wbits), port_bits(spec.abits)
    rt_regs = (f"\n  reg [{pw - 1}:0] {WIDTH_PORTS[0]} = {pw}'d0;\n  reg [{pa - 1}:0] {WIDTH_PORTS[1]} = {pa}'d0;"
               if runtime else "")
    rt_ports = f", .{WIDTH_PORTS[0]}({WIDTH_PORTS[0]}), .{WIDTH_PORTS[1]}({WIDTH_PORTS[1]}), .{FLAG_PORT}()" if runtime else ""
    return f"""`timescale 1ns/1ps
`default_nettype none
module {HARNESS_TOP};
  reg clk = 1'b0, rst_n = 1'b0, in_valid = 1'b0, out_ready = 1'b0;
  reg [{ww - 1}:0] w = {ww}'d0;
  reg [{aw - 1}:0] a = {aw}'d0;{rt_regs}
  wire in_ready, out_valid;
  wire [{ow - 1}:0] y;
  {top} dut (.clk(clk), .rst_n(rst_n), .in_valid(in_valid), .in_ready(in_ready), .w(w), .a(a),
             .out_valid(out_valid), .out_ready(out_ready), .y(y){rt_ports});
  always #{clock_ns / 2} clk = ~clk;
  initial begin
    @(posedge rst_n);
    $dumpfile("{VCD_NAME}");
    $dumpvars(1, dut);
  end
endmodule
`default_nettype wire
"""


def strip_vcd_date(path: Path) -> None:
    """Blank the VCD's ``$date`` so the same stimulus gives a byte-identical file."""
    if not path.is_file():
        return
    text = path.read_text()
    start = text.find("$date")
    end = text.find("$end", start)
    if start >= 0 and end > start:
        atomic_write_text(path, text[:start] + "$date\n\tnot recorded (deterministic output)\n" + text[end:])


def run_activity(
    spec: DesignSpec, top: str, latency: int, ii: int, sources: Sequence[Path], run_dir: Path, *,
    vectors: int, seed: int, in_valid_duty: float, out_ready_duty: float, clock_ns: float,
    logs: tuple[str, str] = ("build.log", "sim.log"), timeout_s: float | None = None,
    run_bits: str = "", runtime: bool = False,
) -> SimRun:
    """Simulate a gate-level netlist (``sources``: netlist and cell models) of ``top`` on Icarus; the VCD
    goes to ``<run_dir>/activity.vcd`` and the result (cycles, outputs, end_time_ns, mismatches, timeout)
    comes back in the returned run whether the check passed or not."""
    run_dir = Path(run_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / VCD_NAME).unlink(missing_ok=True)
    harness = run_dir / "tb.v"
    atomic_write_text(harness, harness_text(spec, top, clock_ns, runtime))
    target = SimTarget(HARNESS_TOP, (harness, *(Path(p).resolve() for p in sources)), latency, ii, "gl", GATE_DEFINES)
    config: dict[str, Any] = {"spec": spec.to_dict(), "latency": latency, "ii": ii, "vectors": vectors, "seed": seed,
                              "in_valid_duty": in_valid_duty, "out_ready_duty": out_ready_duty, "clock_ns": clock_ns,
                              "run_bits": run_bits, "runtime": runtime}
    run = simulate(target, "verif.activity", config, "icarus", run_dir, vcd=True, logs=logs, timeout_s=timeout_s)
    strip_vcd_date(run_dir / VCD_NAME)
    return run
