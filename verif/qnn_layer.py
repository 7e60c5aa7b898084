"""cocotb bench: stream one QNN layer's dot products through a generated PE, one (image, unit) pair per input.

The job (qnn.on_rtl.run_layer hands it over through :func:`verif.sim.simulate`) holds the
layer's weight words (O, N), the images' activation words (B, N), the model's expected integer
dots (B, O) and where to write the DUT's outputs. Inputs go image-major, unit-minor; out_ready is 1.
"""

from __future__ import annotations

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

from model.contract import pack_bus, to_signed
from verif.sim import load_config, write_result

RESET_CYCLES = 3
CLOCK_NS = 10


def _settled_int(signal) -> int | None:
    """The signal's value as an int, or None while it has X/Z bits."""
    value = signal.value
    return int(value) if value.is_resolvable else None


@cocotb.test()
async def qnn_layer_stream(dut) -> None:
    """Every y equals the model's integer dot product, in order, and none is missing."""
    job = load_config()
    wbits, abits, width = job["wbits"], job["abits"], job["out_width"]
    w_bus = [pack_bus(row, wbits) for row in job["w_words"]]
    a_bus = [pack_bus(row, abits) for row in job["a_words"]]
    pairs = [(b, o) for b in range(len(a_bus)) for o in range(len(w_bus))]
    expected = [job["expected"][b][o] for b, o in pairs]
    limit = job["max_cycles"]

    Clock(dut.clk, CLOCK_NS, unit="ns").start()
    dut.rst_n.value = 0
    dut.in_valid.value = 0
    dut.out_ready.value = 1
    dut.w.value = 0
    dut.a.value = 0
    for _ in range(RESET_CYCLES):
        await RisingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.rst_n.value = 1

    sent, got, cycles = 0, [], 0
    while len(got) < len(pairs):
        if cycles > limit:
            raise AssertionError(f"timeout: {len(got)} of {len(pairs)} outputs after {cycles} cycles")
        offer = sent < len(pairs)
        if offer:
            b, o = pairs[sent]
            dut.w.value = w_bus[o]
            dut.a.value = a_bus[b]
        dut.in_valid.value = int(offer)
        await ReadOnly()  # settled values just before the next rising edge
        accepted = offer and _settled_int(dut.in_ready) == 1
        if _settled_int(dut.out_valid) == 1:  # out_ready is 1: this y transfers at the edge
            y_raw = _settled_int(dut.y)
            assert y_raw is not None, f"output {len(got)}: y has X/Z bits while out_valid=1"
            y = to_signed(y_raw, width)
            k = len(got)
            assert y == expected[k], (
                f"output {k} (image {pairs[k][0]}, unit {pairs[k][1]}): RTL y={y}, model {expected[k]}"
            )
            got.append(y)
        await RisingEdge(dut.clk)
        cycles += 1
        sent += int(accepted)
        await FallingEdge(dut.clk)

    n_img, n_out = len(a_bus), len(w_bus)
    result = {"y": [got[b * n_out:(b + 1) * n_out] for b in range(n_img)], "cycles": cycles}
    write_result(job, result)
