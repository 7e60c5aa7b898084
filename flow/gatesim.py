"""Gate-level simulation stage: the synthesized netlist with the PDK's cell models (iverilog; zero-delay logic,
100 ps clk->Q flops: ``verif.activity.GATE_DEFINES``).

The simulation is verif's gate-level activity run (``verif.activity.run_activity``, through
``verif.sim.simulate``): it drives the port contract's handshake from ``verif.stimulus.activity_stimulus``
(seeded random vectors, in_valid / out_ready duty cycles), checks every y against
``model.contract.expected_y`` in order, and dumps the DUT's top-level nets to a VCD whose window (reset
release to last output) is the activity source of the power stage. It does not go through ``run_tool``,
so an interrupted stage simply reruns it (a few seconds).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from common.files import atomic_write_json
from flow.stage import FlowContext, Stage, StageError, _last_lines
from model.contract import read_manifest
from verif.activity import RESET_CYCLES, run_activity
from verif.runtime import is_runtime
from verif.sim import SimError


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
    # the simulation itself is verif's: gatesim.py imports verif.activity, so verif's simulation code is in the
    # stage's import closure (flow/sources.py) and a change to it reruns the stage

    def netlist(self, ctx: FlowContext) -> Path:
        return ctx.path(self.netlist_artifact)

    def config(self, ctx: FlowContext) -> Mapping[str, Any]:
        c = ctx.config
        return {"vectors": c.vectors, "seed": c.seed, "in_valid_duty": c.in_valid_duty,
                "out_ready_duty": c.out_ready_duty, "clock_ns": c.clock_ns,
                "delays": "functional models: zero-delay logic, 100 ps clk->Q flops (UNIT_DELAY)",
                "reset_cycles": RESET_CYCLES, **({"run_bits": c.run_bits} if c.run_bits else {})}

    def metrics(self, vectors: int, cycles: int, window_ns: float) -> dict[str, Any]:
        """The stage's metric values from a passing simulation."""
        return {"sim__vectors": vectors, "sim__mismatch__count": 0, "sim__cycles": cycles, "sim__window__ns": window_ns}

    def run(self, ctx: FlowContext) -> dict[str, Any]:
        d = self.dir(ctx)
        spec, c = ctx.spec, ctx.config
        manifest = read_manifest(ctx.rtl_dir / "manifest.json")
        lat, ii = int(manifest["latency_cycles"]), max(1, int(manifest["initiation_interval"]))
        logs = ("iverilog.log", "vvp.log")
        try:
            run = run_activity(spec, manifest["top"], lat, ii, [self.netlist(ctx), *ctx.pdk.verilog_models], d,
                               vectors=c.vectors, seed=c.seed, in_valid_duty=c.in_valid_duty,
                               out_ready_duty=c.out_ready_duty, clock_ns=c.clock_ns, logs=logs, timeout_s=c.timeout_s,
                               run_bits=c.run_bits, runtime=is_runtime(manifest))
        except SimError as e:
            raise StageError(self.name, e.log, _last_lines(e.log) if e.log else [], str(e)) from None
        r = run.result
        if not r or r["timeout"]:
            raise StageError(self.name, d / logs[1], _last_lines(d / logs[1]), "simulation did not finish (timeout or crash)")
        bad = r["mismatches"]
        atomic_write_json(d / "sim.json", {"vectors": c.vectors, "cycles": r["cycles"], "outputs": r["outputs"],
                                           "mismatches": bad, "mismatch_count": r["mismatch_count"],
                                           "end_time_ns": r["end_time_ns"], "netlist": str(self.netlist(ctx))})
        if bad:
            raise StageError(self.name, d / "sim.json", bad[:3],
                             f"{self.label} disagrees with the reference model on {r['mismatch_count']} vector(s)")
        if not r["outputs"]:
            raise StageError(self.name, d / "sim.json", [], f"{self.label} produced no outputs")
        from flow.vcd import count_toggles

        tg = count_toggles(d / "activity.vcd", "dut")
        window_ns = (tg.end_time - tg.start_time) * tg.timescale_s * 1e9
        return self.metrics(c.vectors, int(r["cycles"]), window_ns)
