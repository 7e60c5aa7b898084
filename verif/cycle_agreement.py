"""cocotb test: the RTL and model.cycle's Python model run side by side and must agree on every cycle.

Each cycle the bench drives the same inputs into both (``verif.driver.Driver`` over a
``verif.stimulus`` stream: valid gaps, out_ready back-pressure, a mid-stream reset), samples the
RTL's settled in_ready, out_valid and y before the rising edge and compares them with the model's
(y only when out_valid); during reset cycles in_ready/out_valid are compared once the model knows
them. Several traffic mixes run in one simulation. :func:`run_agreement` runs it through :func:`verif.sim.simulate`.
"""

from __future__ import annotations

import time
from pathlib import Path

import cocotb
from cocotb.triggers import Timer

from model.contract import read_manifest
from model.spec import DesignSpec
from rtl.archs import cycle_model, timing
from verif.driver import Driver
from verif.runtime import drive_widths, is_runtime, mixed_stimulus, read_flag
from verif.signals import HALF_PERIOD_NS, read_bit, read_signed
from verif.sim import SimError, load_config, simulate, write_result
from verif.stimulus import StimulusConfig, make_stimulus

MAX_LISTED = 20


@cocotb.test()
async def rtl_matches_cycle_model(dut) -> None:
    """Every cycle of every configured stream: RTL (in_ready, out_valid, y if valid) == model."""
    cfg = load_config()
    spec = DesignSpec.from_mapping(cfg["spec"])
    latency, ii = timing(spec)
    model = cycle_model(spec, cfg["manifest"])
    half = Timer(HALF_PERIOD_NS, unit="ns")
    width = spec.out_width
    rt = is_runtime(read_manifest(cfg["manifest"]))  # run-time widths: mixed-width streams, prec_err compared too
    mismatches: list[str] = []
    n_mismatch = 0
    runs = []
    t0 = time.perf_counter()
    for run_index, stim_cfg in enumerate(cfg["streams"]):
        stim = (mixed_stimulus(spec, StimulusConfig(**stim_cfg)) if rt
                else make_stimulus(spec, StimulusConfig(**stim_cfg), latency, ii))
        driver = Driver(stim, tail_cycles=latency + 3)
        counts = dict(cycles=0, compared_cycles=0, reset_cycles=0, accepted=0, delivered=0,
                      stalled_outputs=0, y_compared=0, in_ready_low=0)
        for c in range(stim.n_cycles):
            inp = driver.inputs(c)
            dut.clk.value = 0
            dut.rst_n.value = inp.rst_n
            dut.in_valid.value = inp.in_valid
            dut.w.value = inp.w
            dut.a.value = inp.a
            dut.out_ready.value = inp.out_ready
            if rt:
                drive_widths(dut, inp)
            await half
            rtl_ready, rtl_valid = read_bit(dut.in_ready), read_bit(dut.out_valid)
            rtl_y = read_signed(dut.y, width) if rtl_valid == 1 else None
            m_ready, m_valid, m_y = model.comb(inp)
            m_y = m_y if m_valid == 1 else None
            if rt:  # the flag rides with y: compared beside it
                rtl_y = (rtl_y, read_flag(dut) if rtl_valid == 1 else None)
                m_y = (m_y, model.out_flag() if m_valid == 1 else None)
            counts["cycles"] += 1
            if inp.rst_n == 0:
                counts["reset_cycles"] += 1
            check = inp.rst_n == 1 or (m_ready is not None and m_valid is not None)
            if check:
                counts["compared_cycles"] += 1
                counts["y_compared"] += int(m_valid == 1)
                if (rtl_ready, rtl_valid, rtl_y) != (m_ready, m_valid, m_y):
                    n_mismatch += 1
                    if len(mismatches) < MAX_LISTED:
                        mismatches.append(
                            f"spec {spec.id} stream {run_index} (seed {stim.seed}) cycle {c} rst_n={inp.rst_n} "
                            f"in_valid={inp.in_valid} out_ready={inp.out_ready}: RTL (in_ready, out_valid, y)="
                            f"{(rtl_ready, rtl_valid, rtl_y)} model={(m_ready, m_valid, m_y)}")
            if inp.rst_n:
                counts["accepted"] += int(inp.in_valid == 1 and rtl_ready == 1)
                counts["delivered"] += int(rtl_valid == 1 and inp.out_ready == 1)
                counts["stalled_outputs"] += int(rtl_valid == 1 and inp.out_ready == 0)
                counts["in_ready_low"] += int(rtl_ready == 0)
                driver.observe(c, inp, rtl_ready, rtl_valid, rtl_y[0] if rt else rtl_y)
            else:
                driver.observe(c, inp, None, None, None)
            dut.clk.value = 1
            model.edge(inp, m_ready)
            await half
            if driver.finished:
                break
        runs.append({"stream": stim_cfg, "midreset_at": stim.midreset_at, **counts})
    result = {
        "spec_id": spec.id,
        "passed": n_mismatch == 0 and all(r["delivered"] > 0 for r in runs),
        "mismatching_cycles": n_mismatch,
        "mismatches": mismatches,
        "streams": runs,
        "compared_cycles": sum(r["compared_cycles"] for r in runs),
        "sim_seconds": time.perf_counter() - t0,
    }
    write_result(cfg, result)
    for msg in mismatches:
        dut._log.error(msg)
    assert n_mismatch == 0, f"{n_mismatch} cycle(s) differ; first: {mismatches[0]}"
    assert all(r["delivered"] > 0 for r in runs), "a stream delivered no output: nothing was compared"


# --- running it (from pytest or a script; not part of the cocotb test) ----------------------------

DEFAULT_STREAMS: tuple[dict, ...] = (
    {"seed": 1, "n_random": 60, "p_valid": 0.7, "p_ready": 0.6},
    {"seed": 2, "n_random": 40, "p_valid": 0.3, "p_ready": 0.3},
    {"seed": 3, "n_random": 40, "p_valid": 1.0, "p_ready": 0.2},
)
"""Traffic mixes: moderate, sparse with heavy back-pressure, saturated input with heavy back-pressure."""


def run_agreement(spec: DesignSpec, root: Path | str = "build", streams=DEFAULT_STREAMS, sim: str = "icarus",
                  manifest: Path | None = None, label: str = "rtl") -> dict:
    """Simulate the RTL (generated, or the one a given manifest names) beside the cycle model; return the result."""
    from rtl.generate import generate
    from verif.runner import target_from_manifest

    root = Path(root).resolve()
    manifest = Path(manifest).resolve() if manifest is not None else generate(spec, root)
    target = target_from_manifest(spec, manifest)
    run_dir = spec.build_dir(root) / "verif" / (f"cycle-agreement-{sim}" + ("" if label == "rtl" else f"-{label}"))
    config = {"spec": spec.to_dict(), "manifest": str(manifest), "streams": [dict(s) for s in streams]}
    r = simulate(target, "verif.cycle_agreement", config, sim, run_dir)
    if not r.result:
        raise SimError(f"cycle agreement of {spec.id} failed before its checks; see {r.sim_log}", r.sim_log)
    return r.result
