"""What an architecture generator returns: the modules, timing numbers and its pipeline description."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from model.spec import DesignSpec
from rtl.verilog import ModuleText

LATENCY_DEFINITION = (
    "an input accepted at rising edge t (in_valid & in_ready) shows out_valid=1 with its y right after "
    "rising edge t+latency_cycles when out_ready was high; back-pressure only adds cycles"
)

PORT_DECLS = (
    "    input  wire clk,\n"
    "    input  wire rst_n,\n"
    "    input  wire in_valid,\n"
    "    output wire in_ready,\n"
    "    input  wire [{nw}:0] w,\n"
    "    input  wire [{na}:0] a,\n"
    "    output reg  out_valid,\n"
    "    input  wire out_ready,\n"
    "    output reg  [{ow}:0] y\n"
)


def port_list(spec: DesignSpec) -> str:
    """The port contract as a Verilog-2005 ANSI port list body."""
    return PORT_DECLS.format(nw=spec.w_width - 1, na=spec.a_width - 1, ow=spec.out_width - 1)


@dataclass(frozen=True)
class ArchDesign:
    """Generated modules (top first) plus the manifest facts only the architecture knows."""

    top: str
    modules: tuple[ModuleText, ...]
    latency_cycles: int
    initiation_interval: int
    pipeline: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)
