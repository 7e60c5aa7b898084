"""A tiny Python lockstep-pipeline PE: tests the bench's checks and shows how a cycle model plugs into verif.driver.replay."""

from __future__ import annotations

from model.contract import expected_y, unpack_bus
from model.spec import DesignSpec
from verif.driver import CycleInputs


class PipeModel:
    """latency+1 register stages moving together, one input per II cycles, in_ready low one edge after reset.

    ``bug`` injects a fault: "wrong_y_max" (y_max reported as y_max-1), "unstable" (y toggles under
    back-pressure), "stale" (reset does not clear the pipeline).
    """

    def __init__(self, spec: DesignSpec, latency: int, ii: int, bug: str | None = None) -> None:
        self.spec, self.ii, self.bug = spec, ii, bug
        self.stages: list[tuple[int, int]] = [(0, 0)] * (latency + 1)
        self.busy = 0
        self.live = 0
        self.toggle = 0

    def reset_edge(self) -> None:
        if self.bug != "stale":
            self.stages = [(0, 0)] * len(self.stages)
        self.busy, self.live = 0, 0

    def comb(self, inp: CycleInputs) -> tuple[int, int, int | None]:
        valid, y = self.stages[-1]
        stall = valid and not inp.out_ready
        if self.bug == "unstable" and stall:
            y ^= self.toggle
        if self.bug == "wrong_y_max" and y == self.spec.y_max:
            y -= 1
        return int(self.live and not stall and self.busy == 0), valid, y

    def edge(self, inp: CycleInputs, in_ready: int) -> None:
        valid = self.stages[-1][0]
        stall = valid and not inp.out_ready
        accept = inp.in_valid and in_ready
        self.toggle ^= 1
        if not stall:
            y = expected_y(self.spec, unpack_bus(inp.w, self.spec.wbits, self.spec.n),
                           unpack_bus(inp.a, self.spec.abits, self.spec.n))
            self.stages = [(int(accept), y)] + self.stages[:-1]
        self.busy = self.ii - 1 if accept else max(self.busy - 1, 0)
        self.live = 1
