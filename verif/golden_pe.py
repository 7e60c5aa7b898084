"""A behavioural reference PE (Verilog text) obeying the port contract: only for testing the bench.

It computes y with a plain loop over elements (no branch decomposition), so it is independent
of the generated RTL; latency and initiation interval are parameters, so the bench's latency and
II checks can be tested too. Not a deliverable design.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from model.spec import DesignSpec


def golden_pe_verilog(spec: DesignSpec, latency: int = 1, ii: int = 1, top: str = "golden_pe") -> str:
    """Verilog of a global-stall pipeline of latency+1 register stages (latency as in the manifest's
    definition: out_valid right after edge t+latency for an input accepted at edge t), one input per II cycles."""
    if latency < 0 or ii < 1:
        raise ValueError("golden PE needs latency >= 0 and ii >= 1")
    latency = latency + 1  # register stages
    ow, mw, ma = spec.out_width, (1 << spec.wbits) - 1, (1 << spec.abits) - 1
    lines = [
        f"// behavioural reference PE for {spec.id}: bench self-test only",
        f"module {top} (",
        "  input wire clk, input wire rst_n,",
        "  input wire in_valid, output wire in_ready,",
        f"  input wire [{spec.w_width - 1}:0] w, input wire [{spec.a_width - 1}:0] a,",
        f"  output wire out_valid, input wire out_ready, output wire signed [{ow - 1}:0] y);",
        f"  function automatic signed [{ow - 1}:0] dot(input [{spec.w_width - 1}:0] wv, input [{spec.a_width - 1}:0] av);",
        "    integer e, acc, qw, qa;",
        "    begin",
        "      acc = 0;",
        f"      for (e = 0; e < {spec.n}; e = e + 1) begin",
        f"        qw = 2 * (wv[e*{spec.wbits} +: {spec.wbits}]) - {mw};",
        f"        qa = 2 * (av[e*{spec.abits} +: {spec.abits}]) - {ma};",
        "        acc = acc + qw * qa;",
        "      end",
        f"      dot = acc[{ow - 1}:0];",
        "    end",
        "  endfunction",
    ]
    for k in range(1, latency + 1):
        lines.append(f"  reg v{k}; reg signed [{ow - 1}:0] d{k};")
    lines += [
        "  reg [15:0] busy;",
        f"  wire stall = v{latency} & ~out_ready;",
        "  assign in_ready = ~stall & (busy == 16'd0);",
        f"  assign out_valid = v{latency};",
        f"  assign y = d{latency};",
        "  wire accept = in_valid & in_ready;",
        "  always @(posedge clk) begin",
        "    if (!rst_n) begin",
        "      busy <= 16'd0;",
        *[f"      v{k} <= 1'b0; d{k} <= {ow}'d0;" for k in range(1, latency + 1)],
        "    end else begin",
        f"      busy <= accept ? 16'd{ii - 1} : (busy != 16'd0 ? busy - 16'd1 : 16'd0);",
        "      if (!stall) begin",
        "        v1 <= accept; d1 <= dot(w, a);",
        *[f"        v{k} <= v{k - 1}; d{k} <= d{k - 1};" for k in range(2, latency + 1)],
        "      end",
        "    end",
        "  end",
        "endmodule",
        "",
    ]
    return "\n".join(lines)


def write_golden_pe(spec: DesignSpec, out_dir: Path, latency: int = 1, ii: int = 1) -> dict[str, Any]:
    """Write the reference PE and a manifest-like dict (same keys as build/<id>/rtl/manifest.json)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "golden_pe.v"
    path.write_text(golden_pe_verilog(spec, latency, ii))
    return {
        "top": "golden_pe", "arch": spec.arch, "wbits": spec.wbits, "abits": spec.abits, "n": spec.n,
        "out_width": spec.out_width, "latency_cycles": latency, "initiation_interval": ii,
        "verilog_files": [path.name], "reset": "sync", "spec_id": spec.id,
    }
