"""Smoke simulation of every arch with iverilog: random vectors, random valid/ready, y checked in order."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from model.contract import expected_y, pack_bus
from model.spec import DesignSpec
from rtl.generate import generate

SPECS = [
    DesignSpec("parallel", 2, 2, 32),
    DesignSpec("parallel", 1, 1, 1),
    DesignSpec("parallel", 1, 4, 7),
    DesignSpec("parallel", 3, 2, 5, popcount="wallace"),
    DesignSpec("serial", 2, 2, 32),
    DesignSpec("serial", 1, 1, 1),
    DesignSpec("serial", 4, 1, 7),
    DesignSpec("serial", 2, 3, 9, popcount="wallace"),
    DesignSpec("baseline", 2, 2, 32),
    DesignSpec("baseline", 1, 1, 1),
    DesignSpec("baseline", 1, 4, 7),
    DesignSpec("baseline", 3, 3, 5),
    DesignSpec("parallel", 16, 16, 4),
    DesignSpec("serial", 16, 16, 4),
    DesignSpec("baseline", 16, 16, 4),
    *(DesignSpec(arch, w, a, n, encoding="twos") for arch in ("parallel", "serial", "baseline")
      for w, a, n in ((3, 2, 7), (1, 1, 1), (1, 3, 5), (4, 4, 32))),
]

TB = """`timescale 1ns/1ps
module tb;
    localparam V = {v};
    localparam P = {p};
    reg clk = 1'b0;
    reg rst_n = 1'b0;
    reg in_valid = 1'b0;
    reg out_ready = 1'b0;
    reg [{nw}:0] w = 0;
    reg [{na}:0] a = 0;
    wire in_ready, out_valid;
    wire [{ow}:0] y;
    reg [{nw}:0] wm [0:V-1];
    reg [{na}:0] am [0:V-1];
    reg [{ow}:0] ym [0:V-1];
    reg [1:0] hs [0:P-1];
    integer sent = 0, got = 0, errors = 0, cyc = 0, t_acc0 = -1, t_acc1 = -1, t_out0 = -1;
    reg held = 1'b0;
    reg [{ow}:0] y_prev = 0;
    {top} dut (.clk(clk), .rst_n(rst_n), .in_valid(in_valid), .in_ready(in_ready), .w(w), .a(a),
        .out_valid(out_valid), .out_ready(out_ready), .y(y));
    always #5 clk = ~clk;
    initial begin
        $readmemh("w.hex", wm);
        $readmemh("a.hex", am);
        $readmemh("y.hex", ym);
        $readmemh("hs.hex", hs);
    end
    always @(posedge clk) begin
        cyc = cyc + 1;
        if (cyc == 4) rst_n <= 1'b1;
        if (cyc > 1 && !rst_n && (in_ready !== 1'b0 || out_valid !== 1'b0)) begin
            $display("FAIL in_ready/out_valid not 0 in reset at cycle %0d", cyc);
            errors = errors + 1;
        end
        if (held && (out_valid !== 1'b1 || y !== y_prev)) begin
            $display("FAIL y/out_valid changed while out_ready was 0 at cycle %0d", cyc);
            errors = errors + 1;
        end
        held = out_valid && !out_ready;
        y_prev = y;
        if (in_valid && in_ready) begin
            if (sent == 0) t_acc0 = cyc;
            if (sent == 1) t_acc1 = cyc;
            sent = sent + 1;
        end
        if (out_valid && t_out0 < 0) t_out0 = cyc;
        if (out_valid && out_ready) begin
            if (got >= V || y !== ym[got]) begin
                $display("FAIL output %0d: y=%h expected %h", got, y, ym[got]);
                errors = errors + 1;
            end
            got = got + 1;
        end
        if (cyc > 4 && sent < V) begin
            in_valid <= hs[cyc % P][0];
            w <= wm[sent];
            a <= am[sent];
        end else begin
            in_valid <= 1'b0;
        end
        out_ready <= hs[cyc % P][1];
        if (got == V) begin
            $display("TIMING latency %0d gap %0d", t_out0 - t_acc0 - 1, t_acc1 - t_acc0);
            if (errors == 0) $display("PASS %0d vectors in %0d cycles", V, cyc);
            $finish;
        end
        if (cyc > {limit}) begin
            $display("FAIL timeout: sent %0d got %0d", sent, got);
            $finish;
        end
    end
endmodule
"""


def plain_twos_y(spec: DesignSpec, w: np.ndarray, a: np.ndarray) -> int:
    """The twos contract written out here, without the model: signed M-bit weight words times unsigned activations."""
    half = 1 << (spec.wbits - 1)
    return sum(((int(x) ^ half) - half) * int(z) for x, z in zip(w, a))


def write_bench(spec: DesignSpec, top: str, sim_dir: Path, vectors: int, seed: int, burst: int) -> None:
    """Random words, expected y (from model.contract; for twos from :func:`plain_twos_y`, independent of the
    model) and valid/ready patterns as $readmemh files."""
    rng = np.random.default_rng(seed)
    w = rng.integers(0, 1 << spec.wbits, size=(vectors, spec.n))
    a = rng.integers(0, 1 << spec.abits, size=(vectors, spec.n))
    w[0], a[0] = (1 << spec.wbits) - 1, 0  # the extreme -y_max
    w[1], a[1] = (1 << spec.wbits) - 1, (1 << spec.abits) - 1  # +y_max
    mask = (1 << spec.out_width) - 1
    pattern_len = max(64, 2 * burst)
    hs = rng.integers(0, 4, size=pattern_len)
    hs[:burst] = 3  # a burst with both handshakes high: full throughput, measures latency and II
    sim_dir.mkdir(parents=True, exist_ok=True)
    (sim_dir / "w.hex").write_text("".join(f"{pack_bus(x, spec.wbits):x}\n" for x in w))
    (sim_dir / "a.hex").write_text("".join(f"{pack_bus(x, spec.abits):x}\n" for x in a))
    ref = plain_twos_y if spec.encoding == "twos" else expected_y
    (sim_dir / "y.hex").write_text("".join(f"{ref(spec, x, z) & mask:x}\n" for x, z in zip(w, a)))
    (sim_dir / "hs.hex").write_text("".join(f"{h:x}\n" for h in hs))
    limit = 20 * vectors * (spec.wbits * spec.abits + 4) + 100
    (sim_dir / "tb.v").write_text(
        TB.format(v=vectors, p=pattern_len, nw=spec.w_width - 1, na=spec.a_width - 1, ow=spec.out_width - 1,
                  top=top, limit=limit)
    )


@pytest.mark.slow
@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.id)
def test_iverilog_smoke(spec: DesignSpec, tmp_path: Path) -> None:
    if shutil.which("iverilog") is None or shutil.which("vvp") is None:
        pytest.fail("iverilog/vvp not on PATH: install Debian iverilog (make debian-deps)")
    manifest_path = generate(spec, tmp_path / "build")
    manifest = json.loads(manifest_path.read_text())
    rtl_dir = manifest_path.parent
    sim_dir = tmp_path / "sim"
    lat, ii = manifest["latency_cycles"], manifest["initiation_interval"]
    write_bench(spec, manifest["top"], sim_dir, vectors=40, seed=1234, burst=2 * ii + lat + 8)
    sources = [str(rtl_dir / f) for f in manifest["verilog_files"]]
    subprocess.run(["iverilog", "-g2005", "-o", "sim.vvp", "tb.v", *sources], cwd=sim_dir, check=True,
                   capture_output=True, text=True)
    run = subprocess.run(["vvp", "-n", "sim.vvp"], cwd=sim_dir, capture_output=True, text=True, timeout=60)
    assert "PASS 40 vectors" in run.stdout and "FAIL" not in run.stdout, run.stdout + run.stderr
    assert f"TIMING latency {lat} gap {ii}" in run.stdout, run.stdout
