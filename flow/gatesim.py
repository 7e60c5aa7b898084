"""Gate-level simulation stage: the synthesized netlist with the PDK's cell models (iverilog, zero delay).

Drives the port contract's handshake from seeded random vectors (in_valid / out_ready duty cycles),
checks every y against ``model.contract.expected_y`` in order, and dumps the DUT's top-level nets to a
VCD whose window (reset release to last output) is the activity source of the power stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from common.files import atomic_write_json, atomic_write_text
from flow.stage import FlowContext, Stage, StageError, run_tool
from model.contract import expected_y, pack_bus, read_manifest, to_signed
from model.spec import DesignSpec

RESET_CYCLES = 3


@dataclass(frozen=True)
class Stimulus:
    """Seeded random vectors and handshake patterns (one in_valid and one out_ready bit per cycle)."""

    w_u: np.ndarray  # (vectors, n) unsigned weight words
    a_u: np.ndarray  # (vectors, n) unsigned activation words
    valid_pattern: tuple[int, ...]
    ready_pattern: tuple[int, ...]


def make_stimulus(spec: DesignSpec, vectors: int, seed: int, in_valid_duty: float, out_ready_duty: float) -> Stimulus:
    """Uniform random words; each cycle in_valid/out_ready is 1 with the given probability."""
    rng = np.random.default_rng(seed)
    w_u = rng.integers(0, 1 << spec.wbits, size=(vectors, spec.n), dtype=np.int64)
    a_u = rng.integers(0, 1 << spec.abits, size=(vectors, spec.n), dtype=np.int64)
    cycles = 1024
    valid = tuple(int(x) for x in (rng.random(cycles) < in_valid_duty))
    ready = tuple(int(x) for x in (rng.random(cycles) < out_ready_duty))
    return Stimulus(w_u, a_u, valid, ready)


def testbench_text(spec: DesignSpec, top: str, stim: Stimulus, clock_ns: float, max_cycles: int) -> str:
    """Verilog testbench: inputs change at the falling edge, handshakes are sampled a quarter period later."""
    ww, aw, ow, v = spec.w_width, spec.a_width, spec.out_width, len(stim.w_u)
    half, quarter = clock_ns / 2, clock_ns / 4
    return f"""`timescale 1ns/1ps
`default_nettype none
module bb_gatesim_tb;
  reg clk = 1'b0, rst_n = 1'b0, in_valid = 1'b0, out_ready = 1'b0;
  reg [{ww - 1}:0] w = {ww}'d0;
  reg [{aw - 1}:0] a = {aw}'d0;
  wire in_ready, out_valid;
  wire [{ow - 1}:0] y;
  {top} dut (.clk(clk), .rst_n(rst_n), .in_valid(in_valid), .in_ready(in_ready), .w(w), .a(a),
             .out_valid(out_valid), .out_ready(out_ready), .y(y));
  reg [{ww - 1}:0] wmem [0:{v - 1}];
  reg [{aw - 1}:0] amem [0:{v - 1}];
  reg vpat [0:{len(stim.valid_pattern) - 1}];
  reg rpat [0:{len(stim.ready_pattern) - 1}];
  integer i = 0, got = 0, cyc = 0, fo;
  reg pending = 1'b0;
  always #{half} clk = ~clk;
  initial begin
    $timeformat(-9, 3, "", 0);
    $readmemh("w.hex", wmem);
    $readmemh("a.hex", amem);
    $readmemb("valid.bin", vpat);
    $readmemb("ready.bin", rpat);
    fo = $fopen("outputs.txt", "w");
    repeat ({RESET_CYCLES}) @(posedge clk);
    @(negedge clk);
    rst_n = 1'b1;
    $dumpfile("activity.vcd");
    $dumpvars(1, dut);
    for (cyc = 0; got < {v}; cyc = cyc + 1) begin
      if (cyc > 0) @(negedge clk);
      if (cyc >= {max_cycles}) begin
        $display("TIMEOUT after %0d cycles: %0d of {v} outputs", cyc, got);
        $finish;
      end
      in_valid = (i < {v}) && (pending || vpat[cyc % {len(stim.valid_pattern)}]);
      if (i < {v}) begin w = wmem[i]; a = amem[i]; end
      out_ready = rpat[cyc % {len(stim.ready_pattern)}];
      #{quarter};
      pending = in_valid && !in_ready;
      if (in_valid && in_ready) i = i + 1;
      if (out_valid && out_ready) begin
        $fdisplay(fo, "%h", y);
        got = got + 1;
      end
    end
    @(negedge clk);
    $fclose(fo);
    $display("DONE cycles=%0d outputs=%0d time_ns=%0t", cyc, got, $time);
    $finish;
  end
