"""The lockstep pipeline shell shared by architectures whose register stages all move together (II 1).

``parallel`` and ``baseline`` use it: the Verilog of live / advance / in_ready and the valid chain, and the
manifest's pipeline description that ``model.cycle.check_lockstep_pipeline`` checks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from model.cycle import LockstepModel, lockstep_model
from model.spec import DesignSpec
from rtl.design import LATENCY_DEFINITION, port_list
from rtl.verilog import header


def lockstep_pipeline(stages: list[dict[str, str]]) -> dict:
    """Pipeline description shared by `parallel` and `baseline`: every stage moves together."""
    return {
        "style": "lockstep",
        "registers_per_stage": "a valid bit (reset to 0) and data registers (not reset, loaded only when valid)",
        "live": "live <= 0 at an edge with rst_n=0, else live <= 1 (so in_ready is 0 during reset and one edge after)",
        "advance": "advance = !out_valid | out_ready (combinational)",
        "in_ready": "live & advance (combinational; depends on out_ready)",
        "on_edge_if_advance": "s1 <= (in_valid & in_ready, inputs); each later stage <= previous stage; "
        "out_valid,y <= last internal stage (y only loaded when that stage is valid)",
        "on_edge_if_not_advance": "every register holds (y and out_valid hold until out_ready)",
        "stages": stages,
        "latency_definition": LATENCY_DEFINITION,
    }


def lockstep_control(valids: list[str]) -> list[str]:
    """Verilog for live, advance, in_ready and the valid chain s1 -> ... -> out_valid."""
    chain = ["in_valid & live", *valids]
    body = [
        "    reg live;",
        *[f"    reg {v};" for v in valids],
        "    wire advance = ~out_valid | out_ready;",
        "    assign in_ready = live & advance;",
        "    always @(posedge clk) begin",
        "        if (!rst_n) begin",
        "            live <= 1'b0;",
        *[f"            {v} <= 1'b0;" for v in valids],
        "            out_valid <= 1'b0;",
        "        end else begin",
        "            live <= 1'b1;",
        "            if (advance) begin",
        *[f"                {v} <= {src};" for v, src in zip(valids, chain)],
        f"                out_valid <= {valids[-1]};",
        "            end",
        "        end",
        "    end",
    ]
    return body


def operand_registers(spec: DesignSpec) -> list[str]:
    """Verilog for the s1 operand registers: w and a loaded when an input is accepted (not reset)."""
    return [
        f"    reg [{spec.w_width - 1}:0] s1_w;",
        f"    reg [{spec.a_width - 1}:0] s1_a;",
        "    always @(posedge clk) begin",
        "        if (advance & in_valid & live) begin",
        "            s1_w <= w;",
        "            s1_a <= a;",
        "        end",
        "    end",
    ]


def lockstep_head(spec: DesignSpec, top: str, what: str, valids: list[str]) -> list[str]:
    """The start of a lockstep PE: header comment, module and ports, control (live, advance, the valid chain
    ``valids``) and the s1 operand registers."""
    return [header(spec, top, what), f"module {top} (", port_list(spec) + ");", *lockstep_control(valids),
            *operand_registers(spec)]


def lockstep_timing(spec: DesignSpec) -> tuple[int, int]:
    """Latency 2 (s1, s2, out), II 1: the timing of the three-register lockstep PEs (parallel, baseline)."""
    return 2, 1


def lockstep_cycle_model(transforms: Callable[[DesignSpec], Sequence[Callable[[Any], Any]]]) -> Callable[..., LockstepModel]:
    """An architecture's cycle model from its stage transforms (``model.cycle``): registers move together."""

    def cycle_model(spec: DesignSpec, manifest: Mapping[str, Any] | Path | str | None = None) -> LockstepModel:
        return lockstep_model(spec, transforms(spec), manifest)

    return cycle_model
