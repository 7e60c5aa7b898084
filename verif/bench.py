"""The cocotb test: drive one PE through :class:`verif.driver.Driver`, record the trace, check it.

Loaded by the simulator (:mod:`verif.runner` runs it through :func:`verif.sim.simulate`); it reads
its run configuration with :func:`verif.sim.load_config`. The bench drives the
clock itself: each cycle it sets clk low and the inputs, waits half a period, samples the settled
outputs (the values the rising edge will see), raises clk and waits the other half. Two timer
callbacks per cycle keep it fast and equally exact on Icarus, Verilator and gate-level netlists.
"""

from __future__ import annotations

import time
from pathlib import Path

import cocotb
from cocotb.triggers import Timer

from common.files import atomic_write_json
from model.spec import DesignSpec
from verif.checks import check_trace
from verif.driver import Driver
from verif.runtime import drive_widths, read_flag
from verif.signals import HALF_PERIOD_NS, read_bit, read_signed
from verif.sim import load_config, write_result
from verif.stimulus import Stimulus, StimulusConfig, make_stimulus, throughput_stimulus


async def stream(dut, stim: Stimulus, width: int, latency: int, widths: bool = False) -> Driver:
    """Drive one stimulus through the DUT cycle by cycle (see the module doc) and return the driver with its trace;
    ``widths``: also drive a run-time-precision PE's width ports and record its prec_err (``verif.runtime``)."""
    driver = Driver(stim, tail_cycles=latency + 3)
    clk, rst_n, in_valid, in_ready = dut.clk, dut.rst_n, dut.in_valid, dut.in_ready
    w, a, out_valid, out_ready, y = dut.w, dut.a, dut.out_valid, dut.out_ready, dut.y
    half = Timer(HALF_PERIOD_NS, unit="ns")
    for c in range(stim.n_cycles):
        inp = driver.inputs(c)
        clk.value = 0
        rst_n.value = inp.rst_n
        in_valid.value = inp.in_valid
        w.value = inp.w
        a.value = inp.a
        out_ready.value = inp.out_ready
        if widths:
            drive_widths(dut, inp)
        await half
        if inp.rst_n:
            ov = read_bit(out_valid)
            flag = read_flag(dut) if widths and ov == 1 else None
            driver.observe(c, inp, read_bit(in_ready), ov, read_signed(y, width) if ov == 1 else None, flag)
        else:
            driver.observe(c, inp, None, None, None)
        clk.value = 1
        await half
        if driver.finished:
            break
    return driver


@cocotb.test()
async def pe_stream(dut) -> None:
    """Stream the run's stimulus through the PE and check it against model.contract.expected_y."""
    cfg = load_config()
    spec = DesignSpec.from_mapping(cfg["spec"])
    latency, ii = int(cfg["latency"]), int(cfg["ii"])
    if cfg["mode"] == "throughput":
        stim = throughput_stimulus(spec, int(cfg["count"]), int(cfg["seed"]), latency, ii)
    else:
        stim = make_stimulus(spec, StimulusConfig(**cfg["stimulus"]), latency, ii)
    t0 = time.perf_counter()
    driver = await stream(dut, stim, spec.out_width, latency)
    seconds = time.perf_counter() - t0

    tag = f"spec {spec.id} [{cfg['sim']} {cfg['label']} seed {stim.seed}]"
    report = check_trace(spec, stim, driver.trace.columns, latency, ii, tag, full_coverage=cfg["mode"] == "full")
    result = {
        "spec_id": spec.id,
        "sim": cfg["sim"],
        "label": cfg["label"],
        "seed": stim.seed,
        "mode": cfg["mode"],
        "manifest_latency": latency,
        "manifest_ii": ii,
        "cycles": len(driver.trace),
        "vectors": len(stim.vectors),
        "sim_seconds": seconds,
        **report.to_dict(),
    }
    if cfg.get("trace_path"):
        header = {k: result[k] for k in ("spec_id", "sim", "label", "seed", "mode", "manifest_latency", "manifest_ii")}
        header["stimulus"] = cfg.get("stimulus")
        header["clean_phase"] = [stim.clean_start, stim.clean_end]
        header["midreset_at"] = stim.midreset_at
        atomic_write_json(Path(cfg["trace_path"]), {"header": header, "trace": driver.trace.columns}, compact=True)
    write_result(cfg, result)
    for msg in report.failures:
        dut._log.error(msg)
    assert report.passed, f"{report.n_failures} check(s) failed; first: {report.failures[0]}"