endmodule
`default_nettype wire
"""


def compare_outputs(spec: DesignSpec, stim: Stimulus, lines: Sequence[str]) -> list[str]:
    """Mismatches between the simulated y values (hex lines) and the reference model, in order."""
    bad = []
    if len(lines) != len(stim.w_u):
        bad.append(f"got {len(lines)} outputs for {len(stim.w_u)} inputs")
    for k, line in enumerate(lines[: len(stim.w_u)]):
        want = expected_y(spec, stim.w_u[k], stim.a_u[k])
        try:
            got = to_signed(int(line, 16), spec.out_width)
        except ValueError:
            got = line.strip()
        if got != want:
            bad.append(f"vector {k}: y={got} expected {want}")
    return bad


def strip_vcd_date(path: Path) -> None:
    """Blank the VCD's ``$date`` so the same stimulus gives a byte-identical file."""
    if not path.is_file():
        return
    text = path.read_text()
    start = text.find("$date")
    end = text.find("$end", start)
    if start >= 0 and end > start:
        atomic_write_text(path, text[:start] + "$date\n\tnot recorded (deterministic output)\n" + text[end:])


class GateSimStage(Stage):
    """iverilog + sky130 cell models: equivalence on random vectors and the VCD for power.

    Subclasses simulate another netlist (the routed one) by declaring another ``netlist_artifact`` (and
    ``consumes``/``produces``), ``label`` and ``metrics``; stimulus, testbench and checks are shared.
    """

    name = "gatesim"
    tools = ("iverilog", "vvp")
    metric_names = ("sim__vectors", "sim__mismatch__count", "sim__cycles", "sim__window__ns")
    netlist_artifact = "netlist"
    consumes = ("rtl_manifest", "netlist", "pdk_verilog_models")
    produces = {"vcd": "activity.vcd", "sim_json": "sim.json"}
    label = "gate-level netlist"

    def netlist(self, ctx: FlowContext) -> Path:
        return ctx.path(self.netlist_artifact)

    def config(self, ctx: FlowContext) -> Mapping[str, Any]:
        c = ctx.config
        return {"vectors": c.vectors, "seed": c.seed, "in_valid_duty": c.in_valid_duty,
                "out_ready_duty": c.out_ready_duty, "clock_ns": c.clock_ns, "delays": "zero-delay functional models",
                "reset_cycles": RESET_CYCLES}

    def metrics(self, vectors: int, cycles: int, window_ns: float) -> dict[str, Any]:
        """The stage's metric values from a passing simulation."""
        return {"sim__vectors": vectors, "sim__mismatch__count": 0, "sim__cycles": cycles, "sim__window__ns": window_ns}

    def run(self, ctx: FlowContext) -> dict[str, Any]:
        d = self.dir(ctx)
        spec, c = ctx.spec, ctx.config
        manifest = read_manifest(ctx.rtl_dir / "manifest.json")
        stim = make_stimulus(spec, c.vectors, c.seed, c.in_valid_duty, c.out_ready_duty)
        lat, ii = int(manifest["latency_cycles"]), max(1, int(manifest["initiation_interval"]))
        max_cycles = int((c.vectors * ii + lat + 16) / (c.in_valid_duty * c.out_ready_duty) * 4) + 200
        atomic_write_text(d / "w.hex", "".join(f"{pack_bus(row, spec.wbits):x}\n" for row in stim.w_u))
        atomic_write_text(d / "a.hex", "".join(f"{pack_bus(row, spec.abits):x}\n" for row in stim.a_u))
        atomic_write_text(d / "valid.bin", "".join(f"{b}\n" for b in stim.valid_pattern))
        atomic_write_text(d / "ready.bin", "".join(f"{b}\n" for b in stim.ready_pattern))
        atomic_write_text(d / "tb.v", testbench_text(spec, manifest["top"], stim, c.clock_ns, max_cycles))
        (d / "outputs.txt").unlink(missing_ok=True)
        (d / "activity.vcd").unlink(missing_ok=True)
        prim, cells = ctx.pdk.verilog_models
        run_tool(self.name, "iverilog",
                 ["iverilog", "-g2012", "-DFUNCTIONAL", "-DUNIT_DELAY=", "-o", "sim.vvp", "-s", "bb_gatesim_tb",
                  "tb.v", str(self.netlist(ctx).resolve()), str(prim), str(cells)],
                 d, c.timeout_s, cwd=d)
        log = run_tool(self.name, "vvp", ["vvp", "-n", "sim.vvp"], d, c.timeout_s, cwd=d)
        strip_vcd_date(d / "activity.vcd")
        text = log.read_text()
        done = [line for line in text.splitlines() if line.startswith("DONE")]
        if not done:
            raise StageError(self.name, log, text.splitlines()[-6:], "simulation did not finish (timeout or crash)")
        fields = dict(kv.split("=") for kv in done[-1].split()[1:])
        lines = [line.strip() for line in (d / "outputs.txt").read_text().splitlines() if line.strip()]
        bad = compare_outputs(spec, stim, lines)
        atomic_write_json(d / "sim.json", {"vectors": c.vectors, "cycles": int(fields["cycles"]),
                                           "outputs": len(lines), "mismatches": bad[:50],
                                           "mismatch_count": len(bad), "end_time_ns": float(fields["time_ns"]),
                                           "netlist": str(self.netlist(ctx))})
        if bad:
            raise StageError(self.name, d / "sim.json", bad[:3],
                             f"{self.label} disagrees with the reference model on {len(bad)} vector(s)")
        if not lines:
            raise StageError(self.name, d / "sim.json", [], f"{self.label} produced no outputs")
        from flow.vcd import count_toggles

        tg = count_toggles(d / "activity.vcd", "dut")
        window_ns = (tg.end_time - tg.start_time) * tg.timescale_s * 1e9
        return self.metrics(c.vectors, int(fields["cycles"]), window_ns)
