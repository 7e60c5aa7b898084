"""The cocotb test of a run-time-precision PE: every run-time width, then mixed widths, in one simulation.

Loaded by the simulator like ``verif.bench`` (``verif.runner`` picks this module when the manifest has
``runtime_precision``). The segments come from ``verif.runtime.segments`` (one per in-range width pair (m, k):
the fixed-width regression stream of that width, upper word bits filled with junk; then a mixed stream with
per-input widths, some out of range); each starts with a reset, is driven by ``verif.bench.stream`` (which also
drives ``wprec``/``aprec`` and records ``prec_err``) and checked on its own by ``verif.checks.check_trace``
against ``model.runtime.expected``, with latency ``model.runtime.LATENCY`` (0: the input is accepted on its last
step) and per-input II ``model.runtime.steps`` (m*k; 1 out of range).
"""

from __future__ import annotations

import time

import cocotb

from model import runtime
from model.spec import DesignSpec
from verif.bench import stream
from verif.checks import check_trace
from verif.runtime import segments
from verif.sim import load_config, write_result
from verif.stimulus import StimulusConfig


@cocotb.test()
async def pe_runtime_widths(dut) -> None:
    """Every segment through the PE; each checked like a fixed-width regression run, plus the prec_err flag."""
    cfg = load_config()
    spec = DesignSpec.from_mapping(cfg["spec"])
    stim_cfg = StimulusConfig(**cfg["stimulus"])
    t0 = time.perf_counter()
    total: dict = {"passed": True, "n_failures": 0, "failures": [], "coverage": {}, "accepted": 0, "delivered": 0,
                   "flushed_by_reset": 0, "cycles": 0, "vectors": 0, "segments": []}
    lat_span: list[int] = []
    ii_span: list[int] = []
    for label, stim, check_spec in segments(spec, stim_cfg):
        ii = check_spec.wbits * check_spec.abits
        driver = await stream(dut, stim, spec.out_width, ii, widths=True)  # (tail of ii + 3 idle cycles)
        tag = f"spec {spec.id} at {label} [{cfg['sim']} {cfg['label']} seed {stim.seed}]"
        rep = check_trace(check_spec, stim, driver.trace.columns, runtime.LATENCY, ii, tag)
        d = rep.to_dict()
        total["segments"].append({"segment": label, "passed": rep.passed, "n_failures": rep.n_failures,
                                  "cycles": len(driver.trace), "accepted": rep.accepted, "delivered": rep.delivered,
                                  "clean_latency_min_max": d["clean_latency_min_max"],
                                  "clean_interval_min_max": d["clean_interval_min_max"], "coverage": rep.coverage})
        total["passed"] &= rep.passed
        total["n_failures"] += rep.n_failures
        total["failures"] += rep.failures[: max(0, 20 - len(total["failures"]))]
        for key in ("accepted", "delivered"):
            total[key] += getattr(rep, key)
        total["flushed_by_reset"] += rep.flushed
        total["cycles"] += len(driver.trace)
        total["vectors"] += len(stim.vectors)
        for key, v in rep.coverage.items():
            total["coverage"][key] = total["coverage"].get(key, 0) + v
        lat_span += rep.clean_latencies
        ii_span += rep.clean_intervals
    result = {
        "spec_id": spec.id, "sim": cfg["sim"], "label": cfg["label"], "seed": stim_cfg.seed, "mode": cfg["mode"],
        "manifest_latency": runtime.LATENCY, "manifest_ii": f"{spec.wbits * spec.abits} (wprec*aprec)",
        "sim_seconds": time.perf_counter() - t0,
        "latency_min_max": None,
        "clean_latency_min_max": [min(lat_span), max(lat_span)] if lat_span else None,
        "clean_interval_min_max": [min(ii_span), max(ii_span)] if ii_span else None,
        **total,
    }
    write_result(cfg, result)
    for msg in total["failures"]:
        dut._log.error(msg)
    assert total["passed"], f"{total['n_failures']} check(s) failed; first: {total['failures'][0]}"
